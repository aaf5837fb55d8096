# Governance end to end: keys, allowlists, limits and budgets through the real aigw, one or
# two replicas sharing a store and (when redis-server is installed) Redis.
if BUILD_TESTS
check_PROGRAMS += tests/gov/test_governance
TESTS += tests/gov/test_governance
tests_gov_test_governance_SOURCES = tests/gov/test_governance.c tests/gov/gov.c tests/gov/gov.h
tests_gov_test_governance_CFLAGS = $(TEST_CFLAGS)
tests_gov_test_governance_LDADD = $(E2E_LIBS) tests/counters/libcharness.la core/libgwcore.la \
	$(CRITERION_LIBS)
EXTRA_tests_gov_test_governance_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif
