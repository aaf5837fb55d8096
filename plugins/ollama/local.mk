pkglib_LTLIBRARIES += plugins/ollama.la
plugins_ollama_la_SOURCES = plugins/ollama/ollama.c plugins/ollama/ollama_request.c \
	plugins/ollama/ollama_response.c plugins/ollama/ollama.h
plugins_ollama_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_ollama_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_ollama_la_LIBADD = $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_ollama
TESTS += tests/plugins/test_ollama
tests_plugins_test_ollama_SOURCES = tests/plugins/test_ollama.c
tests_plugins_test_ollama_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_ollama_LDADD = $(PLUGIN_TEST_LIBS)
endif
