guard_LTLIBRARIES += plugins/guards/max-size.la
plugins_guards_max_size_la_SOURCES = plugins/guards/max-size/max-size.c $(GUARD_COMMON)
plugins_guards_max_size_la_CFLAGS = $(GUARD_CFLAGS)
plugins_guards_max_size_la_LDFLAGS = $(GUARD_LDFLAGS)
plugins_guards_max_size_la_LIBADD = $(GUARD_LIBS)
