#!/bin/sh
# The admin views' query strings over their seeds with deterministic mutations (driver.c).
set -e
b=${AIGW_TEST_BUILDDIR:-.}
s=${AIGW_TEST_SRCDIR:-.}
"$b/tests/fuzz/fuzz_admin_query" "$s/tests/fuzz/seeds/admin_query" "${AIGW_FUZZ_ROUNDS:-30000}"
