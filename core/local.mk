# The daemon. Everything but main.c goes into a convenience library so tests link the very
# objects the daemon runs.
noinst_LTLIBRARIES += core/libgwcore.la
core_libgwcore_la_SOURCES = \
	core/buf.c core/buf.h \
	core/arena.c core/arena.h \
	core/log.c core/log.h \
	core/redact.c core/redact.h \
	core/crypto.c core/crypto.h \
	core/utf8.c core/utf8.h \
	core/errors.c core/errors.h \
	core/plugin_loader.c core/plugin_loader.h \
	core/call.c core/call.h \
	core/host.c core/host.h \
	core/framing.c core/framing.h \
	core/eventstream.c core/eventstream.h \
	core/render.c core/render.h \
	core/exchange.c core/exchange.h \
	core/oai_compat.c core/oai_compat.h core/oai_error.c core/oai_int.h \
	core/retry_after.c core/retry_after.h \
	core/config.c core/config.h \
	core/jsonc.c core/jsonc.h \
	core/request.c core/request.h \
	core/route.c core/route.h core/route_config.c \
	core/strategy.c core/strategy.h core/strategy_rules.c \
	core/breaker.c core/breaker.h core/retry_budget.c core/retry_budget.h \
	core/upstream.c core/upstream.h core/sockwatch.c core/sockwatch.h \
	core/relay.c core/relay.h \
	core/http.c core/http.h \
	core/gateway.c core/gateway.h core/respond.c core/respond.h \
	core/models.c core/models.h core/models_live.c core/models_live.h \
	core/catalog.c core/catalog.h core/catalog_load.c core/catalog_entry.c core/catalog_int.h \
	core/metrics.c core/metrics_render.c core/metrics.h core/metrics_int.h \
	core/cost.c core/cost.h \
	core/version.h
core_libgwcore_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS)
core_libgwcore_la_LIBADD = $(MHD_LIBS) $(CURL_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(LTDL_LIBS) \
	$(AX_PTHREAD_LIBS) -lm

bin_PROGRAMS += aigw
aigw_SOURCES = core/main.c
aigw_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS)
aigw_LDADD = core/libgwcore.la
