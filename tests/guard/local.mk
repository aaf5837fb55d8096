# Guardrails: the chain and window against small test modules (tests/guard/mod_*.c), each
# built-in guard through the real loader (plugins/guards/.libs), and fuzzing of the chain's
# config parser and each guard's config parser.
GUARD_TEST_SOURCES = tests/guard/harness.c tests/guard/harness.h
if BUILD_TESTS
check_PROGRAMS += tests/guard/test_pii
TESTS += tests/guard/test_pii
tests_guard_test_pii_SOURCES = tests/guard/test_pii.c $(GUARD_TEST_SOURCES)
tests_guard_test_pii_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_pii_LDADD = $(TEST_LIBS)
endif

# tguard (mod_test.c) and the same source built broken, one way each, for the loader.
if BUILD_TESTS
GUARD_MODULE_LDFLAGS = $(AM_LDFLAGS) -module -rpath /nowhere -avoid-version -no-undefined -shared
check_LTLIBRARIES += tests/guard/tguard.la tests/guard/bad_noentry.la tests/guard/bad_major.la \
	tests/guard/bad_minor.la tests/guard/bad_name.la tests/guard/bad_size.la \
	tests/guard/bad_schema.la tests/guard/bad_old.la
tests_guard_tguard_la_SOURCES = tests/guard/mod_test.c
tests_guard_tguard_la_CFLAGS = $(GUARD_CFLAGS)
tests_guard_tguard_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_tguard_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_noentry_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_noentry_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=1
tests_guard_bad_noentry_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_noentry_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_major_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_major_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=2
tests_guard_bad_major_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_major_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_minor_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_minor_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=3
tests_guard_bad_minor_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_minor_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_name_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_name_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=4
tests_guard_bad_name_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_name_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_size_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_size_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=5
tests_guard_bad_size_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_size_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_schema_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_schema_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=6
tests_guard_bad_schema_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_schema_la_LIBADD = $(GUARD_LIBS)
tests_guard_bad_old_la_SOURCES = tests/guard/mod_test.c
tests_guard_bad_old_la_CFLAGS = $(GUARD_CFLAGS) -DBAD=7
tests_guard_bad_old_la_LDFLAGS = $(GUARD_MODULE_LDFLAGS)
tests_guard_bad_old_la_LIBADD = $(GUARD_LIBS)

check_PROGRAMS += tests/guard/test_chain
TESTS += tests/guard/test_chain
tests_guard_test_chain_SOURCES = tests/guard/test_chain.c $(GUARD_TEST_SOURCES)
tests_guard_test_chain_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_chain_LDADD = $(TEST_LIBS)

# The gateway's chain swapped under a request that holds the old one (a reload).
check_PROGRAMS += tests/guard/test_guard_swap
TESTS += tests/guard/test_guard_swap
tests_guard_test_guard_swap_SOURCES = tests/guard/test_guard_swap.c $(GUARD_TEST_SOURCES)
tests_guard_test_guard_swap_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_guard_swap_LDADD = $(TEST_LIBS)
endif

# One program per built-in guard, plus the JSON Schema subset the json-schema guard and the
# chain's config checks share.
if BUILD_TESTS
check_PROGRAMS += tests/guard/test_jschema tests/guard/test_word_filter tests/guard/test_regex \
	tests/guard/test_secret_scan tests/guard/test_max_size tests/guard/test_json_schema
TESTS += tests/guard/test_jschema tests/guard/test_word_filter tests/guard/test_regex \
	tests/guard/test_secret_scan tests/guard/test_max_size tests/guard/test_json_schema
tests_guard_test_jschema_SOURCES = tests/guard/test_jschema.c
tests_guard_test_jschema_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_jschema_LDADD = $(TEST_LIBS)
tests_guard_test_word_filter_SOURCES = tests/guard/test_word_filter.c $(GUARD_TEST_SOURCES)
tests_guard_test_word_filter_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_word_filter_LDADD = $(TEST_LIBS)
tests_guard_test_regex_SOURCES = tests/guard/test_regex.c $(GUARD_TEST_SOURCES)
tests_guard_test_regex_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_regex_LDADD = $(TEST_LIBS)
tests_guard_test_secret_scan_SOURCES = tests/guard/test_secret_scan.c $(GUARD_TEST_SOURCES)
tests_guard_test_secret_scan_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_secret_scan_LDADD = $(TEST_LIBS)
tests_guard_test_max_size_SOURCES = tests/guard/test_max_size.c $(GUARD_TEST_SOURCES)
tests_guard_test_max_size_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_max_size_LDADD = $(TEST_LIBS)
tests_guard_test_json_schema_SOURCES = tests/guard/test_json_schema.c $(GUARD_TEST_SOURCES)
tests_guard_test_json_schema_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_json_schema_LDADD = $(TEST_LIBS)
endif

