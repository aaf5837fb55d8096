guard_LTLIBRARIES += plugins/guards/pii.la
plugins_guards_pii_la_SOURCES = plugins/guards/pii/pii.c plugins/guards/pii/pii.h \
	plugins/guards/pii/pii_detect.c $(GUARD_COMMON)
plugins_guards_pii_la_CFLAGS = $(GUARD_CFLAGS)
plugins_guards_pii_la_LDFLAGS = $(GUARD_LDFLAGS)
plugins_guards_pii_la_LIBADD = $(GUARD_LIBS)
