/*
 * End-to-end tests of the spine: the real aigw binary in front of the mock provider on
 * loopback. Round trips, streaming, disconnects, back-pressure, deadlines, shutdown, every
 * kind of bad input, and the canary key that must never come out anywhere.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define CANARY "sk-CANARY-7f3a9c1e55d2"
#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
#define CHAT_STREAM                                                                                \
    "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\","                 \
    "\"content\":\"Hi\"}]}"

static struct e2e_gw *start_gw(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=" CANARY,
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
}

Test(core, non_stream_round_trip)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT, "X-Request-ID: abc-123\n");
    cr_assert_eq(r->status, 200, "%s", r->body);
    /* the client's id is in ours, after the time; ours is unique (see gw_request_id) */
    const char *rid = e2e_resp_header(r, "X-Request-ID");
    cr_assert(rid && !strncmp(rid + 12, ".abc-123.", 9) && strlen(rid) == 33, "%s", rid);
    char logged[64];
    snprintf(logged, sizeof logged, "\"request_id\":\"%s\"", rid);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Model"), "gpt-4o-mini");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "1");
    cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    cJSON *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(msg, "content")));
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *up = mock_request(m, 0);
    cr_assert_str_eq(mock_req_path(up), "/v1/chat/completions");
    cr_assert_str_eq(mock_req_header(up, "authorization"), "Bearer " CANARY);
    mock_req_free(up);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, logged, 5000), 0,
                 "the access log line carries the request id");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(core, access_log_off_writes_no_request_lines)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, "{\"log\":{\"access_log\":\"off\",\"level\":\"info\"}}");
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT, "X-Request-ID: off-200\n");
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/nowhere", CHAT, "X-Request-ID: off-404\n");
    cr_assert_eq(r->status, 404, "%s", r->body);
    e2e_resp_free(r);
    /* "off" is not a file name: nothing named so appears where aigw runs. */
    char link[64], cwd[4096];
    snprintf(link, sizeof link, "/proc/%d/cwd", e2e_gw_pid(gw));
    ssize_t n = readlink(link, cwd, sizeof cwd - 5);
    cr_assert_gt(n, 0);
    memcpy(cwd + n, "/off", 5);
    int made = access(cwd, F_OK) == 0;
    if (made)
        unlink(cwd);
    cr_assert_not(made, "access_log \"off\" created %s", cwd);
    /* The diagnostic log goes on: the shutdown lines come after both requests. */
    cr_assert_eq(e2e_gw_signal(gw, SIGTERM), 0);
    cr_assert_eq(e2e_gw_wait_exit(gw, 10000), 0);
    const char *log = e2e_gw_log(gw);
    cr_assert(strstr(log, "INFO [aigw] stopped"), "%s", log);
    cr_assert_null(strstr(log, "off-200"), "%s", log);
    cr_assert_null(strstr(log, "off-404"), "%s", log);
    e2e_gw_stop(gw, 1000);
    mock_stop(m);
}

Test(core, stream_round_trip)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", CHAT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "Content-Type"), "text/event-stream");
    cr_assert(e2e_resp_done(r));
    cr_assert_gt(strlen(e2e_resp_text(r)), 0);
    cJSON *first = e2e_resp_event_json(r, 0);
    cJSON *delta =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(first, "choices"), 0), "delta");
    cr_assert_str_eq(cJSON_GetObjectItem(delta, "role")->valuestring, "assistant");
    int finishes = 0;
    for (int i = 0; i < r->n_events - 1; i++) {
        cJSON *c0 =
            cJSON_GetArrayItem(cJSON_GetObjectItem(e2e_resp_event_json(r, i), "choices"), 0);
        finishes += cJSON_IsString(cJSON_GetObjectItem(c0, "finish_reason"));
    }
    cr_assert_eq(finishes, 1);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

static void add_stalling_stream(struct mock *m)
{
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.name = "stall",
                                               .method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: text/event-stream",
                                               .body_file = "mock/stream_text.sse",
                                               .chunking = "events",
                                               .stall_after_chunks = 2}),
        0);
}

/* A stream whose every byte arrived before aigw answered goes out as one body with a length
 * (headers and data in one write); one still arriving goes out chunked, as it comes. */
