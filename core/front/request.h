/*
 * request - parses and validates a client's OpenAI body once, so plugins can trust what they
 * read: types checked, required fields present, the legacy /v1/completions prompt rewritten as
 * one user message. Failures name the field (error.param) and, for malformed JSON, the byte
 * offset.
 *
 * Threading: stateless.
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "front/dialect.h"
#include "lib/reqerr.h"

enum gw_route_kind {
    GW_ROUTE_CHAT = 1,
    GW_ROUTE_COMPLETIONS,
    GW_ROUTE_EMBEDDINGS,
    GW_ROUTE_IMAGES,
};


/* Parses body (n bytes) for the route kind. 0, or negative with err filled. */
int gw_request_parse(int kind, const char *body, size_t n, struct gw_parsed *out,
                     struct gw_request_err *err);

#endif
