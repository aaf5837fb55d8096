/*
 * Guardrails end to end: the real aigw binary with a `guardrails` chain (the built-in guards
 * from the build's guard directory, tguard from tests/guard/.libs), clients of each dialect
 * over loopback, and the mock provider recording what reached the upstream:
 *
 *   - PII in a prompt is redacted before the upstream sees it (OpenAI-wire and native
 *     Anthropic targets: the client's own body is not forwarded once a guard rewrote it);
 *   - a blocked word gets the 400 in each dialect's error shape and reaches no upstream;
 *   - a card number the upstream streams across chunks is redacted in the client's stream
 *     (chat SSE, Anthropic SSE), and a deny mid-stream ends it with the dialect's error event;
 *   - a fallback after a stream failed before the client got a byte starts with empty windows:
 *     nothing the guards held of the failed attempt reaches the client;
 *   - a guard's service call: a deny from the service, and a deadline that passes (fail
 *     closed by default, fail_open skips the guard); a final-answer hook's call, the answer
 *     waiting for it;
 *   - the response cache keeps only what the guards let through;
 *   - json-schema's one retry with the validation error appended (not streamed);
 *   - an upstream error quoting the prompt is redacted by on_error;
 *   - outcomes in /metrics, the access log and the request log, never the matched text;
 *   - an entry with keys_only runs for the gateway keys that name it in their metadata.
 *
 * The out-of-tree example guard is run here too, by test_example_guard.sh, which builds it
 * against the installed SDK and names its directory in AIGW_EXAMPLE_GUARD_DIR (the test is
 * skipped without it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "e2e/e2e.h"

#define AHDR "anthropic-version: 2023-06-01\nx-api-key: client-key-ignored"
#define CARD "4111 1111 1111 1111"
#define HELLO                                                                                      \
    "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *guard_dir(void)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    return e2e_strf("%s/plugins/guards/.libs", b ? b : ".");
}

static const char *tguard_path(void)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    return e2e_strf("%s/tests/guard/.libs/tguard.so", b ? b : ".");
}

/* aigw with the chain (and more config members, or ""). */
static struct e2e_gw *gw_with(struct mock *m, const char *guardrails, const char *more)
{
    const char *cfg =
        e2e_strf("{\"guard_dir\":\"%s\",\"guardrails\":%s%s}", guard_dir(), guardrails, more);
    return e2e_gw_start(cfg, "OPENAI_API_KEY=sk-test-openai",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        "ANTHROPIC_API_KEY=sk-ant-test-gateway",
                        e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), NULL);
}

static struct e2e_gw *gw_for(struct mock *m, const char *guardrails)
{
    return gw_with(m, guardrails, "");
}

