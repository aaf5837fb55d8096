#!/bin/sh
# The console in a real browser: aigw (temp state dir, AIGW_ADMIN_KEY) in front of the mock
# provider on loopback, some traffic (mixed providers, errors, a stream, a script injected
# through metadata and the model name), then console.mjs drives Debian's Chromium through
# playwright-core. Skipped (77) where /usr/bin/chromium, node or playwright-core (`npm ci` in
# tests/compat) is absent; never downloads a browser. Screenshots go to
# tests/browser/out/ in the build directory.
set -u
. "${AIGW_TEST_SRCDIR:-.}/tests/scripts/harness.sh"
compat="$src/tests/compat"
chromium=${AIGW_CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
[ -x "$chromium" ] || { echo "SKIP: $chromium is not installed"; exit 77; }
[ -f "$compat/node_modules/playwright-core/package.json" ] ||
    { echo "SKIP: run 'npm ci' in tests/compat first"; exit 77; }

out="$b/tests/browser/out"
rm -rf "$out" && mkdir -p "$out"
chat='"method":"POST","path":"/v1/chat/completions"'
start_mock \
    --route "{$chat,\"match_body\":{\"model\":\"broken-model\"},\"status\":500,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"<img src=x onerror=window.__xss=2>\\\"}}\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"openai/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"openai/chat.json\"}"
admin_key=console-test-admin-key-0123456789
# the catalog prices the requests, so spend has figures
printf '{"catalog": {"path": "%s/catalog/models.json"}}\n' "$src" >"$tmp/aigw.json"
start_aigw gw AIGW_ADMIN_KEY=$admin_key OPENAI_API_KEY=sk-browser OPENAI_BASE_URL="$mock/v1" \
    GROQ_API_KEY=gsk-browser GROQ_BASE_URL="$mock/v1" --config "$tmp/aigw.json" \
    --state-dir "$tmp/state"

(cd "$compat" && AIGW_URL="$url" AIGW_ADMIN_KEY="$admin_key" AIGW_CHROMIUM="$chromium" \
    AIGW_OUT="$out" NODE_PATH="$compat/node_modules" node "$src/tests/browser/console.mjs")
status=$?
[ $status -eq 0 ] || show_logs gw
exit $status
