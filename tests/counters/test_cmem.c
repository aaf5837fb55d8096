/*
 * The in-process table (counters_mem) driven directly with its own clock: what it keeps of a
 * key's budget over minutes of idleness and between Redis outages, which the contract suite
 * (test_counters.c, on the real clock) cannot wait for.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "store/counters_int.h"

/* The in-process counter of a key's budget is the spend on this machine; the ledger's spend
 * (the key record's spend_usd) only seeds it. When the store cannot be read, the key record
 * keeps serving with the spend it had when last read, so a counter dropped for idleness and
 * seeded again from it would forget what was spent since: the budget spent twice. */
Test(counters_mem, an_idle_budget_keeps_its_spend_while_the_table_has_room)
{
    struct gw_cmem *m;
    cr_assert_eq(gw_cmem_new(64, &m), 0);
    int64_t t0 = 1700000000000;
    struct gw_admit_req q;
    memset(&q, 0, sizeof q);
    q.key_id = "k-idle";
    q.limits.budget_micros = 1000;
    q.limits.spent_micros = 0; /* the key record's spend, read before the spend below */
    q.usd_micros = q.usd_min_micros = 900;
    struct gw_admit_result res;
    cr_assert_eq(gw_cmem_admit(m, &q, 1, 1, 60000, t0, &res), 0);
    cr_assert_eq(res.status, GW_ADMIT_OK);
    cr_assert_eq(res.granted_micros, 900);
    gw_cmem_settle(m, &res.reservation, 10, 900, t0 + 1000);

    /* Ten minutes later, after other keys' admissions swept every bucket, the same stale
     * record comes back: only 100 of the 1000 are left. */
    int64_t later = t0 + 600000;
    struct gw_admit_req o;
    memset(&o, 0, sizeof o);
    o.limits.rpm = 1000000;
    for (int i = 0; i < 200; i++) {
        o.key_id = i % 2 ? "k-other-1" : "k-other-2";
        cr_assert_eq(gw_cmem_admit(m, &o, 1, (uint64_t)(10 + i), 60000, later + i, &res), 0);
    }
    cr_assert_eq(gw_cmem_admit(m, &q, 1, 1000, 60000, later + 300, &res), 0);
    cr_assert_eq(res.status, GW_ADMIT_LIMITED, "granted %lld more of a budget spent to 900",
                 (long long)res.granted_micros);
    cr_assert_eq(res.limit, GW_LIMIT_BUDGET);
    cr_assert_eq(res.budget_remaining_micros, 100);

    /* A full table still makes room: the idle budget goes when nothing else can. */
    char id[16];
    int refused = 0;
    for (int i = 0; i < 70; i++) {
        snprintf(id, sizeof id, "k-fill-%d", i);
        o.key_id = id;
        int rc = gw_cmem_admit(m, &o, 1, (uint64_t)(2000 + i), 60000, later + 600000, &res);
        refused += rc == AIGW_ETOOBIG;
    }
    cr_assert_eq(refused, 70 - 64, "a full table of 64 makes room by evicting every idle key");
    gw_cmem_free(m);
}

/* The local shares Redis' fallback decides on keep their entries between outages: the spend
 * the ledger reports at the next outage (everything committed while Redis was back) is
 * newer than what this table counted in the last one, and must not be ignored. */
Test(counters_mem, a_later_outage_starts_from_the_ledgers_newer_spend)
{
    struct gw_cmem *m;
    cr_assert_eq(gw_cmem_new(64, &m), 0);
    int64_t t0 = 1700000000000;
    struct gw_admit_req q;
    memset(&q, 0, sizeof q);
    q.key_id = "k-outages";
    q.limits.budget_micros = 1000;
    q.usd_micros = q.usd_min_micros = 100;
    struct gw_admit_result res;
    /* The first outage, on half the budget: 100 granted, 100 spent. */
    cr_assert_eq(gw_cmem_admit(m, &q, 2, 1, 60000, t0, &res), 0);
    cr_assert_eq(res.status, GW_ADMIT_OK);
    gw_cmem_settle(m, &res.reservation, 10, 100, t0 + 1000);
    /* Redis came back and the fleet spent up to 900; the next outage's share is 950. */
    q.limits.spent_micros = 900;
    cr_assert_eq(gw_cmem_admit(m, &q, 2, 2, 60000, t0 + 600000, &res), 0);
    cr_assert_eq(res.status, GW_ADMIT_LIMITED, "granted %lld with 900 of 1000 spent",
                 (long long)res.granted_micros);
    cr_assert_eq(res.budget_remaining_micros, 50);
    q.usd_micros = q.usd_min_micros = 50;
    cr_assert_eq(gw_cmem_admit(m, &q, 2, 3, 60000, t0 + 600001, &res), 0);
    cr_assert_eq(res.status, GW_ADMIT_OK);
    cr_assert_eq(res.granted_micros, 50);
    gw_cmem_free(m);
}

