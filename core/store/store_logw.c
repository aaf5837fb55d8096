/*
 * store_logw - the request log's write side: copying a row into the queue on the request
 * thread, inserting batches on the writer with their daily rollups in the same transaction
 * (only rows really inserted count, so a row written twice cannot skew the dashboards), and
 * retention, which deletes in small batches between write batches.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/redact.h"
#include "lib/utf8.h"

#define LOG_COLS 24
#define LOG_CHUNK 32 /* rows whose parameters are on the stack at once */
#define RETENTION_BATCH 1000

const int64_t gw_store_hist_bounds[STORE_HIST_N - 1] = {
    10,   25,   50,   100,   200,   300,   500,   750,   1000,   1500,   2000,
    3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000, 120000, 300000,
};

int gw_store_hist_bucket(int64_t ms)
{
    int i = 0;
    while (i < STORE_HIST_N - 1 && ms > gw_store_hist_bounds[i])
        i++;
    return i;
}

/* A body as the queue, the crash spool and the database keep it: redacted (registered
 * secrets, bearer tokens) before anything is written anywhere, then cut to cap at a
 * character's start. Redacting first finds a secret that straddles the cut whole (the caller
 * passes up to GW_STORE_BODY_MARGIN bytes past cap); cutting first stored its first half. */
static char *body_copy(const char *p, size_t n, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (!p || !n)
        return NULL;
    if (n > cap + GW_STORE_BODY_MARGIN)
        n = cap + GW_STORE_BODY_MARGIN;
    size_t room = n + 256; /* as body_clean: masks may be longer than what they hide */
    char *c = malloc(room);
    if (!c)
        return NULL;
    size_t m = gw_utf8_cut(c, gw_redact(p, n, c, room), cap);
    c[m] = '\0';
    *out_len = m;
    return c;
}

#define TERMINATE(a) ((a)[sizeof(a) - 1] = '\0', gw_sql_clean_inplace(a))

struct store_log *gw_store_log_item(struct gw_store *s, const struct gw_log_row *r)
{
    struct store_log *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->row = *r;
    struct gw_log_row *w = &it->row;
    w->request_body = w->response_body = NULL;
    w->request_body_len = w->response_body_len = 0;
    if (atomic_load(&s->log_bodies)) {
        w->request_body = body_copy(r->request_body, r->request_body_len, s->o.log_body_cap,
                                    &w->request_body_len);
        w->response_body = body_copy(r->response_body, r->response_body_len, s->o.log_body_cap,
                                     &w->response_body_len);
    }
    TERMINATE(w->request_id);
    TERMINATE(w->key_id);
    TERMINATE(w->dialect);
    TERMINATE(w->endpoint);
    TERMINATE(w->model_asked);
    TERMINATE(w->model_served);
    TERMINATE(w->provider);
    TERMINATE(w->failures);
    TERMINATE(w->guardrail);
    TERMINATE(w->error_code);
    if (!w->ts_ms)
        w->ts_ms = gw_store_now_ms();
    it->link.bytes = sizeof *it + w->request_body_len + w->response_body_len;
    return it;
}

int gw_store_log_put(struct gw_store *s, const struct gw_log_row *r)
{
    if (!r || !r->request_id[0])
        return AIGW_EINVAL;
    struct store_log *it = gw_store_log_item(s, r);
    if (!it) {
        pthread_mutex_lock(&s->mu);
        s->st.log_dropped++;
        pthread_mutex_unlock(&s->mu);
        gw_store_dropped(s, "request_log", 1);
        return 0;
    }
    gw_store_enqueue_log(s, it);
    return 0;
}

/* A body as stored: redacted (registered secrets, bearer tokens), valid UTF-8. */
static char *body_clean(const char *p, size_t n)
{
    if (!p)
        return NULL;
    size_t cap = n + 256;
    char *red = malloc(cap);
    if (!red)
        return NULL;
    size_t m = gw_redact(p, n, red, cap);
    char *out = gw_sql_clean_dup(red, m);
    free(red);
    return out;
}

struct roll {
    int64_t day;
    const char *key_id, *model, *provider;
    int64_t requests, errors, in, out, cached, reasoning, nusd, cache_hits;
    int64_t hist[2][STORE_HIST_N];
};

static int64_t nonneg(int64_t v)
{
    return v > 0 ? v : 0;
}

