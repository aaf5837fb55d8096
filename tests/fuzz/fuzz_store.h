/*
 * fuzz_store - the admin targets' shared fixture: a real SQLite store in a temp directory,
 * closed and removed at exit, and the one 5xx those targets accept.
 */
#ifndef AIGW_TESTS_FUZZ_STORE_H
#define AIGW_TESTS_FUZZ_STORE_H

#include <cjson/cJSON.h>

struct gw_store;

/* Opens the store (aborts on failure: the target cannot run without it). */
struct gw_store *fuzz_store_open(const char *target);
/* 1 for a store read past its deadline (2 s) on a starved machine, answered 503
 * store_unavailable by design; any other 5xx is a finding. */
int fuzz_store_timed_out(const cJSON *doc, int status);

#endif
