/*
 * store_ledger - one row per settled request, keyed by request id. The writer inserts with
 * ON CONFLICT DO NOTHING ... RETURNING, and adds to the per-key, per-day running totals only
 * the rows that were really inserted, in the same transaction: a replayed settlement can
 * neither count twice in the ledger nor in the totals budget checks read.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

#define LEDGER_COLS 10
#define LEDGER_CHUNK 100

struct store_op *gw_store_ledger_item(const struct gw_ledger_entry *e)
{
    struct store_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->kind = OP_LEDGER;
    op->link.bytes = sizeof *op;
    struct gw_ledger_entry *l = &op->u.ledger;
    *l = *e;
    l->request_id[sizeof l->request_id - 1] = '\0';
    l->key_id[sizeof l->key_id - 1] = '\0';
    l->model[sizeof l->model - 1] = '\0';
    l->provider[sizeof l->provider - 1] = '\0';
    gw_sql_clean_inplace(l->request_id);
    gw_sql_clean_inplace(l->model);
    gw_sql_clean_inplace(l->provider);
    gw_sql_clean_inplace(l->key_id);
    if (!l->ts_ms)
        l->ts_ms = gw_store_now_ms();
    return op;
}

int gw_store_ledger_add(struct gw_store *s, const struct gw_ledger_entry *e)
{
    if (!e || !e->request_id[0])
        return AIGW_EINVAL;
    struct store_op *op = gw_store_ledger_item(e);
    return op ? gw_store_enqueue_op(s, op) : AIGW_ENOMEM;
}

int gw_store_record(struct gw_store *s, const struct gw_ledger_entry *e, const struct gw_log_row *r)
{
    if (!e || !r)
        return e ? gw_store_ledger_add(s, e) : r ? gw_store_log_put(s, r) : 0;
    if (!e->request_id[0] || !r->request_id[0])
        return AIGW_EINVAL;
    struct store_op *op = gw_store_ledger_item(e);
    struct store_log *it = gw_store_log_item(s, r);
    if (!op || !it) {
        /* as one at a time would: the log row is dropped (counted), the ledger refused */
        gw_store_op_free(op);
        gw_store_log_free_item(it);
        pthread_mutex_lock(&s->mu);
        s->st.log_dropped++;
        pthread_mutex_unlock(&s->mu);
        gw_store_dropped(s, "request_log", 1);
        return AIGW_ENOMEM;
    }
    return gw_store_enqueue_pair(s, op, it);
}

static int64_t nonneg(int64_t v)
{
    return v > 0 ? v : 0;
}

struct inserted {
    struct store_op *const *ops;
    unsigned char *hit;
    const struct gw_sql_rows *q;
};

/* A row the database took, among the statement's rows. */
static int mark(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct inserted *in = ctx;
    if (ncol < 1 || !v[0])
        return 0;
    for (size_t i = in->q->at; i < in->q->at + in->q->n; i++) {
        if (!in->hit[i] && !strcmp(in->ops[i]->u.ledger.request_id, v[0])) {
            in->hit[i] = 1;
            break;
        }
    }
    return 0;
}

struct day_total {
    char key_id[GW_KEY_ID_LEN + 4];
    int64_t day, nusd, requests;
};

static int add_total(struct day_total *t, size_t *nt, const struct gw_ledger_entry *e)
{
    int64_t day = e->ts_ms / 86400000;
    int64_t cost = e->cost_usd < 0 ? 0 : gw_usd_to_nusd(e->cost_usd);
    for (size_t i = 0; i < *nt; i++) {
        if (t[i].day == day && !strcmp(t[i].key_id, e->key_id)) {
            t[i].nusd += cost;
            t[i].requests++;
            return 0;
        }
    }
    gw_strlcpy(t[*nt].key_id, e->key_id, sizeof t[*nt].key_id);
    t[*nt].day = day;
    t[*nt].nusd = cost;
    t[*nt].requests = 1;
    (*nt)++;
    return 0;
}

