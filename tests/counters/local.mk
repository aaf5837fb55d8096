# The counters (core/store/counters*, redis*): the reply reader, the Redis client, the counter
# contract against in-process and Redis, and the failure policy (the reply reader's fuzz
# target is tests/fuzz/fuzz_resp.c). The Redis parts start their
# own redis-server on loopback and skip when it is absent.
if BUILD_TESTS
check_LTLIBRARIES += tests/counters/libcharness.la
tests_counters_libcharness_la_SOURCES = tests/counters/harness.c tests/counters/harness.h
tests_counters_libcharness_la_CFLAGS = $(TEST_CFLAGS) $(HIREDIS_CFLAGS)
tests_counters_libcharness_la_LIBADD = core/libgwcore.la $(CRITERION_LIBS)
COUNTERS_TEST_LIBS = tests/counters/libcharness.la core/libgwcore.la $(CRITERION_LIBS)

check_PROGRAMS += tests/counters/test_resp tests/counters/test_redis \
	tests/counters/test_counters tests/counters/test_failover
TESTS += tests/counters/test_resp tests/counters/test_redis \
	tests/counters/test_counters tests/counters/test_failover
tests_counters_test_resp_SOURCES = tests/counters/test_resp.c
tests_counters_test_resp_CFLAGS = $(TEST_CFLAGS)
tests_counters_test_resp_LDADD = $(COUNTERS_TEST_LIBS)
tests_counters_test_redis_SOURCES = tests/counters/test_redis.c
tests_counters_test_redis_CFLAGS = $(TEST_CFLAGS)
tests_counters_test_redis_LDADD = $(COUNTERS_TEST_LIBS)
tests_counters_test_counters_SOURCES = tests/counters/test_counters.c tests/counters/test_cmem.c \
	tests/counters/test_lease.c
tests_counters_test_counters_CFLAGS = $(TEST_CFLAGS)
tests_counters_test_counters_LDADD = $(COUNTERS_TEST_LIBS)
tests_counters_test_failover_SOURCES = tests/counters/test_failover.c
tests_counters_test_failover_CFLAGS = $(TEST_CFLAGS)
tests_counters_test_failover_LDADD = $(COUNTERS_TEST_LIBS)

endif
