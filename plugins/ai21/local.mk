pkglib_LTLIBRARIES += plugins/ai21.la
plugins_ai21_la_SOURCES = plugins/ai21/ai21.c
plugins_ai21_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_ai21_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_ai21_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_ai21
TESTS += tests/plugins/test_ai21
tests_plugins_test_ai21_SOURCES = tests/plugins/test_ai21.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_ai21_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_ai21_LDADD = $(PLUGIN_TEST_LIBS)
endif
