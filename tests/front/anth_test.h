/*
 * anth_test - what the Anthropic dialect's tests share: fixtures and goldens, parsing a
 * Messages body, driving the renderer from a chunk script or a real plugin fed upstream bytes
 * (split anywhere), and an independent checker of the SSE stream and message object that does
 * what the official SDKs do with them (event order, block indexes, signatures, usage), so a
 * golden that is wrong still fails.
 *
 * Goldens: AIGW_UPDATE_GOLDEN=1 rewrites them from the current output (review the diff).
 */
#ifndef AIGW_TEST_ANTH_TEST_H
#define AIGW_TEST_ANTH_TEST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "front/anth_check.h"
#include "front/dialect.h"

/* tests/fixtures/<rel>, NUL-terminated; asserts it exists. Caller frees. */
char *at_read(const char *rel, size_t *len);
/* Asserts got equals the golden tests/fixtures/<rel> (JSON compared as values when the file
 * ends in .json, bytes otherwise). */
void at_golden(const char *rel, const char *got, size_t n);

/* Parses body as POST path (NULL: /v1/messages) with an anthropic-beta header (NULL: none).
 * Returns the parse's code; p is always to be released with gw_parsed_free. */
int at_parse(const char *body, const char *path, const char *betas, struct gw_parsed *p,
             struct gw_front_err *err);

/* The renderer fed a chunk script (a JSON array, see anth_test.c); returns the client's
 * bytes (malloc'd). */
char *at_render_script(const struct gw_parsed *p, const char *script, size_t *len);

/* The request p through plugin vkey (upstream model `model`), the upstream answering status,
 * headers ("Name: v\r\n"...) and body cut at the given offsets (ascending); returns what the
 * client receives and its status. */
char *at_replay(const struct gw_parsed *p, const char *vkey, const char *model, int status,
                const char *headers, const char *body, size_t len, const size_t *cuts, size_t ncuts,
                int *client_status, size_t *out_len);
/* The upstream request the plugin built for p, as JSON (caller deletes), and its URL and a
 * header (copies, caller frees; NULL when absent). */
cJSON *at_upstream_body(const struct gw_parsed *p, const char *vkey, const char *model, char **url,
                        const char *header, char **header_value);

#endif
