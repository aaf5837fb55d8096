/* framing: SSE and NDJSON framers give the same frames however the bytes are split. */
#include <string.h>

#include <criterion/criterion.h>

#include "plugin/framing.h"

struct rec {
    struct gw_buf out;
    int n;
};

static int record(void *ud, const struct aigw_frame *f)
{
    struct rec *r = ud;
    r->n++;
    gw_buf_printf(&r->out, "[%.*s|%.*s]", (int)f->event.len, f->event.ptr, (int)f->data.len,
                  f->data.ptr);
    return 0;
}

/* Feeds s with pieces of `split` bytes (0 = whole) and returns the recorded frames. */
static char *frames(int kind, const char *s, size_t split, int *count)
{
    struct gw_framer f;
    struct rec r = {.n = 0};
    gw_buf_init(&r.out, 0);
    gw_buf_append(&r.out, "", 0);
    gw_framer_init(&f, kind, 1 << 16);
    size_t n = strlen(s), step = split ? split : (n ? n : 1);
    for (size_t off = 0; off < n; off += step)
        cr_assert_eq(gw_framer_feed(&f, s + off, n - off < step ? n - off : step, record, &r), 0);
    cr_assert_eq(gw_framer_finish(&f, record, &r), 0);
    gw_framer_free(&f);
    if (count)
        *count = r.n;
    return gw_buf_steal(&r.out, NULL);
}

static void same_for_every_split(int kind, const char *s, const char *expect)
{
    for (size_t split = 0; split <= strlen(s); split++) {
        char *got = frames(kind, s, split, NULL);
        cr_assert_str_eq(got, expect, "split %zu", split);
        free(got);
    }
}

Test(framing, sse_basic_and_every_split)
{
    same_for_every_split(AIGW_FRAMING_SSE,
                         "data: {\"a\":1}\n\ndata: [DONE]\n\n",
                         "[|{\"a\":1}][|[DONE]]");
}

Test(framing, sse_crlf_and_cr_line_endings)
{
    same_for_every_split(AIGW_FRAMING_SSE, "data: x\r\n\r\ndata: y\r\rdata: z\n\n",
                         "[|x][|y][|z]");
}

Test(framing, sse_comments_event_names_and_multiline_data)
{
    same_for_every_split(AIGW_FRAMING_SSE,
                         ": keep-alive\n\nevent: output\ndata: line1\ndata:line2\nid: 7\n\n"
                         "event: done\ndata: {}\n\n",
                         "[output|line1\nline2][done|{}]");
}

Test(framing, sse_event_without_data_is_not_dispatched)
{
    same_for_every_split(AIGW_FRAMING_SSE, "event: ping\n\ndata: a\n\n", "[|a]");
}

Test(framing, sse_bom_and_missing_final_blank_line)
{
    same_for_every_split(AIGW_FRAMING_SSE, "\xef\xbb\xbf" "data: a\n\ndata: b", "[|a][|b]");
}

Test(framing, sse_field_without_space_and_empty_data)
{
    same_for_every_split(AIGW_FRAMING_SSE, "data:x\n\ndata\n\n", "[|x][|]");
}

Test(framing, ndjson_lines)
{
    same_for_every_split(AIGW_FRAMING_NDJSON, "{\"a\":1}\n\n  {\"b\":2}\r\n{\"c\":3}",
                         "[|{\"a\":1}][|{\"b\":2}][|{\"c\":3}]");
}

Test(framing, a_frame_over_the_cap_is_refused)
{
    struct gw_framer f;
    struct rec r = {.n = 0};
    gw_buf_init(&r.out, 0);
    gw_framer_init(&f, AIGW_FRAMING_SSE, 64);
    char big[200];
    memset(big, 'x', sizeof big);
    int rc = gw_framer_feed(&f, "data: ", 6, record, &r);
    cr_assert_eq(rc, 0);
    rc = gw_framer_feed(&f, big, sizeof big, record, &r);
    cr_assert_eq(rc, AIGW_ETOOBIG);
    gw_framer_free(&f);
    gw_buf_free(&r.out);
}

static int stop_after_first(void *ud, const struct aigw_frame *f)
{
    (void)f;
    int *n = ud;
    return ++*n == 1 ? 7 : 0;
}

Test(framing, a_callback_can_stop_the_feed)
{
    struct gw_framer f;
    int n = 0;
    gw_framer_init(&f, AIGW_FRAMING_NDJSON, 0);
    cr_assert_eq(gw_framer_feed(&f, "a\nb\nc\n", 6, stop_after_first, &n), 7);
    cr_assert_eq(n, 1);
    gw_framer_free(&f);
}

