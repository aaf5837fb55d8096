pkglib_LTLIBRARIES += plugins/deepseek.la
plugins_deepseek_la_SOURCES = plugins/deepseek/deepseek.c
plugins_deepseek_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_deepseek_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_deepseek_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_deepseek
TESTS += tests/plugins/test_deepseek
tests_plugins_test_deepseek_SOURCES = tests/plugins/test_deepseek.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_deepseek_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_deepseek_LDADD = $(PLUGIN_TEST_LIBS)
endif
