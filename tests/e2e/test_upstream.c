/*
 * test_upstream - an upstream (or something answering on its base URL) that answers badly,
 * seen from each inbound dialect (OpenAI chat, Anthropic Messages, Responses), streamed and
 * not: what it echoes of the provider key never reaches the client, a stream cut short is an
 * error in the client's dialect (never a clean end), bytes that are not UTF-8 never reach a
 * client's JSON.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define CANARY "sk-CANARY-upstream-5e1d0b77"
#define AHDR "anthropic-version: 2023-06-01\n"
/* Retries on, breakers off: a retry after bytes went out would show as a second request. */
#define CONFIG                                                                                     \
    "{\"routing\":{\"retry\":{\"max_attempts\":3,\"backoff_ms\":1,\"backoff_max_ms\":2},"          \
    "\"circuit_breaker\":{\"failure_threshold\":0}}}"

static struct e2e_gw *start_gw(struct mock *m)
{
    return e2e_gw_start(CONFIG, "OPENAI_API_KEY=" CANARY,
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
}

static void route(struct mock *m, int status, const char *headers, const char *body)
{
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .status = status,
                                                        .headers = headers,
                                                        .body = body}),
                 0);
}

enum dialect { CHAT, MESSAGES, RESPONSES };

static struct e2e_resp *ask(struct e2e_gw *gw, enum dialect d, int stream)
{
    const char *tail = stream ? ",\"stream\":true}" : "}";
    switch (d) {
    case CHAT:
        return e2e_post(gw, "/v1/chat/completions",
                        e2e_strf("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                                 "\"content\":\"Hi\"}]%s",
                                 tail),
                        NULL);
    case MESSAGES:
        return e2e_post(gw, "/v1/messages",
                        e2e_strf("{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,\"messages\":[{"
                                 "\"role\":\"user\",\"content\":\"Hi\"}]%s",
                                 tail),
                        AHDR);
    default:
        return e2e_post(
            gw, "/v1/responses",
            e2e_strf("{\"model\":\"gpt-4o-mini\",\"store\":false,\"input\":\"Hi\"%s", tail), NULL);
    }
}

static const char *const dialect_name[] = {"chat", "messages", "responses"};

/* ---- secrets ------------------------------------------------------------------------------ */

/* A proxy or a provider that echoes the request into an error's code, param or type: none of
 * them may carry the key to the client, whatever the dialect, streamed or not. */
Test(upstream, a_key_echoed_in_error_fields_is_masked)
{
    struct mock *m = e2e_mock(NULL);
    route(m, 401, "Content-Type: application/json",
          "{\"error\":{\"message\":\"Incorrect API key provided: " CANARY "\","
          "\"type\":\"Bearer " CANARY "\",\"param\":\"" CANARY "\",\"code\":\"" CANARY "\"}}");
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        for (int stream = 0; stream < 2; stream++) {
            struct e2e_resp *r = ask(gw, (enum dialect)d, stream);
            cr_assert_eq(r->status, 401, "%s: %d %s", dialect_name[d], r->status, r->body);
            cr_assert_null(strstr(r->body, CANARY), "%s stream=%d: %s", dialect_name[d], stream,
                           r->body);
            cr_assert_null(strstr(r->headers, CANARY));
            e2e_resp_free(r);
        }
    }
    cr_assert_null(strstr(e2e_gw_log(gw), CANARY), "the canary is in aigw's log");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

#define EV_HEL                                                                                     \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","         \
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n"
#define EV_LO                                                                                      \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","         \
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
#define EV_STOP                                                                                    \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","         \
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define SSE "Content-Type: text/event-stream"

/* The same, in an error event after the stream started: the in-stream error of each
 * dialect. */
Test(upstream, a_key_echoed_in_an_error_event_is_masked)
{
    struct mock *m = e2e_mock(NULL);
    route(m, 200, SSE,
          EV_HEL "data: {\"error\":{\"message\":\"bad key " CANARY "\",\"type\":\"" CANARY
                 "\",\"param\":\"" CANARY "\",\"code\":\"" CANARY "\"}}\n\n");
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        struct e2e_resp *r = ask(gw, (enum dialect)d, 1);
        cr_assert_eq(r->status, 200, "%s: %d %s", dialect_name[d], r->status, r->body);
        cr_assert(strstr(r->body, "Hel"), "%s: %s", dialect_name[d], r->body);
        cr_assert_null(strstr(r->body, CANARY), "%s: %s", dialect_name[d], r->body);
        e2e_resp_free(r);
    }
    cr_assert_null(strstr(e2e_gw_log(gw), CANARY), "the canary is in aigw's log");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- streams that end early --------------------------------------------------------------- */

/* The last event of a stream in the client's dialect says it failed, and nothing says it
 * ended well. */
