# core/proxy: one request's lifetime and its phases; the upstream call, the exchange with the plugin, framing.
core_libgwcore_la_SOURCES += \
	core/proxy/accept.c \
	core/proxy/accept.h \
	core/proxy/authenticate.c \
	core/proxy/authenticate.h \
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
	core/proxy/gateway.h \
	core/proxy/local.h \
	core/proxy/models.c \
	core/proxy/models.h \
	core/proxy/models_live.c \
	core/proxy/models_live.h \
	core/proxy/usage.c \
	core/proxy/usage.h
