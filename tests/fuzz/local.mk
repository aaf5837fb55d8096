# Fuzz targets (libFuzzer entry points), run in `make check` by a deterministic mutation
# driver over the seeds in tests/fuzz/seeds/<target>/ so CI exercises them without clang.
if BUILD_TESTS
FUZZ_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
FUZZ_LIBS = core/libgwcore.la
check_PROGRAMS += tests/fuzz/fuzz_framing tests/fuzz/fuzz_request tests/fuzz/fuzz_eventstream \
	tests/fuzz/fuzz_catalog
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
# The admin key API's JSON bodies, through the handler and a SQLite store.
check_PROGRAMS += tests/fuzz/fuzz_admin_keys
tests_fuzz_fuzz_admin_keys_SOURCES = tests/fuzz/fuzz_admin_keys.c tests/fuzz/driver.c
tests_fuzz_fuzz_admin_keys_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_admin_keys_LDADD = $(FUZZ_LIBS)
TESTS += tests/fuzz/run_fuzz.sh
# Every plugin's response parsers, through the real loader, exchange and renderer (needs the
# plugins built, hence a Criterion program on the plugin harness rather than a bare target).
check_PROGRAMS += tests/fuzz/fuzz_plugins
TESTS += tests/fuzz/fuzz_plugins
tests_fuzz_fuzz_plugins_SOURCES = tests/fuzz/fuzz_plugins.c
tests_fuzz_fuzz_plugins_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_fuzz_plugins_LDADD = $(PLUGIN_TEST_LIBS)
endif
EXTRA_DIST += tests/fuzz/run_fuzz.sh tests/fuzz/seeds
