/*
 * stream.commit_ms end to end: an upstream stream that began (its first event, a role chunk
 * with no content) and then says nothing for a while, as a reasoning model does. Without a
 * commit the client gets nothing, not even the headers, and the first-byte budget ends it in
 * a 504; with one, the headers and the dialect's start go out once the stream has been
 * silent for commit_ms (or when the budget runs out), heartbeats follow, and the rest of the
 * answer arrives intact, the start never repeated. Before a commit a failed attempt still
 * falls back unseen; after it a failure ends the stream in-band. commit_ms 0 holds the start
 * until the content, as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define AHDR "anthropic-version: 2023-06-01\n"
#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define MSGS                                                                                       \
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","               \
    "\"content\":\"Hi\"}]"
#define RESP "{\"model\":\"gpt-4o-mini\",\"store\":false,\"input\":\"Hi\""

/* The upstream's first event: the role, no content (what OpenAI sends before a reasoning
 * model's long silence). */
#define EV(delta, finish)                                                                          \
    "data: {\"id\":\"chatcmpl-think1\",\"object\":\"chat.completion.chunk\",\"created\":1,"        \
    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":" delta                         \
    ",\"finish_reason\":" finish "}]}\n\n"
#define ROLE EV("{\"role\":\"assistant\",\"content\":\"\"}", "null")
#define REST EV("{\"content\":\"Hi\"}", "null") EV("{}", "\"stop\"") "data: [DONE]\n\n"
#define FAIL                                                                                       \
    "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n"

/* The budget (1 s) runs out long before the content (2 s after the role); the heartbeat
 * (300 ms) beats during the silence once the stream committed (200 ms). */
#define CONFIG(commit)                                                                             \
    "{\"timeouts\":{\"first_byte_total_ms\":1000,\"first_byte_ms\":20000,\"idle_ms\":20000},"      \
    "\"stream\":{\"commit_ms\":" commit ",\"heartbeat_ms\":300},"                                  \
    "\"routing\":{\"retry\":{\"max_attempts\":2,\"backoff_ms\":10,\"backoff_max_ms\":20}}}"
#define SILENCE_MS 2000

/* A route serving first, then (delay_ms later) rest, as two chunks: first is padded with
 * JSON blanks to rest's length so that "bytes:N" cuts exactly between them. */
static void add_paced(struct mock *m, const char *first, const char *rest, int delay_ms, int times)
{
    size_t lf = strlen(first), lr = strlen(rest), n = lf > lr ? lf : lr;
    const char *lead = "data: {";
    cr_assert(!strncmp(first, lead, strlen(lead)));
    char *body = e2e_strf("%s%*s%s%s", lead, (int)(n - lf), "", first + strlen(lead), rest);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .times = times,
                                               .headers = "Content-Type: text/event-stream",
                                               .body = body,
                                               .chunking = e2e_strf("bytes:%zu", n),
                                               .chunk_delay_ms = delay_ms}),
        0);
}

static struct e2e_gw *gw_for(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=sk-test-commit",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *delta0(const cJSON *ev)
{
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev, "choices"), 0);
    return cJSON_GetObjectItemCaseSensitive(ch, "delta");
}

/* The stream's bytes: the heartbeat (marker) went out before the content (content). */
static void beat_before(struct e2e_resp *r, const char *marker, const char *content)
{
    const char *b = strstr(r->body, marker), *c = strstr(r->body, content);
    cr_assert(b && c && b < c, "a heartbeat during the silence: %s", r->body);
}

static struct e2e_resp *stream(struct e2e_gw *gw, const char *path, const char *body,
                               const char *headers)
{
    return e2e_stream(gw, path, body, headers, &(struct e2e_stream_opts){.timeout_ms = 20000});
}

/* Chat: the role chunk once (alone, the content after it without a role), the content and
 * [DONE], every chunk with the same id; a 200 where the budget alone gave a 504. */
static void check_chat(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    int roles = 0;
    const char *id = NULL;
    for (int i = 0; i < r->n_events - 1; i++) {
        cJSON *ev = e2e_resp_event_json(r, i);
        cr_assert_not_null(ev, "%s", r->events[i]);
        id = id ? id : str(ev, "id");
        cr_assert_str_eq(str(ev, "id"), id, "one id for the whole stream");
        if (str(delta0(ev), "role"))
            roles++;
    }
    cr_assert_eq(roles, 1, "the role once: %s", r->body);
    const cJSON *first = delta0(e2e_resp_event_json(r, 0));
    cr_assert_str_eq(str(first, "role"), "assistant");
    cr_assert_str_eq(str(first, "content"), "", "the start carries no content: %s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), "Hi");
    cr_assert_str_eq(id, "chatcmpl-think1", "the upstream's id");
    beat_before(r, ": keep-alive", "\"Hi\"");
}

Test(commit, chat_stream_commits_instead_of_a_504)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, REST, SILENCE_MS, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("200"));
    int64_t t0 = e2e_now_ms();
    struct e2e_resp *r = stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_geq(e2e_now_ms() - t0, SILENCE_MS - 50, "the content came after the silence");
    check_chat(r);
    cr_assert_eq(mock_request_count(m), 1);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* commit_ms longer than the budget: a begun stream commits when the budget runs out, never
 * a 504 that throws the upstream's work away. */
