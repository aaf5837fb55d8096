# The CI source checks (scripts/), run on tiny fake trees so a gate that stopped closing fails.
TESTS += tests/scripts/test_checklayers.sh
EXTRA_DIST += tests/scripts/test_checklayers.sh \
	scripts/checklayers
