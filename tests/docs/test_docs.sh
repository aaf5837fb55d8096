#!/bin/sh
# test_docs - the operator documentation stays true to the code:
#   1. every variable of every plugin's env table (from `aigw --list-providers --format=json`)
#      is in aigw(8) ENVIRONMENT and in etc/aigw.env.sample, with the right required/secret
#      tags; every key of core/config.c's key table and of gw_router_init is in aigw.json(5)
#      and in etc/aigw.json.sample (with its default); options, endpoints, headers, access-log
#      fields and signals of the code are in aigw(8); every configuration example of
#      aigw.json(5) passes --check-config (tests/docs/docs_check.py does the parsing);
#   2. every page in man/ lints clean with mandoc -Tlint -W warning and groff -ww -z;
#   3. etc/aigw.json.sample passes `aigw --check-config` with no variable set, and a copy with
#      an unknown key fails it (so the check can fail).
#
# Runs from `make check` (AIGW_TEST_* come from AM_TESTS_ENVIRONMENT). Exit 77 (skip) when
# python3 is missing, or when neither mandoc nor groff is there to lint with.
set -u

builddir=${AIGW_TEST_BUILDDIR:?run me through make check}
srcdir=${AIGW_TEST_SRCDIR:?run me through make check}
plugindir=${AIGW_TEST_PLUGIN_DIR:-$builddir/plugins/.libs}
PYTHON=${PYTHON:-python3}
aigw=$builddir/aigw

command -v "$PYTHON" >/dev/null 2>&1 || { echo "SKIP: $PYTHON not found"; exit 77; }
[ -x "$aigw" ] || { echo "FAIL: $aigw not built"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigw-docs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

# Only what the gateway must see: no provider variable from the caller's environment.
clean_env() {
    env -i PATH="$PATH" ${ASAN_OPTIONS+ASAN_OPTIONS="$ASAN_OPTIONS"} \
        ${UBSAN_OPTIONS+UBSAN_OPTIONS="$UBSAN_OPTIONS"} "$@"
}

# --- 1. the lists of the code against the pages and samples ----------------------------------
if clean_env "$aigw" --plugin-dir "$plugindir" --list-providers --format=json \
    >"$tmp/providers.json" 2>"$tmp/list.err"; then
    "$PYTHON" "$srcdir/tests/docs/docs_check.py" "$srcdir" "$tmp/providers.json" "$aigw" \
        "$plugindir" ||
        fail "the documentation differs from the code (above)"
else
    cat "$tmp/list.err"
    fail "aigw --list-providers --format=json exited $?"
fi

# --- 2. lint -------------------------------------------------------------------------------
linted=0
for page in "$srcdir"/man/*.[1-8]; do
    [ -f "$page" ] || continue
    name=${page##*/}
    if command -v mandoc >/dev/null 2>&1; then
        linted=1
        out=$(mandoc -Tlint -W warning "$page" 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
            fail "mandoc -Tlint -W warning $name (exit $rc):
$out"
        fi
    fi
    if command -v groff >/dev/null 2>&1; then
        linted=1
        out=$(groff -ww -z -man "$page" 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ] || [ -n "$out" ]; then
            fail "groff -ww -z -man $name (exit $rc):
$out"
        fi
    fi
done

# --- 3. the sample config is a valid config ---------------------------------------------------
sample=$srcdir/etc/aigw.json.sample
out=$(clean_env AIGW_CATALOG="$srcdir/catalog/models.json" "$aigw" --plugin-dir "$plugindir" \
    --log-level error --check-config --config "$sample" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] || [ "$out" != "aigw: configuration OK (0 providers active)" ]; then
    fail "aigw --check-config --config etc/aigw.json.sample (exit $rc): $out"
fi

# The same check must be able to fail: one unknown key, the rest of the sample unchanged.
awk '!done && /^\{/ { print "{ \"no_such_key\": 1,"; done = 1; next } { print }' "$sample" \
    >"$tmp/bad.json"
out=$(clean_env "$aigw" --plugin-dir "$plugindir" --log-level error --check-config \
    --config "$tmp/bad.json" 2>&1)
rc=$?
case "$rc:$out" in
2:*"$tmp/bad.json: no_such_key: unknown key"*) ;;
*) fail "--check-config accepted an unknown key (exit $rc): $out" ;;
esac

if [ "$failed" -ne 0 ]; then
    exit 1
fi
if [ "$linted" -eq 0 ]; then
    echo "SKIP: neither mandoc nor groff found to lint the man pages (everything else passed)"
    exit 77
fi
echo "PASS: man pages, samples and unit agree with the code; pages lint clean"
exit 0
