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

enum gw_route_kind {
    GW_ROUTE_CHAT = 1,
    GW_ROUTE_COMPLETIONS,
    GW_ROUTE_EMBEDDINGS,
    GW_ROUTE_IMAGES,
};

struct gw_request_err {
    int status;
    const char *param; /* static string or NULL */
    const char *code;
    char message[512];
};

struct gw_parsed {
    cJSON *body;       /* the validated (possibly rewritten) request; owned */
    const char *model; /* points into body; may be "" for images without a model */
    int stream;
    int include_usage;
    int op; /* enum aigw_op */
};

/* Parses body (n bytes) for the route kind. 0, or negative with err filled. */
int gw_request_parse(int kind, const char *body, size_t n, struct gw_parsed *out,
                     struct gw_request_err *err);
void gw_parsed_free(struct gw_parsed *p);

#endif
