/*
 * store_usage - usage reports from the daily rollups (never the raw log, which is what made
 * peers' dashboards stall at a few million rows). Sums come straight from SQL; latency and
 * TTFB percentiles are estimated from merged per-day histograms, interpolated inside the
 * bucket that holds the percentile.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

/* Groups a report shows: the busiest, when there are more (one client inventing a model name
 * per request makes as many groups as requests); the totals still count every one. */
#define USAGE_MAX_GROUPS 10000

struct ugroup {
    struct gw_usage_row row;
    int64_t nusd;
    int64_t hist[2][STORE_HIST_N];
};

struct usage_ctx {
    const struct gw_usage_query *q;
    struct ugroup *g;
    size_t n, cap;
    struct ugroup total; /* before gw_store_usage: the groups not kept only */
    int truncated;
    int64_t first_day, last_day;
};

static void day_name(int64_t day, char *out, size_t size)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%d", &tm);
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const struct ugroup *)a)->row.group, ((const struct ugroup *)b)->row.group);
}

static void group_key(const struct usage_ctx *u, const char *v, char *out, size_t size)
{
    if (u->q->group_by == GW_USAGE_DAY)
        day_name(gw_sql_i64(v), out, size);
    else
        gw_sql_str(out, size, v);
}

static int sum_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct usage_ctx *u = ctx;
    if (ncol < 10)
        return AIGW_EINTERNAL;
    if (u->n == USAGE_MAX_GROUPS) {
        /* rows come busiest first: the rest only count in the totals */
        struct gw_usage_row *t = &u->total.row;
        t->requests += gw_sql_i64(v[1]);
        t->errors += gw_sql_i64(v[2]);
        t->input_tokens += gw_sql_i64(v[3]);
        t->output_tokens += gw_sql_i64(v[4]);
        t->cached_tokens += gw_sql_i64(v[5]);
        t->reasoning_tokens += gw_sql_i64(v[6]);
        u->total.nusd += gw_sql_i64(v[7]);
        t->cache_hits += gw_sql_i64(v[8]);
        u->truncated = 1;
        return 0;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        if (cap > USAGE_MAX_GROUPS)
            cap = USAGE_MAX_GROUPS;
        struct ugroup *g = realloc(u->g, cap * sizeof *g);
        if (!g)
            return AIGW_ENOMEM;
        u->g = g;
        u->cap = cap;
    }
    struct ugroup *g = &u->g[u->n++];
    memset(g, 0, sizeof *g);
    group_key(u, v[0], g->row.group, sizeof g->row.group);
    g->row.requests = gw_sql_i64(v[1]);
    g->row.errors = gw_sql_i64(v[2]);
    g->row.input_tokens = gw_sql_i64(v[3]);
    g->row.output_tokens = gw_sql_i64(v[4]);
    g->row.cached_tokens = gw_sql_i64(v[5]);
    g->row.reasoning_tokens = gw_sql_i64(v[6]);
    g->nusd = gw_sql_i64(v[7]);
    g->row.cache_hits = gw_sql_i64(v[8]);
    return 0;
}

static int hist_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct usage_ctx *u = ctx;
    if (ncol < 4)
        return AIGW_EINTERNAL;
    int64_t kind = gw_sql_i64(v[1]), b = gw_sql_i64(v[2]), n = gw_sql_i64(v[3]);
    if (kind < 0 || kind > 1 || b < 0 || b >= STORE_HIST_N)
        return 0;
    struct ugroup key;
    group_key(u, v[0], key.row.group, sizeof key.row.group);
    struct ugroup *g = u->n ? bsearch(&key, u->g, u->n, sizeof *u->g, cmp_group) : NULL;
    if (g)
        g->hist[kind][b] += n;
    u->total.hist[kind][b] += n;
    return 0;
}

static const char *group_col(enum gw_usage_group g)
{
    switch (g) {
    case GW_USAGE_KEY:
        return "key_id";
    case GW_USAGE_MODEL:
        return "model";
    case GW_USAGE_PROVIDER:
        return "provider";
    default:
        return "day";
    }
}