static void stop(struct e2e_gw *gw, struct mock *m)
{
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The upstream body of recorded request i, printed compactly (malloc). */
static char *upstream_body(struct mock *m, int i)
{
    cr_assert_eq(mock_wait_requests(m, i + 1, 5000), 0, "the upstream was not called");
    const struct mock_req *q = mock_request(m, i);
    cr_assert_not_null(q);
    char *s = strdup(mock_req_body(q));
    mock_req_free(q);
    return s;
}

/* ---- the input stage ------------------------------------------------------------------------ */

Test(guard_e2e, pii_in_a_prompt_is_redacted_before_the_upstream_sees_it)
{
    struct mock *m = e2e_mock("openai_chat");
    cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\"}]");

    struct e2e_resp *r =
        e2e_post(gw, "/v1/chat/completions",
                 "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"card " CARD ", mail ann@example.com\"}]}",
                 NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    char *up = upstream_body(m, 0);
    cr_assert_not_null(strstr(up, "card [CARD], mail [EMAIL]"), "%s", up);
    cr_assert_null(strstr(up, "4111"), "%s", up);
    cr_assert_null(strstr(up, "ann@"), "%s", up);
    free(up);

    /* An Anthropic client and a native Anthropic target: the client's own body would carry
     * the card; what goes is the rewritten request. */
    r = e2e_post(gw, "/v1/messages",
                 "{\"model\":\"anthropic/claude-sonnet-4-5\",\"max_tokens\":64,\"messages\":"
                 "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"pay with " CARD
                 "\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]}",
                 AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    up = upstream_body(m, 1);
    cr_assert_not_null(strstr(up, "pay with [CARD]"), "%s", up);
    cr_assert_null(strstr(up, "4111"), "%s", up);
    free(up);

    /* A Responses client. */
    r = e2e_post(
        gw, "/v1/responses",
        "{\"model\":\"openai/gpt-4o-mini\",\"store\":false,\"input\":\"ssn 123-45-6789 please\"}",
        NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    up = upstream_body(m, 2);
    cr_assert_not_null(strstr(up, "ssn [SSN] please"), "%s", up);
    free(up);

    /* Outcomes: counted per guard and stage, and in the access log, never what matched. */
    r = e2e_get(gw, "/metrics", NULL);
    cr_assert_not_null(strstr(r->body, "aigw_guardrail_outcomes_total{guard=\"pii\","
                                       "stage=\"request\",outcome=\"rewrite\"} 3"),
                       "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw,
                                 "\"guardrails\":[{\"guard\":\"pii\",\"stage\":\"input\","
                                 "\"outcome\":\"rewrite\"}",
                                 5000),
                 0, "%s", e2e_gw_log(gw));
    cr_assert_null(strstr(e2e_gw_log(gw), "4111"));
    stop(gw, m);
}

/* A guard that edits the request in place but returns ALLOW (the ABI asks for REWRITE): the
 * edit reaches the upstream all the same. An Anthropic client and a native Anthropic target
 * were sent the client's own body, with what the guard had taken out of it. */
Test(guard_e2e, an_edit_returned_with_allow_reaches_the_upstream)
{
    struct mock *m = e2e_mock("openai_chat");
    cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
    struct e2e_gw *gw =
        gw_for(m, e2e_strf("[{\"name\":\"tguard\",\"path\":\"%s\",\"config\":{\"request\":"
                           "\"editallow\",\"word\":\"hush-hush\"}}]",
                           tguard_path()));
    struct e2e_resp *r = e2e_post(gw, "/v1/messages",
                                  "{\"model\":\"anthropic/claude-sonnet-4-5\",\"max_tokens\":64,"
                                  "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                                  "\"text\",\"text\":\"the hush-hush plan\"}]}]}",
                                  AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    char *up = upstream_body(m, 0);
    cr_assert_null(strstr(up, "hush-hush"), "the unedited body went: %s", up);
    cr_assert_not_null(strstr(up, "the [X] plan"), "%s", up);
    free(up);

    /* And through the chat translation, as before. */
    r = e2e_post(gw, "/v1/chat/completions",
                 "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"a hush-hush note\"}]}",
                 NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    up = upstream_body(m, 1);
    cr_assert_null(strstr(up, "hush-hush"), "%s", up);
    cr_assert_not_null(strstr(up, "a [X] note"), "%s", up);
    free(up);
    cr_assert_eq(e2e_gw_wait_log(gw,
                                 "\"guard\":\"tguard\",\"stage\":\"input\",\"outcome\":"
                                 "\"rewrite\"",
                                 5000),
                 0, "%s", e2e_gw_log(gw));
    stop(gw, m);
}

/* Embeddings input given as token ids: no text guard can read it, so an input guard refuses
 * it with a 400 naming itself (it passed unseen before), unless its entry is fail_open. Text
 * input is guarded as before. */
#define EMB_ANSWER                                                                                 \
    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":"          \
    "[0.5,-0.25]}],\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":3,"           \
    "\"total_tokens\":3}}"
#define EMB_MODEL "{\"model\":\"openai/text-embedding-3-small\",\"input\":"

Test(guard_e2e, token_id_embeddings_input_is_refused_unless_the_guard_fails_open)
{
    static const char *const tokens[] = {"[1,2,3]", "[[1,2],[3]]", "[\"text\",[4,5]]"};
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/embeddings",
                                                        .headers = "Content-Type: application/json",
                                                        .body = EMB_ANSWER}),
                 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\"}]");
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        struct e2e_resp *r =
            e2e_post(gw, "/v1/embeddings", e2e_strf(EMB_MODEL "%s}", tokens[i]), NULL);
        cr_assert_eq(r->status, 400, "%s: %d %s", tokens[i], r->status, r->body);
        const cJSON *e = get(e2e_resp_json(r), "error");
        cr_assert_str_eq(jstr(e, "type"), "invalid_request_error", "%s", r->body);
        cr_assert_str_eq(jstr(e, "code"), "guardrail_uninspectable", "%s", r->body);
        cr_assert_str_eq(jstr(e, "param"), "input", "%s", r->body);
        cr_assert_not_null(strstr(jstr(e, "message"), "guardrail 'pii'"), "%s", r->body);
        cr_assert_not_null(strstr(jstr(e, "message"), "token ids"), "%s", r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 0, "token ids reached the upstream unseen");
    /* Text input is read (and redacted) as before. */
    struct e2e_resp *r =
        e2e_post(gw, "/v1/embeddings", EMB_MODEL "[\"mail ann@example.com\"]}", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    char *up = upstream_body(m, 0);
    cr_assert_not_null(strstr(up, "mail [EMAIL]"), "%s", up);
    free(up);
    stop(gw, m);

    /* fail_open: the guard is skipped (and counted so), the request goes. */
    m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/embeddings",
                                                        .headers = "Content-Type: application/json",
                                                        .body = EMB_ANSWER}),
                 0);
    gw = gw_for(m, "[{\"name\":\"pii\",\"fail_open\":true}]");
    r = e2e_post(gw, "/v1/embeddings", EMB_MODEL "[1,2,3]}", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    up = upstream_body(m, 0);
    cr_assert_not_null(strstr(up, "[1,2,3]"), "%s", up);
    free(up);
    r = e2e_get(gw, "/metrics", NULL);
    cr_assert_not_null(strstr(r->body, "aigw_guardrail_outcomes_total{guard=\"pii\","
                                       "stage=\"request\",outcome=\"fail_open\"} 1"),
                       "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

/* A pii entry that only reads answers (its own "apply_to": "output") is no input guard:
 * token ids go to the upstream as they would without it, and nothing is counted for it at
 * the request stage. */
Test(guard_e2e, an_output_only_entry_does_not_refuse_token_id_embeddings)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/embeddings",
                                                        .headers = "Content-Type: application/json",
                                                        .body = EMB_ANSWER}),
                 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]");
    struct e2e_resp *r = e2e_post(gw, "/v1/embeddings", EMB_MODEL "[[1,2],[3]]}", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    char *up = upstream_body(m, 0);
    cr_assert_not_null(strstr(up, "[[1,2],[3]]"), "%s", up);
    free(up);
    r = e2e_get(gw, "/metrics", NULL);
    cr_assert_null(strstr(r->body, "aigw_guardrail_outcomes_total{guard=\"pii\",stage=\"request\""),
                   "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

#define WORDS "[{\"name\":\"word-filter\",\"config\":{\"words\":[\"forbidden fruit\"]}}]"

Test(guard_e2e, a_blocked_word_gets_the_400_in_each_dialect)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gw_for(m, WORDS);

    /* OpenAI chat: the OpenAI error shape with code guardrail_blocked. */
    struct e2e_resp *r =
        e2e_post(gw, "/v1/chat/completions",
                 "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"tell me of the FORBIDDEN  Fruit\"}]}",
                 NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    const cJSON *e = get(e2e_resp_json(r), "error");
    cr_assert_str_eq(jstr(e, "type"), "invalid_request_error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_blocked");
    cr_assert_not_null(strstr(jstr(e, "message"), "request blocked by guardrail 'word-filter'"),
                       "%s", r->body);
    cr_assert_null(strstr(r->body, "ruit"), "the reason quotes the match: %s", r->body);
    e2e_resp_free(r);

    /* Legacy completions and a stream ask alike: refused before anything is sent. */
    r = e2e_post(gw, "/v1/completions",
                 "{\"model\":\"openai/gpt-4o-mini\",\"prompt\":\"forbidden fruit\"}", NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(jstr(get(e2e_resp_json(r), "error"), "code"), "guardrail_blocked");
    e2e_resp_free(r);

    /* Anthropic Messages: Anthropic's error shape. */
    r = e2e_post(gw, "/v1/messages",
                 "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":16,\"stream\":true,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"forbidden fruit\"}]}",
                 AHDR);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(jstr(e2e_resp_json(r), "type"), "error");
    e = get(e2e_resp_json(r), "error");
    cr_assert_str_eq(jstr(e, "type"), "invalid_request_error");
    cr_assert_not_null(strstr(jstr(e, "message"), "guardrail 'word-filter'"), "%s", r->body);
    e2e_resp_free(r);

    /* Responses: its error object. */
    r = e2e_post(gw, "/v1/responses",
                 "{\"model\":\"openai/gpt-4o-mini\",\"input\":[{\"role\":\"user\",\"content\":"
                 "[{\"type\":\"input_text\",\"text\":\"forbidden fruit\"}]}]}",
                 NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    e = get(e2e_resp_json(r), "error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_blocked", "%s", r->body);
    cr_assert_str_eq(jstr(e, "type"), "invalid_request_error");
    cr_assert_not_null(strstr(jstr(e, "message"), "guardrail 'word-filter'"), "%s", r->body);
    e2e_resp_free(r);

    cr_assert_eq(mock_request_count(m), 0, "a refused request reached the upstream");
    r = e2e_get(gw, "/metrics", NULL);
    cr_assert_not_null(strstr(r->body, "aigw_guardrail_outcomes_total{guard=\"word-filter\","
                                       "stage=\"request\",outcome=\"deny\"} 4"),
                       "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

/* ---- the output stage ----------------------------------------------------------------------- */

#define OAI_CHUNK(text)                                                                            \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-"  \
    "mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"},\"finish_reason\":"     \
    "null}]}\n\n"
#define OAI_END                                                                                    \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-"  \
    "mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"              \
    "data: [DONE]\n\n"

#define ANTH_START                                                                                 \
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-"     \
    "sonnet-4-5\",\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"    \
    "\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"                \
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"             \
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
#define ANTH_DELTA(text)                                                                           \
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"   \
    "{\"type\":\"text_delta\",\"text\":\"" text "\"}}\n\n"
#define ANTH_END                                                                                   \
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"           \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"          \
    "\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n"                                          \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

/* The text of an Anthropic stream's text deltas, concatenated (malloc). */
static char *anth_text(struct e2e_resp *r)
{
    size_t cap = r->body_len + 1, n = 0;
    char *out = calloc(1, cap);
    for (int i = 0; i < r->n_events; i++) {
        const cJSON *d = get(e2e_resp_event_json(r, i), "delta");
        const char *t = jstr(d, "text");
        if (t && n + strlen(t) < cap) {
            memcpy(out + n, t, strlen(t));
            n += strlen(t);
        }
    }
    return out;
}

Test(guard_e2e, a_card_streamed_across_chunks_is_redacted_in_the_clients_stream)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = OAI_CHUNK("your card 4111 11") OAI_CHUNK("11 1111 1")
                                        OAI_CHUNK("111 is on file") OAI_END,
                                    .chunking = "events",
                                }),
                 0);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/messages",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = ANTH_START ANTH_DELTA("card 41")
                                        ANTH_DELTA("11111111111") ANTH_DELTA("111 ok") ANTH_END,
                                    .chunking = "events",
                                }),
                 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]");

    struct e2e_resp *r =
        e2e_stream(gw, "/v1/chat/completions",
                   "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":"
                   "[{\"role\":\"user\",\"content\":\"my card?\"}]}",
                   NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), "your card [CARD] is on file", "%s", r->body);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    cr_assert_null(strstr(r->body, "4111"), "%s", r->body);
    e2e_resp_free(r);

    /* Anthropic SSE, from a native Anthropic upstream. */
    r = e2e_stream(gw, "/v1/messages",
                   "{\"model\":\"anthropic/claude-sonnet-4-5\",\"max_tokens\":64,\"stream\":true,"
                   "\"messages\":[{\"role\":\"user\",\"content\":\"my card?\"}]}",
                   AHDR, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char *text = anth_text(r);
    cr_assert_str_eq(text, "card [CARD] ok", "%s", r->body);
    free(text);
    cr_assert_null(strstr(r->body, "1111"), "%s", r->body);
    cr_assert_not_null(strstr(r->body, "event: message_stop"), "%s", r->body);
    e2e_resp_free(r);

    /* Not streamed: the document carries the redacted text. */
    mock_clear_routes(m);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .body = "{\"id\":\"c2\",\"object\":\"chat.completion\","
                                            "\"created\":1,\"model\":\"openai/gpt-4o-mini\","
                                            "\"choices\":[{\"index\":0,\"message\":{\"role\":"
                                            "\"assistant\",\"content\":\"it is " CARD "\"},"
                                            "\"finish_reason\":\"stop\"}]}",
                                    .headers = "Content-Type: application/json",
                                }),
                 0);
    r = e2e_post(
        gw, "/v1/chat/completions",
        "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"?\"}]}",
        NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *msg = get(cJSON_GetArrayItem(get(e2e_resp_json(r), "choices"), 0), "message");
    cr_assert_str_eq(jstr(msg, "content"), "it is [CARD]", "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

Test(guard_e2e, a_deny_mid_stream_ends_it_with_an_error_event)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = OAI_CHUNK("An apple is fine. The forbidden fr")
                                        OAI_CHUNK("uit is not") OAI_END,
                                    .chunking = "events",
                                }),
                 0);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/messages",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = ANTH_START ANTH_DELTA("An apple is fine. The fo")
                                        ANTH_DELTA("rbidden fruit is not") ANTH_END,
                                    .chunking = "events",
                                }),
                 0);
    struct e2e_gw *gw = gw_for(m, WORDS);

    struct e2e_resp *r =
        e2e_stream(gw, "/v1/chat/completions",
                   "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":"
                   "[{\"role\":\"user\",\"content\":\"apples?\"}]}",
                   NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_null(strstr(r->body, "forbidden"), "%s", r->body);
    cr_assert_not_null(strstr(e2e_resp_text(r), "An apple is fine."), "%s", r->body);
    /* OpenAI's in-stream error: an error event, then [DONE] (front/render.c). */
    cr_assert(e2e_resp_done(r), "%s", r->body);
    cr_assert_geq(r->n_events, 2);
    const cJSON *e = get(e2e_resp_event_json(r, r->n_events - 2), "error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_blocked", "%s", r->body);
    cr_assert_not_null(strstr(jstr(e, "message"), "answer blocked by guardrail 'word-filter'"),
                       "%s", r->body);
    e2e_resp_free(r);

    r = e2e_stream(gw, "/v1/messages",
                   "{\"model\":\"anthropic/claude-sonnet-4-5\",\"max_tokens\":64,\"stream\":true,"
                   "\"messages\":[{\"role\":\"user\",\"content\":\"apples?\"}]}",
                   AHDR, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_null(strstr(r->body, "rbidden"), "%s", r->body);
    cr_assert_null(strstr(r->body, "message_stop"), "%s", r->body);
    const char *ev = strstr(r->body, "event: error\ndata: ");
    cr_assert_not_null(ev, "%s", r->body);
    cJSON *err = cJSON_Parse(ev + strlen("event: error\ndata: "));
    cr_assert_str_eq(jstr(err, "type"), "error");
    cr_assert_str_eq(jstr(get(err, "error"), "type"), "invalid_request_error");
    cr_assert_not_null(strstr(jstr(get(err, "error"), "message"), "guardrail 'word-filter'"));
    cJSON_Delete(err);
    e2e_resp_free(r);

    r = e2e_get(gw, "/metrics", NULL);
    cr_assert_not_null(strstr(r->body, "aigw_guardrail_outcomes_total{guard=\"word-filter\","
                                       "stage=\"response\",outcome=\"deny\"} 2"),
                       "%s", r->body);
    e2e_resp_free(r);
    /* The attempt did nothing wrong: the access log says a guardrail ended it. */
    cr_assert_eq(e2e_gw_wait_log(gw, "openai:guardrail", 5000), 0, "%s", e2e_gw_log(gw));
    stop(gw, m);
}

/* A streamed attempt fails over before a byte reached the client while the output guards
 * still held what it said (all of it: a card number that may still grow, a tool call held
 * whole): the fallback starts with empty windows, so the client gets the fallback's answer
 * alone, guarded, and nothing of the failed one's, neither before nor mixed into it. Each way
 * to fail: a cut connection (OpenAI wire), an error event (a native Anthropic upstream). */
#define OAI_TOOL_START                                                                             \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-"     \
    "cut\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_"       \
    "failed\",\"type\":\"function\",\"function\":{\"name\":\"charge_failed\",\"arguments\":"       \
    "\"{\\\"q\\\":\\\"\"}}]},\"finish_reason\":null}]}\n\n"
#define ANTH_OVERLOADED                                                                            \
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","            \
    "\"message\":\"Overloaded\"}}\n\n"

Test(guard_e2e, a_fallback_starts_with_empty_guard_windows)
{
    static const struct {
        const char *target, *path, *body;
        int cut_after; /* chunks; 0: the body ends the attempt (an error event) */
    } failed[] = {
        {"openai/gpt-cut", "/v1/chat/completions",
         OAI_CHUNK("4111 1111 1") OAI_CHUNK("111") OAI_END, 1},
        {"openai/gpt-cut", "/v1/chat/completions", OAI_TOOL_START OAI_CHUNK("x") OAI_END, 1},
        {"anthropic/claude-cut", "/v1/messages",
         ANTH_START ANTH_DELTA("4111 1111 1") ANTH_OVERLOADED, 0},
    };
    for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++) {
        struct mock *m = e2e_mock(NULL);
        const char *model = strchr(failed[i].target, '/') + 1;
        cr_assert_eq(mock_add_route(m,
                                    &(struct mock_route){
                                        .name = "failed",
                                        .method = "POST",
                                        .path = failed[i].path,
                                        .match_body = e2e_strf("{\"model\":\"%s\"}", model),
                                        .headers = "Content-Type: text/event-stream",
                                        .body = failed[i].body,
                                        .chunking = "events",
                                        .close_after_chunks = failed[i].cut_after,
                                    }),
                     0);
        cr_assert_eq(mock_add_route(m,
                                    &(struct mock_route){
                                        .name = "fallback",
                                        .method = "POST",
                                        .path = "/v1/chat/completions",
                                        .match_body = "{\"model\":\"gpt-4o-mini\"}",
                                        .headers = "Content-Type: text/event-stream",
                                        .body = OAI_CHUNK("No card; write to ann@exa")
                                            OAI_CHUNK("mple.com") OAI_END,
                                        .chunking = "events",
                                    }),
                     0);
        const char *routing =
            e2e_strf(",\"routing\":{\"aliases\":{\"fb\":[\"%s\",\"openai/gpt-4o-mini\"]}}",
                     failed[i].target);
        struct e2e_gw *gw =
            gw_with(m, "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]", routing);
        struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions",
                                        "{\"model\":\"fb\",\"stream\":true,\"messages\":"
                                        "[{\"role\":\"user\",\"content\":\"card?\"}]}",
                                        NULL, NULL);
        cr_assert_eq(r->status, 200, "case %zu: %s", i, r->body);
        cr_assert_eq(mock_route_hits(m, "failed"), 1, "case %zu", i);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2", "case %zu", i);
        cr_assert_str_eq(e2e_resp_text(r), "No card; write to [EMAIL]", "case %zu: %s", i, r->body);
        cr_assert_null(strstr(r->body, "4111"), "case %zu: %s", i, r->body);
        cr_assert_null(strstr(r->body, "_failed"), "the failed attempt's tool call: %s", r->body);
        cr_assert(e2e_resp_done(r), "case %zu: %s", i, r->body);
        e2e_resp_free(r);
        stop(gw, m);
    }
}

