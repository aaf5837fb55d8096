# The CI source checks (scripts/), run on tiny fake trees so a gate that stopped closing fails.
TESTS += tests/scripts/test_checklayers.sh tests/scripts/test_checksrc.sh
EXTRA_DIST += tests/scripts/test_checklayers.sh tests/scripts/test_checksrc.sh \
	scripts/checklayers scripts/checksrc scripts/check-format
# The shell-driven tests' shared start and stop (sourced, not run).
EXTRA_DIST += tests/scripts/harness.sh
