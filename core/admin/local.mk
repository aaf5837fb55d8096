# core/admin: the admin operations, independent of the transport (HTTP wiring lives with the
# listener; the `aigw keys` command calls the same handlers).
core_libgwcore_la_SOURCES += \
	core/admin/admin_keys.c \
	core/admin/admin_keys.h \
	core/admin/keys_cli.c \
	core/admin/keys_cli.h
