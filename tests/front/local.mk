# Inbound dialects: the client body every dialect reads (test_body), and the Responses
# dialect's parse, render and state against the project's own fixtures in
# tests/fixtures/responses-inbound/.
if BUILD_TESTS
check_LTLIBRARIES += tests/front/libresputil.la
tests_front_libresputil_la_SOURCES = tests/front/resp_util.c tests/front/resp_util.h
tests_front_libresputil_la_CFLAGS = $(TEST_CFLAGS)
RESP_TEST_LIBS = tests/front/libresputil.la $(TEST_LIBS)
check_PROGRAMS += tests/front/test_responses_parse
TESTS += tests/front/test_responses_parse
tests_front_test_responses_parse_SOURCES = tests/front/test_responses_parse.c
tests_front_test_responses_parse_CFLAGS = $(TEST_CFLAGS)
tests_front_test_responses_parse_LDADD = $(RESP_TEST_LIBS)
endif
if BUILD_TESTS
check_PROGRAMS += tests/front/test_responses_render
TESTS += tests/front/test_responses_render
tests_front_test_responses_render_SOURCES = tests/front/test_responses_render.c
tests_front_test_responses_render_CFLAGS = $(TEST_CFLAGS)
tests_front_test_responses_render_LDADD = $(RESP_TEST_LIBS)
endif
if BUILD_TESTS
check_PROGRAMS += tests/front/test_responses_state
TESTS += tests/front/test_responses_state
tests_front_test_responses_state_SOURCES = tests/front/test_responses_state.c
tests_front_test_responses_state_CFLAGS = $(TEST_CFLAGS)
tests_front_test_responses_state_LDADD = $(RESP_TEST_LIBS)
endif
if BUILD_TESTS
check_PROGRAMS += tests/front/test_body
TESTS += tests/front/test_body
tests_front_test_body_SOURCES = tests/front/test_body.c
tests_front_test_body_CFLAGS = $(TEST_CFLAGS)
tests_front_test_body_LDADD = $(TEST_LIBS)
endif
include tests/front/anthropic.mk
