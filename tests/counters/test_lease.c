/*
 * The lease registry (counters_lease.c) driven directly with its own clock: the work a
 * renewal pass costs with thousands of leases, counted rather than timed.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "store/counters_int.h"

enum { N = 20000, LEASE_MS = 90000 };

/* N leases of one gateway key on the Redis backend, admitted through loop c one a
 * millisecond from t0, so each is due a millisecond after the one before. */
static void add_leases(struct gw_counters *c, int64_t t0)
{
    struct gw_reservation r;
    memset(&r, 0, sizeof r);
    r.state = GW_RS_LIVE;
    r.micros = 10;
    r.backend = GW_CB_REDIS;
    snprintf(r.key, sizeof r.key, "k-many");
    for (int i = 0; i < N; i++) {
        r.id = (uint64_t)i + 1;
        gw_lease_add(c, &r, LEASE_MS, t0 + i);
    }
}

/* Redis unreachable (no connection on this loop): each due lease is put back to be tried
 * again soon, ahead of every lease not due yet. With 20,000 leases that must not cost a walk
 * past those each: a whole renewal interval's passes would cost 20,000 times 20,000 steps,
 * under the lock every admission and settlement of the process takes. */
Test(leases, renewals_retried_with_redis_away_do_not_walk_the_leases_not_due)
{
    struct gw_counters_shared s;
    memset(&s, 0, sizeof s);
    cr_assert_eq(gw_leases_init(&s.leases, 1 << 20), 0);
    struct gw_counters c;
    memset(&c, 0, sizeof c);
    c.s = &s;
    int64_t t0 = 1700000000000;
    add_leases(&c, t0);
    uint64_t before = s.leases.steps;
    cr_assert_leq(before, 32 * (uint64_t)N, "adding %d leases moved past %llu", N,
                  (unsigned long long)before);
    /* One batch due: the first 256. */
    int64_t now = t0 + LEASE_MS / 3 + GW_LEASE_BATCH - 1;
    gw_lease_tick(&c, now);
    uint64_t batch = s.leases.steps - before;
    struct gw_counters_stats st;
    gw_counters_stats(&s, &st);
    cr_assert_eq(st.leases, N);
    cr_assert_eq(st.leases_lost, 0);
    cr_assert_eq(gw_lease_timeout_ms(&s, now), 1, "the next lease is due a millisecond later");
    /* Each of the 256 is due again within 250 ms, before the leases not yet due. */
    now += 250;
    before = s.leases.steps;
    gw_lease_tick(&c, now);
    batch += s.leases.steps - before;
    cr_assert_eq(gw_lease_timeout_ms(&s, now), 1);
    cr_log_info("two batches with %d leases waiting: %llu entries moved", N,
                (unsigned long long)batch);
    /* Per lease renewed (2 x 256 and the 250 that came due meanwhile): a heap's two sifts
     * of log2(20000) = 15 levels at most; a sorted list walks the 19,000 not due. */
    cr_assert_leq(batch, 64 * 3 * (uint64_t)GW_LEASE_BATCH,
                  "two batches with %d leases waiting moved past %llu", N,
                  (unsigned long long)batch);
    gw_leases_fini(&s.leases);
}
