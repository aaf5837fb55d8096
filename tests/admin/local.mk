# The admin API's log, usage, providers and config views (on SQLite through the store
# fixtures) and the console's embedded files.
if BUILD_TESTS
check_PROGRAMS += tests/admin/test_admin_views
TESTS += tests/admin/test_admin_views
tests_admin_test_admin_views_SOURCES = tests/admin/test_admin_logs.c tests/admin/test_console.c \
	tests/admin/test_admin_status.c tests/admin/answer.h \
	tests/store/fx_common.c tests/store/fixture.h tests/store/fx_sqlite.c \
	tests/store/main_sqlite.c
tests_admin_test_admin_views_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_admin_test_admin_views_LDADD = $(TEST_LIBS) $(SQLITE_LIBS)
endif
# The request log end to end through the real binary (skipped without node).
TESTS += tests/admin/logs_e2e.sh
EXTRA_DIST += tests/admin/logs_e2e.sh tests/admin/logs_e2e.mjs
# The views' query strings under the deterministic fuzz driver (tests/fuzz/driver.c).
if BUILD_TESTS
check_PROGRAMS += tests/fuzz/fuzz_admin_query
tests_fuzz_fuzz_admin_query_SOURCES = tests/fuzz/fuzz_admin_query.c tests/fuzz/driver.c
tests_fuzz_fuzz_admin_query_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_admin_query_LDADD = $(FUZZ_LIBS)
TESTS += tests/fuzz/run_fuzz_admin_query.sh
endif
EXTRA_DIST += tests/fuzz/run_fuzz_admin_query.sh tests/fuzz/seeds/admin_query
if FUZZING
noinst_PROGRAMS += tests/fuzz/lf_admin_query
tests_fuzz_lf_admin_query_SOURCES = tests/fuzz/fuzz_admin_query.c
tests_fuzz_lf_admin_query_CFLAGS = $(LF_CFLAGS)
tests_fuzz_lf_admin_query_LDFLAGS = $(LF_LDFLAGS)
tests_fuzz_lf_admin_query_LDADD = core/libgwcore.la
endif
# The request log's queue overflowing while the database is locked, through the real aigw:
# no request waits, the oldest rows go, aigw_log_dropped_total counts them; log.bodies.
if BUILD_TESTS
check_PROGRAMS += tests/admin/test_log_overflow
TESTS += tests/admin/test_log_overflow
tests_admin_test_log_overflow_SOURCES = tests/admin/test_log_overflow.c tests/admin/test_log_bodies.c \
	tests/admin/dirwait.h
tests_admin_test_log_overflow_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_admin_test_log_overflow_LDADD = $(E2E_LIBS) $(SQLITE_LIBS)
EXTRA_tests_admin_test_log_overflow_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif
