/* breaker: the state machine on its own, the slot table, latency medians, the retry budget. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "route/breaker.h"
#include "route/retry_budget.h"

static const struct gw_breaker_cfg cfg = {.threshold = 3, .cooldown_ms = 100};

Test(breaker, closed_counts_consecutive_failures)
{
    struct gw_breaker b;
    gw_breaker_init(&b);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0), -1);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0), -1);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_SUCCESS, 0), -1, "already closed");
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0), -1);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_NEUTRAL, 0), -1);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0), -1);
    cr_assert_eq(gw_breaker_state(&b), GW_BREAKER_CLOSED);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 10), GW_BREAKER_OPEN);
    cr_assert_eq(gw_breaker_state(&b), GW_BREAKER_OPEN);
    cr_assert_eq(gw_breaker_wait_ms(&b, 10), 100);
    cr_assert_eq(gw_breaker_wait_ms(&b, 60), 50);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 20), -1, "late report");
    cr_assert_eq(gw_breaker_wait_ms(&b, 60), 50, "a late failure does not extend it");
}

Test(breaker, half_open_lets_one_probe_through)
{
    struct gw_breaker b;
    gw_breaker_init(&b);
    for (int i = 0; i < 3; i++)
        gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 99, 1), 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 100, 0), 1, "a look claims nothing");
    cr_assert_eq(gw_breaker_state(&b), GW_BREAKER_OPEN);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 100, 1), 1);
    cr_assert_eq(gw_breaker_state(&b), GW_BREAKER_HALF_OPEN);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 101, 1), 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 101, 0), 0);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_SUCCESS, 150), GW_BREAKER_CLOSED);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 150, 1), 1);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 150, 1), 1);
}

Test(breaker, a_failed_probe_reopens_for_a_full_cooldown)
{
    struct gw_breaker b;
    gw_breaker_init(&b);
    for (int i = 0; i < 3; i++)
        gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 100, 1), 1);
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_NEUTRAL, 120), -1);
    cr_assert_eq(gw_breaker_state(&b), GW_BREAKER_HALF_OPEN, "a 400 proves nothing");
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 130), GW_BREAKER_OPEN);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 229, 1), 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 230, 1), 1);
}

/* The probe's client left, or its request was the client's error: the target proved nothing
 * either way, and the next request is the probe, instead of every request being refused
 * (503 circuit_open) for another whole cooldown. */
Test(breaker, a_probe_that_proves_nothing_gives_its_lease_back)
{
    struct gw_breaker b;
    gw_breaker_init(&b);
    for (int i = 0; i < 3; i++)
        gw_breaker_record(&b, &cfg, GW_BREAKER_FAILURE, 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 100, 1), 1);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 110, 1), 0, "one probe at a time");
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_NEUTRAL, 120), -1);
    cr_assert_eq(gw_breaker_state(&b), GW_BREAKER_HALF_OPEN, "still not known to answer");
    cr_assert_eq(gw_breaker_wait_ms(&b, 121), 0);
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 121, 1), 1, "the next request probes");
    cr_assert_eq(gw_breaker_allow(&b, &cfg, 122, 1), 0, "and holds the lease in turn");
    cr_assert_eq(gw_breaker_record(&b, &cfg, GW_BREAKER_SUCCESS, 130), GW_BREAKER_CLOSED);
}

Test(breaker, threshold_zero_never_opens)
{
    struct gw_breaker_cfg off = {.threshold = 0, .cooldown_ms = 100};
    struct gw_breaker b;
    gw_breaker_init(&b);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(gw_breaker_record(&b, &off, GW_BREAKER_FAILURE, 0), -1);
    cr_assert_eq(gw_breaker_allow(&b, &off, 0, 1), 1);
}

struct racer {
    struct gw_breaker *b;
    pthread_barrier_t *bar;
    int opened, probes;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    for (int i = 0; i < 1000; i++)
        if (gw_breaker_record(x->b, &cfg, GW_BREAKER_FAILURE, 0) == GW_BREAKER_OPEN)
            x->opened++;
    pthread_barrier_wait(x->bar); /* every failure is in before anyone probes */
    for (int i = 0; i < 1000; i++)
        x->probes += gw_breaker_allow(x->b, &cfg, 5000, 1);
    return NULL;
}