Test(core, a_finished_stream_is_sent_whole_a_live_one_chunked)
{
    struct mock *m = e2e_mock(NULL);
    /* The whole SSE body in one write, with a Content-Length: it is all in aigw's hands the
     * moment its first byte is. */
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.name = "whole",
                                               .method = "POST",
                                               .path = "/v1/chat/completions",
                                               .match_body = "{\"model\":\"gpt-4o\"}",
                                               .headers = "Content-Type: text/event-stream",
                                               .body_file = "mock/stream_text.sse",
                                               .chunking = "whole"}),
        0);
    add_stalling_stream(m);
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions",
                                    "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":"
                                    "\"user\",\"content\":\"Hi\"}]}",
                                    NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "Content-Type"), "text/event-stream");
    cr_assert_str_eq(e2e_resp_header(r, "Cache-Control"), "no-cache");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    cr_assert_null(e2e_resp_header(r, "Transfer-Encoding"));
    const char *len = e2e_resp_header(r, "Content-Length");
    cr_assert_not_null(len);
    cr_assert_eq(strtoul(len, NULL, 10), r->body_len);
    cr_assert(e2e_resp_done(r));
    cr_assert_gt(r->n_events, 2);
    e2e_resp_free(r);
    /* The stalling one: two events, then nothing; its headers must not wait for the end. */
    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)),
                                            CHAT_STREAM, NULL, &(struct e2e_stream_opts){0});
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0);
    e2e_stream_abort(s);
    r = e2e_stream_finish(s, 5000);
    cr_assert_not_null(r);
    cr_assert_str_eq(e2e_resp_header(r, "Transfer-Encoding"), "chunked");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The SSE text of a live stream of three events of 5,000 characters each ('a', 'b', 'c'):
 * each is larger than the stream's receive buffer and than the block MHD reads for an
 * unchunked answer, so both are filled and refilled. */
static char *big_events_sse(void)
{
    char *sse = malloc(3 * 5300 + 400);
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        n += (size_t)snprintf(sse + n, 400,
                              "data: {\"id\":\"c1\",\"object\":\"chat.completion."
                              "chunk\",\"created\":1,\"model\":\"gpt-4o-mini\","
                              "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
        memset(sse + n, 'a' + i, 5000);
        n += 5000;
        n += (size_t)snprintf(sse + n, 400, "\"},\"finish_reason\":null}]}\n\n");
    }
    n += (size_t)snprintf(sse + n, 400,
                          "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                          "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},"
                          "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    return sse;
}

/* The delta contents of the SSE text p, concatenated (caller frees). */
static char *sse_content(const char *p)
{
    char *all = calloc(1, strlen(p) + 1);
    size_t n = 0;
    for (const char *d = strstr(p, "data: {"); d; d = strstr(d + 6, "data: {")) {
        const char *end = strstr(d, "\n\n");
        cJSON *j = cJSON_ParseWithLength(d + 6, end ? (size_t)(end - d - 6) : strlen(d + 6));
        cJSON *c = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "delta"),
            "content");
        if (cJSON_IsString(c)) {
            memcpy(all + n, c->valuestring, strlen(c->valuestring));
            n += strlen(c->valuestring);
        }
        cJSON_Delete(j);
    }
    return all;
}

/* Events larger than the buffers a held stream keeps small arrive whole, to an HTTP/1.1
 * client (chunked) and to an HTTP/1.0 one (no chunking: MHD reads its own blocks). */
