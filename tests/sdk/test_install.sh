#!/bin/sh
# test_install - the third-party plugin path, end to end, as an outside author would walk it:
# install aigw into a temporary prefix, build sdk/example against the *installed* header with
# nothing but pkg-config, drop the plugin into an otherwise empty plugin directory, point it at
# a loopback OpenAI-compatible upstream and get a chat completion, a stream and an error
# through the installed aigw.
#
# Runs from `make check` (AIGW_TEST_BUILDDIR / AIGW_TEST_SRCDIR come from the Makefile).
# Exit 77 (skip) only when a tool the path needs is absent; every wait polls with a deadline.
set -u

builddir=${AIGW_TEST_BUILDDIR:?run me through make check}
srcdir=${AIGW_TEST_SRCDIR:?run me through make check}
PYTHON=${PYTHON:-python3}
CANARY=sk-EXAMPLE-CANARY-4242
MODEL=llama-3-8b

for tool in "$PYTHON" pkg-config make cc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigw-sdk.XXXXXX") || exit 99
prefix=$tmp/prefix
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

fail() {
    echo "FAIL: $*"
    for f in install.log example-build.log upstream.log aigw.log; do
        [ -s "$tmp/$f" ] && { echo "--- $f"; tail -n 40 "$tmp/$f"; }
    done
    echo "FAIL: $*"
    exit 1
}

# wait_for FILE PID SECONDS: until FILE is non-empty; fails if PID dies or time runs out.
wait_for() {
    n=0
    while [ ! -s "$1" ]; do
        kill -0 "$2" 2>/dev/null || fail "process $2 exited before writing $1"
        n=$((n + 1))
        [ "$n" -le $(($3 * 20)) ] || fail "timed out after $3 s waiting for $1"
        sleep 0.05
    done
}

# expect NAME EXPECTED ACTUAL: exact multi-line comparison.
expect() {
    [ "$2" = "$3" ] && return 0
    printf 'expected (%s):\n%s\nactual:\n%s\n' "$1" "$2" "$3"
    fail "$1 differs"
}

# --- 1. install into a fresh prefix, from the build tree --------------------------------------
# A plain install: the outer make's flags (jobserver, TESTS=...) are not ours to pass on.
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$builddir" install prefix="$prefix") \
    >"$tmp/install.log" 2>&1 || fail "make install prefix=$prefix"
[ -x "$prefix/bin/aigw" ] || fail "no $prefix/bin/aigw"
cmp -s "$prefix/include/aigw/plugin.h" "$srcdir/sdk/aigw/plugin.h" ||
    fail "installed plugin.h differs from sdk/aigw/plugin.h"
[ -f "$prefix/lib/pkgconfig/aigw-plugin.pc" ] || fail "no $prefix/lib/pkgconfig/aigw-plugin.pc"

PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
expect "pkg-config plugindir" "$prefix/lib/aigw" \
    "$(pkg-config --variable=plugindir aigw-plugin)"
case " $(pkg-config --cflags aigw-plugin) " in
*" -I$prefix/include "*) ;;
*) fail "pkg-config --cflags lacks -I$prefix/include: $(pkg-config --cflags aigw-plugin)" ;;
esac
case " $(pkg-config --libs aigw-plugin) " in
*" -lcjson "*) ;;
*) fail "pkg-config --libs lacks -lcjson: $(pkg-config --libs aigw-plugin)" ;;
esac

# --- 2. build the example out of tree, pkg-config only ---------------------------------------
cp -R "$srcdir/sdk/example" "$tmp/example" || fail "copy sdk/example"
chmod -R u+w "$tmp/example" # distcheck's source tree is read-only
rm -f "$tmp/example/example.so"
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$tmp/example" CFLAGS='-O2 -Wall -Wextra -Werror' &&
    make -C "$tmp/example" install DESTDIR="$tmp/stage") >"$tmp/example-build.log" 2>&1 ||
    fail "building sdk/example against the installed SDK"
[ -f "$tmp/stage$prefix/lib/aigw/example.so" ] ||
    fail "make install did not use the plugindir variable"
mkdir "$tmp/plugins" && cp "$tmp/example/example.so" "$tmp/plugins/" || fail "plugin dir"