Test(breaker, racing_threads_open_it_once_and_take_one_probe)
{
    struct gw_breaker b;
    gw_breaker_init(&b);
    pthread_t th[8];
    struct racer x[8];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 8);
    for (int i = 0; i < 8; i++) {
        x[i] = (struct racer){.b = &b, .bar = &bar};
        pthread_create(&th[i], NULL, race, &x[i]);
    }
    int opened = 0, probes = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        opened += x[i].opened;
        probes += x[i].probes;
    }
    pthread_barrier_destroy(&bar);
    /* Threads that were still failing after another opened it only add late reports. */
    cr_assert_geq(opened, 1);
    cr_assert_eq(probes, 1, "exactly one half-open probe, got %d", probes);
}

/* ---- slots ------------------------------------------------------------------------------ */

Test(tstats, slots_are_per_pair_and_the_provider_slot_stands_in)
{
    struct gw_tstats *t;
    cr_assert_eq(gw_tstats_new(&t, 16, 8, 2), 0);
    int p1, p2; /* any distinct addresses serve as plugins */
    struct gw_tstat *a = gw_tstats_get(t, &p1, "m", 1);
    struct gw_tstat *b = gw_tstats_get(t, &p2, "m", 1);
    cr_assert_not_null(a);
    cr_assert_neq(a, b);
    cr_assert_eq(gw_tstats_get(t, &p1, "m", 0), a);
    struct gw_tstat *prov = gw_tstats_get(t, &p1, "unknown", 0);
    cr_assert_str_eq(prov->model, "");
    cr_assert_eq(gw_tstats_get(t, &p1, "", 0), prov);
    /* 16 slots keep at most 12; later pairs get the provider's slot. */
    for (int i = 0; i < 40; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        struct gw_tstat *s = gw_tstats_get(t, &p1, m, 1);
        cr_assert_not_null(s);
        cr_assert(!strcmp(s->model, m) || !strcmp(s->model, ""), "%s", s->model);
    }
    cr_assert_eq(gw_tstats_count(t), 12);
    gw_tstats_free(t);
}

Test(tstats, median_of_a_rolling_window)
{
    struct gw_tstats *t;
    cr_assert_eq(gw_tstats_new(&t, 16, 5, 3), 0);
    int p;
    struct gw_tstat *s = gw_tstats_get(t, &p, "m", 1);
    gw_tstat_add_latency(t, s, 50);
    gw_tstat_add_latency(t, s, 10);
    cr_assert_eq(gw_tstat_p50(s), -1, "cold");
    gw_tstat_add_latency(t, s, 30);
    cr_assert_eq(gw_tstat_p50(s), 30);
    gw_tstat_add_latency(t, s, 20);
    cr_assert_eq(gw_tstat_p50(s), 20, "lower median of 10 20 30 50");
    gw_tstat_add_latency(t, s, 900);
    gw_tstat_add_latency(t, s, 900);
    gw_tstat_add_latency(t, s, 900);
    cr_assert_eq(gw_tstat_p50(s), 900, "window of 5: 30 20 900 900 900");
    gw_tstats_free(t);
}

/* The lower median of the last `window` values of v[0..n), the long way. */
static int64_t naive_p50(const int64_t *v, int n, int window)
{
    int64_t w[GW_LAT_WINDOW_MAX];
    int k = n < window ? n : window;
    for (int i = 0; i < k; i++)
        w[i] = v[n - k + i] < 0 ? 0 : v[n - k + i] > INT32_MAX ? INT32_MAX : v[n - k + i];
    for (int i = 1; i < k; i++) /* insertion sort */
        for (int j = i; j > 0 && w[j - 1] > w[j]; j--) {
            int64_t x = w[j];
            w[j] = w[j - 1];
            w[j - 1] = x;
        }
    return w[(k - 1) / 2];
}

