/*
 * The first-byte budget (timeouts.first_byte_total_ms) end to end: an upstream that sends its
 * headers and then nothing, or never answers at all, with retries configured, ends a stream in
 * one 504 within the budget (plus generous slack, far below what the per-attempt deadlines
 * times the attempts would take), in the shape of the client's dialect: OpenAI chat, Anthropic
 * Messages and Responses (a real HTTP 504, the stream never started). A non-streamed request
 * has timeouts.request_ms as its whole budget instead (its first byte comes when the model has
 * finished), and ends the same way within it. A stream that started is never cut by it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define AHDR "anthropic-version: 2023-06-01\n"
/* Each attempt may wait 500 ms, up to 10 attempts (5 s and more without the budget); the
 * budget is 1.5 s, so a few attempts fit and then the budget ends the wait. */
#define CONFIG                                                                                     \
    "{\"timeouts\":{\"first_byte_ms\":500,\"idle_ms\":500,\"first_byte_total_ms\":1500,"           \
    "\"request_ms\":1500},"                                                                        \
    "\"routing\":{\"retry\":{\"max_attempts\":10,\"backoff_ms\":10,\"backoff_max_ms\":20,"         \
    "\"budget_ratio\":1,\"budget_min\":100}}}"
#define BUDGET_MS 1500
/* Far below 10 attempts x 500 ms: only the budget can end it this early. Never tight. */
#define BOUND_MS 4500

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* stall: "headers" (the status and headers, then nothing) or "none" (no answer at all). */
static struct mock *stalling_mock(const char *stall)
{
    struct mock *m = e2e_mock(NULL);
    const char *how =
        !strcmp(stall, "headers") ? "\"body_delay_ms\":-1" : "\"headers_delay_ms\":-1";
    cr_assert_eq(mock_add_route_json(m, e2e_strf("{\"method\":\"POST\",\"path\":"
                                                 "\"/v1/chat/completions\",%s,"
                                                 "\"body_file\":\"openai/chat.json\"}",
                                                 how)),
                 0);
    return m;
}

static struct e2e_gw *gw_for(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=sk-test-deadline",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
}

/* Sends body to path (streamed or not), checks the 504 came in time and after at least
 * `attempts` attempts, and returns the answer's JSON error document's root (owned by *out). */
static cJSON *expect_504(struct e2e_gw *gw, struct mock *m, const char *path, const char *body,
                         const char *headers, int stream, int attempts, struct e2e_resp **out)
{
    int64_t t0 = now_ms();
    struct e2e_resp *r =
        stream ? e2e_stream(gw, path, body, headers, NULL) : e2e_post(gw, path, body, headers);
    int64_t took = now_ms() - t0;
    cr_assert_eq(r->status, 504, "%d %s", r->status, r->body);
    cr_assert_lt(took, BOUND_MS, "the budget ended the wait: %lld ms", (long long)took);
    cr_assert_geq(took, BUDGET_MS - 50, "it waited out the budget first: %lld ms", (long long)took);
    cr_assert_geq(mock_request_count(m), attempts, "retries ran inside the budget");
    const char *ct = e2e_resp_header(r, "Content-Type");
    cr_assert(ct && !strncmp(ct, "application/json", 16), "a JSON document, not a stream: %s",
              ct ? ct : "(none)");
    cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j, "%s", r->body);
    *out = r;
    return j;
}

/* code: the first-byte budget's for a stream; for a whole answer, the deadline that ended
 * its last attempt (request_ms, or idle_ms once headers came). */
static void openai_shape(const cJSON *j, int stream)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    cr_assert_not_null(err);
    cr_assert_str_eq(str(err, "type"), "timeout_error");
    const char *code = str(err, "code");
    cr_assert_not_null(code);
    if (stream)
        cr_assert_str_eq(code, "first_byte_total_timeout");
    else
        cr_assert(!strcmp(code, "total_timeout") || !strcmp(code, "idle_timeout"), "%s", code);
    cr_assert_not_null(str(err, "message"));
}

static void anthropic_shape(const cJSON *j, int stream)
{
    cr_assert_str_eq(str(j, "type"), "error");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    cr_assert_not_null(err);
    cr_assert_str_eq(str(err, "type"), "timeout_error");
    if (stream)
        cr_assert(strstr(str(err, "message"), "first_byte_total_ms"), "%s", str(err, "message"));
    else
        cr_assert(strstr(str(err, "message"), "in time"), "%s", str(err, "message"));
}

#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define MSGS                                                                                       \
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","               \
    "\"content\":\"Hi\"}]"
#define RESP "{\"model\":\"gpt-4o-mini\",\"store\":false,\"input\":\"Hi\""

