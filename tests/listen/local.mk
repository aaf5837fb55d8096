# net/listen: the one listen-address parser (unit), and the metrics listener that must use
# it (end to end, against the real binary).
if BUILD_TESTS
check_PROGRAMS += tests/listen/test_listen tests/listen/test_metrics_listen
TESTS += tests/listen/test_listen tests/listen/test_metrics_listen
tests_listen_test_listen_SOURCES = tests/listen/test_listen.c
tests_listen_test_listen_CFLAGS = $(TEST_CFLAGS)
tests_listen_test_listen_LDADD = $(TEST_LIBS)
tests_listen_test_metrics_listen_SOURCES = tests/listen/test_metrics_listen.c
tests_listen_test_metrics_listen_CFLAGS = $(TEST_CFLAGS)
tests_listen_test_metrics_listen_LDADD = $(E2E_LIBS)
EXTRA_tests_listen_test_metrics_listen_DEPENDENCIES = aigw$(EXEEXT)
endif