# Fuzz targets (libFuzzer entry points) run by tests/fuzz/driver.c over tests/guard/seeds/.
if BUILD_TESTS
check_PROGRAMS += tests/guard/fuzz_guard_config tests/guard/fuzz_guard_stream
tests_guard_fuzz_guard_config_SOURCES = tests/guard/fuzz_guard_config.c tests/fuzz/driver.c
tests_guard_fuzz_guard_config_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_guard_fuzz_guard_config_LDADD = core/libgwcore.la
tests_guard_fuzz_guard_stream_SOURCES = tests/guard/fuzz_guard_stream.c tests/fuzz/driver.c
tests_guard_fuzz_guard_stream_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_guard_fuzz_guard_stream_LDADD = core/libgwcore.la
TESTS += tests/guard/run_fuzz_guard.sh
endif
EXTRA_DIST += tests/guard/run_fuzz_guard.sh tests/guard/seeds

# The third-party path: sdk/example/guard built out of tree against an installed aigw, then
# loaded and run through the chain by guardcheck (needs the test build for guardcheck).
if BUILD_TESTS
check_PROGRAMS += tests/guard/guardcheck
tests_guard_guardcheck_SOURCES = tests/guard/guardcheck.c
tests_guard_guardcheck_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_guard_guardcheck_LDADD = core/libgwcore.la
TESTS += tests/guard/test_example_guard.sh
endif
EXTRA_DIST += tests/guard/test_example_guard.sh sdk/example/guard/deny-word.c \
	sdk/example/guard/Makefile sdk/example/guard/README

# What pii + secret-scan cost a request (run by hand, see its header); not a test.
if BUILD_TESTS
check_PROGRAMS += tests/guard/bench_guard
tests_guard_bench_guard_SOURCES = tests/guard/bench_guard.c
tests_guard_bench_guard_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_guard_bench_guard_LDADD = core/libgwcore.la
endif

# End to end: the real aigw with a guardrails chain, clients of each dialect, the mock provider
# recording what reached the upstream (and, from test_example_guard.sh, the out-of-tree guard);
# SQLite to read the request log's rows a run left.
if BUILD_TESTS
check_PROGRAMS += tests/guard/test_guard_e2e
TESTS += tests/guard/test_guard_e2e
tests_guard_test_guard_e2e_SOURCES = tests/guard/test_guard_e2e.c
tests_guard_test_guard_e2e_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_guard_test_guard_e2e_LDADD = $(E2E_LIBS) $(SQLITE_LIBS)
EXTRA_tests_guard_test_guard_e2e_DEPENDENCIES = aigw$(EXEEXT) tests/guard/tguard.la

# A final hook's service call still out when the upstream fails or the client leaves.
check_PROGRAMS += tests/guard/test_guard_late
TESTS += tests/guard/test_guard_late
tests_guard_test_guard_late_SOURCES = tests/guard/test_guard_late.c
tests_guard_test_guard_late_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_guard_test_guard_late_LDADD = $(E2E_LIBS) $(SQLITE_LIBS)
EXTRA_tests_guard_test_guard_late_DEPENDENCIES = aigw$(EXEEXT) tests/guard/tguard.la

# Output guards read the model's tool calls' arguments, in every dialect, streamed and not.
check_PROGRAMS += tests/guard/test_guard_tools
TESTS += tests/guard/test_guard_tools
tests_guard_test_guard_tools_SOURCES = tests/guard/test_guard_tools.c
tests_guard_test_guard_tools_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_guard_tools_LDADD = $(E2E_LIBS)
EXTRA_tests_guard_test_guard_tools_DEPENDENCIES = aigw$(EXEEXT)

# Guards see what a native target is sent: every text of the client's own body.
check_PROGRAMS += tests/guard/test_guard_native
TESTS += tests/guard/test_guard_native
tests_guard_test_guard_native_SOURCES = tests/guard/test_guard_native.c
tests_guard_test_guard_native_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_guard_test_guard_native_LDADD = $(E2E_LIBS) $(SQLITE_LIBS)
EXTRA_tests_guard_test_guard_native_DEPENDENCIES = aigw$(EXEEXT)
endif
