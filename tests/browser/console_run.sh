#!/bin/sh
# The console in a real browser: aigw (temp state dir, AIGW_ADMIN_KEY) in front of the mock
# provider on loopback, some traffic (mixed providers, errors, a stream, a script injected
# through metadata and the model name), then console.mjs drives Debian's Chromium through
# playwright-core. Skipped (77) where /usr/bin/chromium, node or playwright-core (`npm ci` in
# tests/compat) is absent; never downloads a browser. Screenshots go to
# tests/browser/out/ in the build directory.
set -u
src=${AIGW_TEST_SRCDIR:-.}
b=${AIGW_TEST_BUILDDIR:-.}
compat="$src/tests/compat"
chromium=${AIGW_CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
[ -x "$chromium" ] || { echo "SKIP: $chromium is not installed"; exit 77; }
[ -f "$compat/node_modules/playwright-core/package.json" ] ||
    { echo "SKIP: run 'npm ci' in tests/compat first"; exit 77; }

tmp=$(mktemp -d)
out="$b/tests/browser/out"
rm -rf "$out" && mkdir -p "$out"
mpid= gpid=
cleanup() {
    [ -n "$gpid" ] && kill "$gpid" 2>/dev/null
    [ -n "$mpid" ] && kill "$mpid" 2>/dev/null
    [ -n "$gpid" ] && wait "$gpid" 2>/dev/null
    [ -n "$mpid" ] && wait "$mpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# wait_file FILE: until it is non-empty, for at most 15 s.
wait_file() {
    deadline=$(( $(date +%s) + 15 ))
    while [ ! -s "$1" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

chat='"method":"POST","path":"/v1/chat/completions"'
"$b/tests/mockprov/mockprov" --port-file "$tmp/mock.port" --fixtures "$src/tests/fixtures" \
    --route "{$chat,\"match_body\":{\"model\":\"broken-model\"},\"status\":500,\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"<img src=x onerror=window.__xss=2>\\\"}}\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"openai/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"openai/chat.json\"}" >"$tmp/mock.log" 2>&1 &
mpid=$!
wait_file "$tmp/mock.port" || { echo "the mock did not start"; cat "$tmp/mock.log"; exit 1; }
mock="http://127.0.0.1:$(cat "$tmp/mock.port")/v1"
admin_key=console-test-admin-key-0123456789
# the catalog prices the requests, so spend has figures
printf '{"catalog": {"path": "%s/catalog/models.json"}}\n' "$src" >"$tmp/aigw.json"
AIGW_ADMIN_KEY=$admin_key OPENAI_API_KEY=sk-browser OPENAI_BASE_URL=$mock \
    GROQ_API_KEY=gsk-browser GROQ_BASE_URL=$mock \
    "$b/aigw" --config "$tmp/aigw.json" --listen 127.0.0.1:0 --port-file "$tmp/gw.port" --state-dir "$tmp/state" \
    --plugin-dir "${AIGW_TEST_PLUGIN_DIR:-$b/plugins/.libs}" >"$tmp/gw.log" 2>&1 &
gpid=$!
wait_file "$tmp/gw.port" || { echo "aigw did not start"; cat "$tmp/gw.log"; exit 1; }
url="http://127.0.0.1:$(cat "$tmp/gw.port")"

(cd "$compat" && AIGW_URL="$url" AIGW_ADMIN_KEY="$admin_key" AIGW_CHROMIUM="$chromium" \
    AIGW_OUT="$out" NODE_PATH="$compat/node_modules" node "$src/tests/browser/console.mjs")
status=$?
[ $status -eq 0 ] || { echo "---- aigw log"; tail -n 40 "$tmp/gw.log"; }
exit $status
