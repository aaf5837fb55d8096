# core/admin: the admin operations, independent of the transport (HTTP wiring lives with the
# listener; the `aigw keys` command calls the same handlers).
core_libgwcore_la_SOURCES += \
	core/admin/admin.c \
	core/admin/admin.h \
	core/admin/admin_keys.c \
	core/admin/admin_keys.h \
	core/admin/keys_cli.c \
	core/admin/keys_cli.h
# The request log, usage, providers and config views of the admin API, and the console.
core_libgwcore_la_SOURCES += \
	core/admin/admin_util.c \
	core/admin/admin_util.h \
	core/admin/admin_logs.c \
	core/admin/admin_logs.h \
	core/admin/admin_providers.c \
	core/admin/admin_config.c \
	core/admin/admin_status.h \
	core/admin/admin_routes.c \
	core/admin/admin_routes.h
