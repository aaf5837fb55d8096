/*
 * test_mock_faults - the mock provider's faults (delays, stalls, closes, drip, truncation,
 * injection), provider flows (Replicate, Bedrock event-stream, OAuth token) and load: a
 * thousand held streams, a slow reader, stopping with streams held. Part of test_mock.
 * Timing is only ever checked as a lower bound (a delay cannot end early).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/test_mock.h"

/* ---- delays ------------------------------------------------------------------------------- */

Test(fault, headers_delay)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"headers_delay_ms\":300,\"body\":\"late\"}");
    int64_t t0 = now_ms();
    struct e2e_stream *s = e2e_stream_start(murl(m, "/x"), "{}", NULL, NULL);
    cr_assert_eq(e2e_stream_wait_bytes(s, 1, 100), -1, "nothing may arrive before the delay");
    struct e2e_resp *r = e2e_stream_finish(s, 10000);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "late");
    cr_assert_geq(now_ms() - t0, 300);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(fault, body_and_chunk_delays)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"headers\":{\"content-type\":\"text/event-stream\"},\"body_delay_ms\":200,"
           "\"chunk_delay_ms\":100,\"body\":" SSE4 "}");
    int64_t t0 = now_ms();
    struct e2e_stream *s = e2e_stream_start(murl(m, "/x"), "{}", NULL, NULL);
    cr_assert_eq(e2e_stream_wait_events(s, 1, 5000), 0);
    cr_assert_geq(now_ms() - t0, 200);
    struct e2e_resp *r = e2e_stream_finish(s, 10000);
    cr_assert_geq(now_ms() - t0, 200 + 3 * 100);
    cr_assert_eq(r->n_events, 4);
    cr_assert(e2e_resp_done(r));
    e2e_resp_free(r);
    mock_stop(m);
}

/* ---- stalls and disconnects --------------------------------------------------------------- */

Test(fault, stall_mid_stream_then_client_leaves)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"headers\":{\"content-type\":\"text/event-stream\"},\"stall_after_chunks\":2,"
           "\"body\":" SSE4 "}");
    struct e2e_stream *s = e2e_stream_start(murl(m, "/x"), "{}", NULL, NULL);
    cr_assert_eq(e2e_stream_wait_events(s, 2, 5000), 0);
    cr_assert_eq(e2e_stream_wait_events(s, 3, 300), -1, "the stream must hold after 2 events");
    cr_assert_eq(mock_active_requests(m), 1);
    cr_assert_eq(mock_disconnects(m), 0);
    e2e_stream_abort(s);
    cr_assert_eq(mock_wait_disconnects(m, 1, 2000), 0, "a stalled stream sees its client go");
    cr_assert_eq(mock_wait_active_requests(m, 0, 2000), 0);
    cr_assert_eq(mock_wait_open_connections(m, 0, 2000), 0);
    struct e2e_resp *r = e2e_stream_finish(s, 5000);
    cr_assert(r->aborted);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->n_events, 2);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(fault, stall_before_headers_then_client_times_out)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"headers_delay_ms\":-1,\"body\":\"never\"}");
    struct e2e_stream *s =
        e2e_stream_start(murl(m, "/x"), "{}", NULL, &(struct e2e_stream_opts){.timeout_ms = 300});
    struct e2e_resp *r = e2e_stream_finish(s, 5000);
    cr_assert(r->timed_out);
    cr_assert_eq(r->status, 0);
    cr_assert_eq(mock_wait_disconnects(m, 1, 2000), 0);
    cr_assert_eq(mock_wait_active_requests(m, 0, 2000), 0);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(fault, stall_right_after_headers)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"stall_after_bytes\":0,\"body\":\"never\"}");
    struct e2e_stream *s =
        e2e_stream_start(murl(m, "/x"), "{}", NULL, &(struct e2e_stream_opts){.timeout_ms = 300});
    struct e2e_resp *r = e2e_stream_finish(s, 5000);
    cr_assert(r->timed_out);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, 0);
    cr_assert_eq(mock_wait_disconnects(m, 1, 2000), 0);
    e2e_resp_free(r);
    mock_stop(m);
}

/* ---- closes ------------------------------------------------------------------------------- */

