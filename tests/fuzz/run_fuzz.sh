#!/bin/sh
# Runs every fuzz target over its seeds with deterministic mutations (see driver.c).
set -e
b=${AIGW_TEST_BUILDDIR:-.}
s=${AIGW_TEST_SRCDIR:-.}
for t in framing request eventstream catalog listen responses traceparent; do
    "$b/tests/fuzz/fuzz_$t" "$s/tests/fuzz/seeds/$t" "${AIGW_FUZZ_ROUNDS:-100000}"
done
