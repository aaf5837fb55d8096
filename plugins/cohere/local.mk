pkglib_LTLIBRARIES += plugins/cohere.la
plugins_cohere_la_SOURCES = plugins/cohere/cohere.c plugins/cohere/cohere_request.c \
	plugins/cohere/cohere_response.c plugins/cohere/cohere.h
plugins_cohere_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_cohere_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_cohere_la_LIBADD = $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_cohere
TESTS += tests/plugins/test_cohere
tests_plugins_test_cohere_SOURCES = tests/plugins/test_cohere.c
tests_plugins_test_cohere_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_cohere_LDADD = $(PLUGIN_TEST_LIBS)
endif
