/* Store contract: the spend ledger, its running totals, and the secret canary. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "store/fixture.h"
#include "store/store.h"

TestSuite(store_ledger, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

static struct gw_key *make_key(struct gw_store *s, enum gw_budget_period p,
                               char token[GW_KEY_TOKEN_SIZE])
{
    char err[256];
    struct gw_key_spec spec = {
        .set = GW_KEYF_BUDGET | GW_KEYF_PERIOD, .budget_usd = 1, .budget_period = p};
    struct gw_key *k = NULL;
    cr_assert_eq(gw_store_key_create(s, &spec, token, &k, err, sizeof err), 0, "%s", err);
    return k;
}

static void add(struct gw_store *s, const char *rid, const char *key, double cost, int64_t ts)
{
    struct gw_ledger_entry e = {.ts_ms = ts,
                                .input_tokens = 100,
                                .output_tokens = 20,
                                .cached_tokens = 10,
                                .reasoning_tokens = 5,
                                .cost_usd = cost};
    snprintf(e.request_id, sizeof e.request_id, "%s", rid);
    snprintf(e.key_id, sizeof e.key_id, "%s", key);
    snprintf(e.model, sizeof e.model, "gpt-4o-mini");
    snprintf(e.provider, sizeof e.provider, "openai");
    cr_assert_eq(gw_store_ledger_add(s, &e), 0);
}

Test(store_ledger, a_replayed_settlement_counts_once)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key *k = make_key(s, GW_PERIOD_NONE, token);
    add(s, "req-1", k->id, 0.10, 0);
    add(s, "req-2", k->id, 0.05, 0);
    add(s, "req-1", k->id, 9.00, 0); /* same batch */
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    add(s, "req-2", k->id, 9.00, 0); /* a later batch */
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    double usd = -1;
    int64_t rows = -1;
    cr_assert_eq(gw_store_ledger_total(s, k->id, &usd, &rows), 0);
    cr_assert_float_eq(usd, 0.15, 1e-9);
    cr_assert_eq(rows, 2);
    cr_assert_eq(gw_store_key_spend(s, k->id, GW_PERIOD_NONE, time(NULL), &usd), 0);
    cr_assert_float_eq(usd, 0.15, 1e-9);
    /* the running total and the ledger agree, row for row */
    cr_assert_eq(fx_sql_int("SELECT SUM(cost_nusd) FROM aigw_ledger"),
                 fx_sql_int("SELECT SUM(cost_nusd) FROM aigw_key_spend"));
    cr_assert_eq(fx_sql_int("SELECT SUM(requests) FROM aigw_key_spend"), 2);
    struct gw_key *g = NULL;
    cr_assert_eq(gw_store_key_get(s, k->id, &g), 0);
    cr_assert_float_eq(g->spend_usd, 0.15, 1e-9);
    gw_key_unref(g);
    gw_key_unref(k);
    struct gw_ledger_entry none = {0};
    cr_assert_eq(gw_store_ledger_add(s, &none), AIGW_EINVAL);
    gw_store_close(s);
}

Test(store_ledger, spend_is_per_period)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key *k = make_key(s, GW_PERIOD_DAILY, token);
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    add(s, "today", k->id, 0.25, now_ms);
    add(s, "long-ago", k->id, 0.50, now_ms - 400LL * 86400000);
    add(s, "unpriced", k->id, -1, now_ms); /* unknown cost: no spend, NULL in the ledger */
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    double usd;
    cr_assert_eq(gw_store_key_spend(s, k->id, GW_PERIOD_DAILY, now_ms / 1000, &usd), 0);
    cr_assert_float_eq(usd, 0.25, 1e-9);
    cr_assert_eq(gw_store_key_spend(s, k->id, GW_PERIOD_MONTHLY, now_ms / 1000, &usd), 0);
    cr_assert_float_eq(usd, 0.25, 1e-9);
    cr_assert_eq(gw_store_key_spend(s, k->id, GW_PERIOD_NONE, now_ms / 1000, &usd), 0);
    cr_assert_float_eq(usd, 0.75, 1e-9);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_ledger WHERE cost_nusd IS NULL"), 1);
    struct gw_key *g = NULL;
    cr_assert_eq(gw_store_key_get(s, k->id, &g), 0);
    cr_assert_float_eq(g->spend_usd, 0.25, 1e-9, "get shows the current period's spend");
    cr_assert_eq(g->period_reset - g->period_start, 86400);
    gw_key_unref(g);
    /* the key list carries the same spend */
    struct gw_key_list l;
    cr_assert_eq(gw_store_key_list(s, NULL, 10, &l), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_float_eq(l.keys[0]->spend_usd, 0.25, 1e-9);
    gw_key_list_free(&l);
    gw_key_unref(k);
    gw_store_close(s);
}

