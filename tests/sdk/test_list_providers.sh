#!/bin/sh
# test_list_providers - `aigw --list-providers`, table and --format=json, from the build tree,
# over a plugin directory of the loader's test modules: a provider waiting for its key, an
# older-ABI provider that is active, one whose init() declines, and broken files that must be
# skipped without disturbing the listing. No secret value may appear in either format.
set -u

builddir=${AIGW_TEST_BUILDDIR:?run me through make check}
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || { echo "SKIP: $PYTHON not found"; exit 77; }
aigw=$builddir/aigw
mods=$builddir/tests/loader/.libs
CANARY=sk-LIST-CANARY-31337

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigw-list.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fail() {
    echo "FAIL: $*"
    exit 1
}

mkdir "$tmp/plugins" "$tmp/empty" || exit 99
for m in good older bad_major no_entry; do
    cp "$mods/$m.so" "$tmp/plugins/" || fail "$mods/$m.so missing"
done
echo "not a shared object" >"$tmp/plugins/garbage.so"

unset LOADER_GOOD_KEY LOADER_GOOD_MODE AIGW_PLUGIN_DIR

# run NAME [VAR=value...] ARGS...: aigw with ARGS in an environment with the given variables;
# stdout to $tmp/NAME.out, stderr to $tmp/NAME.err; it must exit 0 and print no secret.
run() {
    name=$1
    shift
    env "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    [ "$rc" -eq 0 ] || { cat "$tmp/$name.err"; fail "$name: exited $rc"; }
    if grep -q "$CANARY" "$tmp/$name.out" "$tmp/$name.err"; then fail "$name: secret printed"; fi
}

expect_file() {
    printf '%s\n' "$2" >"$tmp/$1.want"
    cmp -s "$tmp/$1.want" "$tmp/$1.out" && return 0
    echo "expected ($1):"
    cat "$tmp/$1.want"
    echo "actual:"
    cat "$tmp/$1.out"
    fail "$1 differs"
}

row() { printf '%-16s %-14s %-9s %-40s %s\n' "$@"; }
header=$(row PROVIDER VKEY STATUS MISSING CAPABILITIES)

# --- table -------------------------------------------------------------------------------------
run table_unset "$aigw" --plugin-dir "$tmp/plugins" --list-providers
expect_file table_unset "$header
$(row "Loader Good" loader-good inactive LOADER_GOOD_KEY chat,stream)
$(row "Loader Older" loader-older active - chat)"

run table_set LOADER_GOOD_KEY=$CANARY "$aigw" --plugin-dir "$tmp/plugins" --list-providers
expect_file table_set "$header
$(row "Loader Good" loader-good active - chat,stream)
$(row "Loader Older" loader-older active - chat)"

# --format=table is the default spelled out; the plugin directory may come from the env too.
run table_env AIGW_PLUGIN_DIR="$tmp/plugins" "$aigw" --list-providers --format=table
expect_file table_env "$(cat "$tmp/table_unset.out")"

run table_empty "$aigw" --plugin-dir "$tmp/empty" --list-providers
expect_file table_empty "$header"

# --- json --------------------------------------------------------------------------------------
run json_unset "$aigw" --plugin-dir "$tmp/plugins" --list-providers --format=json
run json_declined LOADER_GOOD_KEY=$CANARY LOADER_GOOD_MODE=decline \
    "$aigw" --plugin-dir "$tmp/plugins" --list-providers --format=json
run json_empty "$aigw" --plugin-dir "$tmp/empty" --list-providers --format=json

"$PYTHON" - "$tmp" <<'PY' || fail "JSON listing differs"
import json, sys

tmp = sys.argv[1]

def env(key_set, mode_set):
    return [
        {"name": "LOADER_GOOD_KEY", "required": True, "secret": True, "any_of": False,
         "set": key_set, "help": "test credential"},
        {"name": "LOADER_GOOD_MODE", "required": False, "secret": False, "any_of": False,
         "set": mode_set, "help": "\"decline\" makes init() refuse"},
    ]

def good(status, reason, missing, key_set, mode_set):
    return {"provider": "Loader Good", "vkey": "loader-good", "version": "1.2.3",
            "status": status, "reason": reason, "missing": missing,
            "capabilities": ["chat", "stream"], "env": env(key_set, mode_set)}

older = {"provider": "Loader Older", "vkey": "loader-older", "version": "0.9.0",
         "status": "active", "reason": "", "missing": [], "capabilities": ["chat"], "env": []}

want = {
    "json_unset": [good("inactive", "missing LOADER_GOOD_KEY", ["LOADER_GOOD_KEY"],
                        False, False), older],
    "json_declined": [good("inactive", "declined: LOADER_GOOD_MODE says no", [], True, True),
                      older],
    "json_empty": [],
}
ok = True
for name, expected in want.items():
    with open("%s/%s.out" % (tmp, name)) as f:
        got = json.load(f)
    if got != expected:
        ok = False
        print("%s:\n  want %s\n  got  %s" % (name, json.dumps(expected, sort_keys=True),
                                             json.dumps(got, sort_keys=True)))
sys.exit(0 if ok else 1)
PY

# --- usage errors ------------------------------------------------------------------------------
"$aigw" --plugin-dir "$tmp/plugins" --list-providers --format=yaml >"$tmp/bad.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "--format=yaml exited $rc, want 2"
grep -q -- "--format must be table or json" "$tmp/bad.out" || fail "no message for --format=yaml"

echo "PASS: --list-providers table and JSON"
exit 0
