# core/proxy: one request's lifetime and its phases; the upstream call, the exchange with the plugin, framing.
core_libgwcore_la_SOURCES += \
	core/proxy/accept.c \
	core/proxy/accept.h \
	core/proxy/account.c \
	core/proxy/admit.c \
	core/proxy/attempt.c \
	core/proxy/authenticate.c \
	core/proxy/authenticate.h \
	core/proxy/cache_lookup.c \
	core/proxy/call.c \
	core/proxy/call.h \
	core/proxy/deliver.c \
	core/proxy/driver.c \
	core/proxy/driver.h \
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
	core/proxy/req_int.h \
	core/proxy/route_phase.c \
	core/proxy/usage.c \
	core/proxy/usage.h
