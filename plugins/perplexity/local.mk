pkglib_LTLIBRARIES += plugins/perplexity.la
plugins_perplexity_la_SOURCES = plugins/perplexity/perplexity.c
plugins_perplexity_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_perplexity_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_perplexity_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_perplexity
TESTS += tests/plugins/test_perplexity
tests_plugins_test_perplexity_SOURCES = tests/plugins/test_perplexity.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_perplexity_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_perplexity_LDADD = $(PLUGIN_TEST_LIBS)
endif