/* An upstream error that quotes the prompt: the output guards' on_error redacts it. */
Test(guard_e2e, an_upstream_error_message_is_redacted)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .status = 400,
                                    .headers = "Content-Type: application/json",
                                    .body = "{\"error\":{\"message\":\"cannot send to "
                                            "ann@example.com\",\"type\":\"invalid_request_"
                                            "error\",\"param\":null,\"code\":null}}",
                                }),
                 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]");
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(jstr(get(e2e_resp_json(r), "error"), "message"), "cannot send to [EMAIL]",
                     "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

/* The response cache records what the guards let through: a hit replays the redacted answer,
 * and an answer a guard refused is not kept. */
Test(guard_e2e, the_cache_keeps_only_what_the_guards_let_through)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .match_body = "{\"messages\":[{\"content\":\"card?\"}]}",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = OAI_CHUNK("your card 4111 11")
                                        OAI_CHUNK("11 1111 1111 is on file") OAI_END,
                                    .chunking = "events",
                                }),
                 0);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = OAI_CHUNK("the forbidden fr") OAI_CHUNK("uit") OAI_END,
                                    .chunking = "events",
                                }),
                 0);
    struct e2e_gw *gw = gw_with(m,
                                "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}},"
                                "{\"name\":\"word-filter\",\"config\":{\"words\":[\"forbidden "
                                "fruit\"]}}]",
                                ",\"cache\":{\"enabled\":true}");
    const char *card = "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":"
                       "[{\"role\":\"user\",\"content\":\"card?\"}]}";
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", card, NULL, NULL);
        cr_assert_eq(r->status, 200, "%s", r->body);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Cache"), i ? "hit" : "miss");
        cr_assert_str_eq(e2e_resp_text(r), "your card [CARD] is on file", "%s", r->body);
        cr_assert_null(strstr(r->body, "4111"), "%s", r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 1, "the second answer came from the cache");
    const char *fruit = "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":"
                        "[{\"role\":\"user\",\"content\":\"fruit?\"}]}";
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", fruit, NULL, NULL);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Cache"), "miss", "refused: not kept");
        cr_assert_not_null(strstr(r->body, "guardrail_blocked"), "%s", r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 3, "%d", mock_request_count(m));
    stop(gw, m);
}