static void roll_add(struct roll *g, size_t *ng, const struct gw_log_row *r)
{
    int64_t day = r->ts_ms / 86400000;
    const char *model = r->model_served[0] ? r->model_served : r->model_asked;
    struct roll *x = NULL;
    for (size_t i = 0; i < *ng && !x; i++)
        if (g[i].day == day && !strcmp(g[i].key_id, r->key_id) && !strcmp(g[i].model, model) &&
            !strcmp(g[i].provider, r->provider))
            x = &g[i];
    if (!x) {
        x = &g[(*ng)++];
        memset(x, 0, sizeof *x);
        x->day = day;
        x->key_id = r->key_id;
        x->model = model;
        x->provider = r->provider;
    }
    x->requests++;
    x->errors += r->status >= 400;
    x->cache_hits += r->cache_hit != 0;
    /* A response cache hit's row keeps the usage it replayed (what the first answer cost),
     * but no upstream spent it: the totals count its request and its hit, no token and no
     * cost, as the ledger, the counters and the key's metrics do. */
    if (!r->cache_hit) {
        x->in += nonneg(r->input_tokens);
        x->out += nonneg(r->output_tokens);
        x->cached += nonneg(r->cached_tokens);
        x->reasoning += nonneg(r->reasoning_tokens);
        x->nusd += r->cost_usd < 0 ? 0 : gw_usd_to_nusd(r->cost_usd);
    }
    x->hist[0][gw_store_hist_bucket(nonneg(r->latency_ms))]++;
    if (r->ttfb_ms >= 0)
        x->hist[1][gw_store_hist_bucket(r->ttfb_ms)]++;
}

/* Upserts rows of unique keys (as a multi-row upsert needs: unique by construction here). */
static int upsert(struct gw_store *s, struct gw_sql_conn *c, const char *prefix, int cols,
                  const struct gw_sql_param *p, int rows, const char *suffix, int64_t deadline)
{
    struct gw_sql_rows q = {
        .prefix = prefix, .suffix = suffix, .cols = cols, .p = p, .rows = (size_t)rows};
    return gw_sql_rows_exec(s, c, &q, deadline);
}

#define DAILY_COLS 12
#define HIST_COLS 7
#define UPSERT_ROWS 64

static const char daily_sql[] =
    "INSERT INTO aigw_usage_daily (day, key_id, model, provider, requests, errors,"
    " input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nusd, cache_hits)"
    " VALUES ";
static const char daily_tail[] =
    " ON CONFLICT (day, key_id, model, provider) DO UPDATE SET"
    " requests = aigw_usage_daily.requests + excluded.requests,"
    " errors = aigw_usage_daily.errors + excluded.errors,"
    " input_tokens = aigw_usage_daily.input_tokens + excluded.input_tokens,"
    " output_tokens = aigw_usage_daily.output_tokens + excluded.output_tokens,"
    " cached_tokens = aigw_usage_daily.cached_tokens + excluded.cached_tokens,"
    " reasoning_tokens = aigw_usage_daily.reasoning_tokens + excluded.reasoning_tokens,"
    " cost_nusd = aigw_usage_daily.cost_nusd + excluded.cost_nusd,"
    " cache_hits = aigw_usage_daily.cache_hits + excluded.cache_hits";
static const char hist_sql[] =
    "INSERT INTO aigw_usage_hist (day, key_id, model, provider, kind, bucket, n) VALUES ";
static const char hist_tail[] = " ON CONFLICT (day, key_id, model, provider, kind, bucket)"
                                " DO UPDATE SET n = aigw_usage_hist.n + excluded.n";

