#!/bin/sh
# Runs the Redis reply reader's fuzz target over its seeds (see tests/fuzz/driver.c).
set -e
b=${AIGW_TEST_BUILDDIR:-.}
s=${AIGW_TEST_SRCDIR:-.}
"$b/tests/counters/fuzz_resp" "$s/tests/fuzz/seeds/resp" "${AIGW_FUZZ_ROUNDS:-100000}"
