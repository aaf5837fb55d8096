# Tests. Plugin tests live in plugins/<vkey>/local.mk; here: the harness, core unit tests,
# the mock provider server and the end-to-end suite.
if BUILD_TESTS
check_LTLIBRARIES += tests/plugins/libharness.la
tests_plugins_libharness_la_SOURCES = tests/plugins/harness.c tests/plugins/harness.h \
	tests/plugins/testutil.c tests/plugins/testutil.h
tests_plugins_libharness_la_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) $(MHD_CFLAGS)
tests_plugins_libharness_la_LIBADD = core/libgwcore.la $(CRITERION_LIBS)

# Flags every Criterion test program uses.
TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) $(MHD_CFLAGS) $(CRYPTO_CFLAGS) -I$(top_srcdir)/tests
TEST_LIBS = core/libgwcore.la $(CRITERION_LIBS)
PLUGIN_TEST_LIBS = tests/plugins/libharness.la core/libgwcore.la $(CRITERION_LIBS)
endif

include tests/unit/local.mk
include tests/front/local.mk
include tests/mockprov/local.mk
include tests/e2e/local.mk
include tests/fuzz/local.mk
include tests/obs/local.mk
include tests/counters/local.mk
EXTRA_DIST += tests/fixtures tests/README.md
include tests/loader/local.mk
include tests/sdk/local.mk
include tests/docs/local.mk
include tests/scripts/local.mk
include tests/listen/local.mk
include tests/compat/openai.mk
include tests/store/local.mk
include tests/admin/local.mk
include tests/browser/local.mk
include tests/compat/anthropic.mk
include tests/cache/local.mk
include tests/guard/local.mk
include tests/gov/local.mk
include tests/faults/local.mk