static int write_rollups(struct gw_store *s, struct gw_sql_conn *c, struct roll *g, size_t ng,
                         int64_t deadline)
{
    struct gw_sql_param p[UPSERT_ROWS * DAILY_COLS];
    int rc = 0, rows = 0;
    for (size_t i = 0; !rc && i < ng; i++) {
        struct gw_sql_param *q = p + rows * DAILY_COLS;
        q[0] = gw_sql_int(g[i].day);
        q[1] = gw_sql_text(g[i].key_id);
        q[2] = gw_sql_text(g[i].model);
        q[3] = gw_sql_text(g[i].provider);
        q[4] = gw_sql_int(g[i].requests);
        q[5] = gw_sql_int(g[i].errors);
        q[6] = gw_sql_int(g[i].in);
        q[7] = gw_sql_int(g[i].out);
        q[8] = gw_sql_int(g[i].cached);
        q[9] = gw_sql_int(g[i].reasoning);
        q[10] = gw_sql_int(g[i].nusd);
        q[11] = gw_sql_int(g[i].cache_hits);
        if (++rows == UPSERT_ROWS || i + 1 == ng) {
            rc = upsert(s, c, daily_sql, DAILY_COLS, p, rows, daily_tail, deadline);
            rows = 0;
        }
    }
    struct gw_sql_param h[UPSERT_ROWS * HIST_COLS];
    rows = 0;
    for (size_t i = 0; !rc && i < ng; i++) {
        for (int kind = 0; !rc && kind < 2; kind++) {
            for (int b = 0; !rc && b < STORE_HIST_N; b++) {
                if (!g[i].hist[kind][b])
                    continue;
                struct gw_sql_param *q = h + rows * HIST_COLS;
                q[0] = gw_sql_int(g[i].day);
                q[1] = gw_sql_text(g[i].key_id);
                q[2] = gw_sql_text(g[i].model);
                q[3] = gw_sql_text(g[i].provider);
                q[4] = gw_sql_int(kind);
                q[5] = gw_sql_int(b);
                q[6] = gw_sql_int(g[i].hist[kind][b]);
                if (++rows == UPSERT_ROWS) {
                    rc = upsert(s, c, hist_sql, HIST_COLS, h, rows, hist_tail, deadline);
                    rows = 0;
                }
            }
        }
    }
    if (!rc && rows)
        rc = upsert(s, c, hist_sql, HIST_COLS, h, rows, hist_tail, deadline);
    return rc;
}

static const char log_sql[] =
    "INSERT INTO aigw_log (request_id, ts_ms, key_id, dialect, endpoint, model_asked,"
    " model_served, provider, attempts, failures, status, stream, input_tokens, output_tokens,"
    " cached_tokens, reasoning_tokens, cost_nusd, latency_ms, ttfb_ms, cache_hit, guardrail,"
    " error_code, request_body, response_body) VALUES ";
static const char log_tail[] = " ON CONFLICT (request_id) DO NOTHING RETURNING request_id";
static const char log_tail_counted[] = " ON CONFLICT (request_id) DO NOTHING";

struct log_hits {
    struct store_log *const *rows;
    unsigned char *hit;
    const struct gw_sql_rows *q;
};

/* A row the database took: marks it among the statement's rows (the same id twice in one
 * statement comes back once, and only its first row counts). */
static int mark(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct log_hits *h = ctx;
    for (size_t i = h->q->at; ncol > 0 && v[0] && i < h->q->at + h->q->n; i++) {
        if (!h->hit[i] && !strcmp(h->rows[i]->row.request_id, v[0])) {
            h->hit[i] = 1;
            break;
        }
    }
    return 0;
}

/* A gw_sql_insert_fn: with returning, each row taken is marked in hit */
static int insert_chunk(const struct gw_sql_batch *b, size_t at, size_t n, int returning)
{
    struct store_log *const *rows = (struct store_log *const *)b->rows + at;
    unsigned char *hit = b->hit + at;
    const char *tail = returning ? log_tail : log_tail_counted;
    struct gw_sql_param p[LOG_CHUNK * LOG_COLS];
    char *bodies[LOG_CHUNK * 2] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct gw_log_row *r = &rows[i]->row;
        struct gw_sql_param *q = p + i * LOG_COLS;
        bodies[2 * i] = body_clean(r->request_body, r->request_body_len);
        bodies[2 * i + 1] = body_clean(r->response_body, r->response_body_len);
        q[0] = gw_sql_text(r->request_id);
        q[1] = gw_sql_int(r->ts_ms);
        q[2] = gw_sql_text(r->key_id);
        q[3] = gw_sql_text(r->dialect);
        q[4] = gw_sql_text(r->endpoint);
        q[5] = gw_sql_text(r->model_asked);
        q[6] = gw_sql_text(r->model_served);
        q[7] = gw_sql_text(r->provider);
        q[8] = gw_sql_int(r->attempts);
        q[9] = gw_sql_text(r->failures);
        q[10] = gw_sql_int(r->status);
        q[11] = gw_sql_int(r->stream != 0);
        q[12] = gw_sql_int(r->input_tokens < 0 ? -1 : r->input_tokens);
        q[13] = gw_sql_int(r->output_tokens < 0 ? -1 : r->output_tokens);
        q[14] = gw_sql_int(r->cached_tokens < 0 ? -1 : r->cached_tokens);
        q[15] = gw_sql_int(r->reasoning_tokens < 0 ? -1 : r->reasoning_tokens);
        q[16] = r->cost_usd < 0 ? gw_sql_null() : gw_sql_int(gw_usd_to_nusd(r->cost_usd));
        q[17] = gw_sql_int(r->latency_ms);
        q[18] = gw_sql_int(r->ttfb_ms < 0 ? -1 : r->ttfb_ms);
        q[19] = gw_sql_int(r->cache_hit != 0);
        q[20] = gw_sql_text(r->guardrail);
        q[21] = gw_sql_text(r->error_code);
        q[22] = gw_sql_text(bodies[2 * i]);
        q[23] = gw_sql_text(bodies[2 * i + 1]);
    }
    struct gw_sql_rows q = {.prefix = log_sql,
                            .suffix = tail,
                            .cols = LOG_COLS,
                            .p = p,
                            .rows = n,
                            .row = tail == log_tail ? mark : NULL};
    struct log_hits h = {rows, hit, &q};
    q.ctx = &h;
    int rc = gw_sql_rows_exec(b->s, b->c, &q, b->deadline);
    for (size_t i = 0; i < 2 * n; i++)
        free(bodies[i]);
    return rc;
}

