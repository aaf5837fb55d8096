# Guardrails: the chain and window against small test modules (tests/guard/mod_*.c), each
# built-in guard through the real loader (plugins/guards/.libs), and fuzzing of the chain's
# config parser and each guard's config parser.
GUARD_TEST_SOURCES = tests/guard/harness.c tests/guard/harness.h
if BUILD_TESTS
check_PROGRAMS += tests/guard/test_pii
TESTS += tests/guard/test_pii
tests_guard_test_pii_SOURCES = tests/guard/test_pii.c $(GUARD_TEST_SOURCES)
tests_guard_test_pii_CFLAGS = $(TEST_CFLAGS)
tests_guard_test_pii_LDADD = $(TEST_LIBS)
endif
