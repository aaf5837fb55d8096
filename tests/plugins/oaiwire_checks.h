/*
 * oaiwire_checks - what the tests of the OpenAI-wire plugins (mistral, groq, deepseek,
 * together, perplexity, fireworks, ai21, xai, hugging-face) have in common: JSON accessors
 * that assert, a stream run whole and split at every byte, error checks, expectations read
 * from tests/fixtures/<vkey>/expect.json, and the replay of the shared real recordings
 * ("conformance", in oaiwire_replay.c) against an oracle computed from each recording.
 * Everything asserts through Criterion.
 */
#ifndef AIGW_TEST_OAIWIRE_CHECKS_H
#define AIGW_TEST_OAIWIRE_CHECKS_H

#include <stdint.h>

#include "plugins/harness.h"

#define OC_SSE "Content-Type: text/event-stream\r\n"
#define OC_JSON "Content-Type: application/json\r\n"
#define OC_CANARY "sk-CANARY-1234"

/* obj[key], asserted present (and of the type, for oc_str / oc_num). */
const cJSON *oc_get(const cJSON *obj, const char *key);
const char *oc_str(const cJSON *obj, const char *key);
double oc_num(const cJSON *obj, const char *key);
/* Asserts obj has no member key (a field that must have been dropped or renamed). */
void oc_absent(const cJSON *obj, const char *key);
/* oc_absent for each of the space-separated keys. */
void oc_absent_all(const cJSON *obj, const char *keys);

/* Build the request in tests/fixtures/<fixture> (an OpenAI request body) for vkey. */
struct ph_call *oc_begin_file(const char *vkey, int op, const char *fixture);
/* A one-message chat request for model. stream: 0 no, 1 yes, 2 also asking include_usage. */
struct ph_call *oc_begin_chat(const char *vkey, const char *model, int stream);

/* A built request: method POST, this URL, "Bearer <OC_CANARY>", JSON content type, the
 * expected framing and (unless NULL) this upstream model id; returns the body. */
cJSON *oc_request_is(struct ph_call *c, const char *url, int framing, const char *model);

/* Non-stream chat: the client body for this 200 fixture; choices[0] in *choice. */
cJSON *oc_chat(struct ph_call *c, const char *fixture, const cJSON **choice);

/* A chat stream for model (asking include_usage when usage) fed the fixture (or body) whole,
 * then split at every byte: both client outputs must be the same (created aside), and both
 * exchanges end alike (0, or AIGW_EPROTO for a stream cut short). Returns the whole run; the
 * caller frees it. */
struct ph_call *oc_stream(const char *vkey, const char *model, int usage, const char *fixture);
struct ph_call *oc_stream_body(const char *vkey, const char *model, int usage, const char *body,
                               size_t len);

/* The client saw exactly one finish for choice 0, it was `finish`, and the stream ended with
 * data: [DONE]. */
void oc_stream_end_is(struct ph_call *c, const char *finish);
/* The stream was cut before its end (no finish_reason, no [DONE]): the client saw no finish,
 * and an error event, then data: [DONE]. */
void oc_stream_end_cut(struct ph_call *c);
/* Number of usage-bearing chunks the client saw (0 unless include_usage). */
int oc_usage_chunks(struct ph_call *c);
void oc_usage_is(const cJSON *usage, int prompt, int completion, int total);

/* An upstream error: respond with status / headers / fixture; the client status and error
 * type, and the mapped retryable flag and retry-after. */
void oc_error_is(struct ph_call *c, int status, const char *headers, const char *fixture,
                 int client_status, const char *type, int retryable, int64_t retry_after_ms);

/* The canary key appears nowhere in what the client got. */
void oc_no_secret(struct ph_call *c);

/* The suite of a plugin test: the canary as <prefix>_API_KEY, base as <prefix>_BASE_URL. */
#define OC_SUITE(suite, prefix, base)                                                              \
    static void suite##_setup(void)                                                                \
    {                                                                                              \
        ph_env(prefix "_API_KEY", OC_CANARY, prefix "_BASE_URL", base, NULL);                      \
    }                                                                                              \
    TestSuite(suite, .init = suite##_setup)

/* ---- expectations ------------------------------------------------------------------------ */

/*
 * tests/fixtures/<vkey>/expect.json says what a client must see for each fixture:
 *
 *   {"model": "...",
 *    "chat":    [{"fixture", "model"?, "content"?, "reasoning"?, "finish", "usage"?: [p, c, t],
 *                 "tool_calls"?: [{"id"?, "name", "arguments"}]}],
 *    "streams": [same, or "cut": true for a stream that ends before its finish],
 *    "errors":  [{"status", "headers"?: {...}, "fixture", "client_status", "type", "retryable",
 *                 "retry_after_ms"}],
 *    "conformance": {"folder", "model", "jsonl_done"?, "reasoning_out"?, "images"?,
 *                    "status_map"?: {"<upstream>": <client>}}}
 *
 * An absent string is not checked; "content": null means JSON null (an answer that only calls
 * tools); absent "tool_calls" means none. Streams run with and without include_usage: exactly
 * one finish, [DONE], and one usage chunk (with exactly "usage") only when asked; a cut one
 * ends with an error event and [DONE], no finish.
 */
/* tests/fixtures/<vkey>/expect.json, parsed; the caller deletes it. */
cJSON *oc_expectations(const char *vkey);
void oc_expect_chat(const char *vkey);
void oc_expect_streams(const char *vkey);
void oc_expect_errors(const char *vkey);
void oc_expect_conformance(const char *vkey);

#define OC_EXPECTATION_TESTS(suite, vkey)                                                          \
    Test(suite, chat_answers)                                                                      \
    {                                                                                              \
        oc_expect_chat(vkey);                                                                      \
    }                                                                                              \
    Test(suite, streams)                                                                           \
    {                                                                                              \
        oc_expect_streams(vkey);                                                                   \
    }                                                                                              \
    Test(suite, errors)                                                                            \
    {                                                                                              \
        oc_expect_errors(vkey);                                                                    \
    }                                                                                              \
    Test(suite, conformance)                                                                       \
    {                                                                                              \
        oc_expect_conformance(vkey);                                                               \
    }

#endif
