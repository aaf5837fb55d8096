guard_LTLIBRARIES += plugins/guards/regex.la
plugins_guards_regex_la_SOURCES = plugins/guards/regex/regex.c $(GUARD_COMMON)
plugins_guards_regex_la_CFLAGS = $(GUARD_CFLAGS) $(PCRE2_CFLAGS)
plugins_guards_regex_la_LDFLAGS = $(GUARD_LDFLAGS)
plugins_guards_regex_la_LIBADD = $(GUARD_LIBS) $(PCRE2_LIBS)