int gw_store_write_logs(struct gw_store *s, struct gw_sql_conn *c, struct store_log **rows,
                        size_t n, int64_t deadline)
{
    unsigned char *hit = calloc(n, 1);
    struct roll *g = calloc(n, sizeof *g);
    int rc = hit && g ? 0 : AIGW_ENOMEM;
    struct gw_sql_batch b = {s, c, rows, n, hit, deadline};
    if (!rc)
        rc = gw_sql_insert_counted(&b, LOG_CHUNK, insert_chunk);
    size_t ng = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (hit[i])
            roll_add(g, &ng, &rows[i]->row);
    if (!rc)
        rc = write_rollups(s, c, g, ng, deadline);
    free(hit);
    free(g);
    return rc;
}

static int count_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)ncol;
    (void)v;
    (void)len;
    (*(int *)ctx)++;
    return 0;
}

static int delete_batch(struct gw_store *s, struct gw_sql_conn *c, const char *sql, int64_t cutoff,
                        int64_t deadline)
{
    struct gw_sql_param p[] = {gw_sql_int(cutoff), gw_sql_int(RETENTION_BATCH)};
    int n = 0;
    int rc = gw_sql_tx(s, c, "begin", deadline);
    if (!rc)
        rc = s->ops->exec(c, sql, p, 2, count_row, &n, deadline);
    if (!rc)
        rc = gw_sql_tx(s, c, "commit", deadline);
    if (rc) {
        gw_sql_tx(s, c, "rollback", deadline);
        return rc;
    }
    return n == RETENTION_BATCH;
}

int gw_store_retention_step(struct gw_store *s, struct gw_sql_conn *c, int64_t now_ms,
                            int64_t deadline)
{
    int more = 0;
    int days = atomic_load(&s->log_retention_days);
    if (days > 0) {
        int64_t cutoff = now_ms - (int64_t)days * 86400000;
        more = delete_batch(s, c,
                            "DELETE FROM aigw_log WHERE request_id IN (SELECT request_id FROM"
                            " aigw_log WHERE ts_ms < $1 LIMIT $2) RETURNING request_id",
                            cutoff, deadline);
        if (more < 0)
            return more;
    }
    int r = delete_batch(s, c,
                         "DELETE FROM aigw_responses WHERE id IN (SELECT id FROM aigw_responses"
                         " WHERE expires_at > 0 AND expires_at <= $1 LIMIT $2) RETURNING id",
                         now_ms / 1000, deadline);
    return r < 0 ? r : more || r;
}

static int retention_all(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    int64_t now_ms = *(int64_t *)ctx;
    int rc;
    do
        rc = gw_store_retention_step(s, c, now_ms, gw_store_mono_ms() + STORE_WRITE_MS);
    while (rc == 1);
    return rc;
}

int gw_store_run_retention(struct gw_store *s, int64_t now_ms)
{
    return gw_store_call(s, retention_all, &now_ms);
}
