#!/bin/sh
# test_install - what an operator's `make install` leaves, and that it runs from installed
# files only:
#   1. `make install prefix=DIR` from the build tree: the daemon, every plugin, the SDK header
#      and .pc, the catalog, the man pages, the samples and their live copies, the systemd unit
#      with DIR's paths (which systemd-analyze verify accepts, where it exists); the installed
#      aigw answers --version, --list-providers (the same providers as the build tree) and
#      --check-config of the installed aigw.json, with an empty environment; `man` finds the
#      pages under DIR;
#   2. a second install keeps an operator's edited aigw.json; `make uninstall` removes
#      everything of ours but that edited file (directories aside);
#   3. DESTDIR staging: nothing of the staging path leaks into installed files, and uninstall
#      under DESTDIR leaves no file;
#   4. a build configured with --prefix=DIR finds its plugins and its catalog in DIR without
#      being told (the compiled-in defaults). `make install prefix=` cannot show this, as it
#      does not recompile; this part configures and builds a second tree (about a minute;
#      AIGW_TEST_SKIP_FRESH_BUILD=1 leaves it out).
#
# Runs from `make check` (AIGW_TEST_* come from AM_TESTS_ENVIRONMENT).
set -u

builddir=${AIGW_TEST_BUILDDIR:?run me through make check}
srcdir=${AIGW_TEST_SRCDIR:?run me through make check}
plugindir=${AIGW_TEST_PLUGIN_DIR:-$builddir/plugins/.libs}

for tool in make find cmp sed; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not found"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigw-install.XXXXXX") || exit 99
tmp=$(cd "$tmp" && pwd -P)
prefix=$tmp/prefix
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fail() {
    echo "FAIL: $*"
    [ -s "$tmp/make.log" ] && { echo "--- make.log (tail)"; tail -n 30 "$tmp/make.log"; }
    exit 1
}

# A make of our own: the outer make's flags (jobserver, TESTS=...) are not ours to pass on.
mk() {
    (unset MAKEFLAGS MFLAGS MAKELEVEL; make "$@") >"$tmp/make.log" 2>&1
}

# An environment with nothing from the caller: no AIGW_*, no provider variable.
clean_env() {
    env -i PATH="$PATH" ${ASAN_OPTIONS+ASAN_OPTIONS="$ASAN_OPTIONS"} \
        ${UBSAN_OPTIONS+UBSAN_OPTIONS="$UBSAN_OPTIONS"} "$@"
}

# vkeys FILE: the vkeys of a --list-providers --format=json output, one a line.
vkeys() {
    sed -n 's/^[[:space:]]*"vkey":[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

# leftovers DIR: every non-directory under DIR.
leftovers() {
    find "$1" ! -type d | sort
}

clean_env "$builddir/aigw" --plugin-dir "$plugindir" --list-providers --format=json \
    >"$tmp/build.json" || fail "aigw --list-providers in the build tree"
want_vkeys=$(vkeys "$tmp/build.json")
[ -n "$want_vkeys" ] || fail "the build tree lists no provider"

# --- 1. install into a fresh prefix ------------------------------------------------------------
mk -C "$builddir" install prefix="$prefix" DESTDIR= || fail "make install prefix=$prefix"

for f in bin/aigw include/aigw/plugin.h lib/pkgconfig/aigw-plugin.pc share/aigw/models.json \
    share/man/man8/aigw.8 share/man/man5/aigw.json.5 share/man/man3/aigw-plugin.3 \
    etc/aigw/aigw.json.sample etc/aigw/aigw.env.sample etc/aigw/aigw.json etc/aigw/aigw.env \
    lib/systemd/system/aigw.service; do
    [ -f "$prefix/$f" ] || fail "make install did not install $f"
done
[ -x "$prefix/bin/aigw" ] || fail "$prefix/bin/aigw is not executable"
for v in $want_vkeys; do
    [ -f "$prefix/lib/aigw/$v.so" ] || fail "plugin $v.so not installed in $prefix/lib/aigw"
done
for f in aigw.json aigw.env; do
    cmp -s "$srcdir/etc/$f.sample" "$prefix/etc/aigw/$f" || fail "$f is not a copy of $f.sample"
    cmp -s "$srcdir/etc/$f.sample" "$prefix/etc/aigw/$f.sample" || fail "$f.sample differs"
done
case $(ls -l "$prefix/etc/aigw/aigw.env") in
-rw-------*) ;;
*) fail "aigw.env (secrets) is not mode 600: $(ls -l "$prefix/etc/aigw/aigw.env")" ;;
esac

unit=$prefix/lib/systemd/system/aigw.service
grep -qx "ExecStart=$prefix/bin/aigw --config $prefix/etc/aigw/aigw.json" "$unit" ||
    fail "unit: ExecStart does not run the installed aigw with the installed config"
grep -qx "EnvironmentFile=-$prefix/etc/aigw/aigw.env" "$unit" ||
    fail "unit: EnvironmentFile is not the installed aigw.env"
if grep -n '@[a-z_]*@' "$unit"; then fail "unit: placeholders left"; fi
# systemd's own reading of the unit (syntax, directives, ExecStart exists, man pages found).
if command -v systemd-analyze >/dev/null 2>&1; then
    MANPATH="$prefix/share/man" systemd-analyze verify "$unit" >"$tmp/verify.log" 2>&1 ||
        fail "systemd-analyze verify aigw.service: $(cat "$tmp/verify.log")"
fi

# Only installed files: an empty environment, the installed plugin directory.
out=$(clean_env "$prefix/bin/aigw" --version) || fail "installed aigw --version exited $?"
expr "$out" : 'aigw [0-9][0-9.]* (plugin ABI [0-9][0-9]*\.[0-9][0-9]*)$' >/dev/null ||
    fail "installed aigw --version printed: $out"
