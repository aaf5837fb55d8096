# core/proxy: one request's lifetime and its phases; the upstream call, the exchange with the plugin, framing.
core_libgwcore_la_SOURCES += \
	core/proxy/call.c \
	core/proxy/call.h \
	core/proxy/errors.c \
	core/proxy/errors.h \
	core/proxy/eventstream.c \
	core/proxy/eventstream.h \
	core/proxy/exchange.c \
	core/proxy/exchange.h \
	core/proxy/framing.c \
	core/proxy/framing.h \
	core/proxy/gateway.c \
	core/proxy/gateway.h
