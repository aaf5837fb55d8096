pkglib_LTLIBRARIES += plugins/replicate.la
plugins_replicate_la_SOURCES = plugins/replicate/replicate.c plugins/replicate/replicate_prompt.c \
	plugins/replicate/replicate_parse.c plugins/replicate/replicate.h
plugins_replicate_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_replicate_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_replicate_la_LIBADD = $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_replicate
TESTS += tests/plugins/test_replicate
tests_plugins_test_replicate_SOURCES = tests/plugins/test_replicate.c
tests_plugins_test_replicate_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_replicate_LDADD = $(PLUGIN_TEST_LIBS)
check_PROGRAMS += tests/plugins/test_replicate_cancel
TESTS += tests/plugins/test_replicate_cancel
tests_plugins_test_replicate_cancel_SOURCES = tests/plugins/test_replicate_cancel.c
tests_plugins_test_replicate_cancel_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_replicate_cancel_LDADD = $(PLUGIN_TEST_LIBS)
endif
