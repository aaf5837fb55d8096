# plugins/common: code several plugins share, as a convenience library linked into each plugin
# that lists $(PLUGIN_COMMON) (not installed; nothing in it is exported, since plugins build
# with -fvisibility=hidden): oaiwire, the toolkit of the thin OpenAI-wire plugins, and the
# reasoning-model rule of openai and azure-openai, and Claude's thinking rules of anthropic,
# vertex-ai and bedrock.
noinst_LTLIBRARIES += plugins/common/libplugcommon.la
plugins_common_libplugcommon_la_SOURCES = plugins/common/oaiwire.c plugins/common/oaiwire.h \
	plugins/common/reasoning.c plugins/common/reasoning.h plugins/common/claude.c \
	plugins/common/claude.h
plugins_common_libplugcommon_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_common_libplugcommon_la_LIBADD = $(PLUGIN_LIBS)
PLUGIN_COMMON = plugins/common/libplugcommon.la