static void expect_stream_failed(enum dialect d, struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s: %d %s", dialect_name[d], r->status, r->body);
    cr_assert(strstr(r->body, "Hel"), "%s: the text that came is relayed: %s", dialect_name[d],
              r->body);
    switch (d) {
    case CHAT:
        cr_assert_null(strstr(r->body, "\"finish_reason\":\"stop\""), "%s", r->body);
        cr_assert(r->n_events >= 2 && strstr(r->events[r->n_events - 2], "\"error\""), "%s",
                  r->body);
        break;
    case MESSAGES:
        cr_assert_null(strstr(r->body, "message_stop"), "%s", r->body);
        cr_assert(strstr(r->body, "event: error\n"), "%s", r->body);
        break;
    default:
        cr_assert_null(strstr(r->body, "response.completed"), "%s", r->body);
        cr_assert(strstr(r->body, "event: response.failed\n"), "%s", r->body);
        break;
    }
}

/* An OpenAI-wire stream that ends (cleanly, at the HTTP level) with neither a finish_reason
 * nor [DONE] was cut off: a proxy's timeout, a crashed server. Telling the client it ended
 * with "stop" hands it half an answer as a whole one. Never retried: bytes went out. */
Test(upstream, a_stream_cut_before_its_end_is_an_error)
{
    struct mock *m = e2e_mock(NULL);
    route(m, 200, SSE, EV_HEL EV_LO);
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        struct e2e_resp *r = ask(gw, (enum dialect)d, 1);
        expect_stream_failed((enum dialect)d, r);
        e2e_resp_free(r);
        cr_assert_eq(mock_request_count(m), d + 1, "%s: not retried once bytes went out",
                     dialect_name[d]);
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Nothing at all in a 200 event stream: an error before anything was sent, in the client's
 * dialect, never an empty answer that "ended well". */
Test(upstream, an_empty_stream_is_an_error)
{
    struct mock *m = e2e_mock(NULL);
    route(m, 200, SSE, ": keep-alive\n\n");
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        struct e2e_resp *r = ask(gw, (enum dialect)d, 1);
        cr_assert_eq(r->status, 502, "%s: %d %s", dialect_name[d], r->status, r->body);
        cJSON *j = e2e_resp_json(r);
        cr_assert_not_null(j, "%s: %s", dialect_name[d], r->body);
        if (d == MESSAGES)
            cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error");
        cr_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "error")), "%s", r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A finish_reason without [DONE] (Perplexity, Together, some servers) or [DONE] after it is a
 * whole answer: the check above must not refuse it. */
Test(upstream, a_stream_with_a_finish_but_no_done_is_whole)
{
    struct mock *m = e2e_mock(NULL);
    route(m, 200, SSE, EV_HEL EV_LO EV_STOP);
    struct e2e_gw *gw = start_gw(m);
    struct e2e_resp *r = ask(gw, CHAT, 1);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_text(r), "Hello");
    cr_assert(e2e_resp_done(r));
    cr_assert_null(strstr(r->body, "\"error\""), "%s", r->body);
    e2e_resp_free(r);
    r = ask(gw, MESSAGES, 1);
    cr_assert(strstr(r->body, "message_stop"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- bytes that are not UTF-8 ------------------------------------------------------------ */

/* 1 when s[0..n) is UTF-8 (no overlongs, no surrogates), as a strict JSON reader wants it. */
static int is_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], need, cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3, min = 0x10000;
        else
            return 0;
        if (n - i <= need)
            return 0;
        cp = c & (0x3fu >> need);
        for (unsigned k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* A provider's text with bytes that are not UTF-8 (a broken tokenizer, a bad proxy): the
 * client's JSON stays UTF-8 (Python's SDKs decode each line strictly), the bad bytes become
 * U+FFFD and the rest of the text is kept. */
Test(upstream, text_that_is_not_utf8_reaches_the_client_as_utf8)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .match_body = "{\"stream\":true}",
                                               .headers = SSE,
                                               .body = EV_HEL
                                               "data: {\"choices\":[{\"index\":0,\"delta\":{"
                                               "\"content\":\"a\xff\xfe"
                                               "b\xc3\"}}]}\n\n" EV_STOP "data: [DONE]\n\n"}),
        0);
    route(m, 200, "Content-Type: application/json",
          "{\"id\":\"c2\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{"
          "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hel a\xff\xfe"
          "b\xc3\"},\"finish_reason\":\"stop\"}]}");
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        for (int stream = 0; stream < 2; stream++) {
            struct e2e_resp *r = ask(gw, (enum dialect)d, stream);
            cr_assert_eq(r->status, 200, "%s: %d %s", dialect_name[d], r->status, r->body);
            cr_assert(is_utf8((const unsigned char *)r->body, r->body_len),
                      "%s stream=%d: not UTF-8: %s", dialect_name[d], stream, r->body);
            cr_assert(strstr(r->body, "a\xef\xbf\xbd\xef\xbf\xbd"
                                      "b\xef\xbf\xbd"),
                      "%s stream=%d: %s", dialect_name[d], stream, r->body);
            e2e_resp_free(r);
        }
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- an answer the gateway cannot read ---------------------------------------------------- */

