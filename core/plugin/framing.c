/* framing - SSE, NDJSON and JSON-sequence framers; event-stream via eventstream.c (see
 * framing.h). */
#include "plugin/framing.h"

#include <string.h>

void gw_framer_init(struct gw_framer *f, int kind, size_t cap)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->cap = cap ? cap : GW_FRAMER_DEFAULT_CAP;
    gw_buf_init(&f->line, f->cap);
    gw_buf_init(&f->data, f->cap);
    gw_buf_init(&f->event, 256);
    if (kind == AIGW_FRAMING_EVENTSTREAM)
        gw_evs_init(&f->evs, 0);
}

void gw_framer_free(struct gw_framer *f)
{
    gw_buf_free(&f->line);
    gw_buf_free(&f->data);
    gw_buf_free(&f->event);
    if (f->kind == AIGW_FRAMING_EVENTSTREAM)
        gw_evs_free(&f->evs);
}

/* Hands over the pending event (or bare object) in f->data and forgets it. */
static int dispatch(struct gw_framer *f, gw_frame_fn fn, void *ud)
{
    struct aigw_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.abi_version = AIGW_ABI_VERSION;
    fr.struct_size = sizeof fr;
    fr.event.ptr = f->event.ptr ? f->event.ptr : "";
    fr.event.len = f->event.len;
    fr.data.ptr = f->data.ptr ? f->data.ptr : "";
    fr.data.len = f->data.len;
    int rc = fn(ud, &fr);
    gw_buf_reset(&f->data);
    gw_buf_reset(&f->event);
    f->have_data = 0;
    return rc;
}

static int dispatch_sse(struct gw_framer *f, gw_frame_fn fn, void *ud)
{
    if (!f->have_data) {
        /* An event with no data (only event:/id:/retry:) is not dispatched, per the SSE spec. */
        gw_buf_reset(&f->event);
        return 0;
    }
    return dispatch(f, fn, ud);
}

/* One complete SSE line (terminator removed). */
static int sse_line(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud)
{
    if (n == 0)
        return dispatch_sse(f, fn, ud);
    if (p[0] == ':')
        return 0; /* comment: keep-alives, pings */
    const char *colon = memchr(p, ':', n);
    size_t nlen = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vlen = colon ? n - nlen - 1 : 0;
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    int rc = 0;
    if (nlen == 4 && memcmp(p, "data", 4) == 0) {
        if (f->have_data)
            rc = gw_buf_append(&f->data, "\n", 1);
        if (!rc)
            rc = gw_buf_append(&f->data, v, vlen);
        f->have_data = 1;
    } else if (nlen == 5 && memcmp(p, "event", 5) == 0) {
        gw_buf_reset(&f->event);
        rc = gw_buf_append(&f->event, v, vlen);
    }
    /* id: and retry: are irrelevant to a one-shot relay; unknown fields are ignored. */
    return rc;
}

static int ndjson_line(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud)
{
    (void)f;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    while (n && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }
    if (n == 0)
        return 0;
    struct aigw_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.abi_version = AIGW_ABI_VERSION;
    fr.struct_size = sizeof fr;
    fr.event.ptr = "";
    fr.data.ptr = p;
    fr.data.len = n;
    return fn(ud, &fr);
}

static size_t skip_blanks(const char *p, size_t n)
{
    size_t k = 0;
    while (k < n && (p[k] == ' ' || p[k] == '\t'))
        k++;
    return k;
}

/* A piece of a bare JSON object (the first piece opens with its '{'): appended to f->data,
 * and dispatched at the brace that closes the object, with strings skipped so a brace inside
 * a message does not count. What follows on that line starts another object or is dropped. */
static int bare_piece(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud)
{
    for (;;) {
        size_t i = 0;
        for (; i < n && !(i && f->bare_depth == 0); i++) {
            char ch = p[i];
            if (f->bare_in_str) {
                if (f->bare_esc)
                    f->bare_esc = 0;
                else if (ch == '\\')
                    f->bare_esc = 1;
                else if (ch == '"')
                    f->bare_in_str = 0;
            } else if (ch == '"') {
                f->bare_in_str = 1;
            } else if (ch == '{') {
                f->bare_depth++;
            } else if (ch == '}') {
                f->bare_depth--;
            }
        }
        int rc = gw_buf_append(&f->data, p, i);
        if (rc || f->bare_depth > 0)
            return rc;
        if ((rc = dispatch(f, fn, ud)) != 0)
            return rc;
        p += i;
        n -= i;
        size_t k = skip_blanks(p, n);
        if (k == n || p[k] != '{')
            return 0;
        p += k;
        n -= k;
    }
}

