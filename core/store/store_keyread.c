/* store_keyread - reading keys and spend for the admin API and the CLI (reader connections). */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

struct get_ctx {
    const char *id;
    struct gw_key *k;
};

static int do_get(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct get_ctx *g = ctx;
    int rc = gw_store_key_load(s, c, g->id, &g->k, NULL, NULL, deadline);
    if (!rc)
        rc = gw_key_fill_spend(s, c, g->k, gw_store_now_ms() / 1000, deadline);
    if (rc && g->k) {
        gw_key_unref(g->k);
        g->k = NULL;
    }
    return rc;
}

int gw_store_key_get(struct gw_store *s, const char *id, struct gw_key **out)
{
    *out = NULL;
    if (!id || !*id)
        return GW_STORE_ENOTFOUND;
    struct get_ctx g = {id, NULL};
    int rc = gw_store_read(s, "key_read", do_get, &g);
    *out = g.k;
    return rc;
}

struct list_ctx {
    const char *cursor;
    int limit;
    struct gw_key_list *l;
    int more;
    int64_t now;
};

static int list_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    struct list_ctx *lc = ctx;
    if ((int)lc->l->n == lc->limit) {
        lc->more = 1;
        return 0;
    }
    struct gw_key_read r = {NULL, NULL, NULL};
    int rc = gw_store_row_key(&r, ncol, v, len);
    if (rc != 1)
        return rc ? rc : AIGW_EINTERNAL;
    gw_store_period_apply(r.k, lc->now);
    lc->l->keys[lc->l->n++] = r.k;
    return 0;
}

static int list_spend_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct list_ctx *lc = ctx;
    if (ncol < 5 || !v[0])
        return 0;
    for (size_t i = 0; i < lc->l->n; i++)
        if (!strcmp(lc->l->keys[i]->id, v[0]))
            gw_store_spend_apply(lc->l->keys[i], v, lc->now);
    return 0;
}

static int do_list(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct list_ctx *lc = ctx;
    struct gw_key_list *l = lc->l;
    for (size_t i = 0; i < l->n; i++)
        gw_key_unref(l->keys[i]);
    l->n = 0;
    lc->more = 0;
    char sql[640];
    size_t n = gw_strlcpy(sql, "SELECT ", sizeof sql);
    n += gw_strlcpy(sql + n, gw_store_key_cols, sizeof sql - n);
    gw_strlcpy(sql + n, " FROM aigw_keys WHERE id > $1 ORDER BY id LIMIT $2", sizeof sql - n);
    struct gw_sql_param p[4] = {gw_sql_text(lc->cursor), gw_sql_int(lc->limit + 1)};
    int rc = s->ops->exec(c, sql, p, 2, list_row, lc, deadline);
    if (rc || !l->n)
        return rc;
    /* the page's spend in one grouped read, not one query per key */
    n = gw_strlcpy(sql, gw_store_spend_sql, sizeof sql);
    gw_strlcpy(sql + n, "key_id > $1 AND key_id <= $5 GROUP BY key_id", sizeof sql - n);
    struct gw_sql_param q[5];
    q[0] = gw_sql_text(lc->cursor);
    gw_store_spend_params(lc->now, q + 1);
    q[4] = gw_sql_text(l->keys[l->n - 1]->id);
    return s->ops->exec(c, sql, q, 5, list_spend_row, lc, deadline);
}

int gw_store_key_list(struct gw_store *s, const char *cursor, int limit, struct gw_key_list *out)
{
    memset(out, 0, sizeof *out);
    if (limit == 0)
        limit = 100;
    if (limit < 1 || limit > 1000)
        return AIGW_EINVAL;
    out->keys = calloc((size_t)limit, sizeof *out->keys);
    if (!out->keys)
        return AIGW_ENOMEM;
    struct list_ctx lc = {cursor ? cursor : "", limit, out, 0, gw_store_now_ms() / 1000};
    int rc = gw_store_read(s, "key_read", do_list, &lc);
    if (rc) {
        gw_key_list_free(out);
        return rc;
    }
    if (lc.more && out->n)
        gw_strlcpy(out->next_cursor, out->keys[out->n - 1]->id, sizeof out->next_cursor);
    return 0;
}

void gw_key_list_free(struct gw_key_list *l)
{
    for (size_t i = 0; l->keys && i < l->n; i++)
        gw_key_unref(l->keys[i]);
    free(l->keys);
    memset(l, 0, sizeof *l);
}

struct sum_ctx {
    const char *sql;
    struct gw_sql_param p[2];
    int np;
    int64_t a, b;
};

static int sum_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct sum_ctx *sc = ctx;
    if (ncol > 0)
        sc->a = gw_sql_i64(v[0]);
    if (ncol > 1)
        sc->b = gw_sql_i64(v[1]);
    return 0;
}

static int do_sum(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct sum_ctx *sc = ctx;
    return s->ops->exec(c, sc->sql, sc->p, sc->np, sum_row, sc, deadline);
}

int gw_store_key_spend(struct gw_store *s, const char *key_id, enum gw_budget_period p, int64_t now,
                       double *usd)
{
    struct sum_ctx sc = {
        .sql = "SELECT COALESCE(SUM(cost_nusd), 0) FROM aigw_key_spend"
               " WHERE key_id = $1 AND day >= $2",
        .p = {gw_sql_text(key_id ? key_id : ""),
              gw_sql_int(gw_budget_period_start(p, now) / 86400)},
        .np = 2,
    };
    int rc = gw_store_read(s, "spend_read", do_sum, &sc);
    *usd = rc ? 0 : gw_nusd_to_usd(sc.a);
    return rc;
}

int gw_store_ledger_total(struct gw_store *s, const char *key_id, double *usd, int64_t *rows)
{
    struct sum_ctx sc = {
        .sql = key_id ? "SELECT COALESCE(SUM(cost_nusd), 0), COUNT(*) FROM aigw_ledger"
                        " WHERE key_id = $1"
                      : "SELECT COALESCE(SUM(cost_nusd), 0), COUNT(*) FROM aigw_ledger",
        .p = {gw_sql_text(key_id)},
        .np = key_id ? 1 : 0,
    };
    int rc = gw_store_read(s, "spend_read", do_sum, &sc);
    *usd = rc ? 0 : gw_nusd_to_usd(sc.a);
    if (rows)
        *rows = rc ? 0 : sc.b;
    return rc;
}
