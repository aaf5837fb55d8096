# The daemon. Everything but main.c goes into a convenience library so tests link the very
# objects the daemon runs. Each layer lists its own sources in core/<layer>/local.mk; the
# layer rule (who may include whom) is in HACKING.md and checked by scripts/checklayers.
noinst_LTLIBRARIES += core/libgwcore.la
core_libgwcore_la_SOURCES = core/config.c core/config.h core/version.h \
	core/endpoints.c core/endpoints.h
include core/lib/local.mk
include core/net/local.mk
include core/proxy/local.mk
include core/plugin/local.mk
include core/front/local.mk
include core/route/local.mk
include core/catalog/local.mk
include core/obs/local.mk
include core/store/local.mk
include core/admin/local.mk
include core/cache/local.mk
include core/guard/local.mk
core_libgwcore_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS) \
	$(SQLITE_CFLAGS) $(PQ_CFLAGS) $(ZLIB_CFLAGS) $(ZSTD_CFLAGS) $(BROTLIDEC_CFLAGS)
core_libgwcore_la_LIBADD = $(MHD_LIBS) $(CURL_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(LTDL_LIBS) \
	$(SQLITE_LIBS) $(PQ_LIBS) $(ZLIB_LIBS) $(ZSTD_LIBS) $(BROTLIDEC_LIBS) \
	$(AX_PTHREAD_LIBS) -lm

bin_PROGRAMS += aigw
aigw_SOURCES = core/main.c
aigw_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS)
aigw_LDADD = core/libgwcore.la
# core/store: shared counters (limits and budgets); its own file so the SQL store's local.mk
# and this one never collide.
include core/store/counters.mk
