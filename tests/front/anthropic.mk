# The Anthropic Messages dialect (included from tests/front/local.mk): request and answer
# goldens, plugin replays split anywhere, the fuzz target, end to end through the binary.
if BUILD_TESTS
check_LTLIBRARIES += tests/front/libanthtest.la
tests_front_libanthtest_la_SOURCES = tests/front/anth_test.c tests/front/anth_test.h \
	tests/front/anth_check.c tests/front/anth_check.h
tests_front_libanthtest_la_CFLAGS = $(TEST_CFLAGS)
tests_front_libanthtest_la_LIBADD = core/libgwcore.la $(CRITERION_LIBS)
ANTH_TEST_LIBS = tests/front/libanthtest.la core/libgwcore.la $(CRITERION_LIBS)

check_PROGRAMS += tests/front/test_anthropic_parse tests/front/test_anthropic_render \
	tests/front/test_anthropic_replay
TESTS += tests/front/test_anthropic_parse tests/front/test_anthropic_render \
	tests/front/test_anthropic_replay
tests_front_test_anthropic_parse_SOURCES = tests/front/test_anthropic_parse.c
tests_front_test_anthropic_parse_CFLAGS = $(TEST_CFLAGS)
tests_front_test_anthropic_parse_LDADD = $(ANTH_TEST_LIBS)
tests_front_test_anthropic_render_SOURCES = tests/front/test_anthropic_render.c
tests_front_test_anthropic_render_CFLAGS = $(TEST_CFLAGS)
tests_front_test_anthropic_render_LDADD = $(ANTH_TEST_LIBS)
tests_front_test_anthropic_replay_SOURCES = tests/front/test_anthropic_replay.c
tests_front_test_anthropic_replay_CFLAGS = $(TEST_CFLAGS)
tests_front_test_anthropic_replay_LDADD = $(ANTH_TEST_LIBS)
endif

# The dialect's fuzz target (tests/fuzz/fuzz_anthropic.c), on the deterministic driver.
if BUILD_TESTS
check_PROGRAMS += tests/fuzz/fuzz_anthropic
tests_fuzz_fuzz_anthropic_SOURCES = tests/fuzz/fuzz_anthropic.c tests/fuzz/driver.c \
	tests/front/anth_check.c tests/front/anth_check.h
tests_fuzz_fuzz_anthropic_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) -I$(top_srcdir)/tests
tests_fuzz_fuzz_anthropic_LDADD = core/libgwcore.la
TESTS += tests/fuzz/run_fuzz_anthropic.sh
endif
EXTRA_DIST += tests/fuzz/run_fuzz_anthropic.sh

# End to end through the real binary (tests/e2e/test_anthropic.c).
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_anthropic
TESTS += tests/e2e/test_anthropic
tests_e2e_test_anthropic_SOURCES = tests/e2e/test_anthropic.c
tests_e2e_test_anthropic_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_anthropic_LDADD = $(E2E_LIBS) $(ANTH_TEST_LIBS)
EXTRA_tests_e2e_test_anthropic_DEPENDENCIES = aigw$(EXEEXT)
endif