clean_env "$prefix/bin/aigw" --plugin-dir "$prefix/lib/aigw" --list-providers --format=json \
    >"$tmp/installed.json" || fail "installed aigw --list-providers exited $?"
[ "$(vkeys "$tmp/installed.json")" = "$want_vkeys" ] ||
    fail "installed plugins differ from the build tree's: $(vkeys "$tmp/installed.json")"
n=$(clean_env "$prefix/bin/aigw" --plugin-dir "$prefix/lib/aigw" --list-providers | wc -l)
[ "$n" -eq $(($(echo "$want_vkeys" | wc -l) + 1)) ] || fail "--list-providers table: $n lines"
out=$(clean_env AIGW_CATALOG="$prefix/share/aigw/models.json" "$prefix/bin/aigw" \
    --plugin-dir "$prefix/lib/aigw" --log-level error --check-config \
    --config "$prefix/etc/aigw/aigw.json" 2>&1) ||
    fail "--check-config of the installed aigw.json: $out"
[ "$out" = "aigw: configuration OK (0 providers active)" ] || fail "--check-config said: $out"

if command -v man >/dev/null 2>&1; then
    for pair in 8:aigw:man8/aigw.8 5:aigw.json:man5/aigw.json.5; do
        sec=${pair%%:*}; rest=${pair#*:}; page=${rest%%:*}; file=${rest#*:}
        got=$(MANPATH="$prefix/share/man" man -w "$sec" "$page" 2>&1)
        [ "$got" = "$prefix/share/man/$file" ] || fail "man -w $sec $page: $got"
    done
fi

# --- 2. reinstall keeps the operator's file; uninstall leaves only it ---------------------------
printf '// edited by the operator\n' >>"$prefix/etc/aigw/aigw.json"
cp "$prefix/etc/aigw/aigw.json" "$tmp/edited.json"
mk -C "$builddir" install prefix="$prefix" DESTDIR= || fail "second make install"
cmp -s "$tmp/edited.json" "$prefix/etc/aigw/aigw.json" || fail "reinstall overwrote aigw.json"
mk -C "$builddir" uninstall prefix="$prefix" DESTDIR= || fail "make uninstall prefix=$prefix"
left=$(leftovers "$prefix")
[ "$left" = "$prefix/etc/aigw/aigw.json" ] || fail "after uninstall, expected only the edited
aigw.json; left:
$left"
cmp -s "$tmp/edited.json" "$prefix/etc/aigw/aigw.json" || fail "uninstall changed aigw.json"

# --- 3. DESTDIR staging, with the configured prefix ----------------------------------------------
stage=$tmp/stage
cprefix=$(sed -n 's/^prefix = //p' "$builddir/Makefile")
[ -n "$cprefix" ] || fail "no prefix in $builddir/Makefile"
mk -C "$builddir" install DESTDIR="$stage" || fail "make install DESTDIR=$stage"
[ -x "$stage$cprefix/bin/aigw" ] || fail "DESTDIR install: no $stage$cprefix/bin/aigw"
[ -f "$stage$cprefix/lib/systemd/system/aigw.service" ] || fail "DESTDIR install: no unit"
if grep -rl "$stage" "$stage" >"$tmp/leaks" 2>/dev/null; then
    fail "the staging directory leaked into: $(cat "$tmp/leaks")"
fi
grep -q "^ExecStart=$cprefix/bin/aigw " "$stage$cprefix/lib/systemd/system/aigw.service" ||
    fail "DESTDIR install: ExecStart is not $cprefix/bin/aigw"
mk -C "$builddir" uninstall DESTDIR="$stage" || fail "make uninstall DESTDIR=$stage"
left=$(leftovers "$stage")
[ -z "$left" ] || fail "after uninstall under DESTDIR, files are left:
$left"

# --- 4. a build for this prefix finds its plugins and catalog by itself --------------------------
if [ "${AIGW_TEST_SKIP_FRESH_BUILD:-0}" = 1 ]; then
    echo "PASS: install, reinstall, uninstall, DESTDIR (fresh --prefix build skipped)"
    exit 0
fi
[ -x "$srcdir/configure" ] || fail "no $srcdir/configure"
fresh=$tmp/fresh
mkdir "$tmp/fresh-build" || exit 99
jobs=$(nproc 2>/dev/null || echo 2)
(cd "$tmp/fresh-build" && unset MAKEFLAGS MFLAGS MAKELEVEL &&
    "$srcdir/configure" -q --prefix="$fresh" --disable-tests CFLAGS=-O0 &&
    make -s -j"$jobs" install) >"$tmp/make.log" 2>&1 ||
    fail "configure --prefix=$fresh && make install"
clean_env "$fresh/bin/aigw" --list-providers --format=json >"$tmp/fresh.json" ||
    fail "aigw --list-providers (default plugin directory) exited $?"
[ "$(vkeys "$tmp/fresh.json")" = "$want_vkeys" ] ||
    fail "with no --plugin-dir the installed aigw found: $(vkeys "$tmp/fresh.json")"
out=$(clean_env "$fresh/bin/aigw" --check-config --config "$fresh/etc/aigw/aigw.json" 2>&1) ||
    fail "--check-config (default plugin dir and catalog): $out"
case $out in
*"catalog: "*" models loaded"*"aigw: configuration OK (0 providers active)"*) ;;
*) fail "the installed catalog was not found by default: $out" ;;
esac
mk -C "$tmp/fresh-build" uninstall || fail "make uninstall of the fresh build"
left=$(leftovers "$fresh")
[ -z "$left" ] || fail "after uninstall of the fresh build, files are left:
$left"

echo "PASS: install, reinstall, uninstall, DESTDIR, and default paths of a --prefix build"
exit 0
