pkglib_LTLIBRARIES += plugins/azure-openai.la
plugins_azure_openai_la_SOURCES = plugins/azure-openai/azure-openai.c
plugins_azure_openai_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_azure_openai_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_azure_openai_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_azure-openai
TESTS += tests/plugins/test_azure-openai
tests_plugins_test_azure_openai_SOURCES = tests/plugins/test_azure-openai.c
tests_plugins_test_azure_openai_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_azure_openai_LDADD = $(PLUGIN_TEST_LIBS)
endif