Test(core, large_events_of_a_live_stream_arrive_whole)
{
    struct mock *m = e2e_mock(NULL);
    char *sse = big_events_sse();
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: text/event-stream",
                                               .body = sse,
                                               .chunking = "events",
                                               .chunk_delay_ms = 20}),
        0);
    struct e2e_gw *gw = start_gw(m, NULL);
    char want[15001];
    for (int i = 0; i < 15000; i++)
        want[i] = (char)('a' + i / 5000);
    want[15000] = '\0';
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", CHAT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert(e2e_resp_done(r));
    cr_assert_str_eq(e2e_resp_text(r), want);
    e2e_resp_free(r);

    int fd =
        e2e_raw_send(e2e_gw_port(gw),
                     e2e_strf("POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\n"
                              "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                              strlen(CHAT_STREAM), CHAT_STREAM),
                     10);
    size_t cap = 1 << 16, len = 0;
    char *raw = malloc(cap);
    ssize_t k;
    while (len < cap - 1 && (k = read(fd, raw + len, cap - 1 - len)) > 0)
        len += (size_t)k;
    raw[len] = '\0';
    close(fd);
    cr_assert(strncmp(raw, "HTTP/1.", 7) == 0 && strstr(raw, " 200 "), "%.200s", raw);
    char *body = strstr(raw, "\r\n\r\n");
    cr_assert_not_null(body);
    *body = '\0';
    cr_assert_null(strstr(raw, "chunked"), "%s", raw);
    char *got = sse_content(body + 4);
    cr_assert_str_eq(got, want);
    cr_assert_not_null(strstr(body + 4, "data: [DONE]"));
    free(got);
    free(raw);
    free(sse);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A stream's request body is lent to curl and freed once it was sent whole: a prompt larger
 * than curl sends with the headers (64 KiB) reaches the provider intact, twice in a row. */
Test(core, a_large_prompt_reaches_the_provider_whole)
{
    struct mock *m = e2e_mock(NULL);
    char *sse = big_events_sse();
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: text/event-stream",
                                               .body = sse,
                                               .chunking = "events",
                                               .chunk_delay_ms = 5}),
        0);
    struct e2e_gw *gw = start_gw(m, NULL);
    size_t plen = 200000;
    char *prompt = malloc(plen + 1);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < plen; i++)
            prompt[i] = (char)('a' + (i * 7 + (size_t)round) % 26);
        prompt[plen] = '\0';
        char *body = e2e_strf("{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{"
                              "\"role\":\"user\",\"content\":\"%s\"}]}",
                              prompt);
        struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", body, NULL, NULL);
        cr_assert_eq(r->status, 200, "%s", r->body);
        cr_assert(e2e_resp_done(r));
        e2e_resp_free(r);
        const struct mock_req *q = mock_request(m, -1);
        cr_assert_not_null(q);
        const cJSON *msg = cJSON_GetArrayItem(cJSON_GetObjectItem(mock_req_json(q), "messages"), 0);
        const cJSON *content = cJSON_GetObjectItem(msg, "content");
        cr_assert(cJSON_IsString(content), "%.200s", mock_req_body(q));
        cr_assert_str_eq(content->valuestring, prompt);
        mock_req_free(q);
    }
    free(prompt);
    free(sse);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A whole answer past the stream buffer's hard cap (2 x stream.buffer_bytes + 64 KiB, 576
 * KiB by default) was rendered into it, failed, and went out as a 200 with an empty body: an
 * embeddings batch of a few dozen vectors, or a long chat answer. Both arrive whole. */
Test(core, a_whole_answer_larger_than_the_stream_buffer_arrives_whole)
{
    enum { VECTORS = 64, DIMS = 1536 };
    size_t ecap = (size_t)VECTORS * DIMS * 12 + 4096, elen = 0;
    char *emb = malloc(ecap);
    elen += (size_t)snprintf(emb, ecap, "{\"object\":\"list\",\"data\":[");
    for (int v = 0; v < VECTORS; v++) {
        elen += (size_t)snprintf(emb + elen, ecap - elen,
                                 "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":[",
                                 v ? "," : "", v);
        for (int d = 0; d < DIMS; d++)
            elen += (size_t)snprintf(emb + elen, ecap - elen, "%s-0.0%07d", d ? "," : "",
                                     (v * DIMS + d) % 9999991);
        elen += (size_t)snprintf(emb + elen, ecap - elen, "]}");
    }
    elen += (size_t)snprintf(emb + elen, ecap - elen,
                             "],\"model\":\"text-embedding-3-small\",\"usage\":{"
                             "\"prompt_tokens\":64,\"total_tokens\":64}}");
    cr_assert_lt(elen, ecap);
    cr_assert_gt(elen, 1u << 20, "the answer is larger than the relay's hard cap");
    /* a chat answer of 1.5 MB of text */
    char *text = e2e_letters(1500000);
    char *chat =
        e2e_strf("{\"id\":\"chatcmpl-big\",\"object\":\"chat.completion\",\"created\":1,"
                 "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                 "\"assistant\",\"content\":\"%s\"},\"finish_reason\":\"stop\"}],\"usage\":"
                 "{\"prompt_tokens\":1,\"completion_tokens\":375000,\"total_tokens\":375001}}",
                 text);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/embeddings",
                                                        .headers = "Content-Type: application/json",
                                                        .body = emb}),
                 0);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .headers = "Content-Type: application/json",
                                                        .body = chat}),
                 0);
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r =
        e2e_post(gw, "/v1/embeddings",
                 "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"]}", NULL);
    cr_assert_eq(r->status, 200, "%.300s", r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j, "%zu bytes: %.200s", strlen(r->body), r->body);
    cJSON *data = cJSON_GetObjectItem(j, "data");
    cr_assert_eq(cJSON_GetArraySize(data), VECTORS);
    cr_assert_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(data, VECTORS - 1), "embedding")),
        DIMS);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 200, "%.300s", r->body);
    j = e2e_resp_json(r);
    cr_assert_not_null(j, "%zu bytes: %.200s", strlen(r->body), r->body);
    const cJSON *content = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0), "message"),
        "content");
    cr_assert(cJSON_IsString(content) && !strcmp(content->valuestring, text));
    e2e_resp_free(r);
    free(emb);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* One event of a live stream larger than the stream buffer's hard cap (a provider that sends
 * a long tool call's arguments, or a whole answer, in one event) arrives whole too. */
