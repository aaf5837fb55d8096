# core/store: the state store (keys, ledger, request log, stored responses); a service
# layer that includes only lib/. One API (store.h); backends fill store_int.h's ops table.
core_libgwcore_la_SOURCES += \
	core/store/store.c \
	core/store/store.h \
	core/store/store_int.h \
	core/store/store_keycache.c \
	core/store/store_keyload.c \
	core/store/store_keyread.c \
	core/store/store_keyrow.c \
	core/store/store_keys.c \
	core/store/store_ledger.c \
	core/store/store_log.c \
	core/store/store_logw.c \
	core/store/store_period.c \
	core/store/store_pg.c \
	core/store/store_queue.c \
	core/store/store_resp.c \
	core/store/store_schema.c \
	core/store/store_sql.c \
	core/store/store_spool.c \
	core/store/store_sqlite.c \
	core/store/store_usage.c \
	core/store/store_writer.c
