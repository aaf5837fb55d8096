pkglib_LTLIBRARIES += plugins/mistral.la
plugins_mistral_la_SOURCES = plugins/mistral/mistral.c
plugins_mistral_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_mistral_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_mistral_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_mistral
TESTS += tests/plugins/test_mistral
tests_plugins_test_mistral_SOURCES = tests/plugins/test_mistral.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_mistral_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_mistral_LDADD = $(PLUGIN_TEST_LIBS)
endif
