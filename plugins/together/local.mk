pkglib_LTLIBRARIES += plugins/together.la
plugins_together_la_SOURCES = plugins/together/together.c
plugins_together_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_together_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_together_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_together
TESTS += tests/plugins/test_together
tests_plugins_test_together_SOURCES = tests/plugins/test_together.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_together_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_together_LDADD = $(PLUGIN_TEST_LIBS)
endif
