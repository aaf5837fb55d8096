#!/bin/sh
# test_example_guard - the third-party guard path as an outside author walks it: install aigw
# into a temporary prefix, build sdk/example/guard against the *installed* SDK with nothing but
# pkg-config, and check that aigw loads it (--check-config, from the default guard directory
# and from guard_dir), that a request with its word is denied and one without is not (through
# tests/guard/guardcheck, the chain's request stage, then through a running aigw: the
# example_guard case of tests/guard/test_guard_e2e), and that a bad config is refused with a
# reason. The built-in guards must be installed beside it.
#
# Runs from `make check`; exit 77 (skip) only when a tool the path needs is absent.
set -u

builddir=${AIGW_TEST_BUILDDIR:?run me through make check}
srcdir=${AIGW_TEST_SRCDIR:?run me through make check}
for tool in pkg-config make cc; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigw-guard.XXXXXX") || exit 99
prefix=$tmp/prefix
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fail() {
    echo "FAIL: $*"
    for f in install.log build.log check.log; do
        [ -s "$tmp/$f" ] && { echo "--- $f"; tail -n 30 "$tmp/$f"; }
    done
    exit 1
}

expect() {
    [ "$2" = "$3" ] && return 0
    printf 'expected (%s):\n%s\nactual:\n%s\n' "$1" "$2" "$3"
    fail "$1 differs"
}

# --- 1. install, and the built-in guards with it ---------------------------------------------
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$builddir" install prefix="$prefix") \
    >"$tmp/install.log" 2>&1 || fail "make install prefix=$prefix"
for g in json-schema max-size pii regex secret-scan word-filter; do
    [ -f "$prefix/lib/aigw/guards/$g.so" ] || fail "built-in guard $g not installed"
done
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
expect "pkg-config guarddir" "$prefix/lib/aigw/guards" \
    "$(pkg-config --variable=guarddir aigw-plugin)"

# --- 2. the example, out of tree, pkg-config only ----------------------------------------------
cp -R "$srcdir/sdk/example/guard" "$tmp/guard" || fail "copy sdk/example/guard"
chmod -R u+w "$tmp/guard"
rm -f "$tmp/guard/deny-word.so"
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$tmp/guard" CFLAGS='-O2 -Wall -Wextra -Werror' &&
    make -C "$tmp/guard" install DESTDIR="$tmp/stage") >"$tmp/build.log" 2>&1 ||
    fail "building sdk/example/guard against the installed SDK"
[ -f "$tmp/stage$prefix/lib/aigw/guards/deny-word.so" ] ||
    fail "make install did not use the guarddir variable"
exports=$(nm -D --defined-only "$tmp/guard/deny-word.so" 2>/dev/null | awk '{print $3}' |
    grep -v '^_' | tr '\n' ' ')
expect "exported symbols" "aigw_guard_entry " "$exports"
mkdir "$tmp/guards" && cp "$tmp/guard/deny-word.so" "$tmp/guards/" || fail "guard dir"

# --- 3. it denies, it allows, its config is checked ----------------------------------------
check="$builddir/tests/guard/guardcheck"
cfg='[{"name":"deny-word","config":{"word":"Forbidden"}},{"name":"pii","path":"'"$prefix"'/lib/aigw/guards/pii.so"}]'
out=$(printf '%s' '{"messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"text","text":"say FORBIDDEN twice"}]}]}' |
    "$check" "$tmp/guards" "$cfg") || fail "guardcheck exited $?"
expect "a request with the word" \
    "deny 400 guardrail_blocked request blocked by guardrail 'deny-word': message 1 uses a word this gateway refuses" \
    "$out"
out=$(printf '%s' '{"messages":[{"role":"user","content":"mail me at a@example.com"}]}' |
    "$check" "$tmp/guards" "$cfg") || fail "guardcheck exited $?"
expect "a request without it (pii after it still runs)" \
    'rewrite {"messages":[{"role":"user","content":"mail me at [EMAIL]"}]}' "$out"
out=$(printf '{}' | "$check" "$tmp/guards" '[{"name":"deny-word","config":{}}]')
expect "a config without its word" "config guardrails[0] (deny-word): config.word: required" "$out"

# --- 4. the installed aigw loads it (the default guard directory: <plugin dir>/guards) ------
run_check() { # CONFIG-TEXT: prints aigw's output, returns its status
    printf '%s' "$1" >"$tmp/aigw.json"
    AIGW_CATALOG=$tmp/none.json "$prefix/bin/aigw" --log-level error --check-config \
        --plugin-dir "$prefix/lib/aigw" --config "$tmp/aigw.json" >"$tmp/check.log" 2>&1
}
run_check '{"guard_dir": "'"$tmp/guards"'", "guardrails": [{"name": "deny-word", "config": {"word": "x"}}]}' ||
    fail "--check-config with guard_dir exited $?"
cp "$tmp/guard/deny-word.so" "$prefix/lib/aigw/guards/" || fail "copy into the guard dir"
run_check '{"guardrails": [{"name": "deny-word", "config": {"word": "x"}}, {"name": "pii"}]}' ||
    fail "--check-config from the default guard directory exited $?"
if run_check '{"guardrails": [{"name": "no-such-guard"}]}'; then
    fail "--check-config accepted a guard that does not exist"
fi
grep -q "guardrails\[0\] (no-such-guard): .*no-such-guard.so: not a loadable shared object" \
    "$tmp/check.log" || fail "no reason for the missing guard: $(cat "$tmp/check.log")"

# --- 5. a running aigw loads it and denies a request (tests/guard/test_guard_e2e) -----------
e2e="$builddir/tests/guard/test_guard_e2e"
[ -x "$e2e" ] || fail "$e2e not built"
AIGW_EXAMPLE_GUARD_DIR=$tmp/guards "$e2e" --filter 'guard_e2e/the_example_guard_*' \
    >"$tmp/e2e.log" 2>&1 || { cat "$tmp/e2e.log"; fail "the example guard in a running aigw"; }
grep -q "Tested: 1 | Passing: 1 | Failing: 0" "$tmp/e2e.log" ||
    { cat "$tmp/e2e.log"; fail "the running-aigw case did not run"; }

echo "PASS: installed SDK, out-of-tree guard built, loaded, denying"
exit 0