Test(commit, the_budget_commits_a_begun_stream)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, REST, SILENCE_MS, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("60000"));
    struct e2e_resp *r = stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL);
    check_chat(r);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* commit_ms 0: the start is held until the content, as before, and the budget ends it. */
Test(commit, zero_holds_the_start)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, REST, SILENCE_MS, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("0"));
    struct e2e_resp *r = stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL);
    cr_assert_eq(r->status, 504, "%d %s", r->status, r->body);
    cr_assert(strstr(r->body, "first_byte_total_timeout"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Anthropic Messages: message_start once, first, and pings during the silence; then the
 * text block and message_stop. */
Test(commit, anthropic_message_start_once)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, REST, SILENCE_MS, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("200"));
    struct e2e_resp *r = stream(gw, "/v1/messages", MSGS ",\"stream\":true}", AHDR);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_gt(r->n_events, 3, "%s", r->body);
    int starts = 0, pings_before = 0, text = 0;
    for (int i = 0; i < r->n_events; i++) {
        cJSON *ev = e2e_resp_event_json(r, i);
        cr_assert_not_null(ev, "%s", r->events[i]);
        const char *type = str(ev, "type");
        cr_assert_not_null(type);
        if (!strcmp(type, "message_start")) {
            starts++;
            cr_assert_eq(i, 0, "message_start first: %s", r->body);
            const char *id = str(cJSON_GetObjectItemCaseSensitive(ev, "message"), "id");
            cr_assert(id && !strncmp(id, "msg_", 4), "%s", r->body);
        } else if (!strcmp(type, "ping") && !text) {
            pings_before++;
        } else if (!strcmp(type, "content_block_delta")) {
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
            cr_assert_str_eq(str(d, "text"), "Hi");
            text++;
        }
    }
    cr_assert_eq(starts, 1, "%s", r->body);
    cr_assert_eq(text, 1, "%s", r->body);
    cr_assert_gt(pings_before, 0, "the heartbeat ran during the silence: %s", r->body);
    cr_assert_str_eq(str(e2e_resp_event_json(r, r->n_events - 1), "type"), "message_stop");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Responses: response.created and response.in_progress once each, first, with the id the
 * completed response has; then the output and response.completed. */
Test(commit, responses_created_once)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, REST, SILENCE_MS, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("200"));
    struct e2e_resp *r = stream(gw, "/v1/responses", RESP ",\"stream\":true}", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_gt(r->n_events, 3, "%s", r->body);
    int created = 0, progress = 0, completed = 0;
    const char *id = NULL;
    for (int i = 0; i < r->n_events; i++) {
        cJSON *ev = e2e_resp_event_json(r, i);
        cr_assert_not_null(ev, "%s", r->events[i]);
        const char *type = str(ev, "type");
        const char *rid = str(cJSON_GetObjectItemCaseSensitive(ev, "response"), "id");
        if (!strcmp(type, "response.created")) {
            created++;
            cr_assert_eq(i, 0, "%s", r->body);
        }
        if (!strcmp(type, "response.in_progress")) {
            progress++;
            cr_assert_eq(i, 1, "%s", r->body);
        }
        if (!strcmp(type, "response.completed"))
            completed++;
        if (rid) {
            id = id ? id : rid;
            cr_assert_str_eq(rid, id, "one response id: %s", r->body);
        }
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev, "sequence_number");
        cr_assert(cJSON_IsNumber(seq) && seq->valueint == i, "sequence numbers: %s", r->body);
    }
    cr_assert_eq(created, 1, "%s", r->body);
    cr_assert_eq(progress, 1, "%s", r->body);
    cr_assert_eq(completed, 1, "%s", r->body);
    cr_assert(strstr(r->body, "\"delta\":\"Hi\""), "%s", r->body);
    beat_before(r, ": keepalive", "\"delta\":\"Hi\"");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* An attempt that fails before the commit (its error event 300 ms after its role chunk,
 * commit_ms 5 s) falls back unseen: the client sees the second attempt's answer alone. */
Test(commit, a_failure_before_the_commit_falls_back_unseen)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, FAIL, 300, 1);
    add_paced(m, ROLE, REST, 10, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("5000"));
    struct e2e_resp *r = stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    cr_assert(e2e_resp_done(r), "%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), "Hi");
    cr_assert_null(strstr(r->body, "error"), "%s", r->body);
    int roles = 0;
    for (int i = 0; i < r->n_events - 1; i++)
        roles += str(delta0(e2e_resp_event_json(r, i)), "role") != NULL;
    cr_assert_eq(roles, 1, "%s", r->body);
    cr_assert_eq(mock_request_count(m), 2);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* After the commit a failure is the stream's in-band error: no fallback follows. */
Test(commit, a_failure_after_the_commit_is_in_band)
{
    struct mock *m = e2e_mock(NULL);
    add_paced(m, ROLE, FAIL, 1500, 1);
    add_paced(m, ROLE, REST, 10, 0);
    struct e2e_gw *gw = gw_for(m, CONFIG("200"));
    struct e2e_resp *r = stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "1");
    cr_assert_str_eq(str(delta0(e2e_resp_event_json(r, 0)), "role"), "assistant");
    cr_assert(strstr(r->body, "\"error\""), "an in-band error: %s", r->body);
    cr_assert_eq(mock_request_count(m), 1, "no fallback after the commit");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
