/*
 * ghost - the services table guard plugins receive (struct aigw_guard_host). Each service
 * checks that it is called from the hook it belongs to and records into the run; nothing here
 * does I/O: fetch() only describes the call the lifetime will make.
 */
#include "guard/guard_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/jschema.h"
#include "lib/log.h"
#include "lib/redact.h"
#include "lib/utf8.h"

#define FETCH_HEADERS_MAX 32
#define FETCH_REQ_BODY_CAP (1u << 20)

static struct gw_guard_hctx *hctx(struct aigw_guard_ctx *g)
{
    return (struct gw_guard_hctx *)g;
}

/* The run whose hook g is running now, or NULL when g is called out of turn. */
static struct gw_guard_run *running(struct aigw_guard_ctx *g, int hook)
{
    if (!g)
        return NULL;
    struct gw_guard_hctx *h = hctx(g);
    if (!h->run || h->run->cur != h || (hook && h->run->hook != hook))
        return NULL;
    return h->run;
}

static void h_log(const struct aigw_guard_ctx *g, int level, const char *fmt, ...)
{
    char who[GW_GUARD_NAME_MAX + 8];
    snprintf(who, sizeof who, "guard:%s", g && g->name ? g->name : "?");
    va_list ap;
    va_start(ap, fmt);
    gw_vlogf(level, who, g ? g->request_id : NULL, fmt, ap);
    va_end(ap);
}

static int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *h_alloc(struct aigw_guard_ctx *g, size_t size)
{
    struct gw_guard_hctx *h = g ? hctx(g) : NULL;
    return h && h->run ? gw_arena_alloc(&h->run->arena, size) : NULL;
}

static int h_deny(struct aigw_guard_ctx *g, const char *fmt, ...)
{
    struct gw_guard_run *run = running(g, 0);
    if (!run)
        return AIGW_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->hook_reason, sizeof run->hook_reason, fmt ? fmt : "", ap);
    va_end(ap);
    run->hook_denied = 1;
    return AIGW_GUARD_DENY;
}

/* 1 when pos falls inside a whole UTF-8 sequence of s (after its lead byte, before its end);
 * a stray or truncated one is no character to cut. */
static int inside_char(const char *s, size_t n, size_t pos)
{
    const unsigned char *t = (const unsigned char *)s;
    if (pos >= n || (t[pos] & 0xC0) != 0x80)
        return 0;
    for (size_t k = 1; k <= 3 && k <= pos; k++) {
        unsigned char c = t[pos - k];
        if ((c & 0xC0) == 0x80)
            continue;
        size_t end = pos - k + (c >= 0xF0 ? 4u : c >= 0xE0 ? 3u : c >= 0xC0 ? 2u : 1u);
        if (end <= pos || end > n)
            return 0;
        for (size_t j = pos; j < end; j++)
            if ((t[j] & 0xC0) != 0x80)
                return 0;
        return 1;
    }
    return 0;
}

static int h_replace(struct aigw_guard_ctx *g, size_t off, size_t len, const char *with,
                     size_t with_len)
{
    struct gw_guard_run *run = running(g, 0);
    if (!run || (run->hook != GW_HOOK_DELTA && run->hook != GW_HOOK_ERROR))
        return AIGW_EINVAL;
    if (off > run->text_len || len > run->text_len - off || (with_len && !with))
        return AIGW_EINVAL;
    /* Every renderer writes answer text into JSON as it is: an edit that cuts a character, or
     * writes bytes that are not UTF-8, would send the client text no JSON parser takes. */
    if (inside_char(run->text_ptr, run->text_len, off) ||
        inside_char(run->text_ptr, run->text_len, off + len) ||
        (with_len && gw_utf8_invalid_at(with, with_len) != (size_t)-1))
        return AIGW_EINVAL;
    for (size_t k = 0; k < run->nedits; k++) {
        const struct gw_guard_edit *e = &run->edits[k];
        /* Two edits overlap when their ranges share a byte, or both insert at one offset. */
        if ((off < e->off + e->len && e->off < off + len) || (off == e->off && (!len || !e->len)))
            return AIGW_EINVAL;
    }
    if (run->nedits == run->edits_cap) {
        size_t cap = run->edits_cap ? run->edits_cap * 2 : 16;
        if (cap > GW_GUARD_EDITS_MAX)
            return AIGW_ETOOBIG;
        struct gw_guard_edit *e = realloc(run->edits, cap * sizeof *e);
        if (!e)
            return AIGW_ENOMEM;
        run->edits = e;
        run->edits_cap = cap;
    }
    size_t at = run->edit_bytes.len;
    int rc = with_len ? gw_buf_append(&run->edit_bytes, with, with_len) : 0;
    if (rc)
        return rc;
    run->edits[run->nedits++] = (struct gw_guard_edit){off, len, at, with_len};
    return 0;
}

