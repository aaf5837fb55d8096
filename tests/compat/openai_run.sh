#!/bin/sh
# The official `openai` npm client(s) against aigw's /v1/responses and its response cache: aigw
# in front of the mock provider on loopback, openai_responses.mjs (and openai_cache.mjs against
# a second aigw with the cache on) once per pinned client version (package.json).
# Skipped (77) where node or the installed modules are absent: `npm ci` in tests/compat.
set -u
. "${AIGW_TEST_SRCDIR:-.}/tests/scripts/harness.sh"
here="$src/tests/compat"
command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
[ -f "$here/node_modules/openai/package.json" ] ||
    { echo "SKIP: run 'npm ci' in tests/compat first"; exit 77; }

chat='"method":"POST","path":"/v1/chat/completions"'
start_mock \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-patch\"},\"body_file\":\"responses-inbound/upstream/openai_stream_patch.sse\"}" \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-tools\"},\"body_file\":\"openai/stream_tools.sse\"}" \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-cache-tools\",\"stream\":true},\"body_file\":\"openai/stream_tools.sse\"}" \
    --route "{$chat,\"match_body\":{\"model\":\"gpt-cache-tools\"},\"body_file\":\"openai/chat_tools.json\"}" \
    --route "{$chat,\"match_body\":{\"stream\":true},\"body_file\":\"openai/stream_text.sse\"}" \
    --route "{$chat,\"body_file\":\"openai/chat.json\"}"
start_aigw gw OPENAI_API_KEY=sk-compat OPENAI_BASE_URL="$mock/v1" --state-dir "$tmp/state"
gw_url=$url
# A second aigw with the response cache on (openai_cache.mjs).
echo '{"cache": {"enabled": true}}' >"$tmp/cache.json"
start_aigw cgw OPENAI_API_KEY=sk-compat OPENAI_BASE_URL="$mock/v1" --config "$tmp/cache.json"
cache_url=$url
url=$gw_url

status=0
for m in $(cd "$here" && node -e '
    const p = require("./package.json");
    console.log(Object.keys(p.dependencies).filter((k) => k.startsWith("openai")).join(" "))'); do
    [ -f "$here/node_modules/$m/package.json" ] || continue
    v=$(node -e "console.log(require('$here/node_modules/$m/package.json').version)" 2>/dev/null ||
        sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$here/node_modules/$m/package.json")
    echo "# $m ($v)"
    (cd "$here" && AIGW_URL="$url" OPENAI_MODULE="$m" node openai_responses.mjs) || status=1
    (cd "$here" && AIGW_CACHE_URL="$cache_url" OPENAI_MODULE="$m" node openai_cache.mjs) ||
        status=1
done
[ $status -eq 0 ] || show_logs gw cgw
exit $status