Test(core, an_event_larger_than_the_stream_buffer_arrives_whole)
{
    size_t tlen = 800000;
    char *text = e2e_letters(tlen);
    char *sse = e2e_chat_sse_one_event(text, NULL);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: text/event-stream",
                                               .body = sse,
                                               .chunking = "events"}),
        0);
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", CHAT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200, "%.300s", r->body);
    cr_assert(e2e_resp_done(r), "%.300s", r->body);
    char *got = sse_content(r->body);
    cr_assert(!strcmp(got, text), "%zu of %zu bytes: %.300s", strlen(got), tlen, r->body);
    free(got);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The gauge aigw_request_body_bytes from /metrics (-1 when absent). */
static long long body_bytes_held(struct e2e_gw *gw)
{
    struct e2e_resp *r = e2e_get(gw, "/metrics", NULL);
    const char *at = r->body ? strstr(r->body, "\naigw_request_body_bytes ") : NULL;
    char *end = NULL;
    long long v = at ? strtoll(at + sizeof "\naigw_request_body_bytes " - 1, &end, 10) : -1;
    if (at && (!end || (*end != '\n' && *end != '\0')))
        v = -1;
    e2e_resp_free(r);
    return v;
}

/* Every body had a cap, and all of them together none: thousands of connections each
 * sending max_body_bytes slowly could hold what the machine has. With max_body_bytes_total
 * at 1 MiB, a 900 kB body mostly sent leaves no room for a 300 kB one (503, Retry-After),
 * and once it is in and parsed, the room is back. */
Test(core, request_bodies_held_at_once_have_a_cap)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, "{\"max_body_bytes_total\":1048576}");
    size_t big = 900000, small = 300000;
    char *pad = malloc(big + 1);
    memset(pad, 'a', big);
    pad[big] = '\0';
    const char *head = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"";
    const char *tail = "\"}]}";
    size_t blen = strlen(head) + big + strlen(tail);
    /* 800 kB of the big body, the rest held back */
    char *req = e2e_strf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         "application/json\r\nContent-Length: %zu\r\n\r\n%s%.*s",
                         blen, head, 800000, pad);
    int fd = e2e_raw_send(e2e_gw_port(gw), req, 30);
    cr_assert_geq(fd, 0);
    int64_t t0 = e2e_now_ms();
    long long held = body_bytes_held(gw);
    while (held < 800000 && e2e_now_ms() - t0 < 10000)
        held = body_bytes_held(gw);
    cr_assert_geq(held, 800000, "the first body's bytes are counted: %lld", held);
    pad[small] = '\0';
    struct e2e_resp *r =
        e2e_post(gw, "/v1/chat/completions",
                 e2e_strf("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
                          "\"%s\"}]}",
                          pad),
                 NULL);
    cr_assert_eq(r->status, 503, "%d %.200s", r->status, r->body);
    cr_assert_str_eq(e2e_resp_header(r, "Retry-After"), "1");
    const cJSON *err = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "code")->valuestring, "server_busy");
    e2e_resp_free(r);
    /* the rest of the big body: it is answered, and its bytes are given back */
    pad[small] = 'a';
    char *rest = e2e_strf("%.*s%s", (int)(big - 800000), pad, tail);
    cr_assert_eq(write(fd, rest, strlen(rest)), (ssize_t)strlen(rest));
    cr_assert_eq(e2e_raw_status(fd), 200);
    cr_assert_eq(body_bytes_held(gw), 0);
    pad[small] = '\0';
    r = e2e_post(gw, "/v1/chat/completions",
                 e2e_strf("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"%s\"}]}",
                          pad),
                 NULL);
    cr_assert_eq(r->status, 200, "%d %.200s", r->status, r->body);
    e2e_resp_free(r);
    free(pad);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* JSON inside a tool result counts against the body's value cap (the anthropic, gemini and
 * bedrock plugins parse it into a tree): refused in the caller's dialect, never sent. */
