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
# The console: ui/ built into the binary (scripts/embed-ui needs only sh and od).
UI_FILES = ui/index.html ui/console.js ui/console.css ui/vendor/uplot/uPlot.iife.min.js \
	ui/vendor/uplot/uPlot.min.css ui/vendor/uplot/LICENSE
core_libgwcore_la_SOURCES += core/admin/console.c core/admin/console.h
nodist_core_libgwcore_la_SOURCES = core/admin/ui_assets.c
CLEANFILES += core/admin/ui_assets.c
EXTRA_DIST += $(UI_FILES) ui/vendor/uplot/SOURCE scripts/embed-ui
core/admin/ui_assets.c: $(UI_FILES:%=$(top_srcdir)/%) $(top_srcdir)/scripts/embed-ui
	$(AM_V_GEN)$(MKDIR_P) core/admin && \
	$(SHELL) $(top_srcdir)/scripts/embed-ui $(top_srcdir) $(UI_FILES) > $@.tmp && mv $@.tmp $@
