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
