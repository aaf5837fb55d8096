/* Store contract: schema, gateway keys and authentication (run on every backend). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "store/fixture.h"
#include "store/store.h"
#include "store/store_int.h"

TestSuite(store_keys, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

static struct gw_key *create(struct gw_store *s, const struct gw_key_spec *spec,
                             char token[GW_KEY_TOKEN_SIZE])
{
    char err[256];
    struct gw_key *k = NULL;
    int rc = gw_store_key_create(s, spec, token, &k, err, sizeof err);
    cr_assert_eq(rc, 0, "create: %d %s", rc, err);
    cr_assert_not_null(k);
    return k;
}

Test(store_keys, open_creates_schema_and_reopens)
{
    struct gw_store *s = fx_open(NULL);
    cr_assert_str_eq(gw_store_backend(s), fx_backend);
    gw_store_close(s);
    cr_assert_eq(fx_sql_int("SELECT version FROM aigw_schema"), STORE_SCHEMA_VERSION);
    /* a second open migrates nothing and keeps the pepper: a key made before still works */
    s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    gw_key_unref(create(s, &spec, token));
    gw_store_close(s);
    s = fx_open(NULL);
    struct gw_key *k = NULL;
    cr_assert_eq(gw_store_key_auth(s, token, strlen(token), &k), GW_AUTH_OK);
    gw_key_unref(k);
    gw_store_close(s);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_schema"), 1);
}

Test(store_keys, newer_schema_is_refused)
{
    gw_store_close(fx_open(NULL));
    cr_assert_eq(fx_sql("UPDATE aigw_schema SET version = 99"), 0);
    char err[256];
    struct gw_store *s = gw_store_open(fx_url(), NULL, err, sizeof err);
    cr_assert_null(s);
    cr_assert(strstr(err, "newer than this aigw"), "%s", err);
}