Test(core, json_in_a_tool_result_counts_against_the_value_cap)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, NULL);
    size_t values = 1000010, n = 0;
    char *zeros = malloc(2 * values + 2);
    zeros[n++] = '[';
    for (size_t i = 0; i + 1 < values; i++) {
        zeros[n++] = '0';
        zeros[n++] = i + 2 < values ? ',' : ']';
    }
    zeros[n] = '\0';
    struct e2e_resp *r = e2e_post(
        gw, "/v1/chat/completions",
        e2e_strf("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":"
                 "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":"
                 "\"tool\",\"tool_call_id\":\"c1\",\"content\":\"%s\"}]}",
                 zeros),
        NULL);
    cr_assert_eq(r->status, 400, "%d %.200s", r->status, r->body);
    const cJSON *err = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "code")->valuestring, "too_many_values");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0, "nothing reached the provider");
    free(zeros);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(core, client_disconnect_cancels_the_upstream_transfer)
{
    struct mock *m = e2e_mock(NULL);
    add_stalling_stream(m);
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)),
                                            CHAT_STREAM, NULL, &(struct e2e_stream_opts){0});
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0);
    cr_assert_eq(mock_disconnects(m), 0);
    e2e_stream_abort(s);
    /* The upstream connection must go within a second of the client leaving. */
    cr_assert_eq(mock_wait_disconnects(m, 1, 1500), 0, "upstream transfer was not cancelled");
    e2e_resp_free(e2e_stream_finish(s, 5000));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(core, idle_upstream_gets_an_error_event_then_done)
{
    struct mock *m = e2e_mock(NULL);
    add_stalling_stream(m);
    struct e2e_gw *gw = start_gw(m, "{\"timeouts\":{\"idle_ms\":300}}");
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", CHAT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    cJSON *last = e2e_resp_event_json(r, r->n_events - 2);
    cJSON *err = cJSON_GetObjectItem(last, "error");
    cr_assert_not_null(err, "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(err, "type")->valuestring, "timeout_error");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The number after "name:" in /proc/PID/status (VmRSS in kB, Threads), -1 if absent. */
static long proc_status(int pid, const char *name)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    if (f)
        fclose(f);
    return v;
}

static long rss_kb(int pid)
{
    return proc_status(pid, "VmRSS");
}

/* Each worker serves its own connections, so max_connections is split across them: with
 * fewer connections allowed than workers asked for, only that many workers start (4 workers
 * asked, 2 connections allowed: the same threads as 2 workers asked). */
Test(core, max_connections_below_threads_starts_fewer_workers)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *a = start_gw(m, "{\"threads\":4,\"max_connections\":2}");
    struct e2e_gw *b = start_gw(m, "{\"threads\":2,\"max_connections\":1000}");
    long ta = proc_status(e2e_gw_pid(a), "Threads");
    long tb = proc_status(e2e_gw_pid(b), "Threads");
    cr_assert_gt(tb, 2);
    cr_assert_eq(ta, tb, "threads with 4 workers asked and 2 connections allowed: %ld vs %ld", ta,
                 tb);
    struct e2e_resp *r = e2e_post(a, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(a, 10000), 0);
    cr_assert_eq(e2e_gw_stop(b, 10000), 0);
    mock_stop(m);
}

Test(core, slow_client_does_not_grow_memory, .timeout = 60)
{
    /* 16 MiB of SSE (about 40 MiB once rendered) as fast as the mock can write it, to a client that
     * stops reading. */
    const char *ev = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"0123456789abcdef"
                     "0123456789abcdef0123456789abcdef0123456789abcdef\"}}]}\n\n";
    size_t evl = strlen(ev), total = 16u << 20, n = total / evl;
    char *body = malloc(n * evl + 32);
    for (size_t i = 0; i < n; i++)
        memcpy(body + i * evl, ev, evl);
    memcpy(body + n * evl, "data: [DONE]\n\n", 15);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: text/event-stream",
                                               .body = body,
                                               .chunking = "bytes:65536"}),
        0);
    free(body);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .match_body = "{\"stream\":false}",
                                                        .body_file = "mock/chat.json"}),
                 0);
    /* ASan's quarantine keeps freed memory resident, which would make RSS track the bytes
     * processed rather than the bytes held; the bound under test is about the latter. */
    const char *asan = getenv("ASAN_OPTIONS");
    setenv("ASAN_OPTIONS", e2e_strf("%s:quarantine_size_mb=0", asan ? asan : ""), 1);
    struct e2e_gw *gw = start_gw(m, NULL);
    /* Warm up (allocator arenas, thread stacks, the upstream connection) before the baseline. */
    struct e2e_resp *warm = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    e2e_resp_free(warm);
    long base = rss_kb(e2e_gw_pid(gw));
    struct e2e_stream *s = e2e_stream_start(
        e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), CHAT_STREAM, NULL,
        &(struct e2e_stream_opts){.pause_after_bytes = 65536, .timeout_ms = 50000});
    cr_assert_eq(e2e_stream_wait_paused(s, 10000), 0);
    /* Were the gateway to buffer without bound, it would soon hold tens of MiB. */
    long peak = base;
    for (int i = 0; i < 40; i++) {
        long now = rss_kb(e2e_gw_pid(gw));
        peak = now > peak ? now : peak;
        cr_assert_lt(now - base, 12 * 1024, "RSS grew by %ld kB for a stalled client", now - base);
        if (e2e_stream_wait_bytes(s, (size_t)-1, 50) == 0)
            break; /* never true: a bounded 50 ms wait between samples */
    }
    cr_log_info("RSS growth while the client was stalled: %ld kB", peak - base);
    /* Back-pressure reached the upstream: the mock cannot finish writing 16 MiB. */
    cr_assert_eq(mock_active_requests(m), 1, "the upstream transfer ran to its end");
    /* And reading again resumes the transfer (the unpause path). */
    e2e_stream_resume(s);
    cr_assert_eq(e2e_stream_wait_bytes(s, 4u << 20, 30000), 0, "the stream did not resume");
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(core, shutdown_with_live_streams_ends_them_cleanly)
{
    struct mock *m = e2e_mock(NULL);
    add_stalling_stream(m);
    struct e2e_gw *gw = start_gw(m, "{\"shutdown\":{\"grace_ms\":300}}");
    struct e2e_stream *s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), CHAT_STREAM,
                                NULL, &(struct e2e_stream_opts){0});
        cr_assert_eq(e2e_stream_wait_events(s[i], 1, 10000), 0);
    }
    cr_assert_eq(e2e_gw_signal(gw, SIGTERM), 0);
    int st = e2e_gw_wait_exit(gw, 10000);
    cr_assert_eq(st, 0, "aigw exits 0 after draining (status %d): %s", st, e2e_gw_log(gw));
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = e2e_stream_finish(s[i], 5000);
        cr_assert(e2e_resp_done(r), "stream %d ended with [DONE]: %s", i, r->body);
        cr_assert_not_null(strstr(r->body, "\"error\""), "and an error event before it");
        e2e_resp_free(r);
    }
    e2e_gw_stop(gw, 1000);
    mock_stop(m);
}

