# core/plugin: the host side of the SDK: the loader and the services table, OpenAI-wire helpers.
core_libgwcore_la_SOURCES += \
	core/plugin/host.c \
	core/plugin/host.h \
	core/plugin/oai_compat.c \
	core/plugin/oai_compat.h \
	core/plugin/oai_error.c \
	core/plugin/oai_int.h \
	core/plugin/payload.c \
	core/plugin/payload.h \
	core/plugin/plugin_loader.c \
	core/plugin/plugin_loader.h
