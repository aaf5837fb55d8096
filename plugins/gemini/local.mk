pkglib_LTLIBRARIES += plugins/gemini.la
plugins_gemini_la_SOURCES = plugins/gemini/gemini.c plugins/gemini/gemini_request.c \
	plugins/gemini/gemini_config.c plugins/gemini/gemini_response.c plugins/gemini/gemini_schema.c \
	plugins/gemini/gemini_xlate.h
plugins_gemini_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_gemini_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_gemini_la_LIBADD = $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_gemini
TESTS += tests/plugins/test_gemini
tests_plugins_test_gemini_SOURCES = tests/plugins/test_gemini.c
tests_plugins_test_gemini_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_gemini_LDADD = $(PLUGIN_TEST_LIBS)
endif
