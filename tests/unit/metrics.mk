# Unit tests for core/metrics*.c (included from tests/unit/local.mk).
if BUILD_TESTS
# METRICS_SRC bridges the time before core/local.mk lists core/metrics*.c in libgwcore: the
# test objects then define gw_metrics_*, so no archive member is pulled twice. Empty it once
# core/local.mk has them.
METRICS_SRC =

check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c tests/unit/test_metrics_memo.c \
	tests/unit/metrics_text.c \
	tests/unit/metrics_text.h $(METRICS_SRC)
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_metrics_ops
TESTS += tests/unit/test_metrics_ops
tests_unit_test_metrics_ops_SOURCES = tests/unit/test_metrics_ops.c tests/unit/metrics_text.c \
	tests/unit/metrics_text.h
tests_unit_test_metrics_ops_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_ops_LDADD = $(TEST_LIBS)

# The hooks' cost per request with 1, 2 and 4 threads (built by `make check`, never run by
# it; run tests/unit/bench_metrics by hand, best from a build without sanitizers).
check_PROGRAMS += tests/unit/bench_metrics
tests_unit_bench_metrics_SOURCES = tests/unit/bench_metrics.c $(METRICS_SRC)
tests_unit_bench_metrics_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_unit_bench_metrics_LDADD = core/libgwcore.la
endif