Test(store_keys, bad_url_names_only_the_scheme)
{
    char err[256];
    cr_assert_null(gw_store_open("mysql://root:hunter2@db/x", NULL, err, sizeof err));
    cr_assert(strstr(err, "mysql"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    cr_assert_null(gw_store_open("sqlite:", NULL, err, sizeof err));
}

Test(store_keys, create_returns_token_once_and_record)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {
        .set = GW_KEYF_NAME | GW_KEYF_OWNER | GW_KEYF_METADATA | GW_KEYF_MODELS |
               GW_KEYF_PROVIDERS | GW_KEYF_RPM | GW_KEYF_TPM | GW_KEYF_BUDGET | GW_KEYF_PERIOD |
               GW_KEYF_EXPIRES,
        .name = "ci bot",
        .owner = "team-ml",
        .metadata_json = "{ \"env\": \"ci\", \"n\": 3 }",
        .models_json = "[\"gpt-4o*\", \"claude-*\"]",
        .providers_json = "[\"openai\"]",
        .rpm = 10,
        .tpm = 20000,
        .budget_usd = 2.5,
        .budget_period = GW_PERIOD_MONTHLY,
        .expires_at = 4102444800, /* 2100-01-01 */
    };
    struct gw_key *k = create(s, &spec, token);
    cr_assert_eq(strlen(token), 5 + GW_KEY_ID_LEN + 1 + GW_KEY_SECRET_LEN);
    cr_assert_eq(strncmp(token, "aigw_", 5), 0);
    cr_assert_eq(strncmp(token + 5, k->id, GW_KEY_ID_LEN), 0);
    cr_assert_eq(token[5 + GW_KEY_ID_LEN], '_');
    cr_assert_str_eq(k->name, "ci bot");
    cr_assert_str_eq(k->owner, "team-ml");
    cr_assert_str_eq(k->metadata_json, "{\"env\":\"ci\",\"n\":3}");
    cr_assert_eq(k->n_models, 2);
    cr_assert_str_eq(k->models[1], "claude-*");
    cr_assert_eq(k->n_providers, 1);
    cr_assert_eq(k->rpm, 10);
    cr_assert_eq(k->tpm, 20000);
    cr_assert_float_eq(k->budget_usd, 2.5, 1e-9);
    cr_assert_eq(k->budget_period, GW_PERIOD_MONTHLY);
    cr_assert_eq(k->expires_at, 4102444800);
    cr_assert_eq(k->state, GW_KEY_ACTIVE);
    cr_assert_gt(k->created_at, 1700000000);
    cr_assert_gt(k->period_reset, k->period_start);

    struct gw_key *g = NULL;
    cr_assert_eq(gw_store_key_get(s, k->id, &g), 0);
    cr_assert_str_eq(g->id, k->id);
    cr_assert_str_eq(g->name, "ci bot");
    cr_assert_float_eq(g->spend_usd, 0, 1e-12);
    gw_key_unref(g);

    /* defaults: no limits, any model */
    struct gw_key_spec empty = {0};
    struct gw_key *d = create(s, &empty, token);
    cr_assert_eq(d->rpm, -1);
    cr_assert_eq(d->tpm, -1);
    cr_assert_float_eq(d->budget_usd, -1, 1e-12);
    cr_assert_null(d->models);
    cr_assert(gw_key_allows_model(d, "anything"));
    gw_key_unref(d);
    gw_key_unref(k);
    gw_store_close(s);
}

Test(store_keys, auth_answers_each_reason)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    struct gw_key *k = create(s, &spec, token), *got = NULL;
    size_t n = strlen(token);

    cr_assert_eq(gw_store_key_auth(s, token, n, &got), GW_AUTH_OK);
    cr_assert_str_eq(got->id, k->id);
    gw_key_unref(got);
    got = NULL;

    cr_assert_eq(gw_store_key_auth(s, "sk-static-key", 13, &got), GW_AUTH_NOT_OURS);
    cr_assert_eq(gw_store_key_auth(s, token, n - 1, &got), GW_AUTH_NOT_OURS);
    char bad[GW_KEY_TOKEN_SIZE];
    memcpy(bad, token, n + 1);
    bad[n - 1] = bad[n - 1] == 'A' ? 'B' : 'A';
    cr_assert_eq(gw_store_key_auth(s, bad, n, &got), GW_AUTH_BAD_SECRET);
    memcpy(bad, token, n + 1);
    bad[6] = bad[6] == 'A' ? 'B' : 'A';
    cr_assert_eq(gw_store_key_auth(s, bad, n, &got), GW_AUTH_UNKNOWN);
    /* the unknown id is cached too: asking again is still "unknown" */
    cr_assert_eq(gw_store_key_auth(s, bad, n, &got), GW_AUTH_UNKNOWN);
    bad[n - 3] = '-';
    cr_assert_eq(gw_store_key_auth(s, bad, n, &got), GW_AUTH_NOT_OURS);
    cr_assert_null(got);

    cr_assert_eq(gw_store_key_revoke(s, k->id, NULL), 0);
    cr_assert_eq(gw_store_key_auth(s, token, n, &got), GW_AUTH_REVOKED);
    cr_assert_eq(gw_store_key_revoke(s, k->id, NULL), 0, "revoking twice is fine");
    cr_assert_eq(gw_store_key_revoke(s, "nosuchkey000", NULL), GW_STORE_ENOTFOUND);

    struct gw_key_spec past = {.set = GW_KEYF_EXPIRES, .expires_at = time(NULL) - 10};
    struct gw_key *e = create(s, &past, token);
    cr_assert_eq(gw_store_key_auth(s, token, strlen(token), &got), GW_AUTH_EXPIRED);
    cr_assert_null(got);
    gw_key_unref(e);
    gw_key_unref(k);
    cr_assert_str_eq(gw_key_auth_str(GW_AUTH_BAD_SECRET), "bad_secret");
    gw_store_close(s);
}

