/*
 * store_log - reading the request log: filtered pages, newest first, with a keyset cursor
 * (time, request id) so a page costs the same at row ten million as at row ten; and one row by
 * request id, with its bodies when they were kept.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/crypto.h"

#define LOG_SELECT                                                                                 \
    "SELECT request_id, ts_ms, key_id, dialect, endpoint, model_asked, model_served, provider,"    \
    " attempts, failures, status, stream, input_tokens, output_tokens, cached_tokens,"             \
    " reasoning_tokens, cost_nusd, latency_ms, ttfb_ms, cache_hit, guardrail, error_code"

static void row_fill(struct gw_log_row *r, const char *const *v)
{
    memset(r, 0, sizeof *r);
    gw_sql_str(r->request_id, sizeof r->request_id, v[0]);
    r->ts_ms = gw_sql_i64(v[1]);
    gw_sql_str(r->key_id, sizeof r->key_id, v[2]);
    gw_sql_str(r->dialect, sizeof r->dialect, v[3]);
    gw_sql_str(r->endpoint, sizeof r->endpoint, v[4]);
    gw_sql_str(r->model_asked, sizeof r->model_asked, v[5]);
    gw_sql_str(r->model_served, sizeof r->model_served, v[6]);
    gw_sql_str(r->provider, sizeof r->provider, v[7]);
    r->attempts = (int)gw_sql_i64(v[8]);
    gw_sql_str(r->failures, sizeof r->failures, v[9]);
    r->status = (int)gw_sql_i64(v[10]);
    r->stream = (int)gw_sql_i64(v[11]);
    r->input_tokens = gw_sql_i64(v[12]);
    r->output_tokens = gw_sql_i64(v[13]);
    r->cached_tokens = gw_sql_i64(v[14]);
    r->reasoning_tokens = gw_sql_i64(v[15]);
    r->cost_usd = v[16] ? gw_nusd_to_usd(gw_sql_i64(v[16])) : -1;
    r->latency_ms = gw_sql_i64(v[17]);
    r->ttfb_ms = gw_sql_i64(v[18]);
    r->cache_hit = (int)gw_sql_i64(v[19]);
    gw_sql_str(r->guardrail, sizeof r->guardrail, v[20]);
    gw_sql_str(r->error_code, sizeof r->error_code, v[21]);
}

/* cursor = "<ts_ms>." base64url(request id) */
static int cursor_make(char *out, size_t size, const struct gw_log_row *r)
{
    size_t idlen = strlen(r->request_id);
    if (size < 24 + gw_base64_encoded_size(idlen))
        return AIGW_ETOOBIG;
    size_t n = gw_fmt_i64(out, size, r->ts_ms);
    out[n++] = '.';
    size_t m = gw_base64_encode(r->request_id, idlen, 1, out + n);
    while (m && out[n + m - 1] == '=')
        m--;
    out[n + m] = '\0';
    return 0;
}

static int cursor_parse(const char *cur, int64_t *ts, char id[64])
{
    const char *dot = strchr(cur, '.');
    if (!dot || dot == cur || dot - cur > 19)
        return AIGW_EINVAL;
    int64_t v = 0;
    for (const char *p = cur; p < dot; p++) {
        if (*p < '0' || *p > '9')
            return AIGW_EINVAL;
        v = v * 10 + (*p - '0');
    }
    size_t n = strlen(dot + 1);
    if (!n || n > 86)
        return AIGW_EINVAL;
    unsigned char raw[72];
    size_t rawlen = 0;
    if (gw_base64_decode(dot + 1, n, raw, &rawlen) != 0 || rawlen == 0 || rawlen > 63 ||
        memchr(raw, 0, rawlen))
        return AIGW_EINVAL;
    memcpy(id, raw, rawlen);
    id[rawlen] = '\0';
    *ts = v;
    return 0;
}

struct page_ctx {
    const struct gw_log_query *q;
    struct gw_log_page *page;
    int limit;
    int more;
    const char *sql;
    struct gw_sql_param p[12];
    int np;
};

static int page_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct page_ctx *pc = ctx;
    if (ncol < 22)
        return AIGW_EINTERNAL;
    if ((int)pc->page->n == pc->limit) {
        pc->more = 1;
        return 0;
    }
    row_fill(&pc->page->rows[pc->page->n++], v);
    return 0;
}

static int do_page(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct page_ctx *pc = ctx;
    pc->page->n = 0;
    pc->more = 0;
    return s->ops->exec(c, pc->sql, pc->p, pc->np, page_row, pc, deadline);
}

