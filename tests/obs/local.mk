# Tracing: unit tests for core/obs/trace.c and the trace-context fuzz target.
if BUILD_TESTS
check_PROGRAMS += tests/obs/test_trace
TESTS += tests/obs/test_trace
tests_obs_test_trace_SOURCES = tests/obs/test_trace.c
tests_obs_test_trace_CFLAGS = $(TEST_CFLAGS)
tests_obs_test_trace_LDADD = $(TEST_LIBS) -lm

check_PROGRAMS += tests/fuzz/fuzz_traceparent
tests_fuzz_fuzz_traceparent_SOURCES = tests/fuzz/fuzz_traceparent.c tests/fuzz/driver.c
tests_fuzz_fuzz_traceparent_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_traceparent_LDADD = $(FUZZ_LIBS)
endif
