# The official @anthropic-ai/sdk npm client against /v1/messages (skipped without node or modules).
TESTS += tests/compat/anthropic_run.sh
EXTRA_DIST += tests/compat/anthropic_run.sh tests/compat/anthropic_messages.mjs \
	tests/compat/anthropic_cache.mjs
