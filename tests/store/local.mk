# The store contract suite: the same cases (test_store_*.c) against SQLite and PostgreSQL;
# each backend brings its fixture and main. The PostgreSQL program starts its own server
# (pgsvc.c) and is skipped (exit 77) where the server binaries are absent.
if BUILD_TESTS
STORE_CASES = tests/store/test_store_keys.c tests/store/test_store_ledger.c \
	tests/store/test_store_log.c tests/store/test_store_resp.c tests/store/test_store_outage.c \
	tests/store/test_store_spool.c \
	tests/store/fx_common.c \
	tests/store/fixture.h
check_PROGRAMS += tests/store/test_store_sqlite tests/store/test_store_pg
TESTS += tests/store/test_store_sqlite tests/store/test_store_pg
tests_store_test_store_sqlite_SOURCES = $(STORE_CASES) tests/store/fx_sqlite.c \
	tests/store/test_store_memory.c tests/store/test_store_sqlite_writer.c \
	tests/store/test_store_clean.c \
	tests/store/main_sqlite.c
tests_store_test_store_sqlite_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_store_test_store_sqlite_LDADD = $(TEST_LIBS) $(SQLITE_LIBS)
tests_store_test_store_pg_SOURCES = $(STORE_CASES) tests/store/fx_pg.c tests/store/main_pg.c \
	tests/store/pgsvc.c tests/store/pgsvc.h
tests_store_test_store_pg_CFLAGS = $(TEST_CFLAGS) $(PQ_CFLAGS)
tests_store_test_store_pg_LDADD = $(TEST_LIBS) $(PQ_LIBS)
# The admin key API and `aigw keys`, on SQLite (they see the store only through its API).
check_PROGRAMS += tests/store/test_admin_keys
TESTS += tests/store/test_admin_keys
tests_store_test_admin_keys_SOURCES = tests/store/test_admin_keys.c tests/store/fx_common.c \
	tests/store/fixture.h tests/store/fx_sqlite.c tests/store/main_sqlite.c
tests_store_test_admin_keys_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_store_test_admin_keys_LDADD = $(TEST_LIBS) $(SQLITE_LIBS)
endif
