pkglib_LTLIBRARIES += plugins/groq.la
plugins_groq_la_SOURCES = plugins/groq/groq.c
plugins_groq_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_groq_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_groq_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_groq
TESTS += tests/plugins/test_groq
tests_plugins_test_groq_SOURCES = tests/plugins/test_groq.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_groq_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_groq_LDADD = $(PLUGIN_TEST_LIBS)
endif
