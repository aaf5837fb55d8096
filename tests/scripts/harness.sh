# harness.sh - sourced (". harness.sh") by the tests a shell drives (tests/compat,
# tests/admin/logs_e2e.sh, tests/browser): a temp directory, the mock provider and aigw
# processes on loopback, each stopped by PID when the script ends however it ends.
#
#   start_mock ROUTE...            mockprov with --route ROUTE...; sets $mock (its base URL)
#   start_aigw NAME [VAR=value...] [aigw options...]
#                                  aigw on 127.0.0.1:0 with the build's plugins and the
#                                  environment given; sets $url; logs to $tmp/NAME.log
#   show_logs NAME...              the last lines of those aigw logs (after a failure)
#
# Reads AIGW_TEST_SRCDIR / AIGW_TEST_BUILDDIR (set by make check); sets $src, $b and $tmp.
src=${AIGW_TEST_SRCDIR:-.}
b=${AIGW_TEST_BUILDDIR:-.}
tmp=$(mktemp -d)
harness_pids=

harness_stop() {
    for p in $harness_pids; do kill "$p" 2>/dev/null; done
    for p in $harness_pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap harness_stop EXIT
trap 'exit 130' INT TERM

# wait_file FILE: until it is non-empty (a port file a child writes once it listens), for at
# most 15 s; polling is the portable wait here, bounded by the deadline.
wait_file() {
    deadline=$(($(date +%s) + 15))
    while [ ! -s "$1" ]; do
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.05
    done
}

start_mock() {
    set -- --port-file "$tmp/mock.port" --fixtures "$src/tests/fixtures" "$@"
    "$b/tests/mockprov/mockprov" "$@" >"$tmp/mock.log" 2>&1 &
    harness_pids="$harness_pids $!"
    wait_file "$tmp/mock.port" || { echo "the mock did not start"; cat "$tmp/mock.log"; exit 1; }
    mock="http://127.0.0.1:$(cat "$tmp/mock.port")"
}

start_aigw() {
    name=$1
    shift
    # env VAR=value... aigw options...: the binary goes before the first option
    n=$#
    placed=0
    while [ "$n" -gt 0 ]; do
        a=$1
        shift
        if [ $placed -eq 0 ] && [ "${a#-}" != "$a" ]; then
            set -- "$@" "$b/aigw"
            placed=1
        fi
        set -- "$@" "$a"
        n=$((n - 1))
    done
    [ $placed -eq 1 ] || set -- "$@" "$b/aigw"
    env "$@" --listen 127.0.0.1:0 --port-file "$tmp/$name.port" \
        --plugin-dir "${AIGW_TEST_PLUGIN_DIR:-$b/plugins/.libs}" >"$tmp/$name.log" 2>&1 &
    harness_pids="$harness_pids $!"
    wait_file "$tmp/$name.port" || { echo "aigw ($name) did not start"; cat "$tmp/$name.log"; exit 1; }
    url="http://127.0.0.1:$(cat "$tmp/$name.port")"
}

show_logs() {
    for n in "$@"; do
        echo "---- aigw ($n) log"
        tail -n 40 "$tmp/$n.log"
    done
}