/* A request whose headers complete while the gateway drains gets a 503 (shutting_down), not
 * a request started against state the shutdown is about to free. (Idle kept-alive
 * connections are closed by the quiesce itself.) */
Test(core, request_completing_while_draining_is_refused)
{
    struct mock *m = e2e_mock(NULL);
    add_stalling_stream(m);
    struct e2e_gw *gw = start_gw(m, "{\"shutdown\":{\"grace_ms\":5000}}");
    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)),
                                            CHAT_STREAM, NULL, &(struct e2e_stream_opts){0});
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0);
    /* Headers begun before the signal, finished after it. */
    int fd = e2e_raw_send(e2e_gw_port(gw), "GET /health HTTP/1.1\r\nHost: x\r\n", 10);
    /* accepted before the signal: one still in the backlog is reset with the listener */
    cr_assert_eq(e2e_raw_wait_accepted(fd, e2e_gw_port(gw), 10000), 0);
    cr_assert_eq(e2e_gw_signal(gw, SIGTERM), 0);
    cr_assert_eq(e2e_gw_wait_log(gw, "draining in-flight requests", 10000), 0);
    cr_assert_eq(write(fd, "\r\n", 2), 2);
    cr_assert_eq(e2e_raw_status(fd), 503);
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    cr_assert_eq(e2e_gw_wait_exit(gw, 15000), 0, "%s", e2e_gw_log(gw));
    e2e_gw_stop(gw, 1000);
    mock_stop(m);
}

/* Sends raw bytes and returns the status code of the answer (0 on none). */
/* A body naming a member twice is refused in every dialect before anything is decided on it:
 * the gateway reads the first "model" and a provider's parser may keep the last, so a key
 * allowed only the cheap model would otherwise be answered by the dear one. Nothing reaches
 * the upstream. */
Test(core, a_repeated_key_is_refused_in_every_dialect_and_never_sent)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, NULL);
    static const struct {
        const char *path, *body, *type_at;
    } cases[] = {
        {"/v1/chat/completions",
         "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
         "\"model\":\"gpt-4o\"}",
         "error"},
        {"/v1/messages",
         "{\"model\":\"gpt-4o-mini\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\","
         "\"content\":\"Hi\"}],\"messages\":[{\"role\":\"user\",\"content\":\"other\"}]}",
         "error"},
        {"/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"Hi\",\"input\":\"other\"}",
         "error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_resp *r = e2e_post(gw, cases[i].path, cases[i].body, NULL);
        cr_assert_eq(r->status, 400, "%s: %s", cases[i].path, r->body);
        const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), cases[i].type_at);
        cr_assert_str_eq(cJSON_GetObjectItem(e, "type")->valuestring, "invalid_request_error");
        cr_assert(strstr(cJSON_GetObjectItem(e, "message")->valuestring, "repeats the key"),
                  "%s", r->body);
        e2e_resp_free(r);
    }
    /* The same bodies without the repeat are answered from the upstream. */
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* aigw hands curl the proxy its environment names, read once (core/net/proxyenv.c), by curl's
 * own rules: no_proxy before NO_PROXY, http_proxy and never HTTP_PROXY for an http URL, then
 * all_proxy before ALL_PROXY. `proxy` receives a request through it in absolute form. The
 * test's variables come first in the environment, ahead of e2e's own ALL_PROXY/NO_PROXY. */