/* An event that is not JSON is the upstream's protocol error, told as such (not "the
 * connection broke"), and not retried: the same upstream would send the same bytes. */
Test(upstream, an_event_that_is_not_json_is_a_protocol_error)
{
    struct mock *m = e2e_mock(NULL);
    route(m, 200, SSE, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\n\n" EV_STOP);
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        struct e2e_resp *r = ask(gw, (enum dialect)d, 1);
        cr_assert_eq(r->status, 502, "%s: %d %s", dialect_name[d], r->status, r->body);
        cr_assert(strstr(r->body, "could not understand"), "%s: %s", dialect_name[d], r->body);
        e2e_resp_free(r);
        cr_assert_eq(mock_request_count(m), d + 1, "%s: retried", dialect_name[d]);
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A long error message in a script that is not ASCII (3000 'é', 6000 bytes: past every cap
 * on a message) and one with a stray byte: the client's error document or event is UTF-8,
 * never a character cut in two. */
Test(upstream, a_long_or_broken_error_message_stays_utf8)
{
    struct mock *m = e2e_mock(NULL);
    char msg[6001];
    for (int i = 0; i < 3000; i++)
        memcpy(msg + 2 * i, "\xc3\xa9", 2);
    msg[6000] = '\0';
    cr_assert_eq(
        mock_add_route(
            m, &(struct mock_route){.method = "POST",
                                    .path = "/v1/chat/completions",
                                    .times = 6,
                                    .status = 400,
                                    .headers = "Content-Type: application/json",
                                    .body = e2e_strf("{\"error\":{\"message\":\"%s\"}}", msg)}),
        0);
    cr_assert_eq(
        mock_add_route(
            m, &(struct mock_route){.method = "POST",
                                    .path = "/v1/chat/completions",
                                    .headers = SSE,
                                    .body = e2e_strf(EV_HEL "data: {\"error\":{\"message\":"
                                                            "\"%s\",\"code\":\"x\377y\"}}\n\n",
                                                     msg)}),
        0);
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        for (int stream = 0; stream < 2; stream++) {
            struct e2e_resp *r = ask(gw, (enum dialect)d, stream);
            cr_assert_eq(r->status, 400, "%s: %d %s", dialect_name[d], r->status, r->body);
            cr_assert(strstr(r->body, "\xc3\xa9\xc3\xa9"), "%s: %s", dialect_name[d], r->body);
            cr_assert(is_utf8((const unsigned char *)r->body, r->body_len),
                      "%s stream=%d: not UTF-8: %s", dialect_name[d], stream, r->body);
            e2e_resp_free(r);
        }
    }
    for (int d = CHAT; d <= RESPONSES; d++) {
        struct e2e_resp *r = ask(gw, (enum dialect)d, 1);
        cr_assert_eq(r->status, 200, "%s: %d %s", dialect_name[d], r->status, r->body);
        cr_assert(strstr(r->body, "\xc3\xa9\xc3\xa9"), "%s: %s", dialect_name[d], r->body);
        cr_assert(is_utf8((const unsigned char *)r->body, r->body_len), "%s: not UTF-8: %s",
                  dialect_name[d], r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- retries ------------------------------------------------------------------------------ */

/* A 200 whose body is an error that names a client error (a model the provider does not
 * know) is answered in its status (400) and not retried: another attempt gets the same. An
 * error of the server's own is retried. */
Test(upstream, an_error_object_in_a_200_is_retried_only_when_it_may_pass)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(
                     m, &(struct mock_route){.method = "POST",
                                             .path = "/v1/chat/completions",
                                             .match_body = "{\"stream\":true}",
                                             .headers = SSE,
                                             .body = "data: {\"error\":{\"message\":\"overloaded\","
                                                     "\"type\":\"server_error\"}}\n\n"}),
                 0);
    route(m, 200, "Content-Type: application/json",
          "{\"error\":{\"message\":\"model not found\",\"type\":\"invalid_request_error\","
          "\"code\":\"model_not_found\"}}");
    struct e2e_gw *gw = start_gw(m);
    for (int d = CHAT; d <= RESPONSES; d++) {
        int before = mock_request_count(m);
        struct e2e_resp *r = ask(gw, (enum dialect)d, 0);
        cr_assert_eq(r->status, 400, "%s: %d %s", dialect_name[d], r->status, r->body);
        e2e_resp_free(r);
        cr_assert_eq(mock_request_count(m), before + 1, "%s: a client error was retried",
                     dialect_name[d]);
    }
    int before = mock_request_count(m);
    struct e2e_resp *r = ask(gw, CHAT, 1);
    cr_assert_eq(r->status, 502, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), before + 3, "a server error is retried (3 attempts)");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