/* One gateway key with thousands of concurrent streams: each renewal pass renews every one of
 * them and each settles once. Finding a reservation must not walk the key's others, or the
 * pass costs the square of the streams (20,000 streams: 200 million steps every 30 s, under
 * the table's one lock that every admission waits on). Counted, not timed. */
Test(counters_mem, renewing_and_settling_one_keys_many_streams_is_linear)
{
    enum { N = 20000 };
    struct gw_cmem *m;
    cr_assert_eq(gw_cmem_new(64, &m), 0);
    int64_t t0 = 1700000000000;
    struct gw_admit_req q;
    memset(&q, 0, sizeof q);
    q.key_id = "k-many";
    q.limits.budget_micros = 1000000000;
    q.usd_micros = q.usd_min_micros = 10;
    static struct gw_reservation rs[N];
    struct gw_admit_result res;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(gw_cmem_admit(m, &q, 1, (uint64_t)(i + 1), 90000, t0, &res), 0);
        cr_assert_eq(res.status, GW_ADMIT_OK);
        rs[i] = res.reservation;
    }
    static struct gw_lease_ref refs[GW_LEASE_BATCH];
    unsigned char found[GW_LEASE_BATCH];
    uint64_t before = gw_cmem_probes(m);
    /* One renewal pass, in the registry's batches, oldest first (the worst order for a list
     * kept newest first). */
    for (int i = 0; i < N; i += GW_LEASE_BATCH) {
        size_t n = N - i < GW_LEASE_BATCH ? (size_t)(N - i) : GW_LEASE_BATCH;
        for (size_t j = 0; j < n; j++) {
            memset(&refs[j], 0, sizeof refs[j]);
            refs[j].id = rs[i + j].id;
            refs[j].period = rs[i + j].period;
            refs[j].lease_ms = 90000;
            refs[j].backend = GW_CB_MEM;
            snprintf(refs[j].key, sizeof refs[j].key, "%s", rs[i + j].key);
        }
        gw_cmem_renew(m, refs, n, t0 + 30000, found);
        for (size_t j = 0; j < n; j++)
            cr_assert(found[j], "reservation %zu renewed", (size_t)i + j);
    }
    uint64_t renew = gw_cmem_probes(m) - before;
    cr_log_info("one renewal pass over %d streams of one key: %llu records looked at", N,
                (unsigned long long)renew);
    cr_assert_leq(renew, 8 * (uint64_t)N, "one pass over %d streams of one key looked at %llu", N,
                  (unsigned long long)renew);
    before = gw_cmem_probes(m);
    for (int i = 0; i < N; i++)
        gw_cmem_settle(m, &rs[i], 0, 10, t0 + 31000);
    uint64_t settle = gw_cmem_probes(m) - before;
    cr_log_info("%d settlements: %llu records looked at", N, (unsigned long long)settle);
    cr_assert_leq(settle, 8 * (uint64_t)N, "%d settlements looked at %llu records", N,
                  (unsigned long long)settle);
    /* All settled: the whole budget is free again but for what was spent. */
    q.usd_micros = q.usd_min_micros = 1000000000 - 10 * N;
    cr_assert_eq(gw_cmem_admit(m, &q, 1, N + 1, 90000, t0 + 32000, &res), 0);
    cr_assert_eq(res.status, GW_ADMIT_OK, "nothing still reserved after settling every one");
    gw_cmem_free(m);
}