static void proxy_case(struct mock *proxy, struct mock *direct, const char *base,
                       const char *const env[3], int via_proxy)
{
    int before_p = mock_request_count(proxy), before_d = mock_request_count(direct);
    struct e2e_gw *gw = e2e_gw_start(NULL, env[0], env[1], env[2], "OPENAI_API_KEY=" CANARY,
                                     e2e_strf("OPENAI_BASE_URL=%s/v1", base), NULL);
    e2e_resp_free(e2e_post(gw, "/v1/chat/completions", CHAT, NULL));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    cr_assert_eq(mock_request_count(proxy) - before_p, via_proxy, "%s %s", env[0], env[1]);
    cr_assert_eq(mock_request_count(direct) - before_d, !via_proxy, "%s %s", env[0], env[1]);
    if (via_proxy) {
        const struct mock_req *q = mock_request(proxy, before_p);
        cr_assert(strstr(mock_req_path(q), e2e_strf("%s/v1/chat/completions", base)), "%s",
                  mock_req_path(q));
        mock_req_free(q);
    }
}

Test(core, the_environment_proxy_is_the_one_curl_would_pick)
{
    struct mock *proxy = e2e_mock("openai_chat"), *direct = e2e_mock("openai_chat");
    const char *p = mock_url(proxy), *d = mock_url(direct);
    const char *env1[3] = {e2e_strf("http_proxy=%s", p), "no_proxy=other.invalid",
                           "X_UNUSED=1"};
    proxy_case(proxy, direct, d, env1, 1);
    const char *env2[3] = {e2e_strf("http_proxy=%s", p), "no_proxy=127.0.0.1", "X_UNUSED=1"};
    proxy_case(proxy, direct, d, env2, 0);
    /* HTTP_PROXY is never read; all_proxy is, before e2e's ALL_PROXY. */
    const char *env3[3] = {e2e_strf("HTTP_PROXY=%s", d), e2e_strf("all_proxy=%s", p),
                           "no_proxy=other.invalid"};
    proxy_case(proxy, direct, "http://api.example.invalid", env3, 1);
    const char *env4[3] = {e2e_strf("HTTP_PROXY=%s", p), "http_proxy=", "X_UNUSED=1"};
    proxy_case(proxy, direct, d, env4, 0); /* empty is unset; NO_PROXY covers 127.0.0.1 */
    mock_stop(proxy);
    mock_stop(direct);
}

static int raw_status(int port, const char *req)
{
    return e2e_raw_status(e2e_raw_send(port, req, 10));
}

