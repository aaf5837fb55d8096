# Unit tests of the routing engine. Included from tests/unit/local.mk.

if BUILD_TESTS
check_PROGRAMS += tests/unit/test_route tests/unit/test_breaker
TESTS += tests/unit/test_route tests/unit/test_breaker
tests_unit_test_route_SOURCES = tests/unit/test_route.c tests/unit/test_route_strategy.c \
	tests/unit/test_route_memo.c \
	tests/unit/route_fixture.c tests/unit/route_fixture.h
tests_unit_test_route_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_route_LDADD = $(TEST_LIBS)
tests_unit_test_breaker_SOURCES = tests/unit/test_breaker.c
tests_unit_test_breaker_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_breaker_LDADD = $(TEST_LIBS)
endif
