# Unit tests for core/eventstream.c (included from tests/unit/local.mk).
if BUILD_TESTS
check_PROGRAMS += tests/unit/test_eventstream
TESTS += tests/unit/test_eventstream
tests_unit_test_eventstream_SOURCES = tests/unit/test_eventstream.c
tests_unit_test_eventstream_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_eventstream_LDADD = $(TEST_LIBS)
endif