Test(core, bad_input_gets_clear_openai_errors)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, "{\"max_body_bytes\":2048}");
    struct e2e_resp *r;
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = e2e_post(gw, "/v1/chat/completions", e2e_strf("{\"model\":\"%s\"}", big), NULL);
    cr_assert_eq(r->status, 413);
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(e2e_resp_json(r), "error"), "code")->valuestring,
        "request_too_large");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", "{\"model\": \"m\", ", NULL);
    cr_assert_eq(r->status, 400);
    cr_assert(strstr(r->body, "byte offset"), "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", "{\"model\":\"m\xc3\x28\"}", NULL);
    cr_assert_eq(r->status, 400);
    cr_assert(strstr(r->body, "UTF-8"), "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}", NULL);
    cr_assert_eq(r->status, 400);
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(e2e_resp_json(r), "error"), "param")->valuestring,
        "messages");
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/nope", NULL);
    cr_assert_eq(r->status, 404);
    cr_assert_not_null(cJSON_GetObjectItem(e2e_resp_json(r), "error"));
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/chat/completions", NULL);
    cr_assert_eq(r->status, 405);
    cr_assert_str_eq(e2e_resp_header(r, "Allow"), "POST");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", CHAT, "X-Provider: nosuch\n");
    cr_assert_eq(r->status, 400);
    cr_assert(strstr(r->body, "active providers: openai"), "%s", r->body);
    e2e_resp_free(r);
    int port = e2e_gw_port(gw);
    cr_assert_eq(raw_status(port, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"),
                 400);
    cr_assert_eq(raw_status(port, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "2\r\n{}\r\n0\r\n\r\n"),
                 400);
    /* An over-long header line is refused by MHD's limits, and aigw keeps serving. */
    char *huge = malloc(200000);
    memset(huge, 'h', 199999);
    huge[199999] = '\0';
    int st =
        raw_status(port, e2e_strf("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", huge));
    free(huge);
    cr_assert(st == 431 || st == 413 || st == 400 || st == 0, "status %d", st);
    /* The documented header budget: about 12 KiB of headers pass, 20 KiB are a 431. */
    char *hdr = malloc(20001);
    memset(hdr, 'b', 20000);
    hdr[20000] = '\0';
    cr_assert_eq(
        raw_status(port, e2e_strf("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", hdr)),
        431);
    hdr[11000] = '\0';
    cr_assert_eq(
        raw_status(port, e2e_strf("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", hdr)),
        200);
    free(hdr);
    r = e2e_get(gw, "/health", NULL);
    cr_assert_eq(r->status, 200);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0, "no bad request reached the upstream");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(core, the_key_never_leaks_into_responses_or_logs)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(
            m, &(struct mock_route){.method = "POST",
                                    .path = "/v1/chat/completions",
                                    .status = 401,
                                    .headers = "Content-Type: application/json",
                                    .body = "{\"error\":{\"message\":\"Incorrect API key "
                                            "provided: " CANARY ". See your keys.\","
                                            "\"type\":\"invalid_request_error\",\"param\":null,"
                                            "\"code\":\"invalid_api_key\"}}"}),
        0);
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 401);
    cr_assert_null(strstr(r->body, CANARY), "%s", r->body);
    cr_assert_null(strstr(r->headers, CANARY));
    cr_assert(strstr(r->body, "Incorrect API key provided"), "the message survives: %s", r->body);
    e2e_resp_free(r);
    r = e2e_stream(gw, "/v1/chat/completions", CHAT_STREAM, NULL, NULL);
    cr_assert_null(strstr(r->body, CANARY));
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, "\"status\":401", 5000), 0);
    cr_assert_null(strstr(e2e_gw_log(gw), CANARY), "the canary is in aigw's log");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* /v1/models lists what the active providers can serve, and nothing else. */
Test(core, models_follow_the_active_providers)
{
    const char *cat = e2e_strf("AIGW_CATALOG=%s/catalog/models.json", getenv("AIGW_TEST_SRCDIR"));
    /* OpenAI lists its models live too: point it at a closed loopback port, so the listing is
     * the catalog's (the live path has its own tests in test_models.c). */
    const char *oai = "OPENAI_BASE_URL=http://127.0.0.1:9/v1";
    struct e2e_gw *gw = e2e_gw_start(NULL, "OPENAI_API_KEY=" CANARY, oai, cat, NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models", NULL);
    cr_assert_eq(r->status, 200);
    cJSON *data = cJSON_GetObjectItem(e2e_resp_json(r), "data");
    cr_assert_gt(cJSON_GetArraySize(data), 10);
    int found = 0;
    cJSON *m;
    cJSON_ArrayForEach(m, data)
    {
        const char *id = cJSON_GetObjectItem(m, "id")->valuestring;
        cr_assert(strncmp(id, "openai/", 7) == 0, "%s listed with only openai active", id);
        cr_assert_str_eq(cJSON_GetObjectItem(m, "object")->valuestring, "model");
        found |= strcmp(id, "openai/gpt-4o-mini") == 0;
    }
    cr_assert(found);
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/openai/gpt-4o-mini", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert(cJSON_IsObject(cJSON_GetObjectItem(e2e_resp_json(r), "pricing")));
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/anthropic/claude-sonnet-4-5", NULL);
    cr_assert_eq(r->status, 404, "anthropic is not active");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gw = e2e_gw_start(NULL, "OPENAI_API_KEY=" CANARY, oai, "ANTHROPIC_API_KEY=sk-ant-x1234", cat,
                      NULL);
    r = e2e_get(gw, "/v1/models", NULL);
    cr_assert(strstr(r->body, "\"anthropic/") && strstr(r->body, "\"openai/"));
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(core, health_ready_and_models)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_resp *r = e2e_get(gw, "/ready", NULL);
    cr_assert_eq(r->status, 200);
    e2e_resp_free(r);
    r = e2e_get(gw, "/health", NULL);
    cr_assert_eq(r->status, 200);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gw = e2e_gw_start(NULL, NULL);
    r = e2e_get(gw, "/ready", NULL);
    cr_assert_eq(r->status, 503, "no provider active");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 503);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
