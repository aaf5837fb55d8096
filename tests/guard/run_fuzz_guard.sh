#!/bin/sh
# Runs the guardrail fuzz targets over their seeds with deterministic mutations (see
# tests/fuzz/driver.c). Each input loads guards, so the default rounds are fewer than the
# parsers' in tests/fuzz/run_fuzz.sh; AIGW_FUZZ_ROUNDS overrides both.
set -e
b=${AIGW_TEST_BUILDDIR:-.}
s=${AIGW_TEST_SRCDIR:-.}
"$b/tests/guard/fuzz_guard_config" "$s/tests/guard/seeds/config" "${AIGW_FUZZ_ROUNDS:-20000}"
"$b/tests/guard/fuzz_guard_stream" "$s/tests/guard/seeds/stream" "${AIGW_FUZZ_ROUNDS:-20000}"
