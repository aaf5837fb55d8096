#!/bin/sh
# Runs every fuzz target over its seeds with deterministic mutations (see driver.c).
set -e
b=${AIGW_TEST_BUILDDIR:-.}
s=${AIGW_TEST_SRCDIR:-.}
for t in framing request eventstream catalog listen responses traceparent resp cache otlp \
    jsonarena endpoints coding; do
    "$b/tests/fuzz/fuzz_$t" "$s/tests/fuzz/seeds/$t" "${AIGW_FUZZ_ROUNDS:-100000}"
done
# Every accepted body is a committed store write: fewer rounds keep this one to seconds.
"$b/tests/fuzz/fuzz_admin_keys" "$s/tests/fuzz/seeds/admin_keys" "${AIGW_FUZZ_ADMIN_ROUNDS:-10000}"
"$b/tests/fuzz/fuzz_admin_path" "$s/tests/fuzz/seeds/admin_path" "${AIGW_FUZZ_ADMIN_ROUNDS:-10000}"
# Every input is a file written and read again: fewer rounds keep this one to seconds.
"$b/tests/fuzz/fuzz_config" "$s/tests/fuzz/seeds/config" "${AIGW_FUZZ_CONFIG_ROUNDS:-20000}"