/* ---- JSON sequences (1.2): SSE events plus bare JSON objects between them ---------------- */

/* Feeds s[0, cut) then s[cut, n); returns the frames and the finish code in *rc. */
static char *frames_cut(int kind, const char *s, size_t cut, int *rc)
{
    struct gw_framer f;
    struct rec r = {.n = 0};
    gw_buf_init(&r.out, 0);
    gw_buf_append(&r.out, "", 0);
    gw_framer_init(&f, kind, 1 << 16);
    size_t n = strlen(s);
    *rc = gw_framer_feed(&f, s, cut, record, &r);
    if (*rc == 0)
        *rc = gw_framer_feed(&f, s + cut, n - cut, record, &r);
    if (*rc == 0)
        *rc = gw_framer_finish(&f, record, &r);
    gw_framer_free(&f);
    return gw_buf_steal(&r.out, NULL);
}

/* The same frames and the same end code when the body is cut in two at every offset, and when
 * it comes in pieces of every size. */
static void json_seq_every_offset(const char *s, const char *expect, int expect_rc)
{
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
        int rc;
        char *got = frames_cut(AIGW_FRAMING_JSON_SEQ, s, cut, &rc);
        cr_assert_str_eq(got, expect, "cut at %zu", cut);
        cr_assert_eq(rc, expect_rc, "cut at %zu: rc %d", cut, rc);
        free(got);
    }
    if (expect_rc == 0)
        same_for_every_split(AIGW_FRAMING_JSON_SEQ, s, expect);
}

/* What Google sends when a stream fails: data events (CRLF), then a bare multi-line error
 * object with no data: prefix, braces and escaped quotes inside its strings. */
Test(framing, json_seq_gemini_error_ending)
{
    json_seq_every_offset("data: {\"a\":1}\r\n\r\n"
                          "data: {\"b\":2}\r\n\r\n"
                          "{\n"
                          "  \"error\": {\n"
                          "    \"message\": \"overloaded {retry} \\\"later\\\" }\",\n"
                          "    \"status\": \"UNAVAILABLE\"\n"
                          "  }\n"
                          "}\n",
                          "[|{\"a\":1}][|{\"b\":2}]"
                          "[|{\n  \"error\": {\n"
                          "    \"message\": \"overloaded {retry} \\\"later\\\" }\",\n"
                          "    \"status\": \"UNAVAILABLE\"\n  }\n}]",
                          0);
}

Test(framing, json_seq_is_sse_for_events)
{
    json_seq_every_offset("\xef\xbb\xbf: ping\n\nevent: e\ndata: x\ndata: y\nid: 1\n\n"
                          "data: [DONE]\n\n",
                          "[e|x\ny][|[DONE]]", 0);
}

Test(framing, json_seq_bare_object_ends_the_pending_event)
{
    json_seq_every_offset("data: a\n  {\"x\":1}\ndata: b\n\n", "[|a][|{\"x\":1}][|b]", 0);
}

Test(framing, json_seq_objects_on_one_line_and_blank_lines_inside)
{
    json_seq_every_offset("{\"a\":\"}\"} {\"b\":{}}  trailing\n{\n\n\"c\":3}",
                          "[|{\"a\":\"}\"}][|{\"b\":{}}][|{\n\n\"c\":3}]", 0);
}

Test(framing, json_seq_ending_inside_an_object_is_a_protocol_error)
{
    json_seq_every_offset("data: a\n\n{\"error\": {\"code\": 503}\n", "[|a]", AIGW_EPROTO);
    json_seq_every_offset("{\"s\": \"}\n", "", AIGW_EPROTO);
}

Test(framing, json_seq_object_over_the_cap_is_refused)
{
    struct gw_framer f;
    struct rec r = {.n = 0};
    gw_buf_init(&r.out, 0);
    gw_framer_init(&f, AIGW_FRAMING_JSON_SEQ, 64);
    cr_assert_eq(gw_framer_feed(&f, "{\"a\":\"", 6, record, &r), 0);
    int rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = gw_framer_feed(&f, "xxxxxxxxxx\n", 11, record, &r);
    cr_assert_eq(rc, AIGW_ETOOBIG);
    cr_assert_eq(r.n, 0);
    gw_framer_free(&f);
    gw_buf_free(&r.out);
}