Test(store_keys, update_changes_only_what_is_set)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE], err[256];
    struct gw_key_spec spec = {.set = GW_KEYF_NAME | GW_KEYF_RPM | GW_KEYF_MODELS,
                               .name = "before",
                               .rpm = 5,
                               .models_json = "[\"gpt-*\"]"};
    struct gw_key *k = create(s, &spec, token), *u = NULL;
    struct gw_key_spec up = {.set = GW_KEYF_RPM | GW_KEYF_BUDGET | GW_KEYF_PERIOD,
                             .rpm = 50,
                             .budget_usd = 0.25,
                             .budget_period = GW_PERIOD_DAILY};
    cr_assert_eq(gw_store_key_update(s, k->id, &up, &u, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(u->name, "before");
    cr_assert_eq(u->rpm, 50);
    cr_assert_eq(u->n_models, 1);
    cr_assert_float_eq(u->budget_usd, 0.25, 1e-9);
    cr_assert_eq(u->budget_period, GW_PERIOD_DAILY);
    cr_assert_geq(u->updated_at, k->updated_at);
    gw_key_unref(u);

    /* models set to null: any model again */
    struct gw_key_spec any = {.set = GW_KEYF_MODELS, .models_json = NULL};
    cr_assert_eq(gw_store_key_update(s, k->id, &any, &u, err, sizeof err), 0);
    cr_assert_null(u->models);
    gw_key_unref(u);

    /* the update is what authentication sees at once on this replica */
    struct gw_key *a = NULL;
    cr_assert_eq(gw_store_key_auth(s, token, strlen(token), &a), GW_AUTH_OK);
    cr_assert_eq(a->rpm, 50);
    gw_key_unref(a);

    cr_assert_eq(gw_store_key_update(s, "nosuchkey000", &up, NULL, err, sizeof err),
                 GW_STORE_ENOTFOUND);
    gw_key_unref(k);
    gw_store_close(s);
}

Test(store_keys, bad_specs_are_refused_and_change_nothing)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE], err[256];
    struct {
        struct gw_key_spec spec;
        const char *says;
    } bad[] = {
        {{.set = GW_KEYF_MODELS, .models_json = "{\"a\":1}"}, "models"},
        {{.set = GW_KEYF_MODELS, .models_json = "[1, 2]"}, "models"},
        {{.set = GW_KEYF_PROVIDERS, .providers_json = "[\"\"]"}, "providers"},
        {{.set = GW_KEYF_METADATA, .metadata_json = "[1]"}, "metadata"},
        {{.set = GW_KEYF_METADATA, .metadata_json = "{broken"}, "metadata"},
        /* not UTF-8: PostgreSQL would refuse the row (a 500), SQLite would keep it and every
         * answer showing it would be invalid JSON */
        {{.set = GW_KEYF_METADATA, .metadata_json = "{\"note\":\"caf\xe9\"}"}, "metadata"},
        {{.set = GW_KEYF_METADATA, .metadata_json = "{\"\xff\":1}"}, "metadata"},
        {{.set = GW_KEYF_RPM, .rpm = -5}, "rpm"},
        {{.set = GW_KEYF_TPM, .tpm = -2}, "tpm"},
        {{.set = GW_KEYF_BUDGET, .budget_usd = -3}, "budget_usd"},
        {{.set = GW_KEYF_PERIOD, .budget_period = (enum gw_budget_period)9}, "budget_period"},
        {{.set = GW_KEYF_EXPIRES, .expires_at = -1}, "expires_at"},
        {{.set = GW_KEYF_NAME, .name = "bad\nname"}, "name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_key *k = NULL;
        int rc = gw_store_key_create(s, &bad[i].spec, token, &k, err, sizeof err);
        cr_assert_eq(rc, AIGW_EINVAL, "case %zu", i);
        cr_assert(strstr(err, bad[i].says), "case %zu: %s", i, err);
        cr_assert_null(k);
        cr_assert_str_empty(token);
    }
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_keys"), 0);
    gw_store_close(s);
}

Test(store_keys, rotate_keeps_old_secret_for_the_grace)
{
    struct gw_store *s = fx_open(NULL);
    char t1[GW_KEY_TOKEN_SIZE], t2[GW_KEY_TOKEN_SIZE], t3[GW_KEY_TOKEN_SIZE], err[256];
    struct gw_key_spec spec = {0};
    struct gw_key *k = create(s, &spec, t1), *r = NULL, *a = NULL;
    cr_assert_eq(gw_store_key_rotate(s, k->id, 3600, t2, &r, err, sizeof err), 0, "%s", err);
    cr_assert_str_neq(t1, t2);
    cr_assert_eq(strncmp(t1, t2, 5 + GW_KEY_ID_LEN), 0, "same public id");
    cr_assert_gt(r->prev_valid_until, time(NULL) + 3500);
    gw_key_unref(r);
    cr_assert_eq(gw_store_key_auth(s, t2, strlen(t2), &a), GW_AUTH_OK);
    gw_key_unref(a);
    cr_assert_eq(gw_store_key_auth(s, t1, strlen(t1), &a), GW_AUTH_OK, "old secret in grace");
    gw_key_unref(a);

    /* no grace: only the newest secret works */
    cr_assert_eq(gw_store_key_rotate(s, k->id, 0, t3, NULL, err, sizeof err), 0);
    cr_assert_eq(gw_store_key_auth(s, t3, strlen(t3), &a), GW_AUTH_OK);
    gw_key_unref(a);
    cr_assert_eq(gw_store_key_auth(s, t2, strlen(t2), &a), GW_AUTH_BAD_SECRET);
    cr_assert_eq(gw_store_key_auth(s, t1, strlen(t1), &a), GW_AUTH_BAD_SECRET);

    /* an expired grace */
    cr_assert_eq(gw_store_key_rotate(s, k->id, 3600, t2, NULL, err, sizeof err), 0);
    cr_assert_eq(fx_sql("UPDATE aigw_keys SET prev_valid_until = 1"), 0);
    struct gw_store *other = fx_open(NULL); /* a replica without the cached record */
    cr_assert_eq(gw_store_key_auth(other, t3, strlen(t3), &a), GW_AUTH_BAD_SECRET);
    cr_assert_eq(gw_store_key_auth(other, t2, strlen(t2), &a), GW_AUTH_OK);
    gw_key_unref(a);
    gw_store_close(other);

    cr_assert_eq(gw_store_key_revoke(s, k->id, NULL), 0);
    cr_assert_eq(gw_store_key_rotate(s, k->id, 0, t3, NULL, err, sizeof err), AIGW_EINVAL);
    cr_assert(strstr(err, "revoked"));
    cr_assert_str_empty(t3);
    cr_assert_eq(gw_store_key_auth(s, t2, strlen(t2), &a), GW_AUTH_REVOKED);
    cr_assert_eq(gw_store_key_rotate(s, "nosuchkey000", 0, t3, NULL, err, sizeof err),
                 GW_STORE_ENOTFOUND);
    gw_key_unref(k);
    gw_store_close(s);
}

