/*
 * body - the client's request body as every inbound dialect reads it: valid UTF-8, one JSON
 * value with nothing after it but whitespace, and no object that names a member twice.
 *
 * Why the last rule: the gateway reads a member once (cJSON finds the first of two names),
 * while a provider's parser commonly keeps the last. {"model":"cheap",...,"model":"dear"}
 * would be admitted, limited and priced as "cheap" and answered by "dear", and a second
 * "messages" would reach the provider past the guards that read the first. RFC 8259 leaves
 * such objects to each reader; a gateway that decides on what it reads must refuse them.
 *
 * Threading: stateless.
 */
#ifndef GW_FRONT_BODY_H
#define GW_FRONT_BODY_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The most JSON values (objects, arrays, strings, numbers, literals) a body may hold. The
 * parsed tree costs about 80 bytes a value: 1,000,000 of them about 80 MB, where an 8 MiB
 * body of "[0,0,...]" was 345 MB. A 300,000-token embeddings request sent as token ids (the
 * most a provider takes) has room. */
#define GW_BODY_MAX_VALUES 1000000

struct gw_body_err {
    const char *code; /* "invalid_utf8", "invalid_json", "too_many_values" or "duplicate_key" */
    char message[512];
};

/* Parses p[0..n) into *out (the caller's, freed with cJSON_Delete). On a body the rules
 * above refuse: AIGW_EINVAL, *out NULL, and err says why, naming the byte offset or the
 * repeated key and where it is ("messages[2].content[0]"). AIGW_ENOMEM when out of memory.
 * A body of more than GW_BODY_MAX_VALUES values is refused before it is parsed. The repeat
 * check walks the whole tree; an object past 16 members is checked by sorting its names, so
 * a large object costs n log n whatever its names. */
int gw_body_parse(const char *p, size_t n, cJSON **out, struct gw_body_err *err);

/* The values of the JSON text p[0..n), roughly, counted up to max + 1 (no more work past
 * that): the parsed tree is about 80 bytes a value whatever the text, so a body of small
 * values ("[0,0,0,...]") would cost 40 times its size in memory. Any text: what is not JSON
 * counts as what it looks like. */
size_t gw_body_count_values(const char *p, size_t n, size_t max);

#endif