int gw_store_log_query(struct gw_store *s, const struct gw_log_query *q, struct gw_log_page *out)
{
    memset(out, 0, sizeof *out);
    int limit = q->limit ? q->limit : 100;
    if (limit < 1 || limit > 1000)
        return AIGW_EINVAL;
    int64_t cts = 0;
    char cid[64] = "";
    if (q->cursor && *q->cursor && cursor_parse(q->cursor, &cts, cid))
        return AIGW_EINVAL;
    struct page_ctx pc = {.q = q, .page = out, .limit = limit};
    struct gw_buf b;
    gw_buf_init(&b, 4096);
    int rc = gw_buf_append_str(&b, LOG_SELECT " FROM aigw_log WHERE 1 = 1");
#define FILTER(cond, param)                                                                        \
    do {                                                                                           \
        pc.p[pc.np++] = (param);                                                                   \
        if (!rc)                                                                                   \
            rc = gw_buf_printf(&b, cond, pc.np);                                                   \
    } while (0)
    if (q->key_id)
        FILTER(" AND key_id = $%d", gw_sql_text(q->key_id));
    if (q->model) {
        FILTER(" AND (model_served = $%d", gw_sql_text(q->model));
        FILTER(" OR model_asked = $%d)", gw_sql_text(q->model));
    }
    if (q->provider)
        FILTER(" AND provider = $%d", gw_sql_text(q->provider));
    if (q->status_min)
        FILTER(" AND status >= $%d", gw_sql_int(q->status_min));
    if (q->status_max)
        FILTER(" AND status <= $%d", gw_sql_int(q->status_max));
    if (q->since_ms)
        FILTER(" AND ts_ms >= $%d", gw_sql_int(q->since_ms));
    if (q->until_ms)
        FILTER(" AND ts_ms < $%d", gw_sql_int(q->until_ms));
    if (cid[0]) {
        FILTER(" AND (ts_ms < $%d", gw_sql_int(cts));
        FILTER(" OR (ts_ms = $%d", gw_sql_int(cts));
        FILTER(" AND request_id < $%d))", gw_sql_text(cid));
    }
    FILTER(" ORDER BY ts_ms DESC, request_id DESC LIMIT $%d", gw_sql_int(limit + 1));
#undef FILTER
    out->rows = calloc((size_t)limit, sizeof *out->rows);
    if (!rc && !out->rows)
        rc = AIGW_ENOMEM;
    pc.sql = b.ptr;
    if (!rc)
        rc = gw_store_read(s, "log_query", do_page, &pc);
    gw_buf_free(&b);
    if (rc) {
        gw_log_page_free(out);
        return rc;
    }
    if (pc.more && out->n)
        cursor_make(out->next_cursor, sizeof out->next_cursor, &out->rows[out->n - 1]);
    return 0;
}

void gw_log_page_free(struct gw_log_page *p)
{
    for (size_t i = 0; p->rows && i < p->n; i++)
        gw_log_row_free(&p->rows[i]);
    free(p->rows);
    memset(p, 0, sizeof *p);
}

void gw_log_row_free(struct gw_log_row *r)
{
    free(r->request_body);
    free(r->response_body);
    r->request_body = r->response_body = NULL;
    r->request_body_len = r->response_body_len = 0;
}

struct get_ctx {
    const char *id;
    struct gw_log_row *r;
    int found;
    int rc;
};

static char *dup_len(const char *v, size_t n, size_t *out_len)
{
    *out_len = 0;
    if (!v)
        return NULL;
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, v, n);
        c[n] = '\0';
        *out_len = n;
    }
    return c;
}

static int get_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    struct get_ctx *g = ctx;
    if (ncol < 24)
        return AIGW_EINTERNAL;
    gw_log_row_free(g->r);
    row_fill(g->r, v);
    g->r->request_body = dup_len(v[22], len[22], &g->r->request_body_len);
    g->r->response_body = dup_len(v[23], len[23], &g->r->response_body_len);
    if ((v[22] && !g->r->request_body) || (v[23] && !g->r->response_body))
        return AIGW_ENOMEM;
    g->found = 1;
    return 0;
}

static int do_get(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct get_ctx *g = ctx;
    struct gw_sql_param p = gw_sql_text(g->id);
    return s->ops->exec(c,
                        LOG_SELECT ", request_body, response_body FROM aigw_log"
                                   " WHERE request_id = $1",
                        &p, 1, get_row, g, deadline);
}

int gw_store_log_get(struct gw_store *s, const char *request_id, struct gw_log_row *out)
{
    memset(out, 0, sizeof *out);
    if (!request_id || !*request_id)
        return GW_STORE_ENOTFOUND;
    struct get_ctx g = {request_id, out, 0, 0};
    int rc = gw_store_read(s, "log_query", do_get, &g);
    if (rc) {
        gw_log_row_free(out);
        return rc;
    }
    return g.found ? 0 : GW_STORE_ENOTFOUND;
}
