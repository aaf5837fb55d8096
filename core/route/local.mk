# core/route: routing: strategies, circuit breakers, retry budget.
core_libgwcore_la_SOURCES += \
	core/route/breaker.c \
	core/route/breaker.h \
	core/route/retry_budget.c \
	core/route/retry_budget.h \
	core/route/route.c \
	core/route/route.h \
	core/route/route_config.c \
	core/route/route_int.h \
	core/route/route_memo.c \
	core/route/route_router.c \
	core/route/strategy.c \
	core/route/strategy.h \
	core/route/strategy_rules.c