Test(tstats, the_median_is_the_window_s_whatever_the_values)
{
    const int windows[] = {1, 2, 5, 32, GW_LAT_WINDOW_MAX};
    uint64_t seed = 88172645463325252ull;
    for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++) {
        int window = windows[wi], min_samples = window > 3 ? 3 : 1;
        struct gw_tstats *t;
        cr_assert_eq(gw_tstats_new(&t, 16, window, min_samples), 0);
        int p;
        struct gw_tstat *s = gw_tstats_get(t, &p, "m", 1);
        static int64_t v[3000];
        for (int n = 0; n < 3000; n++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            /* Few distinct values (ties), some out of range on either side. */
            v[n] = n % 97 == 0   ? -5
                   : n % 89 == 0 ? (int64_t)INT32_MAX + 7
                                 : (int64_t)(seed % (n < 1500 ? 8 : 100000));
            gw_tstat_add_latency(t, s, v[n]);
            int64_t want = n + 1 >= min_samples ? naive_p50(v, n + 1, window) : -1;
            cr_assert_eq(gw_tstat_p50(s), want, "window %d, value %d", window, n);
        }
        gw_tstats_free(t);
    }
}

struct inserter {
    struct gw_tstats *t;
    const void *plugin;
    struct gw_tstat *seen[64];
};

static void *insert_many(void *arg)
{
    struct inserter *x = arg;
    for (int i = 0; i < 64; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        x->seen[i] = gw_tstats_get(x->t, x->plugin, m, 1);
        gw_tstat_add_latency(x->t, x->seen[i], i);
    }
    return NULL;
}

Test(tstats, concurrent_inserts_agree_on_one_slot_per_pair)
{
    struct gw_tstats *t;
    cr_assert_eq(gw_tstats_new(&t, 256, 8, 1), 0);
    int p;
    pthread_t th[6];
    struct inserter x[6];
    for (int i = 0; i < 6; i++) {
        x[i] = (struct inserter){.t = t, .plugin = &p};
        pthread_create(&th[i], NULL, insert_many, &x[i]);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    for (int i = 1; i < 6; i++)
        cr_assert_arr_eq(x[i].seen, x[0].seen, sizeof x[0].seen);
    cr_assert_eq(gw_tstats_count(t), 64);
    cr_assert_eq(atomic_load(&x[0].seen[7]->samples), 6);
    gw_tstats_free(t);
}

/* ---- retry budget ------------------------------------------------------------------------- */

Test(retry_budget, ratio_of_requests_in_a_ten_second_window)
{
    struct gw_retry_budget b;
    gw_retry_budget_init(&b, 0.5, 0);
    for (int i = 0; i < 10; i++)
        gw_retry_budget_note(&b, 1000 + i * 100);
    int n = 0;
    for (int i = 0; i < 20; i++)
        n += gw_retry_budget_take(&b, 1999);
    cr_assert_eq(n, 5);
    /* Five seconds later: the requests still count, so do the retries. */
    cr_assert_eq(gw_retry_budget_take(&b, 6000), 0);
    gw_retry_budget_note(&b, 6000);
    gw_retry_budget_note(&b, 6000);
    cr_assert_eq(gw_retry_budget_take(&b, 6000), 1);
    cr_assert_eq(gw_retry_budget_take(&b, 6000), 0);
    /* Second 1 leaves the window at second 11. */
    cr_assert_eq(gw_retry_budget_take(&b, 11000), 0);
    for (int i = 0; i < 4; i++)
        gw_retry_budget_note(&b, 11000);
    cr_assert_eq(gw_retry_budget_take(&b, 11000), 1, "6 requests, 1 retry in the window");
    cr_assert_eq(gw_retry_budget_take(&b, 11000), 1);
    cr_assert_eq(gw_retry_budget_take(&b, 11000), 0);
}

Test(retry_budget, negative_ratio_means_no_budget)
{
    struct gw_retry_budget b;
    gw_retry_budget_init(&b, -1, 0);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(gw_retry_budget_take(&b, 0), 1);
}
