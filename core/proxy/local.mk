# core/proxy: one request's lifetime as named phases (accept, authenticate, admit, guard, cache lookup, route, attempt, deliver, account), the upstream driver, local endpoints.
core_libgwcore_la_SOURCES += \
	core/proxy/accept.c \
	core/proxy/accept.h \
	core/proxy/account.c \
	core/proxy/admit.c \
	core/proxy/attempt.c \
	core/proxy/authenticate.c \
	core/proxy/authfail.c \
	core/proxy/authfail.h \
	core/proxy/authenticate.h \
	core/proxy/cache_int.h \
	core/proxy/cache_lookup.c \
	core/proxy/cache_phase.h \
	core/proxy/cache_shared.c \
	core/proxy/cancel.c \
	core/proxy/cancel.h \
	core/proxy/counters_loop.c \
	core/proxy/counters_loop.h \
	core/proxy/deliver.c \
	core/proxy/deliver_guard.c \
	core/proxy/driver.c \
	core/proxy/driver.h \
	core/proxy/gateway.c \
	core/proxy/gateway.h \
	core/proxy/guard_phase.c \
	core/proxy/local.h \
	core/proxy/models.c \
	core/proxy/models.h \
	core/proxy/models_live.c \
	core/proxy/models_live.h \
	core/proxy/reload.c \
	core/proxy/reload.h \
	core/proxy/req_int.h \
	core/proxy/route_phase.c \
	core/proxy/snapshot.c \
	core/proxy/snapshot.h
