pkglib_LTLIBRARIES += plugins/anthropic.la
plugins_anthropic_la_SOURCES = plugins/anthropic/anthropic.c plugins/anthropic/anthropic_request.c \
	plugins/anthropic/anthropic_messages.c plugins/anthropic/anthropic_conv.h \
	plugins/anthropic/anthropic_response.c plugins/anthropic/anthropic_stream.c \
	plugins/anthropic/anthropic_xlate.h
plugins_anthropic_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_anthropic_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_anthropic_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_anthropic
TESTS += tests/plugins/test_anthropic
tests_plugins_test_anthropic_SOURCES = tests/plugins/test_anthropic.c
tests_plugins_test_anthropic_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_anthropic_LDADD = $(PLUGIN_TEST_LIBS)
endif
