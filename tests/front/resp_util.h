/* resp_util - helpers shared by the Responses dialect's tests: fixtures, parse, free. */
#ifndef TESTS_FRONT_RESP_UTIL_H
#define TESTS_FRONT_RESP_UTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "front/responses.h"

/* tests/fixtures/responses-inbound/<name>, whole, NUL-terminated (the test fails if absent). */
char *ru_fixture(const char *name, size_t *len);
cJSON *ru_fixture_json(const char *name);
/* Parses body as POST /v1/responses. */
int ru_parse(const char *body, size_t len, struct gw_parsed *p, struct gw_front_err *err);
/* Everything a parse left. */
void ru_parsed_free(struct gw_parsed *p);
/* A fixed response id and time, so rendered bytes can be compared with a golden file. */
void ru_fix_identity(struct gw_parsed *p);

#endif
