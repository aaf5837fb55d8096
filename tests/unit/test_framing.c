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
