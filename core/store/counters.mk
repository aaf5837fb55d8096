# core/store, counters part: RPM/TPM/budget admission in process or shared through Redis
# (hiredis for its reply reader and command formatter only). Included from core/local.mk
# after the library's flags are set, so this file can append to them.
core_libgwcore_la_SOURCES += \
	core/store/counters.c \
	core/store/counters.h \
	core/store/counters_int.h \
	core/store/counters_lease.c \
	core/store/counters_mem.c \
	core/store/counters_redis.c \
	core/store/counters_redis_lua.c \
	core/store/counters_redis_lua.h \
	core/store/redis.c \
	core/store/redis_cmd.c \
	core/store/redis.h \
	core/store/redis_int.h \
	core/store/redis_resp.c \
	core/store/redis_resp.h \
	core/store/redis_url.c
core_libgwcore_la_CFLAGS += $(HIREDIS_CFLAGS)
core_libgwcore_la_LIBADD += $(HIREDIS_LIBS)
