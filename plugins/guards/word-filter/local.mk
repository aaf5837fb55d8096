guard_LTLIBRARIES += plugins/guards/word-filter.la
plugins_guards_word_filter_la_SOURCES = plugins/guards/word-filter/word-filter.c plugins/guards/word-filter/wf_fold.c \
	plugins/guards/word-filter/wf.h plugins/guards/word-filter/decomp.h $(GUARD_COMMON)
plugins_guards_word_filter_la_CFLAGS = $(GUARD_CFLAGS)
plugins_guards_word_filter_la_LDFLAGS = $(GUARD_LDFLAGS)
plugins_guards_word_filter_la_LIBADD = $(GUARD_LIBS)
