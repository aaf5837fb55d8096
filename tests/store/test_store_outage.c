/* Store contract: a database that goes away and comes back, and replicas starting together. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"
#include "store/fixture.h"
#include "store/store.h"

TestSuite(store_outage, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

/* Skips (before anything is opened: Criterion runs no .fini after a skip) where the backend
 * has no server to take away. */
static void need_outages(void)
{
    if (!fx_outage_supported()) {
        fx_teardown();
        cr_skip_test("%s is a local file: nothing to take away", fx_backend);
    }
}

static enum gw_key_auth auth(struct gw_store *s, const char *token)
{
    struct gw_key *k = NULL;
    enum gw_key_auth r = gw_store_key_auth(s, token, strlen(token), &k);
    gw_key_unref(k);
    return r;
}

static void put_row(struct gw_store *s, const char *id)
{
    struct gw_log_row r = {.status = 200, .latency_ms = 3, .ttfb_ms = 1};
    snprintf(r.request_id, sizeof r.request_id, "%s", id);
    cr_assert_eq(gw_store_log_put(s, &r), 0);
}

Test(store_outage, dropped_connections_are_reopened)
{
    need_outages();
    struct gw_store_opts o = {.key_cache_ms = 100};
    struct gw_store *s = fx_open(&o);
    char token[GW_KEY_TOKEN_SIZE], err[256];
    struct gw_key_spec spec = {0};
    cr_assert_eq(gw_store_key_create(s, &spec, token, NULL, err, sizeof err), 0);
    cr_assert_eq(auth(s, token), GW_AUTH_OK);
    put_row(s, "before");
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    cr_assert_eq(fx_drop_connections(), 0);
    /* the writer finds its connection dead, reopens it and writes */
    put_row(s, "after");
    cr_assert_eq(gw_store_flush(s, 20000), 0);
    struct gw_log_row got;
    cr_assert_eq(gw_store_log_get(s, "after", &got), 0);
    gw_log_row_free(&got);
    /* so does a reader, once the cached record is due */
    long long t0 = fx_now_ms();
    int ok;
    FX_WAIT(ok, fx_now_ms() - t0 > 150 && auth(s, token) == GW_AUTH_OK, 5000);
    cr_assert(ok);
    gw_store_close(s);
}

Test(store_outage, cached_keys_keep_serving_and_writes_wait_in_the_queue)
{
    need_outages();
    struct gw_store_opts o = {.key_cache_ms = 100, .read_timeout_ms = 300};
    struct gw_store *s = fx_open(&o);
    char token[GW_KEY_TOKEN_SIZE], other[GW_KEY_TOKEN_SIZE], err[256];
    struct gw_key_spec spec = {0};
    cr_assert_eq(gw_store_key_create(s, &spec, token, NULL, err, sizeof err), 0);
    cr_assert_eq(gw_store_key_create(s, &spec, other, NULL, err, sizeof err), 0);
    cr_assert_eq(auth(s, token), GW_AUTH_OK);
    cr_assert_eq(fx_outage(1), 0);
    long long t0 = fx_now_ms();
    /* past the cache period: the record is stale and cannot be reloaded, yet it serves */
    int ok;
    FX_WAIT(ok, fx_now_ms() - t0 > 250, 1000);
    cr_assert_eq(auth(s, token), GW_AUTH_OK, "a cached key keeps serving");
    cr_assert_eq(auth(s, other), GW_AUTH_UNAVAILABLE, "a key never seen cannot be checked");
    long long w0 = fx_now_ms();
    for (int i = 0; i < 50; i++) {
        char id[32];
        snprintf(id, sizeof id, "during-%d", i);
        put_row(s, id);
    }
    cr_assert_lt(fx_now_ms() - w0, 1000, "writes never wait for the database");
    cr_assert_eq(gw_store_flush(s, 500), GW_STORE_EUNAVAIL, "nothing can be committed now");
    cr_assert_eq(fx_outage(0), 0);
    cr_assert_eq(gw_store_flush(s, 30000), 0);
    /* reads stay refused for up to a second after the last failure (no read storm on a
     * database that is coming back), then answer */
    struct gw_log_row got = {0};
    FX_WAIT(ok, gw_store_log_get(s, "during-49", &got) == 0, 5000);
    cr_assert(ok);
    gw_log_row_free(&got);
    FX_WAIT(ok, auth(s, other) == GW_AUTH_OK, 5000);
    cr_assert(ok, "the store answers again");
    gw_store_close(s);
}

static void *opener(void *arg)
{
    char err[256];
    struct gw_store *s = gw_store_open(fx_url(), NULL, err, sizeof err);
    if (s)
        gw_store_close(s);
    (void)arg;
    return s ? NULL : (void *)1;
}

Test(store_outage, replicas_starting_together_migrate_once)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, opener, NULL);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r, "an open failed");
    }
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_schema"), 1);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_meta WHERE k = 'pepper'"), 1);
}
