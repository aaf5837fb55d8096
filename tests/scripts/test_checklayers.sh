#!/bin/sh
# scripts/checklayers on tiny fake trees: zero on a clean one, non-zero with FILE:LINE and the
# rule on each kind of wrong-way include, so the CI gate is known to close.
set -u
src=${AIGW_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
check="$src/scripts/checklayers"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# put FILE LINE...: write a file of the fake tree.
put() {
    f=$tmp/tree/$1
    shift
    mkdir -p "$(dirname "$f")"
    printf '%s\n' "$@" >"$f"
}

# expect RC NEEDLE ARGS...: run the script, check its status and that NEEDLE is in its output.
expect() {
    want=$1 needle=$2
    shift 2
    out=$("$check" "$@" "$tmp/tree" 2>&1)
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: exit $rc, wanted $want: $needle"
        echo "$out" | sed 's/^/    /'
        fails=$((fails + 1))
    elif [ -n "$needle" ] && ! printf '%s\n' "$out" | grep -qF -- "$needle"; then
        echo "FAIL: output lacks: $needle"
        echo "$out" | sed 's/^/    /'
        fails=$((fails + 1))
    else
        echo "ok: exit $rc ${needle:+($needle)}"
    fi
}

clean_tree() {
    rm -rf "$tmp/tree"
    put core/lib/buf.h '#include "aigw/plugin.h"' '#include <stdio.h>'
    put core/lib/buf.c '#include "lib/buf.h"' '#include "buf.h"'
    put core/net/relay.h '#include "lib/buf.h"'
    put core/net/listen.c '#include "net/relay.h"' '#include "config.h"'
    put core/plugin/call.h '#include "net/relay.h"'
    put core/plugin/host.c '#include "plugin/call.h"'
    put core/catalog/catalog.h '#include "lib/buf.h"'
    put core/route/route.c '#include "catalog/catalog.h"' '#include "plugin/call.h"'
    put core/front/dialect.h '#include "lib/buf.h"'
    put core/front/openai.c '#include "plugin/host.h"' '#include "route/route.h"'
    put core/proxy/gateway.c '#include "plugin/call.h"' '#include "route/route.h"' \
        '#include "front/dialect.h"' '#include "endpoints.h"'
    put core/admin/admin.c '#include "front/dialect.h"' '#include "proxy/gateway.h"'
    put core/main.c '#include "admin/admin.h"' '#include "front/openai.h"'
    put core/endpoints.c '#include "proxy/local.h"' '#include "front/openai.h"'
    put core/config.h '#include <stdint.h>'
    put plugins/openai/openai.c '#include "aigw/plugin.h"' '#include "../oaiwire/oaiwire.h"'
}

clean_tree
expect 0 "" --strict
expect 0 ""

# The deliberate wrong-way include: net reaching up into proxy, caught with and without the
# known exceptions (which name other files). The cases after it use --strict: the exception
# list names real files, which a fake tree may share.
put core/net/listen.c '#include "net/relay.h"' '' '#include "proxy/gateway.h"'
expect 1 'core/net/listen.c:3: #include "proxy/gateway.h": net never includes proxy' --strict
expect 1 'core/net/listen.c:3: #include "proxy/gateway.h": net never includes proxy'

clean_tree
put core/plugin/exchange.c '#include "front/render.h"'
expect 1 'core/plugin/exchange.c:1: #include "front/render.h": nothing below front includes front' --strict

clean_tree
put core/front/render.c '#include "proxy/gateway.h"'
expect 1 'core/front/render.c:1: #include "proxy/gateway.h": nothing below front includes front, proxy or admin' --strict

clean_tree
put core/lib/log.c '#include "net/relay.h"'
expect 1 'core/lib/log.c:1: #include "net/relay.h": lib/ is below net/' --strict

clean_tree
put core/route/route.h '#include "proxy/gateway.h"'
expect 1 'core/route/route.h:1: #include "proxy/gateway.h": nothing below front includes front, proxy or admin (route/ is below proxy/)' --strict

clean_tree
put core/route/route.h '#include "store/store.h"'
expect 1 'core/route/route.h:1: #include "store/store.h": route/ is a service' --strict

clean_tree
put core/net/http.c '#include "obs/metrics.h"'
expect 1 'core/net/http.c:1: #include "obs/metrics.h": net/ is below the services' --strict

clean_tree
put core/plugin/host.c '#include "route/route.h"'
expect 1 'core/plugin/host.c:1: #include "route/route.h": plugin/ is below the services' --strict

clean_tree
put core/plugin/host.c '#include "admin/admin.h"'
expect 1 'core/plugin/host.c:1: #include "admin/admin.h": nothing below front includes front, proxy or admin' --strict

clean_tree
put plugins/groq/groq.c '#include "aigw/plugin.h"' '#include "lib/buf.h"'
expect 1 'plugins/groq/groq.c:2: #include "lib/buf.h": plugins/ sees only the SDK' --strict

clean_tree
put core/widgets/w.c '#include "lib/buf.h"'
expect 1 'core/widgets/ is not in the layer table' --strict

clean_tree
put core/glue.c '#include "lib/buf.h"'
expect 1 'core/glue.c:1: core/glue.c is in no layer folder' --strict

clean_tree
put core/net/relay.c '#include "relay_int.h"'
expect 1 'core/net/relay.c:1: #include "relay_int.h": includes name their folder' --strict

# The real tree passes with its known exceptions (the list the lead is emptying).
out=$("$check" "$src" 2>&1) || { echo "FAIL: the tree itself:"; echo "$out"; fails=$((fails + 1)); }

[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