Test(fault, close_after_bytes)
{
    struct mock *m = e2e_mock(NULL);
    char body[101];
    memset(body, 'x', 100);
    body[100] = '\0';
    cr_assert_eq(
        mock_add_route(
            m, &(struct mock_route){.body = body, .chunking = "bytes:10", .close_after_bytes = 45}),
        0);
    struct e2e_resp *r = get(m, "/x");
    cr_assert_eq(r->status, 200);
    cr_assert_neq(r->curl_code, 0, "the client must see a broken transfer");
    cr_assert_eq(r->body_len, 45);
    cr_assert_eq(mock_wait_active_requests(m, 0, 2000), 0);
    cr_assert_eq(mock_disconnects(m), 0, "the mock's own close is not a client disconnect");
    e2e_resp_free(r);
    mock_stop(m);
}

Test(fault, close_after_chunks_and_headers)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"path\":\"/c\",\"headers\":{\"content-type\":\"text/event-stream\"},"
           "\"close_after_chunks\":2,\"body\":" SSE4 "}");
    add(m, "{\"path\":\"/h\",\"close_after_bytes\":0,\"body\":\"x\"}");
    add(m, "{\"path\":\"/b\",\"close_before_headers\":true,\"body\":\"x\"}");
    struct e2e_resp *r = get(m, "/c");
    cr_assert_eq(r->n_events, 2);
    cr_assert(!e2e_resp_done(r));
    cr_assert_neq(r->curl_code, 0);
    e2e_resp_free(r);
    r = get(m, "/h");
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->body_len, 0);
    cr_assert_neq(r->curl_code, 0);
    e2e_resp_free(r);
    r = get(m, "/b");
    cr_assert_eq(r->status, 0);
    cr_assert_neq(r->curl_code, 0);
    e2e_resp_free(r);
    cr_assert_eq(mock_wait_active_requests(m, 0, 2000), 0);
    cr_assert_eq(mock_disconnects(m), 0);
    cr_assert_eq(mock_request_count(m), 3);
    mock_stop(m);
}

/* ---- body shaping ------------------------------------------------------------------------- */

static char *raw_exchange(int port, const char *req, size_t *len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t cap = 65536;
    char *buf = malloc(cap);
    cr_assert(fd >= 0 && buf);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    *len = 0;
    int64_t deadline = now_ms() + 10000;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - now_ms();
        cr_assert(left > 0 && poll(&p, 1, (int)left) == 1, "raw read timed out");
        ssize_t n = recv(fd, buf + *len, cap - *len - 1, 0);
        if (n <= 0)
            break;
        *len += (size_t)n;
        cr_assert(*len < cap - 1);
    }
    buf[*len] = '\0';
    close(fd);
    return buf;
}

Test(fault, drip_is_one_byte_per_chunk)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"drip\":true,\"chunk_delay_ms\":1,\"body\":\"hello world\"}");
    size_t len;
    char *raw =
        raw_exchange(mock_port(m), "GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &len);
    char *p = strstr(raw, "\r\n\r\n");
    cr_assert(p);
    p += 4;
    char got[64];
    size_t n = 0;
    while (strncmp(p, "0\r\n", 3) != 0) {
        cr_assert(strncmp(p, "1\r\n", 3) == 0, "every chunk is one byte: %s", p);
        cr_assert(n < sizeof got - 1);
        got[n++] = p[3];
        cr_assert(strncmp(p + 4, "\r\n", 2) == 0);
        p += 6;
    }
    got[n] = '\0';
    cr_assert_str_eq(got, "hello world");
    free(raw);
    mock_stop(m);
}

Test(fault, truncate_serves_malformed_body)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"truncate_at\":5,\"body\":{\"a\":\"bcdef\"}}");
    struct e2e_resp *r = get(m, "/x");
    cr_assert_eq(r->curl_code, 0, "a truncated body is delivered cleanly");
    cr_assert_str_eq(r->body, "{\"a\":");
    cr_assert_str_eq(e2e_resp_header(r, "content-length"), "5");
    cr_assert_null(e2e_resp_json(r));
    e2e_resp_free(r);
    mock_stop(m);
}