static void run(const char *stall, const char *dialect, int stream)
{
    struct mock *m = stalling_mock(stall);
    struct e2e_gw *gw = gw_for(m, CONFIG);
    const char *tail = stream ? ",\"stream\":true}" : "}";
    /* A whole answer that never starts has no first-byte deadline: its one attempt takes
     * request_ms. Headers and then nothing end each attempt at idle_ms. */
    int n = !stream && !strcmp(stall, "none") ? 1 : 2;
    struct e2e_resp *r = NULL;
    if (!strcmp(dialect, "openai")) {
        openai_shape(expect_504(gw, m, "/v1/chat/completions", e2e_strf(CHAT "%s", tail), NULL,
                                stream, n, &r),
                     stream);
    } else if (!strcmp(dialect, "anthropic")) {
        anthropic_shape(
            expect_504(gw, m, "/v1/messages", e2e_strf(MSGS "%s", tail), AHDR, stream, n, &r),
            stream);
    } else {
        openai_shape(
            expect_504(gw, m, "/v1/responses", e2e_strf(RESP "%s", tail), NULL, stream, n, &r),
            stream);
    }
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(budget, openai_headers_then_nothing)
{
    run("headers", "openai", 0);
}

Test(budget, openai_stream_never_answered)
{
    run("none", "openai", 1);
}

Test(budget, openai_stream_headers_then_nothing)
{
    run("headers", "openai", 1);
}

Test(budget, anthropic_messages_never_answered)
{
    run("none", "anthropic", 0);
}

Test(budget, anthropic_stream_headers_then_nothing)
{
    run("headers", "anthropic", 1);
}

Test(budget, responses_headers_then_nothing)
{
    run("headers", "responses", 0);
}

Test(budget, responses_stream_never_answered)
{
    run("none", "responses", 1);
}

/* A stream that started goes on past the budget: its chunks keep coming, 200 ms apart, for
 * longer than the whole budget. */
Test(budget, a_started_stream_is_never_cut)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"chunk_delay_ms\":200,"
                                        "\"body_file\":\"openai/stream_text.sse\"}"),
                 0);
    struct e2e_gw *gw = gw_for(m, "{\"timeouts\":{\"first_byte_total_ms\":300}}");
    int64_t t0 = now_ms();
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL, NULL);
    int64_t took = now_ms() - t0;
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    cr_assert_gt(took, 300, "the stream outlived the budget (%lld ms)", (long long)took);
    cr_assert_null(strstr(r->body, "timeout"), "%s", r->body);
    cr_assert_gt(strlen(e2e_resp_text(r)), 0);
    cr_assert_eq(mock_request_count(m), 1);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* 0 turns the budget off: the per-attempt deadline alone ends the one attempt allowed (a
 * stream: whole answers are not under the budget). */
Test(budget, zero_is_off)
{
    struct mock *m = stalling_mock("headers");
    struct e2e_gw *gw = gw_for(m, "{\"timeouts\":{\"idle_ms\":300,\"first_byte_ms\":300,"
                                  "\"first_byte_total_ms\":0},"
                                  "\"routing\":{\"retry\":{\"max_attempts\":1}}}");
    struct e2e_resp *r =
        e2e_stream(gw, "/v1/chat/completions", CHAT ",\"stream\":true}", NULL, NULL);
    cr_assert_eq(r->status, 504, "%s", r->body);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "error");
    cr_assert_str_neq(str(err, "code"), "first_byte_total_timeout");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A plain answer whose body began inside the budget is read to its end, however slowly it
 * comes: cutting it would waste a finished generation. */
Test(budget, a_plain_answer_arriving_slowly_is_never_cut)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"chunking\":\"bytes:64\",\"chunk_delay_ms\":100,"
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    struct e2e_gw *gw = gw_for(m, "{\"timeouts\":{\"first_byte_total_ms\":300}}");
    int64_t t0 = now_ms();
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT "}", NULL);
    int64_t took = now_ms() - t0;
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_gt(took, 300, "the answer outlived the budget (%lld ms)", (long long)took);
    cr_assert_eq(mock_request_count(m), 1);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A whole answer's first byte comes when the model has finished: one slower than
 * first_byte_ms and the budget (a reasoning model's) is waited for, on one attempt. It was
 * cut at first_byte_ms, sent again (the provider bills each) and ended in a 504. */
Test(budget, a_whole_answer_slower_than_first_byte_ms_is_waited_for)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"headers_delay_ms\":1500,"
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    struct e2e_gw *gw = gw_for(m, "{\"timeouts\":{\"first_byte_ms\":500,"
                                  "\"first_byte_total_ms\":1000,\"request_ms\":20000},"
                                  "\"routing\":{\"retry\":{\"max_attempts\":3,"
                                  "\"backoff_ms\":10,\"backoff_max_ms\":20}}}");
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT "}", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_eq(mock_request_count(m), 1, "the answer was asked for once");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", MSGS "}", AHDR);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/responses", RESP "}", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_eq(mock_request_count(m), 3, "each dialect's answer was asked for once");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* timeouts.request_ms is the whole of a plain request, as its page says: an answer trickling
 * past it ends the request, instead of each retry starting a fresh request_ms (three attempts
 * held the client three times as long as the operator allowed). */
Test(request_ms, bounds_the_whole_request_not_each_attempt)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"chunking\":\"bytes:16\",\"chunk_delay_ms\":200,"
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    struct e2e_gw *gw = gw_for(m, "{\"timeouts\":{\"request_ms\":1000},"
                                  "\"routing\":{\"retry\":{\"max_attempts\":3,\"backoff_ms\":10,"
                                  "\"backoff_max_ms\":20}}}");
    int64_t t0 = now_ms();
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT "}", NULL);
    int64_t took = now_ms() - t0;
    cr_assert_eq(r->status, 504, "%d %s", r->status, r->body);
    cr_assert_geq(took, 950, "the attempt ran its request_ms: %lld ms", (long long)took);
    cr_assert_eq(mock_request_count(m), 1, "a retry started past timeouts.request_ms");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, "\"tried\":\"openai:total_timeout\"", 5000), 0, "%s",
                 e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