# --- 3. the installed aigw sees the plugin ---------------------------------------------------
row() { printf '%-16s %-14s %-9s %-40s %s\n' "$@"; }
list=$(unset EXAMPLE_BASE_URL EXAMPLE_API_KEY
    "$prefix/bin/aigw" --plugin-dir "$tmp/plugins" --list-providers) ||
    fail "--list-providers exited $?"
expect "--list-providers (unconfigured)" \
    "$(row PROVIDER VKEY STATUS MISSING CAPABILITIES; row Example example inactive \
        EXAMPLE_BASE_URL chat,stream)" "$list"

# --- 4. upstream, then aigw -------------------------------------------------------------------
"$PYTHON" "$srcdir/tests/sdk/upstream.py" serve "$tmp/upstream.port" "$tmp/requests.jsonl" \
    2>"$tmp/upstream.log" &
up_pid=$!
pids="$pids $up_pid"
wait_for "$tmp/upstream.port" "$up_pid" 10
up_port=$(cat "$tmp/upstream.port")

EXAMPLE_BASE_URL=http://127.0.0.1:$up_port/v1/
EXAMPLE_API_KEY=$CANARY
export EXAMPLE_BASE_URL EXAMPLE_API_KEY
list=$("$prefix/bin/aigw" --plugin-dir "$tmp/plugins" --list-providers) ||
    fail "--list-providers exited $?"
expect "--list-providers (configured)" \
    "$(row PROVIDER VKEY STATUS MISSING CAPABILITIES; row Example example active - chat,stream)" \
    "$list"

"$prefix/bin/aigw" --plugin-dir "$tmp/plugins" --listen 127.0.0.1:0 --state-dir "$tmp/state" \
    --port-file "$tmp/aigw.port" >"$tmp/aigw.log" 2>&1 &
gw_pid=$!
pids="$pids $gw_pid"
wait_for "$tmp/aigw.port" "$gw_pid" 30
url=http://127.0.0.1:$(cat "$tmp/aigw.port")/v1/chat/completions

# --- 5. a chat completion, a stream and an upstream error through the plugin -----------------
out=$("$PYTHON" "$srcdir/tests/sdk/upstream.py" chat "$url" "example/$MODEL") ||
    fail "chat client"
expect "chat completion" "status 200
object chat.completion
content Hello from the example upstream
finish stop
usage 7 5 12" "$out"

out=$("$PYTHON" "$srcdir/tests/sdk/upstream.py" chat "$url" "example/$MODEL" stream) ||
    fail "stream client"
expect "stream" "status 200
type text/event-stream
object chat.completion.chunk
content Streamed through the example
finish stop
usage 9 3 12
done 1 after 0" "$out"

out=$("$PYTHON" "$srcdir/tests/sdk/upstream.py" chat "$url" "example/refuse-me") ||
    fail "error client"
expect "upstream error" "status 400
error invalid_request_error model_refused the example server refuses this model" "$out"

# What the plugin sent: the right path, the key as a Bearer token, the routing prefix gone.
out=$("$PYTHON" "$srcdir/tests/sdk/upstream.py" requests "$tmp/requests.jsonl") ||
    fail "request log"
expect "upstream requests" \
    "/v1/chat/completions auth=Bearer $CANARY model=$MODEL stream=False include_usage=None
/v1/chat/completions auth=Bearer $CANARY model=$MODEL stream=True include_usage=True
/v1/chat/completions auth=Bearer $CANARY model=refuse-me stream=False include_usage=None" "$out"

# --- 6. clean shutdown, and the key never reached the log ------------------------------------
kill -TERM "$gw_pid"
n=0
while kill -0 "$gw_pid" 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -le 400 ] || fail "aigw still running 20 s after SIGTERM"
    sleep 0.05
done
wait "$gw_pid"
rc=$?
pids=$up_pid
[ "$rc" -eq 0 ] || fail "aigw exited $rc after SIGTERM"
if grep -q "$CANARY" "$tmp/aigw.log"; then fail "EXAMPLE_API_KEY appears in aigw's log"; fi
grep -q "provider example (example.so 1.0.0): active" "$tmp/aigw.log" ||
    fail "aigw did not log the example provider as active"

echo "PASS: installed SDK, out-of-tree example, chat + stream + error through aigw"
exit 0
