pkglib_LTLIBRARIES += plugins/openai.la
plugins_openai_la_SOURCES = plugins/openai/openai.c
plugins_openai_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_openai_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_openai_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_openai
TESTS += tests/plugins/test_openai
tests_plugins_test_openai_SOURCES = tests/plugins/test_openai.c
tests_plugins_test_openai_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_openai_LDADD = $(PLUGIN_TEST_LIBS)
endif