/* The answer alone, releasing any record. */
static enum gw_key_auth auth(struct gw_store *s, const char *token)
{
    struct gw_key *k = NULL;
    enum gw_key_auth r = gw_store_key_auth(s, token, strlen(token), &k);
    gw_key_unref(k);
    return r;
}

Test(store_keys, revocation_reaches_another_replica_within_the_cache_period)
{
    struct gw_store_opts o = {.key_cache_ms = 300};
    struct gw_store *a = fx_open(&o), *b = fx_open(&o);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    struct gw_key *k = create(a, &spec, token), *got = NULL;
    size_t n = strlen(token);
    cr_assert_eq(gw_store_key_auth(b, token, n, &got), GW_AUTH_OK);
    gw_key_unref(got);
    cr_assert_eq(gw_store_key_revoke(a, k->id, NULL), 0);
    long long t0 = fx_now_ms();
    int ok;
    FX_WAIT(ok, auth(b, token) == GW_AUTH_REVOKED, 2000);
    cr_assert(ok, "replica b still admits the key after 2 s");
    cr_assert_lt(fx_now_ms() - t0, 1500);
    struct gw_store_stats st;
    gw_store_stats(b, &st);
    cr_assert_gt(st.key_cache_hits, 0, "the hot path was served from the cache");
    gw_key_unref(k);
    gw_store_close(a);
    gw_store_close(b);
}

Test(store_keys, list_pages_through_every_key)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    char ids[7][GW_KEY_ID_LEN + 4];
    for (int i = 0; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", i);
        struct gw_key_spec spec = {.set = GW_KEYF_NAME, .name = name};
        struct gw_key *k = create(s, &spec, token);
        snprintf(ids[i], sizeof ids[i], "%s", k->id);
        gw_key_unref(k);
    }
    cr_assert_eq(gw_store_has_keys(s), 1);
    int seen = 0, pages = 0;
    char cursor[GW_KEY_ID_LEN + 4] = "";
    do {
        struct gw_key_list l;
        cr_assert_eq(gw_store_key_list(s, cursor, 3, &l), 0);
        cr_assert_leq(l.n, 3);
        for (size_t i = 0; i < l.n; i++) {
            for (int j = 0; j < 7; j++)
                if (!strcmp(ids[j], l.keys[i]->id))
                    seen |= 1 << j;
            if (i)
                cr_assert_lt(strcmp(l.keys[i - 1]->id, l.keys[i]->id), 0, "ordered by id");
        }
        snprintf(cursor, sizeof cursor, "%s", l.next_cursor);
        gw_key_list_free(&l);
        pages++;
    } while (cursor[0] && pages < 10);
    cr_assert_eq(seen, 0x7f);
    cr_assert_eq(pages, 3);
    struct gw_key_list l;
    cr_assert_eq(gw_store_key_list(s, NULL, 1001, &l), AIGW_EINVAL);
    gw_store_close(s);
}

