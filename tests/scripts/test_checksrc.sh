#!/bin/sh
# scripts/checksrc on a tiny fake tree: banned calls in code are found with FILE:LINE:COL;
# the same names in comments, strings, members and longer names are not; the marker allows.
set -u
src=${AIGW_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null 2>&1 || { echo "python3 absent: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/core/net" "$tmp/plugins/x" "$tmp/tests/unit"
cat >"$tmp/core/net/ok.c" <<'C'
/* strcpy(d, s) in a comment, sprintf too */
// strtok(s, ",") in a line comment
static const char *m = "never strcat(\"x\") here";
static const char q = '"';
int f(struct s *p, char *d) { p->strcpy = 1; gw_strlcpy(d, "x", 2); return my_sprintf(d); }
int g(char *s) { char *save; return strtok_r(s, ",", &save) != 0; }
int h(const char *s) { return atoi(s); /* checksrc: allow atoi: fixed digits */ }
C
fails=0
out=$(python3 "$src/scripts/checksrc" "$tmp" 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: clean tree gave $rc:"; echo "$out"; fails=$((fails + 1)); }

printf '%s\n' 'void a(char *d) {' '    sprintf(d, "%d", 1);' '}' >"$tmp/plugins/x/bad.c"
printf '%s\n' 'char *b(char *s) { return strtok(s, ","); }' \
    'void c(char *d, const char *s) { strncpy(d, s, 4); }' >"$tmp/tests/unit/bad.c"
out=$(python3 "$src/scripts/checksrc" "$tmp" 2>&1) && rc=0 || rc=$?
[ "$rc" = 1 ] || { echo "FAIL: dirty tree gave $rc"; fails=$((fails + 1)); }
for needle in 'plugins/x/bad.c:2:5: sprintf:' 'tests/unit/bad.c:1:27: strtok:' \
    'tests/unit/bad.c:2:34: strncpy:'; do
    printf '%s\n' "$out" | grep -qF -- "$needle" || {
        echo "FAIL: output lacks $needle"
        fails=$((fails + 1))
    }
done
n=$(printf '%s\n' "$out" | grep -c '^[a-z].*:[0-9]*:[0-9]*: ')
[ "$n" = 3 ] || { echo "FAIL: $n findings, wanted 3:"; echo "$out"; fails=$((fails + 1)); }

# The real tree has none.
out=$(python3 "$src/scripts/checksrc" "$src" 2>&1) || {
    echo "FAIL: the tree itself:"
    echo "$out"
    fails=$((fails + 1))
}
[ $fails = 0 ] || exit 1
echo "checksrc: ok"