struct writer_arg {
    struct gw_store *s;
    int base;
    const char *key;
};

static void *ledger_writer(void *p)
{
    struct writer_arg *a = p;
    for (int i = 0; i < 400; i++) {
        struct gw_ledger_entry e = {.cost_usd = 0.001, .input_tokens = 1};
        snprintf(e.request_id, sizeof e.request_id, "t%d-%d", a->base, i);
        snprintf(e.key_id, sizeof e.key_id, "%s", a->key);
        if (gw_store_ledger_add(a->s, &e) != 0)
            return (void *)1;
    }
    return NULL;
}

Test(store_ledger, concurrent_settlements_all_land)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key *k = make_key(s, GW_PERIOD_NONE, token);
    pthread_t th[6];
    struct writer_arg a[6];
    for (int i = 0; i < 6; i++) {
        a[i] = (struct writer_arg){s, i, k->id};
        pthread_create(&th[i], NULL, ledger_writer, &a[i]);
    }
    for (int i = 0; i < 6; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_null(r, "a ledger write was refused");
    }
    cr_assert_eq(gw_store_flush(s, 20000), 0);
    double usd;
    int64_t rows;
    cr_assert_eq(gw_store_ledger_total(s, NULL, &usd, &rows), 0);
    cr_assert_eq(rows, 2400);
    cr_assert_float_eq(usd, 2.4, 1e-9);
    gw_key_unref(k);
    gw_store_close(s);
}

static int contains(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle)) != NULL;
}

Test(store_ledger, a_secret_never_reaches_the_database)
{
    struct gw_store *s = fx_open(NULL);
    char t1[GW_KEY_TOKEN_SIZE], t2[GW_KEY_TOKEN_SIZE], err[256];
    struct gw_key *k = make_key(s, GW_PERIOD_DAILY, t1), *a = NULL;
    cr_assert_eq(gw_store_key_rotate(s, k->id, 3600, t2, NULL, err, sizeof err), 0);
    cr_assert_eq(gw_store_key_auth(s, t1, strlen(t1), &a), GW_AUTH_OK);
    gw_key_unref(a);
    cr_assert_eq(gw_store_key_auth(s, t2, strlen(t2), &a), GW_AUTH_OK);
    gw_key_unref(a);
    add(s, "canary-req", k->id, 0.01, 0);
    struct gw_log_row row = {.status = 200, .latency_ms = 5, .ttfb_ms = 2};
    snprintf(row.request_id, sizeof row.request_id, "canary-req");
    snprintf(row.key_id, sizeof row.key_id, "%s", k->id);
    cr_assert_eq(gw_store_log_put(s, &row), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    const char *secrets[] = {t1 + 5 + GW_KEY_ID_LEN + 1, t2 + 5 + GW_KEY_ID_LEN + 1, t1, t2};
    for (int pass = 0; pass < 2; pass++) {
        size_t n;
        char *dump = fx_dump(&n);
        /* the control: what should be there is found, so the search itself works */
        cr_assert(contains(dump, n, k->id), "pass %d: the key id is not in the dump", pass);
        cr_assert(contains(dump, n, "canary-req"), "pass %d", pass);
        for (int i = 0; i < 4; i++)
            cr_assert_not(contains(dump, n, secrets[i]), "pass %d: secret %d stored", pass, i);
        free(dump);
        if (pass == 0)
            gw_store_close(s); /* then the files as they rest */
    }
    gw_key_unref(k);
}
