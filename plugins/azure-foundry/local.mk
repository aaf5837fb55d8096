pkglib_LTLIBRARIES += plugins/azure-foundry.la
plugins_azure_foundry_la_SOURCES = plugins/azure-foundry/azure-foundry.c
plugins_azure_foundry_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_azure_foundry_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_azure_foundry_la_LIBADD = $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_azure-foundry
TESTS += tests/plugins/test_azure-foundry
tests_plugins_test_azure_foundry_SOURCES = tests/plugins/test_azure-foundry.c
tests_plugins_test_azure_foundry_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_azure_foundry_LDADD = $(PLUGIN_TEST_LIBS)
endif