/* JSON_SEQ: SSE, except that a line opening with '{' outside any object starts a bare JSON
 * object (ending the pending event first), read until its braces balance. */
static int json_seq_line(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud)
{
    if (f->bare_depth > 0) {
        int rc = gw_buf_append(&f->data, "\n", 1);
        return rc ? rc : bare_piece(f, p, n, fn, ud);
    }
    size_t k = skip_blanks(p, n);
    if (k == n || p[k] != '{')
        return sse_line(f, p, n, fn, ud);
    int rc = dispatch_sse(f, fn, ud);
    return rc ? rc : bare_piece(f, p + k, n - k, fn, ud);
}

static int line(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud)
{
    if (f->kind == AIGW_FRAMING_SSE)
        return sse_line(f, p, n, fn, ud);
    if (f->kind == AIGW_FRAMING_JSON_SEQ)
        return json_seq_line(f, p, n, fn, ud);
    return ndjson_line(f, p, n, fn, ud);
}

static int sse_like(const struct gw_framer *f)
{
    return f->kind == AIGW_FRAMING_SSE || f->kind == AIGW_FRAMING_JSON_SEQ;
}

/* The index of the first '\n' or '\r' in p[0..n), or n. Two memchr calls instead of a loop
 * over each byte: streamed answers are mostly long data lines, and the framer ran at five
 * instructions a byte (callgrind: 5 % of a streamed request). */
static size_t line_end(const char *p, size_t n)
{
    const char *lf = memchr(p, '\n', n);
    size_t m = lf ? (size_t)(lf - p) : n;
    const char *cr = memchr(p, '\r', m);
    return cr ? (size_t)(cr - p) : m;
}

int gw_framer_feed(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud)
{
    if (f->kind == AIGW_FRAMING_EVENTSTREAM)
        return gw_evs_feed(&f->evs, p, n, fn, ud);
    if (sse_like(f) && !f->bom_checked) {
        /* A UTF-8 BOM may open the stream; it may also arrive split over feeds. */
        while (n && f->line.len < 3 && !f->bom_checked) {
            static const char bom[3] = {'\xef', '\xbb', '\xbf'};
            if (p[0] != bom[f->line.len]) {
                f->bom_checked = 1;
                break;
            }
            int rc = gw_buf_append(&f->line, p, 1);
            if (rc)
                return rc;
            p++;
            n--;
            if (f->line.len == 3) {
                gw_buf_reset(&f->line);
                f->bom_checked = 1;
            }
        }
        if (!f->bom_checked && n == 0)
            return 0;
        f->bom_checked = 1;
    }
    size_t i = 0;
    while (i < n) {
        if (f->skip_lf) {
            f->skip_lf = 0;
            if (p[i] == '\n') {
                i++;
                continue;
            }
        }
        /* Find the next line terminator: LF, CR or CRLF all end a line. */
        size_t j = i + line_end(p + i, n - i);
        if (j == n) {
            int rc = gw_buf_append(&f->line, p + i, n - i);
            return rc;
        }
        int rc;
        if (f->line.len) {
            rc = gw_buf_append(&f->line, p + i, j - i);
            if (!rc)
                rc = line(f, f->line.ptr, f->line.len, fn, ud);
            gw_buf_reset(&f->line);
        } else {
            rc = line(f, p + i, j - i, fn, ud);
        }
        if (p[j] == '\r')
            f->skip_lf = 1;
        i = j + 1;
        if (rc)
            return rc;
    }
    return 0;
}

int gw_framer_finish(struct gw_framer *f, gw_frame_fn fn, void *ud)
{
    if (f->kind == AIGW_FRAMING_EVENTSTREAM)
        return gw_evs_finish(&f->evs);
    int rc = 0;
    if (f->line.len) {
        rc = line(f, f->line.ptr, f->line.len, fn, ud);
        gw_buf_reset(&f->line);
    }
    if (!rc && f->bare_depth > 0)
        rc = AIGW_EPROTO; /* the body ended inside a bare object */
    if (!rc && sse_like(f))
        rc = dispatch_sse(f, fn, ud);
    return rc;
}
