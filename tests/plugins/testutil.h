/*
 * testutil - helpers the plugin tests used to copy into each file: JSON written with single
 * quotes, dotted-path lookups and assertions on cJSON documents, and the "feed a stream whole
 * and split at every byte, the client must see the same thing" check.
 */
#ifndef AIGW_TESTS_PLUGINS_TESTUTIL_H
#define AIGW_TESTS_PLUGINS_TESTUTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "harness.h"

/* Single quotes become double quotes, so requests stay readable in C strings. The result lives
 * in one of four rotating static buffers (16 KiB each, truncated beyond): use it at once. */
const char *tu_json(const char *s);

/* Resolve "a.0.b" under root (numeric segments index arrays); NULL when absent. */
const cJSON *tu_at(const cJSON *root, const char *path);
/* The string at path, or NULL if it is absent or not a string. */
const char *tu_str_at(const cJSON *root, const char *path);
/* The number at path; asserts that it is one. */
double tu_num_at(const cJSON *root, const char *path);

void tu_expect_str(const cJSON *o, const char *path, const char *want);
void tu_expect_num(const cJSON *o, const char *path, double want);
void tu_expect_absent(const cJSON *o, const char *path);
/* Direct member `key` of o, asserting that it is present / a number / a string. */
const cJSON *tu_get(const cJSON *o, const char *key);
double tu_num(const cJSON *o, const char *key);
const char *tu_str(const cJSON *o, const char *key);
/* Asserts that `secret` appears nowhere in what the client received. */
void tu_no_secret(struct ph_call *c, const char *secret);

/* Asserts that the client received exactly this OpenAI error document, byte for byte, with
 * this HTTP status: {"error":{"message","type","param","code"}} (NULL param / code -> null). */
void tu_expect_error(struct ph_call *c, int status, const char *message, const char *type,
                     const char *param, const char *code);

/* Retry hints in the header forms host->retry_after_ms reads, each with the milliseconds it
 * gives, for the plugins that take their hint from the host: they must all agree. Each
 * `headers` is a complete header block ("Name: v\r\n"...). */
struct tu_retry_hint {
    const char *headers;
    long long ms;
};
#define TU_RETRY_HINTS 7
extern const struct tu_retry_hint tu_retry_hints[TU_RETRY_HINTS];

/* Asserts that got equals the JSON text `expected` (key order ignored). */
void tu_assert_json(const cJSON *got, const char *expected);

/* A malloc'd copy of s with every "created":<digits> value blanked, for upstreams that send no
 * timestamp (the host then stamps each response with its own clock). Caller frees. */
char *tu_blank_created(const char *s);

/* Runs `run(fixture, 0)` and `run(fixture, 1)` and asserts both client outputs are identical
 * (after tu_blank_created when blank_created). `run` returns a call that ph_free releases. */
void tu_expect_split_identical(struct ph_call *(*run)(const char *fixture, size_t split),
                               const char *fixture, int blank_created);

#endif
