# core/plugin: the host side of the SDK: the loader, the services table, one call through its plugin (call, exchange), the framers that cut its responses, error and status maps.
core_libgwcore_la_SOURCES += \
	core/plugin/call.c \
	core/plugin/call.h \
	core/plugin/errors.c \
	core/plugin/errors.h \
	core/plugin/eventstream.c \
	core/plugin/eventstream.h \
	core/plugin/exchange.c \
	core/plugin/exchange.h \
	core/plugin/framing.c \
	core/plugin/framing.h \
	core/plugin/host.c \
	core/plugin/host.h \
	core/plugin/oai_compat.c \
	core/plugin/oai_compat.h \
	core/plugin/oai_error.c \
	core/plugin/oai_request.c \
	core/plugin/oai_int.h \
	core/plugin/payload.c \
	core/plugin/payload.h \
	core/plugin/plugin_loader.c \
	core/plugin/plugin_loader.h \
	core/plugin/usage.c \
	core/plugin/usage.h
