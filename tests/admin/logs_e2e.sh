#!/bin/sh
# The request log end to end: a few hundred requests (two providers, streams, upstream
# errors, unknown models) through the real aigw before the mock provider; logs_e2e.mjs checks
# every one is in /admin/logs with its tokens and cost, and that /admin/usage totals equal the
# sum of the rows. Skipped (77) without node.
set -u
src=${AIGW_TEST_SRCDIR:-.}
b=${AIGW_TEST_BUILDDIR:-.}
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }

tmp=$(mktemp -d)
mpid= gpid=
cleanup() {
    [ -n "$gpid" ] && kill "$gpid" 2>/dev/null
    [ -n "$mpid" ] && kill "$mpid" 2>/dev/null
    [ -n "$gpid" ] && wait "$gpid" 2>/dev/null
    [ -n "$mpid" ] && wait "$mpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

wait_file() {
    deadline=$(( $(date +%s) + 15 ))
    while [ ! -s "$1" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

chat='"method":"POST","path":"/v1/chat/completions"'
"$b/tests/mockprov/mockprov" --port-file "$tmp/mock.port" --fixtures "$src/tests/fixtures" \
    --route "{$chat,\"match_body\":{\"model\":\"bad-request\"},\"status\":400,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"no\\\",\\\"type\\\":\\\"invalid_request_error\\\"}}\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"openai/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"openai/chat.json\"}" >"$tmp/mock.log" 2>&1 &
mpid=$!
wait_file "$tmp/mock.port" || { echo "the mock did not start"; cat "$tmp/mock.log"; exit 1; }
mock="http://127.0.0.1:$(cat "$tmp/mock.port")/v1"
admin_key=logs-e2e-admin-key-0123456789
printf '{"catalog": {"path": "%s/catalog/models.json"}}\n' "$src" >"$tmp/aigw.json"
AIGW_ADMIN_KEY=$admin_key OPENAI_API_KEY=sk-e2e OPENAI_BASE_URL=$mock \
    GROQ_API_KEY=gsk-e2e GROQ_BASE_URL=$mock \
    "$b/aigw" --config "$tmp/aigw.json" --listen 127.0.0.1:0 --port-file "$tmp/gw.port" \
    --state-dir "$tmp/state" --plugin-dir "${AIGW_TEST_PLUGIN_DIR:-$b/plugins/.libs}" \
    >"$tmp/gw.log" 2>&1 &
gpid=$!
wait_file "$tmp/gw.port" || { echo "aigw did not start"; cat "$tmp/gw.log"; exit 1; }

AIGW_URL="http://127.0.0.1:$(cat "$tmp/gw.port")" AIGW_ADMIN_KEY=$admin_key \
    AIGW_CATALOG="$src/catalog/models.json" node "$src/tests/admin/logs_e2e.mjs"
status=$?
[ $status -eq 0 ] || { echo "---- aigw log"; grep -v '^{"time"' "$tmp/gw.log" | tail -n 40; }
exit $status