Test(fault, inject_error_event_mid_stream)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"path\":\"/end\",\"headers\":{\"content-type\":\"text/event-stream\"},"
           "\"inject\":{\"after_chunks\":2,\"end\":true,"
           "\"body\":\"data: {\\\"error\\\":{\\\"message\\\":\\\"overloaded\\\"}}\\n\\n\"},"
           "\"body\":" SSE4 "}");
    add(m, "{\"path\":\"/cont\",\"headers\":{\"content-type\":\"text/event-stream\"},"
           "\"inject\":{\"after_chunks\":1,\"body\":\": ping\\n\\ndata: {\\\"n\\\":99}\\n\\n\"},"
           "\"body\":" SSE4 "}");
    struct e2e_resp *r = get(m, "/end");
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->curl_code, 0);
    cr_assert_eq(r->n_events, 3);
    cr_assert_str_eq(jstr(e2e_resp_event_json(r, 2), "error", "message"), "overloaded");
    cr_assert(!e2e_resp_done(r));
    e2e_resp_free(r);
    r = get(m, "/cont");
    cr_assert_eq(r->n_events, 5);
    cr_assert_str_eq(r->events[1], "{\"n\":99}");
    cr_assert(e2e_resp_done(r));
    e2e_resp_free(r);
    mock_stop(m);
}

Test(fault, ndjson_lines_stall)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"headers\":{\"content-type\":\"application/x-ndjson\"},\"stall_after_chunks\":2,"
           "\"body\":\"{\\\"a\\\":1}\\n{\\\"a\\\":2}\\n{\\\"done\\\":true}\\n\"}");
    struct e2e_stream *s = e2e_stream_start(murl(m, "/api/chat"), "{}", NULL, NULL);
    cr_assert_eq(e2e_stream_wait_bytes(s, 16, 5000), 0);
    cr_assert_eq(e2e_stream_wait_bytes(s, 17, 300), -1);
    e2e_stream_abort(s);
    struct e2e_resp *r = e2e_stream_finish(s, 5000);
    cr_assert_str_eq(r->body, "{\"a\":1}\n{\"a\":2}\n");
    e2e_resp_free(r);
    mock_stop(m);
}

/* ---- provider flows ----------------------------------------------------------------------- */

Test(flow, replicate_predictions)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"name\":\"create-wait\",\"method\":\"POST\",\"path\":\"/v1/models/*/*/predictions\","
           "\"match_headers\":{\"prefer\":\"wait*\"},\"status\":201,"
           "\"headers\":{\"preference-applied\":\"wait\"},"
           "\"body\":{\"id\":\"p1\",\"status\":\"succeeded\",\"output\":[\"Hel\",\"lo\"]}}");
    add(m, "{\"name\":\"create\",\"method\":\"POST\",\"path\":\"/v1/models/*/*/predictions\","
           "\"status\":201,\"body\":{\"id\":\"p1\",\"status\":\"starting\",\"output\":null,"
           "\"urls\":{\"get\":\"{{base}}/v1/predictions/p1\","
           "\"stream\":\"{{base}}/v1/streams/p1\"}}}");
    add(m, "{\"name\":\"poll-busy\",\"method\":\"GET\",\"path\":\"/v1/predictions/p1\","
           "\"times\":2,\"body\":{\"id\":\"p1\",\"status\":\"processing\"}}");
    add(m, "{\"name\":\"poll-done\",\"method\":\"GET\",\"path\":\"/v1/predictions/p1\","
           "\"body\":{\"id\":\"p1\",\"status\":\"succeeded\",\"output\":[\"Hi\"]}}");
    add(m, "{\"name\":\"stream\",\"method\":\"GET\",\"path\":\"/v1/streams/p1\","
           "\"headers\":{\"content-type\":\"text/event-stream\"},"
           "\"body\":\"event: output\\nid: 1:0\\ndata: Hi\\n\\nevent: done\\nid: 1:1\\n"
           "data: {}\\n\\n\"}");
    const char *path = "/v1/models/meta/meta-llama-3-8b-instruct/predictions";

    struct e2e_resp *r = post(m, path, "{\"input\":{}}", "Prefer: wait=10");
    cr_assert_eq(r->status, 201);
    cr_assert_str_eq(e2e_resp_header(r, "preference-applied"), "wait");
    cr_assert_str_eq(jstr(e2e_resp_json(r), "status", NULL), "succeeded");
    e2e_resp_free(r);

    r = post(m, path, "{\"input\":{},\"stream\":true}", NULL);
    cr_assert_eq(r->status, 201);
    const char *get_url = e2e_strf("%s", jstr(e2e_resp_json(r), "urls", "get"));
    const char *stream_url = e2e_strf("%s", jstr(e2e_resp_json(r), "urls", "stream"));
    e2e_resp_free(r);
    cr_assert_str_eq(get_url, murl(m, "/v1/predictions/p1"));
    const char *want[] = {"processing", "processing", "succeeded"};
    for (int i = 0; i < 3; i++) {
        r = e2e_request("GET", get_url, NULL, NULL, 0);
        cr_assert_str_eq(jstr(e2e_resp_json(r), "status", NULL), want[i]);
        e2e_resp_free(r);
    }
    r = e2e_request("GET", stream_url, NULL, "Accept: text/event-stream", 0);
    cr_assert_eq(r->n_events, 2);
    cr_assert_str_eq(r->events[0], "Hi");
    cr_assert_str_eq(r->events[1], "{}");
    e2e_resp_free(r);
    mock_stop(m);
}