static int do_usage(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct usage_ctx *u = ctx;
    const char *col = group_col(u->q->group_by);
    struct gw_sql_param p[3] = {gw_sql_int(u->first_day), gw_sql_int(u->last_day),
                                gw_sql_text(u->q->key_id)};
    int np = u->q->key_id ? 3 : 2;
    const char *kf = u->q->key_id ? " AND key_id = $3" : "";
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT %s, SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens),"
             " SUM(cached_tokens), SUM(reasoning_tokens), SUM(cost_nusd), SUM(cache_hits), 0"
             " FROM aigw_usage_daily WHERE day >= $1 AND day <= $2%s GROUP BY %s"
             " ORDER BY 2 DESC",
             col, kf, col);
    u->n = 0;
    u->truncated = 0;
    memset(&u->total, 0, sizeof u->total);
    int rc = s->ops->exec(c, sql, p, np, sum_row, u, deadline);
    if (rc)
        return rc;
    /* the database's collation is not strcmp: sort here so bsearch and the output agree */
    if (u->n)
        qsort(u->g, u->n, sizeof *u->g, cmp_group);
    snprintf(sql, sizeof sql,
             "SELECT %s, kind, bucket, SUM(n) FROM aigw_usage_hist"
             " WHERE day >= $1 AND day <= $2%s GROUP BY %s, kind, bucket",
             col, kf, col);
    return s->ops->exec(c, sql, p, np, hist_row, u, deadline);
}

/* The q-quantile of a histogram, interpolated in its bucket; -1 when empty. */
static double quantile(const int64_t *h, double q)
{
    int64_t total = 0;
    for (int i = 0; i < STORE_HIST_N; i++)
        total += h[i];
    if (!total)
        return -1;
    double target = q * (double)total, cum = 0;
    for (int i = 0; i < STORE_HIST_N; i++) {
        if (!h[i] || cum + (double)h[i] < target) {
            cum += (double)h[i];
            continue;
        }
        double lo = i ? (double)gw_store_hist_bounds[i - 1] : 0;
        if (i == STORE_HIST_N - 1)
            return lo;
        double hi = (double)gw_store_hist_bounds[i];
        return lo + (hi - lo) * ((target - cum) / (double)h[i]);
    }
    return (double)gw_store_hist_bounds[STORE_HIST_N - 2];
}

static void finish(struct ugroup *g)
{
    struct gw_usage_row *r = &g->row;
    r->cost_usd = gw_nusd_to_usd(g->nusd);
    r->error_rate = r->requests ? (double)r->errors / (double)r->requests : 0;
    r->latency_p50_ms = quantile(g->hist[0], 0.50);
    r->latency_p95_ms = quantile(g->hist[0], 0.95);
    r->ttfb_p50_ms = quantile(g->hist[1], 0.50);
    r->ttfb_p95_ms = quantile(g->hist[1], 0.95);
}

int gw_store_usage(struct gw_store *s, const struct gw_usage_query *q, struct gw_usage_report *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)q->group_by > GW_USAGE_DAY)
        return AIGW_EINVAL;
    struct usage_ctx u = {.q = q};
    u.first_day = q->since_ms > 0 ? q->since_ms / 86400000 : 0;
    u.last_day = q->until_ms > 0 ? (q->until_ms - 1) / 86400000 : INT64_MAX / 2;
    int rc = gw_store_read(s, "usage_query", do_usage, &u);
    if (rc) {
        free(u.g);
        return rc;
    }
    struct ugroup *t = &u.total;
    for (size_t i = 0; i < u.n; i++) {
        struct gw_usage_row *r = &u.g[i].row;
        t->row.requests += r->requests;
        t->row.errors += r->errors;
        t->row.input_tokens += r->input_tokens;
        t->row.output_tokens += r->output_tokens;
        t->row.cached_tokens += r->cached_tokens;
        t->row.reasoning_tokens += r->reasoning_tokens;
        t->row.cache_hits += r->cache_hits;
        t->nusd += u.g[i].nusd;
        finish(&u.g[i]);
    }
    snprintf(t->row.group, sizeof t->row.group, "total");
    finish(t);
    out->total = t->row;
    out->truncated = u.truncated;
    if (u.n) {
        out->rows = malloc(u.n * sizeof *out->rows);
        if (!out->rows) {
            free(u.g);
            return AIGW_ENOMEM;
        }
        for (size_t i = 0; i < u.n; i++)
            out->rows[i] = u.g[i].row;
        out->n = u.n;
    }
    free(u.g);
    return 0;
}

void gw_usage_report_free(struct gw_usage_report *r)
{
    free(r->rows);
    memset(r, 0, sizeof *r);
}
