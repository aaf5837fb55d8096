# The fault suite (issue 26): Redis frozen, killed, slow and restarted under load across two
# replicas; PostgreSQL restarted during writes; the SQLite file on a full disk and locked;
# aigw killed mid-load; clients leaving at every phase; budgets under concurrency. Each case
# starts the servers it needs on loopback and is skipped where their binaries are absent.
if BUILD_TESTS
check_PROGRAMS += tests/faults/test_faults_redis tests/faults/test_faults_store
TESTS += tests/faults/test_faults_redis tests/faults/test_faults_store
FAULTS_COMMON = tests/faults/faults.c tests/faults/faults.h tests/faults/main.c tests/gov/gov.c \
	tests/gov/gov.h
tests_faults_test_faults_redis_SOURCES = tests/faults/test_faults_redis.c $(FAULTS_COMMON)
tests_faults_test_faults_redis_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_faults_test_faults_redis_LDADD = $(E2E_LIBS) tests/counters/libcharness.la \
	core/libgwcore.la $(CRITERION_LIBS) $(SQLITE_LIBS)
EXTRA_tests_faults_test_faults_redis_DEPENDENCIES = aigw$(EXEEXT)
tests_faults_test_faults_store_SOURCES = tests/faults/test_faults_store.c $(FAULTS_COMMON) \
	tests/store/pgsvc.c tests/store/pgsvc.h
tests_faults_test_faults_store_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS)
tests_faults_test_faults_store_LDADD = $(E2E_LIBS) tests/counters/libcharness.la \
	core/libgwcore.la $(CRITERION_LIBS) $(SQLITE_LIBS) $(PQ_LIBS)
EXTRA_tests_faults_test_faults_store_DEPENDENCIES = aigw$(EXEEXT)
endif
