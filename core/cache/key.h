/*
 * key - what makes two requests "the same" to the response cache: a SHA-256 over the scope
 * (whose cache it is), the endpoint, the model as the request names it (and X-Provider when
 * it pins one), and the request's canonical form.
 *
 * Canonical form: the internal request (and the client's own body when a target may receive it
 * natively) as compact JSON with every object's keys in byte order (a key given twice keeps
 * both, in their order), every number in its shortest round-trip form (1, 1.0 and 1e0 are one
 * number; -0 is 0), strings re-escaped one way, arrays in their order. The top-level fields
 * that change nothing about the answer are left out (GW_CACHE_IGNORED, listed in aigw.json(5)):
 * two requests that differ only in them share an entry.
 *
 * Every component is length-prefixed before it is hashed, so no two different tuples can
 * produce the same hash input.
 *
 * Threading: stateless; any thread.
 */
#ifndef GW_CACHE_KEY_H
#define GW_CACHE_KEY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "lib/buf.h"

#define GW_CACHE_KEY_BYTES 32
#define GW_CACHE_KEY_HEX (GW_CACHE_KEY_BYTES * 2 + 1)

/* Top-level request fields left out of the key, NULL-terminated. */
extern const char *const GW_CACHE_IGNORED[];

/* What a cache key is made of. Strings may be NULL (same as ""). */
struct gw_cache_key_in {
    const char *scope;    /* the gateway key's id under scope "key"; "" under "global" */
    const char *endpoint; /* "chat", "completions", "messages", "responses", "embeddings" */
    const char *model;    /* the model as the request names it */
    const char *provider; /* X-Provider, or NULL */
    const cJSON *body;    /* the internal request */
    const cJSON *native;  /* the client's own body when kept for native targets, or NULL */
};

/* Appends the canonical JSON of v to out (ignored top-level fields left out when top is
 * set). 0, AIGW_ETOOBIG past out's cap, AIGW_ENOMEM, AIGW_EINVAL for a value JSON cannot
 * hold (a non-finite number). */
int gw_cache_canon(const cJSON *v, int top, struct gw_buf *out);

/* The key of a request. 0 or a negative AIGW_E* (out untouched). */
int gw_cache_key(const struct gw_cache_key_in *in, unsigned char out[GW_CACHE_KEY_BYTES]);

/* out gets 64 lowercase hex digits and a NUL. */
void gw_cache_key_hex(const unsigned char key[GW_CACHE_KEY_BYTES], char out[GW_CACHE_KEY_HEX]);

#endif