static int h_retry(struct aigw_guard_ctx *g, const char *fmt, ...)
{
    struct gw_guard_run *run = running(g, GW_HOOK_FINAL);
    if (!run)
        return AIGW_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->hook_reason, sizeof run->hook_reason, fmt ? fmt : "", ap);
    va_end(ap);
    /* A streamed answer has reached the client already; a retried one had its chance. */
    if (run->stream || run->attempt > 0) {
        run->hook_denied = 1;
        return AIGW_GUARD_DENY;
    }
    run->hook_retry = 1;
    return AIGW_GUARD_RETRY;
}

static int http_url(const char *u)
{
    return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) && !strpbrk(u, " \r\n");
}

static int h_fetch(struct aigw_guard_ctx *g, const struct aigw_guard_fetch *req)
{
    struct gw_guard_run *run = running(g, 0);
    if (!run || (run->hook != GW_HOOK_REQUEST && run->hook != GW_HOOK_FINAL) || run->hook_fetched)
        return AIGW_EINVAL;
    struct gw_guard_hctx *h = hctx(g);
    if (!req ||
        req->struct_size < offsetof(struct aigw_guard_fetch, timeout_ms) + sizeof(int64_t) ||
        !http_url(req->url) || (req->body.len && !req->body.ptr))
        return AIGW_EINVAL;
    if (h->fetches >= GW_GUARD_FETCHES_MAX || req->body.len > FETCH_REQ_BODY_CAP)
        return AIGW_ETOOBIG;
    struct gw_arena *a = &run->arena;
    struct gw_guard_fetch_req *f = &run->freq;
    const char *m = req->method ? req->method : "POST";
    size_t nh = 0;
    while (req->headers && req->headers[nh])
        if (++nh > FETCH_HEADERS_MAX)
            return AIGW_ETOOBIG;
    char **hs = gw_arena_alloc(a, (nh + 1) * sizeof *hs);
    f->method = gw_arena_strndup(a, m, strlen(m));
    f->url = gw_arena_strndup(a, req->url, strlen(req->url));
    f->body = gw_arena_strndup(a, req->body.ptr ? req->body.ptr : "", req->body.len);
    if (!hs || !f->method || !f->url || !f->body)
        return AIGW_ENOMEM;
    for (size_t k = 0; k < nh; k++) {
        if (strpbrk(req->headers[k], "\r\n") || !strchr(req->headers[k], ':'))
            return AIGW_EINVAL;
        if (!(hs[k] = gw_arena_strndup(a, req->headers[k], strlen(req->headers[k]))))
            return AIGW_ENOMEM;
    }
    hs[nh] = NULL;
    f->headers = (const char *const *)hs;
    f->body_len = req->body.len;
    f->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : GW_GUARD_FETCH_TIMEOUT_DEFAULT;
    if (f->timeout_ms > GW_GUARD_FETCH_TIMEOUT_CAP)
        f->timeout_ms = GW_GUARD_FETCH_TIMEOUT_CAP;
    f->guard = h->pub.name;
    h->fetches++;
    run->hook_fetched = 1;
    return AIGW_GUARD_PENDING;
}

static _Thread_local int creating;

void gw_guard_host_creating(int on)
{
    creating = on;
}

static void h_secret(const char *value)
{
    /* Only inside create(), on the main thread: redact is read-only while serving.
     * gw_redact_register ignores NULL and very short values. */
    if (creating)
        gw_redact_register(value);
    else
        GW_WARN("a guard called host->secret() outside create(); ignored");
}

static const char *h_env(const char *name)
{
    const char *v = name ? getenv(name) : NULL;
    return v && *v ? v : NULL;
}

static const struct aigw_guard_host host = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard_host),
    .log = h_log,
    .now_ms = h_now_ms,
    .alloc = h_alloc,
    .deny = h_deny,
    .replace = h_replace,
    .retry = h_retry,
    .fetch = h_fetch,
    .secret = h_secret,
    .env = h_env,
    .schema_check = gw_jschema_check,
    .schema_validate = gw_jschema_validate,
};

const struct aigw_guard_host *gw_guard_host(void)
{
    return &host;
}
