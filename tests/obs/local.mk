# Tracing: the test OTLP receiver (a library the obs and e2e tests link), unit tests for
# core/obs/trace.c, otlp*.c and otel*.c, and a benchmark (the fuzz target of trace.c,
# fuzz_traceparent, is in tests/fuzz/local.mk with the others).
if BUILD_TESTS
check_LTLIBRARIES += tests/otlprecv/libotlprecv.la
tests_otlprecv_libotlprecv_la_SOURCES = tests/otlprecv/otlprecv.c tests/otlprecv/otlprecv.h
tests_otlprecv_libotlprecv_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS)
tests_otlprecv_libotlprecv_la_LIBADD = $(MHD_LIBS) $(CJSON_LIBS) $(AX_PTHREAD_LIBS)

check_PROGRAMS += tests/obs/test_trace
TESTS += tests/obs/test_trace
tests_obs_test_trace_SOURCES = tests/obs/test_trace.c
tests_obs_test_trace_CFLAGS = $(TEST_CFLAGS)
tests_obs_test_trace_LDADD = $(TEST_LIBS) -lm

check_PROGRAMS += tests/obs/test_otlp
TESTS += tests/obs/test_otlp
tests_obs_test_otlp_SOURCES = tests/obs/test_otlp.c tests/unit/metrics_text.c \
	tests/unit/metrics_text.h
tests_obs_test_otlp_CFLAGS = $(TEST_CFLAGS)
tests_obs_test_otlp_LDADD = tests/otlprecv/libotlprecv.la $(TEST_LIBS)

check_PROGRAMS += tests/obs/test_otel
TESTS += tests/obs/test_otel
tests_obs_test_otel_SOURCES = tests/obs/test_otel.c
tests_obs_test_otel_CFLAGS = $(TEST_CFLAGS)
tests_obs_test_otel_LDADD = tests/otlprecv/libotlprecv.la $(TEST_LIBS) -lm

# The cost of tracing per request (built by `make check`, never run by it).
check_PROGRAMS += tests/obs/bench_otel
tests_obs_bench_otel_SOURCES = tests/obs/bench_otel.c
tests_obs_bench_otel_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) -I$(top_srcdir)/tests
tests_obs_bench_otel_LDADD = tests/otlprecv/libotlprecv.la core/libgwcore.la -lm
endif
