pkglib_LTLIBRARIES += plugins/bedrock.la
plugins_bedrock_la_SOURCES = plugins/bedrock/bedrock.c plugins/bedrock/bedrock_request.c \
	plugins/bedrock/bedrock_content.c plugins/bedrock/bedrock_format.c \
	plugins/bedrock/bedrock_response.c plugins/bedrock/bedrock_embed.c \
	plugins/bedrock/sigv4.c plugins/bedrock/bedrock.h plugins/bedrock/sigv4.h
plugins_bedrock_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_bedrock_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_bedrock_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_bedrock
TESTS += tests/plugins/test_bedrock
tests_plugins_test_bedrock_SOURCES = tests/plugins/test_bedrock.c plugins/bedrock/sigv4.c
tests_plugins_test_bedrock_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_bedrock_LDADD = $(PLUGIN_TEST_LIBS)
endif
