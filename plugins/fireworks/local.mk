pkglib_LTLIBRARIES += plugins/fireworks.la
plugins_fireworks_la_SOURCES = plugins/fireworks/fireworks.c
plugins_fireworks_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_fireworks_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_fireworks_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_fireworks
TESTS += tests/plugins/test_fireworks
tests_plugins_test_fireworks_SOURCES = tests/plugins/test_fireworks.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_fireworks_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_fireworks_LDADD = $(PLUGIN_TEST_LIBS)
endif