/* ---- a guard's service call ----------------------------------------------------------------- */

static const char *tguard_fetch(struct mock *m, const char *path, int timeout_ms, int fail_open)
{
    return e2e_strf("[{\"name\":\"tguard\",\"path\":\"%s\",\"fail_open\":%s,\"config\":"
                    "{\"request\":\"fetch\",\"word\":\"moderate-me\",\"url\":\"%s%s\","
                    "\"timeout_ms\":%d}}]",
                    tguard_path(), fail_open ? "true" : "false", mock_url(m), path, timeout_ms);
}

Test(guard_e2e, a_guard_asks_a_service_and_it_says_no)
{
    struct mock *m = e2e_mock("openai_chat");
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "check",
                                                        .method = "POST",
                                                        .path = "/check",
                                                        .body = "deny"}),
                 0);
    struct e2e_gw *gw = gw_for(m, tguard_fetch(m, "/check", 2000, 0));
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 400, "%d %s\n%s", r->status, r->body, e2e_gw_log(gw));
    const cJSON *e = get(e2e_resp_json(r), "error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_blocked");
    cr_assert_not_null(strstr(jstr(e, "message"), "the service said no (status 200)"), "%s",
                       r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(m, "check"), 1);
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_str_eq(mock_req_body(q), "moderate-me");
    cr_assert_str_eq(mock_req_header(q, "authorization"), "Bearer tg-KEY-123456");
    mock_req_free(q);
    cr_assert_eq(mock_request_count(m), 1, "the model was asked after the deny");
    cr_assert_null(strstr(e2e_gw_log(gw), "tg-KEY-123456"), "the guard's header was logged");
    stop(gw, m);
}

