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

# Security: every admin route refused without the admin key, with the wrong kind of key and
# from outside admin.allow; failed authentications rate-limited; a key reads only its own.
if BUILD_TESTS
check_PROGRAMS += tests/gov/test_security
TESTS += tests/gov/test_security
tests_gov_test_security_SOURCES = tests/gov/test_security.c tests/gov/gov.c tests/gov/gov.h
tests_gov_test_security_CFLAGS = $(TEST_CFLAGS)
tests_gov_test_security_LDADD = $(E2E_LIBS) tests/counters/libcharness.la core/libgwcore.la \
	$(CRITERION_LIBS)
EXTRA_tests_gov_test_security_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif

# The canary run: no secret in any file, log, metric, span or answer after a full run.
if BUILD_TESTS
check_PROGRAMS += tests/gov/test_canary
TESTS += tests/gov/test_canary
tests_gov_test_canary_SOURCES = tests/gov/test_canary.c tests/gov/gov.c tests/gov/gov.h
tests_gov_test_canary_CFLAGS = $(TEST_CFLAGS)
tests_gov_test_canary_LDADD = tests/otlprecv/libotlprecv.la $(E2E_LIBS) \
	tests/counters/libcharness.la core/libgwcore.la $(CRITERION_LIBS)
EXTRA_tests_gov_test_canary_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif

# Spend past a budget: n choices reserved together, streams cut before their usage report.
if BUILD_TESTS
check_PROGRAMS += tests/gov/test_spend
TESTS += tests/gov/test_spend
tests_gov_test_spend_SOURCES = tests/gov/test_spend.c tests/gov/gov.c tests/gov/gov.h
tests_gov_test_spend_CFLAGS = $(TEST_CFLAGS)
tests_gov_test_spend_LDADD = $(E2E_LIBS) tests/counters/libcharness.la core/libgwcore.la \
	$(CRITERION_LIBS)
EXTRA_tests_gov_test_spend_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif
