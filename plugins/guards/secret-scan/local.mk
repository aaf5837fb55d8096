guard_LTLIBRARIES += plugins/guards/secret-scan.la
plugins_guards_secret_scan_la_SOURCES = plugins/guards/secret-scan/secret-scan.c $(GUARD_COMMON)
plugins_guards_secret_scan_la_CFLAGS = $(GUARD_CFLAGS)
plugins_guards_secret_scan_la_LDFLAGS = $(GUARD_LDFLAGS)
plugins_guards_secret_scan_la_LIBADD = $(GUARD_LIBS) -lm
