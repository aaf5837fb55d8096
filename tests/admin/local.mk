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