Test(store_keys, has_keys_follows_the_first_key)
{
    struct gw_store *s = fx_open(NULL);
    cr_assert_eq(gw_store_has_keys(s), 0);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    gw_key_unref(create(s, &spec, token));
    cr_assert_eq(gw_store_has_keys(s), 1);
    gw_store_close(s);
}

/* What the key loader thread called back, for the tests below. */
struct loaded {
    pthread_mutex_t mu;
    int calls;
    int rc[4];
};

static void on_loaded(void *ud, int rc)
{
    struct loaded *l = ud;
    pthread_mutex_lock(&l->mu);
    if (l->calls < 4)
        l->rc[l->calls] = rc;
    l->calls++;
    pthread_mutex_unlock(&l->mu);
}

static int loaded_calls(struct loaded *l)
{
    pthread_mutex_lock(&l->mu);
    int n = l->calls;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* A request's event loop never reads the database: a record not cached is read by the store's
 * loader thread, each waiting caller is called back once, and the record is then a cache hit. */
Test(store_keys, a_record_to_read_is_read_by_the_loader_and_each_waiter_called_once)
{
    struct gw_store *a = fx_open(NULL), *b = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    struct gw_key *k = create(a, &spec, token), *got = NULL;
    size_t n = strlen(token);
    /* b has never seen it: a look says a read is due, and reads or queues nothing */
    cr_assert_eq(gw_store_key_auth_start(b, token, n, &got, NULL, NULL), GW_AUTH_PENDING);
    cr_assert_null(got);
    struct gw_store_stats st;
    gw_store_stats(b, &st);
    cr_assert_eq(st.key_cache_hits + st.key_cache_misses, 0, "a look is not a lookup");
    struct loaded l = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cr_assert_eq(gw_store_key_auth_start(b, token, n, &got, on_loaded, &l), GW_AUTH_PENDING);
    cr_assert_null(got);
    /* A second caller before the read ended waits too; after it, the record is cached (the
     * loader runs on its own: either can happen here). */
    enum gw_key_auth second = gw_store_key_auth_start(b, token, n, &got, on_loaded, &l);
    cr_assert(second == GW_AUTH_PENDING || second == GW_AUTH_OK, "%d", second);
    int waiters = second == GW_AUTH_PENDING ? 2 : 1;
    cr_assert((second == GW_AUTH_OK) == (got != NULL));
    gw_key_unref(got);
    got = NULL;
    int ok;
    FX_WAIT(ok, loaded_calls(&l) == waiters, 10000);
    cr_assert(ok, "called back %d times", loaded_calls(&l));
    for (int i = 0; i < waiters; i++)
        cr_assert_eq(l.rc[i], 0);
    gw_store_stats(b, &st);
    uint64_t hits = st.key_cache_hits;
    cr_assert_eq(gw_store_key_auth_start(b, token, n, &got, on_loaded, &l), GW_AUTH_OK,
                 "read once, then cached");
    cr_assert_str_eq(got->id, k->id);
    gw_key_unref(got);
    gw_store_stats(b, &st);
    cr_assert_eq(st.key_cache_hits, hits + 1);
    /* an unknown id is read the same way, and then known to be unknown */
    char bad[GW_KEY_TOKEN_SIZE];
    snprintf(bad, sizeof bad, "%s", token);
    bad[strlen(GW_KEY_PREFIX)] = bad[strlen(GW_KEY_PREFIX)] == 'a' ? 'b' : 'a';
    cr_assert_eq(gw_store_key_auth_start(b, bad, n, &got, on_loaded, &l), GW_AUTH_PENDING);
    FX_WAIT(ok, loaded_calls(&l) == waiters + 1, 10000);
    cr_assert(ok);
    cr_assert_eq(gw_store_key_auth_start(b, bad, n, &got, on_loaded, &l), GW_AUTH_UNKNOWN);
    cr_assert_eq(loaded_calls(&l), waiters + 1, "a final answer calls nobody back");
    gw_key_unref(k);
    gw_store_close(a);
    gw_store_close(b);
}

/* Whether any key exists is read at open and then by the loader thread: asking never reads. */
Test(store_keys, has_keys_on_another_replica_is_refreshed_off_the_caller)
{
    struct gw_store_opts o = {.key_cache_ms = 100};
    struct gw_store *a = fx_open(&o), *b = fx_open(&o);
    cr_assert_eq(gw_store_has_keys(b), 0, "read at open");
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    gw_key_unref(create(a, &spec, token));
    int ok;
    FX_WAIT(ok, gw_store_has_keys(b) == 1, 5000);
    cr_assert(ok, "replica b never learnt that a key exists");
    gw_store_close(a);
    gw_store_close(b);
}

Test(store_keys, allowlists_are_globs)
{
    struct gw_store *s = fx_open(NULL);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {.set = GW_KEYF_MODELS | GW_KEYF_PROVIDERS,
                               .models_json = "[\"gpt-4o*\", \"anthropic/claude-*\"]",
                               .providers_json = "[]"};
    struct gw_key *k = create(s, &spec, token);
    cr_assert(gw_key_allows_model(k, "gpt-4o-mini"));
    cr_assert(gw_key_allows_model(k, "anthropic/claude-3-5-haiku"));
    cr_assert_not(gw_key_allows_model(k, "gpt-3.5-turbo"));
    cr_assert_not(gw_key_allows_model(k, NULL));
    cr_assert_not(gw_key_allows_provider(k, "openai"), "an empty list allows nothing");
    gw_key_unref(k);
    gw_store_close(s);
}

Test(store_keys, budget_periods_are_utc_calendar)
{
    /* 2024-02-29 13:00:00 UTC, a Thursday */
    int64_t t = 1709211600;
    cr_assert_eq(gw_budget_period_start(GW_PERIOD_DAILY, t), 1709164800);
    cr_assert_eq(gw_budget_period_reset(GW_PERIOD_DAILY, t), 1709251200);
    cr_assert_eq(gw_budget_period_start(GW_PERIOD_WEEKLY, t), 1708905600); /* Mon 26th */
    cr_assert_eq(gw_budget_period_reset(GW_PERIOD_WEEKLY, t), 1709510400);
    cr_assert_eq(gw_budget_period_start(GW_PERIOD_MONTHLY, t), 1706745600); /* Feb 1st */
    cr_assert_eq(gw_budget_period_reset(GW_PERIOD_MONTHLY, t), 1709251200); /* Mar 1st */
    cr_assert_eq(gw_budget_period_reset(GW_PERIOD_MONTHLY, 1703980800), 1704067200, "Dec->Jan");
    cr_assert_eq(gw_budget_period_start(GW_PERIOD_NONE, t), 0);
    cr_assert_eq(gw_budget_period_reset(GW_PERIOD_NONE, t), 0);
    enum gw_budget_period p;
    cr_assert_eq(gw_budget_period_parse("weekly", &p), 0);
    cr_assert_eq(p, GW_PERIOD_WEEKLY);
    cr_assert_eq(gw_budget_period_parse("yearly", &p), AIGW_EINVAL);
}

/* What on_op heard, from whichever thread. */
struct heard {
    pthread_mutex_t mu;
    char ops[512];
    int errors;
};

static void on_op(void *ud, const char *backend, const char *op, int64_t us, const char *error)
{
    struct heard *h = ud;
    pthread_mutex_lock(&h->mu);
    if (strcmp(backend, fx_backend) || us < 0)
        h->errors += 100;
    if (error)
        h->errors++;
    size_t n = strlen(h->ops);
    if (!strstr(h->ops, op))
        snprintf(h->ops + n, sizeof h->ops - n, "%s ", op);
    pthread_mutex_unlock(&h->mu);
}

Test(store_keys, every_database_operation_is_reported)
{
    struct heard h = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct gw_store_opts o = {.on_op = on_op, .on_op_ud = &h};
    struct gw_store *s = fx_open(&o);
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    struct gw_key *k = create(s, &spec, token);
    cr_assert_eq(auth(s, token), GW_AUTH_OK);
    struct gw_log_row r = {.status = 200};
    snprintf(r.request_id, sizeof r.request_id, "heard");
    cr_assert_eq(gw_store_log_put(s, &r), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    struct gw_log_row got;
    cr_assert_eq(gw_store_log_get(s, "heard", &got), 0);
    gw_log_row_free(&got);
    cr_assert_eq(gw_store_log_get(s, "absent", &got), GW_STORE_ENOTFOUND);
    gw_key_unref(k);
    gw_store_close(s);
    for (const char *op = "admin key_lookup write log_query"; *op;) {
        char one[32];
        size_t n = strcspn(op, " ");
        snprintf(one, sizeof one, "%.*s", (int)n, op);
        cr_assert(strstr(h.ops, one), "%s not reported (heard: %s)", one, h.ops);
        op += n + (op[n] == ' ');
    }
    cr_assert_eq(h.errors, 0, "heard: %s", h.ops);
}
