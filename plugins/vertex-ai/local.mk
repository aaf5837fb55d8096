pkglib_LTLIBRARIES += plugins/vertex-ai.la
plugins_vertex_ai_la_SOURCES = plugins/vertex-ai/vertex.c plugins/vertex-ai/vertex_auth.c \
	plugins/vertex-ai/vertex.h \
	plugins/gemini/gemini_request.c plugins/gemini/gemini_config.c plugins/gemini/gemini_response.c \
	plugins/gemini/gemini_schema.c plugins/gemini/gemini_xlate.h \
	plugins/anthropic/anthropic_request.c plugins/anthropic/anthropic_messages.c \
	plugins/anthropic/anthropic_conv.h plugins/anthropic/anthropic_response.c \
	plugins/anthropic/anthropic_stream.c plugins/anthropic/anthropic_xlate.h
plugins_vertex_ai_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_vertex_ai_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_vertex_ai_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_vertex_ai
TESTS += tests/plugins/test_vertex_ai
tests_plugins_test_vertex_ai_SOURCES = tests/plugins/test_vertex_ai.c
tests_plugins_test_vertex_ai_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_vertex_ai_LDADD = $(PLUGIN_TEST_LIBS) $(CRYPTO_LIBS)
endif