Test(guard_e2e, a_service_call_past_its_deadline_fails_closed_or_open)
{
    struct mock *m = e2e_mock("openai_chat");
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "slow",
                                                        .method = "POST",
                                                        .path = "/slow",
                                                        .headers_delay_ms = -1}),
                 0);
    struct e2e_gw *gw = gw_for(m, tguard_fetch(m, "/slow", 300, 0));
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 503, "%s", r->body);
    const cJSON *e = get(e2e_resp_json(r), "error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_failed");
    cr_assert_str_eq(jstr(e, "type"), "api_error");
    cr_assert_not_null(strstr(jstr(e, "message"), "guardrail 'tguard' failed"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1, "only the guard's call: no model was asked");
    stop(gw, m);

    m = e2e_mock("openai_chat");
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "slow",
                                                        .method = "POST",
                                                        .path = "/slow",
                                                        .headers_delay_ms = -1}),
                 0);
    gw = gw_for(m, tguard_fetch(m, "/slow", 300, 1));
    r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 200, "fail_open skips the guard: %s", r->body);
    e2e_resp_free(r);
    r = e2e_get(gw, "/metrics", NULL);
    cr_assert_not_null(strstr(r->body, "aigw_guardrail_outcomes_total{guard=\"tguard\","
                                       "stage=\"request\",outcome=\"fail_open\"} 1"),
                       "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

/* ---- json-schema: one retry ----------------------------------------------------------------- */

#define DOC(content)                                                                               \
    "{\"id\":\"c3\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"openai/"              \
    "gpt-4o-mini\","                                                                               \
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" content "\"},"  \
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,"         \
    "\"total_tokens\":8}}"

Test(guard_e2e, json_schema_asks_once_more_with_the_validation_error)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "first",
                                                        .method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .times = 1,
                                                        .headers = "Content-Type: "
                                                                   "application/json",
                                                        .body = DOC("sure, here it is")}),
                 0);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.name = "second",
                                               .method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: "
                                                          "application/json",
                                               .body = DOC("{\\\"city\\\":\\\"Oslo\\\"}")}),
        0);
    struct e2e_gw *gw =
        gw_for(m, "[{\"name\":\"json-schema\",\"config\":{\"schema\":{\"type\":"
                  "\"object\",\"required\":[\"city\"]},\"on_failure\":\"retry\"}}]");
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *msg = get(cJSON_GetArrayItem(get(e2e_resp_json(r), "choices"), 0), "message");
    cr_assert_str_eq(jstr(msg, "content"), "{\"city\":\"Oslo\"}");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 2);
    const struct mock_req *q = mock_request(m, 1);
    const cJSON *msgs = get(mock_req_json(q), "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 3, "%s", mock_req_body(q));
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 1), "content"), "sure, here it is");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(msgs, 2), "role"), "user");
    mock_req_free(q);
    /* Both answers were paid for: the log counts both attempts' tokens. */
    cr_assert_eq(e2e_gw_wait_log(gw, "openai:ok,openai:guardrail_retry,openai:ok", 5000), 0, "%s",
                 e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_wait_log(gw, "\"prompt_tokens\":10,\"completion_tokens\":6", 5000), 0, "%s",
                 e2e_gw_log(gw));
    stop(gw, m);
}

