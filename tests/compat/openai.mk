# The official openai npm client against /v1/responses (skipped without node or modules).
TESTS += tests/compat/openai_run.sh
EXTRA_DIST += tests/compat/openai_run.sh tests/compat/openai_responses.mjs \
	tests/compat/package.json tests/compat/package-lock.json
