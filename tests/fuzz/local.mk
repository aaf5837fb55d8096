# Fuzz targets (libFuzzer entry points), run in `make check` by a deterministic mutation
# driver over the seeds in tests/fuzz/seeds/<target>/ so CI exercises them without clang.
# Built with --enable-fuzzing (clang), each is also a real libFuzzer program tests/fuzz/lf_<t>
# (block at the end); tests/fuzz/run-libfuzzer runs those for a bounded time.
# A new target: fuzz_<t>.c + seeds/<t>/, a block here, <t> in run_fuzz.sh, and an lf_ block.
if BUILD_TESTS
FUZZ_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
FUZZ_LIBS = core/libgwcore.la
check_PROGRAMS += tests/fuzz/fuzz_framing tests/fuzz/fuzz_request tests/fuzz/fuzz_eventstream \
	tests/fuzz/fuzz_catalog tests/fuzz/fuzz_listen tests/fuzz/fuzz_responses
tests_fuzz_fuzz_responses_SOURCES = tests/fuzz/fuzz_responses.c tests/fuzz/driver.c
tests_fuzz_fuzz_responses_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_responses_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_framing_SOURCES = tests/fuzz/fuzz_framing.c tests/fuzz/driver.c
tests_fuzz_fuzz_framing_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_framing_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c tests/fuzz/driver.c
tests_fuzz_fuzz_request_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_request_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_eventstream_SOURCES = tests/fuzz/fuzz_eventstream.c tests/fuzz/driver.c
tests_fuzz_fuzz_eventstream_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_eventstream_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_catalog_SOURCES = tests/fuzz/fuzz_catalog.c tests/fuzz/driver.c
tests_fuzz_fuzz_catalog_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_catalog_LDADD = $(FUZZ_LIBS) -lm
tests_fuzz_fuzz_listen_SOURCES = tests/fuzz/fuzz_listen.c tests/fuzz/driver.c
tests_fuzz_fuzz_listen_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_listen_LDADD = $(FUZZ_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_cache
tests_fuzz_fuzz_cache_SOURCES = tests/fuzz/fuzz_cache.c tests/fuzz/driver.c
tests_fuzz_fuzz_cache_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_cache_LDADD = $(FUZZ_LIBS)
# The endpoint table's lookup and a 404's suggestion (core/endpoints.c), on any path.
check_PROGRAMS += tests/fuzz/fuzz_endpoints
tests_fuzz_fuzz_endpoints_SOURCES = tests/fuzz/fuzz_endpoints.c tests/fuzz/driver.c
tests_fuzz_fuzz_endpoints_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_endpoints_LDADD = $(FUZZ_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_traceparent
tests_fuzz_fuzz_traceparent_SOURCES = tests/fuzz/fuzz_traceparent.c tests/fuzz/driver.c
tests_fuzz_fuzz_traceparent_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_traceparent_LDADD = $(FUZZ_LIBS)
# The admin key API's JSON bodies, through the handler and a SQLite store.
check_PROGRAMS += tests/fuzz/fuzz_admin_keys
tests_fuzz_fuzz_admin_keys_SOURCES = tests/fuzz/fuzz_admin_keys.c tests/fuzz/driver.c \
	tests/fuzz/fuzz_store.c tests/fuzz/fuzz_store.h
tests_fuzz_fuzz_admin_keys_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_admin_keys_LDADD = $(FUZZ_LIBS)
check_PROGRAMS += tests/fuzz/fuzz_resp
tests_fuzz_fuzz_resp_SOURCES = tests/fuzz/fuzz_resp.c tests/fuzz/driver.c
tests_fuzz_fuzz_resp_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_resp_LDADD = $(FUZZ_LIBS)
# The admin key API's paths and query strings; the config file and the sections other
# modules read; the OTLP encoder's input (spans from arbitrary bytes).
check_PROGRAMS += tests/fuzz/fuzz_admin_path tests/fuzz/fuzz_config tests/fuzz/fuzz_otlp
tests_fuzz_fuzz_admin_path_SOURCES = tests/fuzz/fuzz_admin_path.c tests/fuzz/driver.c \
	tests/fuzz/fuzz_store.c tests/fuzz/fuzz_store.h
tests_fuzz_fuzz_admin_path_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_admin_path_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/driver.c
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_otlp_SOURCES = tests/fuzz/fuzz_otlp.c tests/fuzz/driver.c
tests_fuzz_fuzz_otlp_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_otlp_LDADD = $(FUZZ_LIBS)
# The arena JSON parser of host->json_parse, differential against libcjson.
check_PROGRAMS += tests/fuzz/fuzz_jsonarena
tests_fuzz_fuzz_jsonarena_SOURCES = tests/fuzz/fuzz_jsonarena.c tests/fuzz/driver.c
tests_fuzz_fuzz_jsonarena_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_jsonarena_LDADD = $(FUZZ_LIBS)
# Compressed request bodies (lib/coding): any bytes under each coding, round trips, headers.
check_PROGRAMS += tests/fuzz/fuzz_coding
tests_fuzz_fuzz_coding_SOURCES = tests/fuzz/fuzz_coding.c tests/fuzz/driver.c
tests_fuzz_fuzz_coding_CFLAGS = $(FUZZ_CFLAGS) $(ZSTD_CFLAGS)
tests_fuzz_fuzz_coding_LDADD = $(FUZZ_LIBS) $(ZLIB_LIBS) $(ZSTD_LIBS)
TESTS += tests/fuzz/run_fuzz.sh
# Every plugin's response parsers, through the real loader, exchange and renderer (needs the
# plugins built, hence a Criterion program on the plugin harness rather than a bare target).
check_PROGRAMS += tests/fuzz/fuzz_plugins
TESTS += tests/fuzz/fuzz_plugins
tests_fuzz_fuzz_plugins_SOURCES = tests/fuzz/fuzz_plugins.c
tests_fuzz_fuzz_plugins_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_fuzz_plugins_LDADD = $(PLUGIN_TEST_LIBS)
# What the libFuzzer runs found, each replayed as a test that failed before its fix.
check_PROGRAMS += tests/fuzz/test_fuzz_findings
TESTS += tests/fuzz/test_fuzz_findings
tests_fuzz_test_fuzz_findings_SOURCES = tests/fuzz/test_fuzz_findings.c
tests_fuzz_test_fuzz_findings_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_test_fuzz_findings_LDADD = $(TEST_LIBS)
endif
EXTRA_DIST += tests/fuzz/run_fuzz.sh tests/fuzz/seeds tests/fuzz/run-libfuzzer tests/fuzz/dicts

# libFuzzer builds of the same targets (./configure CC=clang --enable-fuzzing): no driver.c,
# libFuzzer's own main. Everything they link is built with its coverage hooks (SAN_CFLAGS).
if FUZZING
LF_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
LF_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
noinst_PROGRAMS += tests/fuzz/lf_framing tests/fuzz/lf_request tests/fuzz/lf_eventstream \
	tests/fuzz/lf_catalog tests/fuzz/lf_listen tests/fuzz/lf_responses
tests_fuzz_lf_framing_SOURCES = tests/fuzz/fuzz_framing.c
tests_fuzz_lf_framing_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_framing_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_framing_LDADD = core/libgwcore.la
tests_fuzz_lf_request_SOURCES = tests/fuzz/fuzz_request.c
tests_fuzz_lf_request_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_request_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_request_LDADD = core/libgwcore.la
tests_fuzz_lf_eventstream_SOURCES = tests/fuzz/fuzz_eventstream.c
tests_fuzz_lf_eventstream_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_eventstream_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_eventstream_LDADD = core/libgwcore.la
tests_fuzz_lf_catalog_SOURCES = tests/fuzz/fuzz_catalog.c
tests_fuzz_lf_catalog_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_catalog_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_catalog_LDADD = core/libgwcore.la -lm
tests_fuzz_lf_listen_SOURCES = tests/fuzz/fuzz_listen.c
tests_fuzz_lf_listen_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_listen_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_listen_LDADD = core/libgwcore.la
tests_fuzz_lf_responses_SOURCES = tests/fuzz/fuzz_responses.c
tests_fuzz_lf_responses_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_responses_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_responses_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_cache
tests_fuzz_lf_cache_SOURCES = tests/fuzz/fuzz_cache.c
tests_fuzz_lf_cache_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_cache_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_cache_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_endpoints
tests_fuzz_lf_endpoints_SOURCES = tests/fuzz/fuzz_endpoints.c
tests_fuzz_lf_endpoints_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_endpoints_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_endpoints_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_traceparent
tests_fuzz_lf_traceparent_SOURCES = tests/fuzz/fuzz_traceparent.c
tests_fuzz_lf_traceparent_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_traceparent_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_traceparent_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_resp
tests_fuzz_lf_resp_SOURCES = tests/fuzz/fuzz_resp.c
tests_fuzz_lf_resp_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_resp_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_resp_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_admin_keys
tests_fuzz_lf_admin_keys_SOURCES = tests/fuzz/fuzz_admin_keys.c tests/fuzz/fuzz_store.c \
	tests/fuzz/fuzz_store.h
tests_fuzz_lf_admin_keys_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_admin_keys_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_admin_keys_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_admin_path tests/fuzz/lf_config tests/fuzz/lf_otlp
tests_fuzz_lf_admin_path_SOURCES = tests/fuzz/fuzz_admin_path.c tests/fuzz/fuzz_store.c \
	tests/fuzz/fuzz_store.h
tests_fuzz_lf_admin_path_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_admin_path_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_admin_path_LDADD = core/libgwcore.la
tests_fuzz_lf_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_lf_config_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_config_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_config_LDADD = core/libgwcore.la
tests_fuzz_lf_otlp_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_lf_otlp_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_otlp_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_otlp_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_jsonarena
tests_fuzz_lf_jsonarena_SOURCES = tests/fuzz/fuzz_jsonarena.c
tests_fuzz_lf_jsonarena_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_jsonarena_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_jsonarena_LDADD = core/libgwcore.la
noinst_PROGRAMS += tests/fuzz/lf_anthropic
tests_fuzz_lf_anthropic_SOURCES = tests/fuzz/fuzz_anthropic.c tests/front/anth_check.c \
	tests/front/anth_check.h
tests_fuzz_lf_anthropic_CFLAGS = $(LF_CFLAGS) -I$(top_srcdir)/tests
tests_fuzz_lf_anthropic_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_anthropic_LDADD = core/libgwcore.la
endif
if FUZZING
noinst_PROGRAMS += tests/fuzz/lf_coding
tests_fuzz_lf_coding_SOURCES = tests/fuzz/fuzz_coding.c
tests_fuzz_lf_coding_CFLAGS = $(LF_CFLAGS) $(ZSTD_CFLAGS)
tests_fuzz_lf_coding_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_coding_LDADD = core/libgwcore.la $(ZLIB_LIBS) $(ZSTD_LIBS)
endif
# The guardrail targets live with their tests (tests/guard/fuzz_guard_*.c); they load the
# built guard plugins from $(AIGW_TEST_BUILDDIR)/plugins/guards/.libs (run-libfuzzer sets it).
if FUZZING
noinst_PROGRAMS += tests/fuzz/lf_guard_config tests/fuzz/lf_guard_stream
tests_fuzz_lf_guard_config_SOURCES = tests/guard/fuzz_guard_config.c
tests_fuzz_lf_guard_config_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_guard_config_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_guard_config_LDADD = core/libgwcore.la
tests_fuzz_lf_guard_stream_SOURCES = tests/guard/fuzz_guard_stream.c
tests_fuzz_lf_guard_stream_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_guard_stream_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_guard_stream_LDADD = core/libgwcore.la
endif