/* The first frame of a real Bedrock ConverseStream (providers-A §7.5): total 151, headers
 * 82, prelude CRC 836114b1, message CRC 1bf005af. */
Test(flow, bedrock_eventstream_frames)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"path\":\"/model/*/converse-stream\",\"encode\":\"eventstream\",\"body\":"
           "\"{\\\"event\\\":\\\"messageStart\\\",\\\"payload\\\":{\\\"p\\\":"
           "\\\"abcdefghijklmnopqrstuvwxyz\\\",\\\"role\\\":\\\"assistant\\\"}}\\n"
           "{\\\"exception\\\":\\\"throttlingException\\\",\\\"payload\\\":{\\\"message\\\":"
           "\\\"slow down\\\"}}\\n\"}");
    add(m, "{\"path\":\"/stall/*\",\"encode\":\"eventstream\",\"stall_after_chunks\":1,\"body\":"
           "[{\"event\":\"messageStart\",\"payload\":{\"p\":\"abcdefghijklmnopqrstuvwxyz\","
           "\"role\":\"assistant\"}},{\"event\":\"messageStop\",\"payload\":{}}]}");
    struct e2e_resp *r = post(m, "/model/amazon.nova-lite-v1%3A0/converse-stream", "{}", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "content-type"), "application/vnd.amazon.eventstream");
    const unsigned char head[12] = {0, 0, 0, 0x97, 0, 0, 0, 0x52, 0x83, 0x61, 0x14, 0xb1};
    const unsigned char crc[4] = {0x1b, 0xf0, 0x05, 0xaf};
    cr_assert_gt(r->body_len, 151);
    cr_assert(memcmp(r->body, head, 12) == 0, "prelude differs from Bedrock's");
    cr_assert(memcmp(r->body + 147, crc, 4) == 0, "message CRC differs from Bedrock's");
    const unsigned char *f2 = (const unsigned char *)r->body + 151;
    size_t total2 = (size_t)f2[0] << 24 | (size_t)f2[1] << 16 | (size_t)f2[2] << 8 | f2[3];
    cr_assert_eq(151 + total2, r->body_len);
    cr_assert(memmem(f2, total2,
                     ":message-type\x07\x00\x09"
                     "exception",
                     25));
    e2e_resp_free(r);

    struct e2e_stream *s = e2e_stream_start(murl(m, "/stall/x"), "{}", NULL, NULL);
    cr_assert_eq(e2e_stream_wait_bytes(s, 151, 5000), 0);
    cr_assert_eq(e2e_stream_wait_bytes(s, 152, 300), -1, "frames chunking stops on a boundary");
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 5000));
    mock_stop(m);
}

