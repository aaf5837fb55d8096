#!/bin/sh
# The Anthropic dialect's fuzz target over its seeds with deterministic mutations (driver.c).
set -e
b=${AIGW_TEST_BUILDDIR:-.}
s=${AIGW_TEST_SRCDIR:-.}
"$b/tests/fuzz/fuzz_anthropic" "$s/tests/fuzz/seeds/anthropic" "${AIGW_FUZZ_ROUNDS:-30000}"