static const char ledger_sql[] =
    "INSERT INTO aigw_ledger (request_id, key_id, ts_ms, model, provider, input_tokens,"
    " output_tokens, cached_tokens, reasoning_tokens, cost_nusd) VALUES ";
static const char ledger_tail[] = " ON CONFLICT (request_id) DO NOTHING RETURNING request_id";
static const char ledger_tail_counted[] = " ON CONFLICT (request_id) DO NOTHING";
static const char spend_sql[] =
    "INSERT INTO aigw_key_spend (key_id, day, cost_nusd, requests) VALUES ";
static const char spend_tail[] = " ON CONFLICT (key_id, day) DO UPDATE SET"
                                 " cost_nusd = aigw_key_spend.cost_nusd + excluded.cost_nusd,"
                                 " requests = aigw_key_spend.requests + excluded.requests";

/* A gw_sql_insert_fn: with returning, each row taken is marked in hit (the same id twice in
 * one statement comes back once: only its first row counts) */
static int insert_chunk(const struct gw_sql_batch *b, size_t at, size_t n, int returning)
{
    struct store_op *const *ops = (struct store_op *const *)b->rows + at;
    unsigned char *hit = b->hit + at;
    const char *tail = returning ? ledger_tail : ledger_tail_counted;
    struct gw_sql_param p[LEDGER_CHUNK * LEDGER_COLS];
    for (size_t i = 0; i < n; i++) {
        const struct gw_ledger_entry *e = &ops[i]->u.ledger;
        struct gw_sql_param *q = p + i * LEDGER_COLS;
        q[0] = gw_sql_text(e->request_id);
        q[1] = gw_sql_text(e->key_id);
        q[2] = gw_sql_int(e->ts_ms);
        q[3] = gw_sql_text(e->model);
        q[4] = gw_sql_text(e->provider);
        q[5] = gw_sql_int(nonneg(e->input_tokens));
        q[6] = gw_sql_int(nonneg(e->output_tokens));
        q[7] = gw_sql_int(nonneg(e->cached_tokens));
        q[8] = gw_sql_int(nonneg(e->reasoning_tokens));
        q[9] = e->cost_usd < 0 ? gw_sql_null() : gw_sql_int(gw_usd_to_nusd(e->cost_usd));
    }
    struct gw_sql_rows q = {.prefix = ledger_sql,
                            .suffix = tail,
                            .cols = LEDGER_COLS,
                            .p = p,
                            .rows = n,
                            .row = tail == ledger_tail ? mark : NULL};
    struct inserted in = {ops, hit, &q};
    q.ctx = &in;
    return gw_sql_rows_exec(b->s, b->c, &q, b->deadline);
}

int gw_store_write_ledger(struct gw_store *s, struct gw_sql_conn *c, struct store_op **ops,
                          size_t n, int64_t deadline)
{
    unsigned char *hit = calloc(n, 1);
    struct day_total *t = calloc(n, sizeof *t);
    int rc = hit && t ? 0 : AIGW_ENOMEM;
    struct gw_sql_batch b = {s, c, ops, n, hit, deadline};
    if (!rc)
        rc = gw_sql_insert_counted(&b, LEDGER_CHUNK, insert_chunk);
    size_t nt = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (hit[i])
            add_total(t, &nt, &ops[i]->u.ledger);
    /* the per-day totals, 64 (key, day) pairs at a time, unique by construction */
    struct gw_sql_param p[64 * 4];
    for (size_t i = 0; !rc && i < nt; i += 64) {
        size_t k = nt - i < 64 ? nt - i : 64;
        for (size_t j = 0; j < k; j++) {
            p[4 * j] = gw_sql_text(t[i + j].key_id);
            p[4 * j + 1] = gw_sql_int(t[i + j].day);
            p[4 * j + 2] = gw_sql_int(t[i + j].nusd);
            p[4 * j + 3] = gw_sql_int(t[i + j].requests);
        }
        struct gw_sql_rows q = {
            .prefix = spend_sql, .suffix = spend_tail, .cols = 4, .p = p, .rows = k};
        rc = gw_sql_rows_exec(s, c, &q, deadline);
    }
    free(hit);
    free(t);
    return rc;
}
