#!/bin/sh
# The request log end to end: a few hundred requests (two providers, streams, upstream
# errors, unknown models) through the real aigw before the mock provider; logs_e2e.mjs checks
# every one is in /admin/logs with its tokens and cost, and that /admin/usage totals equal the
# sum of the rows. Skipped (77) without node.
set -u
. "${AIGW_TEST_SRCDIR:-.}/tests/scripts/harness.sh"
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }

chat='"method":"POST","path":"/v1/chat/completions"'
start_mock \
    --route "{$chat,\"match_body\":{\"model\":\"bad-request\"},\"status\":400,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"no\\\",\\\"type\\\":\\\"invalid_request_error\\\"}}\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"openai/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"openai/chat.json\"}"
admin_key=logs-e2e-admin-key-0123456789
printf '{"catalog": {"path": "%s/catalog/models.json"}}\n' "$src" >"$tmp/aigw.json"
start_aigw gw AIGW_ADMIN_KEY=$admin_key OPENAI_API_KEY=sk-e2e OPENAI_BASE_URL="$mock/v1" \
    GROQ_API_KEY=gsk-e2e GROQ_BASE_URL="$mock/v1" --config "$tmp/aigw.json" --state-dir "$tmp/state"

AIGW_URL="$url" AIGW_ADMIN_KEY=$admin_key \
    AIGW_CATALOG="$src/catalog/models.json" node "$src/tests/admin/logs_e2e.mjs"
status=$?
[ $status -eq 0 ] || { echo "---- aigw log"; grep -v '^{"time"' "$tmp/gw.log" | tail -n 40; }
exit $status
