#!/bin/sh
# The official `@anthropic-ai/sdk` npm client(s) against aigw's /v1/messages: aigw (with a
# gateway key) in front of the mock provider on loopback, serving an OpenAI-wire and an
# Anthropic upstream; anthropic_messages.mjs (and anthropic_cache.mjs against a second aigw
# with the response cache on) once per pinned client version (package.json).
# Skipped (77) where node or the installed modules are absent: `npm ci` in tests/compat.
set -u
. "${AIGW_TEST_SRCDIR:-.}/tests/scripts/harness.sh"
here="$src/tests/compat"
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
[ -f "$here/node_modules/@anthropic-ai/sdk/package.json" ] ||
    { echo "SKIP: run 'npm ci' in tests/compat first"; exit 77; }

chat='"method":"POST","path":"/v1/chat/completions"'
msgs='"method":"POST","path":"/v1/messages"'
start_mock \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-tools\",\"stream\":true},\"body_file\":\"mock/stream_tools.sse\"}" \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-tools\"},\"body_file\":\"mock/chat_tools.json\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"mock/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"mock/chat.json\"}" \
    --route "{\"method\":\"GET\",\"path\":\"/v1/models\",\"body\":{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\",\"object\":\"model\",\"created\":1765000000,\"owned_by\":\"openai\"}]}}" \
    --route "{\"method\":\"POST\",\"path\":\"/v1/messages/count_tokens\",\"body\":{\"input_tokens\":77}}" \
    --route "{$msgs,\"match_body\":{\"model\":\"claude-thinking\"},\"body_file\":\"anthropic/stream_thinking.sse\"}" \
    --route "{$msgs,\"match_body\":{\"model\":\"claude-broken\"},\"body_file\":\"anthropic/stream_error.sse\"}" \
    --route "{$msgs,\"match_body\":{\"model\":\"claude-overloaded\"},\"status\":529,\"body_file\":\"anthropic/error_529.json\"}"
upstreams="OPENAI_API_KEY=sk-compat ANTHROPIC_API_KEY=sk-ant-compat"
printf '{"auth": {"api_keys": ["gw-compat-key-123456"]}, "routing": {"retry": {"max_attempts": 1}}}\n' \
    >"$tmp/aigw.json"
# shellcheck disable=SC2086 # $upstreams is two VAR=value words
start_aigw gw $upstreams OPENAI_BASE_URL="$mock/v1" ANTHROPIC_BASE_URL="$mock" \
    --config "$tmp/aigw.json" --state-dir "$tmp/state"
gw_url=$url
# A second aigw with the response cache on (anthropic_cache.mjs).
printf '{"auth": {"api_keys": ["gw-compat-key-123456"]}, "cache": {"enabled": true}}\n' \
    >"$tmp/cache.json"
# shellcheck disable=SC2086
start_aigw cgw $upstreams OPENAI_BASE_URL="$mock/v1" ANTHROPIC_BASE_URL="$mock" \
    --config "$tmp/cache.json"
cache_url=$url
url=$gw_url

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
[ $status -eq 0 ] || show_logs gw cgw
exit $status
