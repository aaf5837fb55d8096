# The response cache's service (core/cache): keys, chunk logs, the in-memory LRU, settings.
if BUILD_TESTS
check_PROGRAMS += tests/cache/test_cache_key
TESTS += tests/cache/test_cache_key
tests_cache_test_cache_key_SOURCES = tests/cache/test_cache_key.c
tests_cache_test_cache_key_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_key_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/cache/test_cache_lru
TESTS += tests/cache/test_cache_lru
tests_cache_test_cache_lru_SOURCES = tests/cache/test_cache_lru.c
tests_cache_test_cache_lru_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_lru_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/cache/test_cache_chunklog
TESTS += tests/cache/test_cache_chunklog
tests_cache_test_cache_chunklog_SOURCES = tests/cache/test_cache_chunklog.c
tests_cache_test_cache_chunklog_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_chunklog_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/cache/test_cache_cfg
TESTS += tests/cache/test_cache_cfg
tests_cache_test_cache_cfg_SOURCES = tests/cache/test_cache_cfg.c
tests_cache_test_cache_cfg_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_cfg_LDADD = $(TEST_LIBS)
endif

# The cache through the real aigw binary and the mock provider.
if BUILD_TESTS
check_PROGRAMS += tests/cache/test_cache_e2e
TESTS += tests/cache/test_cache_e2e
tests_cache_test_cache_e2e_SOURCES = tests/cache/test_cache_e2e.c tests/cache/answer.c \
	tests/cache/answer.h tests/front/anth_check.c tests/front/anth_check.h
tests_cache_test_cache_e2e_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_e2e_LDADD = $(E2E_LIBS) core/libgwcore.la
EXTRA_tests_cache_test_cache_e2e_DEPENDENCIES = aigw$(EXEEXT)
endif

# The shared cache: two replicas on one redis-server of the test's own (skipped without it).
if BUILD_TESTS
check_PROGRAMS += tests/cache/test_cache_redis
TESTS += tests/cache/test_cache_redis
tests_cache_test_cache_redis_SOURCES = tests/cache/test_cache_redis.c tests/cache/answer.c \
	tests/cache/answer.h tests/cache/redissvc.c tests/cache/redissvc.h
tests_cache_test_cache_redis_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_redis_LDADD = $(E2E_LIBS) core/libgwcore.la
EXTRA_tests_cache_test_cache_redis_DEPENDENCIES = aigw$(EXEEXT)
endif

# What the cache keeps and the bytes it reports, through the real aigw binary.
if BUILD_TESTS
check_PROGRAMS += tests/cache/test_cache_kept
TESTS += tests/cache/test_cache_kept
tests_cache_test_cache_kept_SOURCES = tests/cache/test_cache_kept.c
tests_cache_test_cache_kept_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_kept_LDADD = $(E2E_LIBS) core/libgwcore.la
EXTRA_tests_cache_test_cache_kept_DEPENDENCIES = aigw$(EXEEXT)
endif

# The cache under output guardrails (the test guard of tests/guard).
if BUILD_TESTS
check_PROGRAMS += tests/cache/test_cache_guard
TESTS += tests/cache/test_cache_guard
tests_cache_test_cache_guard_SOURCES = tests/cache/test_cache_guard.c tests/cache/redissvc.c \
	tests/cache/redissvc.h
tests_cache_test_cache_guard_CFLAGS = $(TEST_CFLAGS)
tests_cache_test_cache_guard_LDADD = $(E2E_LIBS) core/libgwcore.la
EXTRA_tests_cache_test_cache_guard_DEPENDENCIES = aigw$(EXEEXT) tests/guard/tguard.la
endif