/* A final-answer hook that asks a service: the answer waits for it (the upstream paused), then
 * goes out whole, or ends with the guard's refusal. */
Test(guard_e2e, a_final_hook_waits_for_its_service_call)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "check",
                                                        .method = "POST",
                                                        .path = "/check",
                                                        .body = "ok",
                                                        .body_delay_ms = 200}),
                 0);
    cr_assert_eq(
        mock_add_route(m,
                       &(struct mock_route){
                           .method = "POST",
                           .path = "/v1/chat/completions",
                           .headers = "Content-Type: text/event-stream",
                           .body = OAI_CHUNK("one ") OAI_CHUNK("two ") OAI_CHUNK("three") OAI_END,
                           .chunking = "events",
                       }),
        0);
    const char *chain = e2e_strf("[{\"name\":\"tguard\",\"path\":\"%s\",\"config\":"
                                 "{\"final\":\"fetch\",\"word\":\"judge-me\",\"url\":\"%s/check\","
                                 "\"timeout_ms\":3000}}]",
                                 tguard_path(), mock_url(m));
    struct e2e_gw *gw = gw_for(m, chain);
    const char *ask = "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":"
                      "[{\"role\":\"user\",\"content\":\"count\"}]}";
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", ask, NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), "one two three", "%s", r->body);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    cr_assert_null(strstr(r->body, "error"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(m, "check"), 1);

    /* The service says no: the stream (its text sent) ends with the refusal, and a document
     * not streamed is the 400. */
    mock_clear_routes(m);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "check",
                                                        .method = "POST",
                                                        .path = "/check",
                                                        .body = "deny"}),
                 0);
    cr_assert_eq(mock_add_route(m,
                                &(struct mock_route){
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .match_body = "{\"stream\":true}",
                                    .headers = "Content-Type: text/event-stream",
                                    .body = OAI_CHUNK("one ") OAI_CHUNK("two") OAI_END,
                                    .chunking = "events",
                                }),
                 0);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .headers = "Content-Type: "
                                                                   "application/json",
                                                        .body = DOC("one two")}),
                 0);
    r = e2e_stream(gw, "/v1/chat/completions", ask, NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_geq(r->n_events, 2);
    const cJSON *e = get(e2e_resp_event_json(r, r->n_events - 2), "error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_blocked", "%s", r->body);
    cr_assert_not_null(strstr(jstr(e, "message"), "the service said no"), "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(jstr(get(e2e_resp_json(r), "error"), "code"), "guardrail_blocked");
    cr_assert_null(strstr(r->body, "one two"), "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}

/* ---- guards a gateway key names ------------------------------------------------------------ */

/* A key made on the command line in dir's store; its token (static). */
static const char *make_key(const char *dir, const char *name, const char *metadata)
{
    const char *args[] = {"--state-dir", dir,          "keys",   "create", "--name",
                          name,          "--metadata", metadata, NULL};
    char *out = NULL;
    cr_assert_eq(e2e_aigw_run(NULL, NULL, args, &out, 15000), 0, "%s", out);
    const char *tok = strstr(out, "\"aigw_");
    cr_assert_not_null(tok, "%s", out);
    size_t n = strcspn(tok + 1, "\"");
    char *token = e2e_strf("%.*s", (int)n, tok + 1);
    free(out);
    return token;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlink(e2e_strf("%s/%s", dir, de->d_name));
    if (d)
        closedir(d);
    rmdir(dir);
}

Test(guard_e2e, a_gateway_key_names_the_guards_kept_for_it)
{
    struct mock *m = e2e_mock("openai_chat");
    char *dir = e2e_strf("/tmp/aigw-guard-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    const char *plain = make_key(dir, "plain", "{\"team\":\"a\"}");
    const char *strict = make_key(dir, "strict", "{\"guardrails\":[\"word-filter\",\"nope\"]}");
    const char *cfg = e2e_strf("{\"guard_dir\":\"%s\",\"store\":{\"url\":\"sqlite:%s/aigw.db\"},"
                               "\"guardrails\":[{\"name\":\"word-filter\",\"keys_only\":true,"
                               "\"config\":{\"words\":[\"forbidden fruit\"]}}]}",
                               guard_dir(), dir);
    struct e2e_gw *gw = e2e_gw_start(cfg, "OPENAI_API_KEY=sk-test-openai",
                                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    const char *body = "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"the forbidden fruit\"}]}";
    struct e2e_resp *r =
        e2e_post(gw, "/v1/chat/completions", body, e2e_strf("Authorization: Bearer %s", plain));
    cr_assert_eq(r->status, 200, "a key that names no guard: %s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", body, e2e_strf("Authorization: Bearer %s", strict));
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(jstr(get(e2e_resp_json(r), "error"), "code"), "guardrail_blocked");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1);
    stop(gw, m); /* the store's queue is written by the end of a graceful stop */

    /* The request log's rows: the outcome and the guard that refused, nothing matched. */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(e2e_strf("%s/aigw.db", dir), &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT status, guardrail, error_code FROM aigw_log "
                                    "ORDER BY ts_ms, status",
                                    -1, &st, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 200);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 1), "");
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 400);
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 1), "deny:word-filter");
    cr_assert_str_eq((const char *)sqlite3_column_text(st, 2), "invalid_request_error");
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    remove_dir(dir);
}

