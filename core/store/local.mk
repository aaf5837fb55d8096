# core/store: the state store (keys, ledger, request log, stored responses); a service
# layer that includes only lib/.
core_libgwcore_la_SOURCES += \
	core/store/store.h
