#!/bin/sh
# The official `@anthropic-ai/sdk` npm client(s) against aigw's /v1/messages: aigw (with a
# gateway key) in front of the mock provider on loopback, serving an OpenAI-wire and an
# Anthropic upstream; anthropic_messages.mjs (and anthropic_cache.mjs against a second aigw
# with the response cache on) once per pinned client version (package.json).
# Skipped (77) where node or the installed modules are absent: `npm ci` in tests/compat.
set -u
src=${AIGW_TEST_SRCDIR:-.}
b=${AIGW_TEST_BUILDDIR:-.}
here="$src/tests/compat"
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
[ -f "$here/node_modules/@anthropic-ai/sdk/package.json" ] ||
    { echo "SKIP: run 'npm ci' in tests/compat first"; exit 77; }

tmp=$(mktemp -d)
mpid= gpid= cpid=
cleanup() {
    [ -n "$gpid" ] && kill "$gpid" 2>/dev/null
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    [ -n "$mpid" ] && kill "$mpid" 2>/dev/null
    [ -n "$gpid" ] && wait "$gpid" 2>/dev/null
    [ -n "$cpid" ] && wait "$cpid" 2>/dev/null
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
msgs='"method":"POST","path":"/v1/messages"'
"$b/tests/mockprov/mockprov" --port-file "$tmp/mock.port" --fixtures "$src/tests/fixtures" \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-tools\",\"stream\":true},\"body_file\":\"mock/stream_tools.sse\"}" \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-tools\"},\"body_file\":\"mock/chat_tools.json\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"mock/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"mock/chat.json\"}" \
    --route "{\"method\":\"GET\",\"path\":\"/v1/models\",\"body\":{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\",\"object\":\"model\",\"created\":1765000000,\"owned_by\":\"openai\"}]}}" \
    --route "{\"method\":\"POST\",\"path\":\"/v1/messages/count_tokens\",\"body\":{\"input_tokens\":77}}" \
    --route "{$msgs,\"match_body\":{\"model\":\"claude-thinking\"},\"body_file\":\"anthropic/stream_thinking.sse\"}" \
    --route "{$msgs,\"match_body\":{\"model\":\"claude-broken\"},\"body_file\":\"anthropic/stream_error.sse\"}" \
    --route "{$msgs,\"match_body\":{\"model\":\"claude-overloaded\"},\"status\":529,\"body_file\":\"anthropic/error_529.json\"}" \
    >"$tmp/mock.log" 2>&1 &
mpid=$!
wait_file "$tmp/mock.port" || { echo "the mock did not start"; cat "$tmp/mock.log"; exit 1; }
mock="http://127.0.0.1:$(cat "$tmp/mock.port")"
printf '{"auth": {"api_keys": ["gw-compat-key-123456"]}, "routing": {"retry": {"max_attempts": 1}}}\n' \
    >"$tmp/aigw.json"
OPENAI_API_KEY=sk-compat OPENAI_BASE_URL="$mock/v1" ANTHROPIC_API_KEY=sk-ant-compat \
    ANTHROPIC_BASE_URL="$mock" \
    "$b/aigw" --listen 127.0.0.1:0 --port-file "$tmp/gw.port" --config "$tmp/aigw.json" \
    --state-dir "$tmp/state" \
    --plugin-dir "${AIGW_TEST_PLUGIN_DIR:-$b/plugins/.libs}" >"$tmp/gw.log" 2>&1 &
gpid=$!
wait_file "$tmp/gw.port" || { echo "aigw did not start"; cat "$tmp/gw.log"; exit 1; }
url="http://127.0.0.1:$(cat "$tmp/gw.port")"
# A second aigw with the response cache on (anthropic_cache.mjs).
printf '{"auth": {"api_keys": ["gw-compat-key-123456"]}, "cache": {"enabled": true}}\n' \
    >"$tmp/cache.json"
OPENAI_API_KEY=sk-compat OPENAI_BASE_URL="$mock/v1" ANTHROPIC_API_KEY=sk-ant-compat \
    ANTHROPIC_BASE_URL="$mock" \
    "$b/aigw" --listen 127.0.0.1:0 --port-file "$tmp/cgw.port" --config "$tmp/cache.json" \
    --plugin-dir "${AIGW_TEST_PLUGIN_DIR:-$b/plugins/.libs}" >"$tmp/cgw.log" 2>&1 &
cpid=$!
wait_file "$tmp/cgw.port" || { echo "aigw (cache) did not start"; cat "$tmp/cgw.log"; exit 1; }
cache_url="http://127.0.0.1:$(cat "$tmp/cgw.port")"

status=0
for m in $(cd "$here" && node -e '
    const p = require("./package.json");
    console.log(Object.keys(p.dependencies).filter((k) => k.includes("anthropic")).join(" "))'); do
    [ -f "$here/node_modules/$m/package.json" ] || continue
    v=$(node -e "console.log(require('$here/node_modules/$m/package.json').version)" 2>/dev/null)
    echo "# $m ($v)"
    (cd "$here" && AIGW_URL="$url" ANTHROPIC_MODULE="$m" node anthropic_messages.mjs) || status=1
    (cd "$here" && AIGW_CACHE_URL="$cache_url" ANTHROPIC_MODULE="$m" node anthropic_cache.mjs) ||
        status=1
done
[ $status -eq 0 ] || { echo "---- aigw log"; tail -n 40 "$tmp/gw.log"; tail -n 40 "$tmp/cgw.log"; }
exit $status