/* ---- the out-of-tree example, built by test_example_guard.sh -------------------------------- */

Test(guard_e2e, the_example_guard_built_out_of_tree_denies_in_a_running_aigw)
{
    const char *dir = getenv("AIGW_EXAMPLE_GUARD_DIR");
    if (!dir || !*dir)
        cr_skip_test("run by tests/guard/test_example_guard.sh (AIGW_EXAMPLE_GUARD_DIR)");
    struct mock *m = e2e_mock("openai_chat");
    const char *cfg = e2e_strf("{\"guard_dir\":\"%s\",\"guardrails\":[{\"name\":\"deny-word\","
                               "\"config\":{\"word\":\"Forbidden\"}}]}",
                               dir);
    struct e2e_gw *gw = e2e_gw_start(cfg, "OPENAI_API_KEY=sk-test-openai",
                                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    struct e2e_resp *r =
        e2e_post(gw, "/v1/chat/completions",
                 "{\"model\":\"openai/gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                 "\"content\":\"say FORBIDDEN twice\"}]}",
                 NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    const cJSON *e = get(e2e_resp_json(r), "error");
    cr_assert_str_eq(jstr(e, "code"), "guardrail_blocked");
    cr_assert_not_null(strstr(jstr(e, "message"), "guardrail 'deny-word'"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0);
    r = e2e_post(gw, "/v1/chat/completions", HELLO, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m);
}
