pkglib_LTLIBRARIES += plugins/xai.la
plugins_xai_la_SOURCES = plugins/xai/xai.c
plugins_xai_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_xai_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_xai_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_xai
TESTS += tests/plugins/test_xai
tests_plugins_test_xai_SOURCES = tests/plugins/test_xai.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_xai_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_xai_LDADD = $(PLUGIN_TEST_LIBS)
endif