Test(flow, oauth_token_endpoint)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"method\":\"POST\",\"path\":\"/token\",\"body\":{\"access_token\":\"ya29.mock\","
           "\"expires_in\":3599,\"token_type\":\"Bearer\"}}");
    const char *form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
                       "&assertion=aaa.bbb.ccc";
    struct e2e_resp *r = post(m, "/token", form, "Content-Type: application/x-www-form-urlencoded");
    cr_assert_str_eq(jstr(e2e_resp_json(r), "access_token", NULL), "ya29.mock");
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_str_eq(mock_req_header(q, "content-type"), "application/x-www-form-urlencoded");
    cr_assert_str_eq(mock_req_body(q), form);
    mock_req_free(q);
    e2e_resp_free(r);
    mock_stop(m);
}

/* ---- load and lifecycle ------------------------------------------------------------------- */

Test(load, slow_reader_pause_and_resume)
{
    struct mock *m = e2e_mock(NULL);
    /* More than the kernel can buffer on the way (a loopback receiver's window grows up to
     * net.ipv4.tcp_rmem's maximum, 32 MiB on Debian, plus the sender's 4 MiB): with 4 MiB the
     * whole body could sit in socket buffers, the mock be done, and the check below fail on a
     * loaded machine. */
    size_t n = 48u << 20; /* and under the client's 64 MiB (e2e_http.c) */
    char *big = malloc(n);
    cr_assert(big);
    memset(big, 'a', n);
    cr_assert_eq(
        mock_add_route(m,
                       &(struct mock_route){.body = big, .body_len = n, .chunking = "bytes:65536"}),
        0);
    free(big);
    struct e2e_stream *s = e2e_stream_start(murl(m, "/big"), "{}", NULL,
                                            &(struct e2e_stream_opts){.pause_after_bytes = 100000});
    cr_assert_eq(e2e_stream_wait_paused(s, 10000), 0);
    cr_assert_eq(mock_active_requests(m), 1, "the mock is still sending into a full window");
    e2e_stream_resume(s);
    struct e2e_resp *r = e2e_stream_finish(s, 30000);
    cr_assert_eq(r->curl_code, 0, "%s", r->error);
    cr_assert_eq(r->body_len, n);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(load, a_thousand_held_streams)
{
    enum { N = 1000 };
    static int fds[N];
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"headers\":{\"content-type\":\"text/event-stream\"},\"stall_after_chunks\":1,"
           "\"body\":" SSE4 "}");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)mock_port(m))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    const char *req = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert(fds[i] >= 0, "socket %d: %s", i, strerror(errno));
        cr_assert_eq(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0, "connect %d", i);
        cr_assert_eq(send(fds[i], req, strlen(req), 0), (ssize_t)strlen(req));
    }
    cr_assert_eq(mock_wait_active_requests(m, N, 60000), 0, "active: %d", mock_active_requests(m));
    cr_assert_eq(mock_open_connections(m), N);
    cr_assert_eq(mock_disconnects(m), 0);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    cr_assert_eq(mock_wait_disconnects(m, N, 30000), 0, "disconnects: %d", mock_disconnects(m));
    cr_assert_eq(mock_wait_open_connections(m, 0, 30000), 0);
    cr_assert_eq(mock_active_requests(m), 0);
    mock_stop(m);
}

Test(load, stop_with_held_streams)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"path\":\"/a\",\"stall_after_bytes\":1,\"body\":\"xy\"}");
    add(m, "{\"path\":\"/b\",\"headers_delay_ms\":-1,\"body\":\"xy\"}");
    add(m, "{\"path\":\"/c\",\"chunk_delay_ms\":60000,\"chunking\":\"bytes:1\",\"body\":\"xy\"}");
    struct e2e_stream *s[3];
    const char *paths[3] = {"/a", "/b", "/c"};
    for (int i = 0; i < 3; i++)
        s[i] = e2e_stream_start(murl(m, paths[i]), "{}", NULL, NULL);
    cr_assert_eq(mock_wait_requests(m, 3, 5000), 0);
    cr_assert_eq(e2e_stream_wait_bytes(s[0], 1, 5000), 0);
    cr_assert_eq(e2e_stream_wait_bytes(s[2], 1, 5000), 0);
    mock_stop(m);
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = e2e_stream_finish(s[i], 10000);
        cr_assert(!r->timed_out, "stream %s still held after mock_stop", paths[i]);
        cr_assert_neq(r->curl_code, 0);
        e2e_resp_free(r);
    }
}
