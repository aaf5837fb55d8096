# The official openai npm client against /v1/responses and the response cache (skipped without
# node or modules).
TESTS += tests/compat/openai_run.sh
EXTRA_DIST += tests/compat/openai_run.sh tests/compat/openai_responses.mjs \
	tests/compat/openai_cache.mjs \
	tests/compat/package.json tests/compat/package-lock.json
