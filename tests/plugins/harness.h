/*
 * harness - drives a real plugin .so through the real loader and the real core exchange
 * (framing, host services, rendering), with no network: the test hands in the upstream
 * response bytes and reads back exactly what a client would receive.
 *
 *   ph_env("OPENAI_API_KEY", "sk-test", "OPENAI_BASE_URL", "http://mock", NULL);
 *   struct ph_call *c = ph_begin("openai", AIGW_OP_CHAT, "{\"model\":\"gpt-4o\",...}");
 *   cr_assert_str_eq(ph_url(c), "http://mock/chat/completions");
 *   cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer sk-test");
 *   ph_respond_file(c, 200, "Content-Type: application/json\r\n", "openai/chat.json", 0);
 *   cJSON *out = ph_output_json(c);          // the chat.completion the client gets
 *   ph_free(c);
 *
 * Plugins are loaded from $AIGW_TEST_PLUGIN_DIR (set by `make check`) with the environment
 * as it is at ph_begin() time. Fixtures are read from $AIGW_TEST_SRCDIR/tests/fixtures/.
 * Every function asserts (Criterion) on harness failures, so tests stay short.
 *
 * Credentials: when the plugin has credentials_build and no valid cached credential, ph_begin
 * leaves the token request built (inspect it with ph_url/ph_body); answer it with ph_respond,
 * which returns AIGW_CONTINUE with the real request built. The credential is cached per
 * process, as in the daemon.
 */
#ifndef AIGW_TEST_HARNESS_H
#define AIGW_TEST_HARNESS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"

struct ph_call;

/* setenv() name/value pairs, NULL-terminated. */
void ph_env(const char *name, ...);
/* unsetenv() names, NULL-terminated. */
void ph_unenv(const char *name, ...);

/* Load `vkey` and build the upstream request for the OpenAI request JSON. The body's "stream"
 * field decides streaming. Asserts that building succeeded; see ph_begin_rc for failures. */
struct ph_call *ph_begin(const char *vkey, int op, const char *request_json);
/* Same, but returns the build's return code in *rc (the call is still returned, for
 * ph_output of the error, or NULL when the plugin could not be loaded/activated). */
struct ph_call *ph_begin_rc(const char *vkey, int op, const char *request_json, int *rc);

/* What the plugin built. Strings stay valid until the next ph_respond* or ph_free. */
const char *ph_method(struct ph_call *c);
const char *ph_url(struct ph_call *c);
const char *ph_header(struct ph_call *c, const char *name); /* case-insensitive; NULL if absent */
const char *ph_body(struct ph_call *c);                     /* NUL-terminated copy */
size_t ph_body_len(struct ph_call *c);
cJSON *ph_body_json(struct ph_call *c); /* parsed; owned by the call */
int ph_framing(struct ph_call *c);

/* Hand the upstream response to the plugin: status, raw header block ("Name: v\r\n"...,
 * may be NULL) and body. The body is fed in pieces of `split` bytes (0 = whole). Returns the
 * exchange's code: 0 when the response is complete, AIGW_CONTINUE when the plugin set up
 * another request (inspect it with ph_url etc., then respond again), or a negative code. */
int ph_respond(struct ph_call *c, int status, const char *headers, const char *body, size_t len,
               size_t split);
int ph_respond_file(struct ph_call *c, int status, const char *headers, const char *fixture,
                    size_t split);

/* What the client receives: the HTTP status and body (a JSON document for non-streams, the
 * SSE text for streams, an OpenAI error document for failures). */
int ph_client_status(struct ph_call *c);
const char *ph_output(struct ph_call *c);
cJSON *ph_output_json(struct ph_call *c); /* non-stream body parsed; owned by the call */

/* Stream helpers: the data: payloads parsed (JSON array, [DONE] excluded; owned by the call),
 * whether the stream ended with data: [DONE], the concatenated delta.content / reasoning of
 * choice 0, and the final finish_reason of choice 0 (NULL if none). */
cJSON *ph_sse_events(struct ph_call *c);
int ph_sse_done(struct ph_call *c);
const char *ph_stream_text(struct ph_call *c);
const char *ph_stream_reasoning(struct ph_call *c);
const char *ph_stream_finish(struct ph_call *c);
/* Tool call `index` of choice 0 reassembled from the stream: name and joined arguments. */
const char *ph_stream_tool_name(struct ph_call *c, int index);
const char *ph_stream_tool_args(struct ph_call *c, int index);
const char *ph_stream_tool_id(struct ph_call *c, int index);
/* The usage object the client saw (stream: the choices:[] chunk; non-stream: body.usage). */
cJSON *ph_usage(struct ph_call *c);
/* Every usage chunk the plugin emitted, merged as the request's lifetime merges them for the
 * ledger (counts and, ABI 1.5, a stated cost_usd), whatever the client was shown. */
const struct aigw_usage *ph_ledger_usage(struct ph_call *c);

/* The upstream error as mapped by the plugin (NULL if the response was a success). */
const struct aigw_error *ph_error(struct ph_call *c);

/* Read tests/fixtures/<relpath> (NUL-terminated; *len may be NULL). Asserts it exists.
 * Caller frees. */
char *ph_fixture(const char *relpath, size_t *len);

/* The call ended here without its answer: the plugin's cancel request (ABI 1.6), built into
 * the call (ph_method, ph_url, ph_header read it). 0 built, 1 nothing to cancel, negative. */
int ph_cancel(struct ph_call *c, const char **job_id);

void ph_free(struct ph_call *c);

#endif
