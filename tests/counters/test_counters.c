/*
 * The counter contract, run against both backends with the same cases: in-process (one
 * process, two worker loops) and Redis (two replicas, each with its own shared object and
 * loop, on one redis-server). Each case is written once as contract_<name>() and registered
 * twice by CONTRACT(). The Redis half skips when redis-server is absent.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "counters/harness.h"

#define CONTRACT(name) CONTRACT_CFG(name, NULL)
#define CONTRACT_CFG(name, cfg)                                                                    \
    static void contract_##name(struct fix *f);                                                    \
    Test(counters_mem, name)                                                                       \
    {                                                                                              \
        struct fix fx;                                                                             \
        fix_init(&fx, 0, cfg);                                                                     \
        contract_##name(&fx);                                                                      \
        fix_fini(&fx);                                                                             \
    }                                                                                              \
    Test(counters_redis, name)                                                                     \
    {                                                                                              \
        struct fix fx;                                                                             \
        if (fix_init(&fx, 1, cfg) != 0)                                                            \
            cr_skip_test("redis-server not installed (Debian: apt-get install redis-server)");     \
        contract_##name(&fx);                                                                      \
        fix_fini(&fx);                                                                             \
    }                                                                                              \
    static void contract_##name(struct fix *f)

struct got {
    int done;
    struct gw_admit_result r;
};

static void on_got(void *ud, const struct gw_admit_result *r)
{
    struct got *g = ud;
    cr_assert_eq(g->done, 0, "a callback ran twice");
    g->done = 1;
    g->r = *r;
}

struct many {
    struct got *g;
    int n;
};

static int all_done(void *arg)
{
    struct many *m = arg;
    for (int i = 0; i < m->n; i++)
        if (!m->g[i].done)
            return 0;
    return 1;
}

/* One admission on loop `which`, driven to its answer. */
static struct gw_admit_result admit(struct fix *f, int which, const struct gw_admit_req *q)
{
    struct got g = {0};
    cr_assert_eq(gw_counters_admit(f->c[which], q, on_got, &g, NULL), 0);
    cr_assert_eq(g.done, 0, "the callback ran inside gw_counters_admit");
    struct many m = {&g, 1};
    cr_assert(drive_until(f->c, 2, all_done, &m, 5000), "no answer");
    cr_assert_eq(g.r.degraded, 0, "decided without the backend");
    return g.r;
}

static struct gw_admit_req req(const char *key)
{
    struct gw_admit_req q;
    memset(&q, 0, sizeof q);
    q.key_id = key;
    q.deadline_ms = gw_counters_now_ms() + 3000; /* generous: sanitizers make Redis slower */
    return q;
}

CONTRACT(rpm_exact_under_concurrency)
{
    /* 40 admissions at once, 20 on each loop (each replica, with Redis): exactly 10 pass. */
    struct got g[40];
    memset(g, 0, sizeof g);
    struct gw_admit_req q = req("k-rpm");
    q.limits.rpm = 10;
    for (int i = 0; i < 40; i++)
        cr_assert_eq(gw_counters_admit(f->c[i % 2], &q, on_got, &g[i], NULL), 0);
    struct many m = {g, 40};
    cr_assert(drive_until(f->c, 2, all_done, &m, 10000));
    int ok = 0, limited = 0;
    for (int i = 0; i < 40; i++) {
        cr_assert_eq(g[i].r.degraded, 0);
        if (g[i].r.status == GW_ADMIT_OK) {
            ok++;
            continue;
        }
        cr_assert_eq(g[i].r.status, GW_ADMIT_LIMITED);
        cr_assert_eq(g[i].r.limit, GW_LIMIT_RPM);
        cr_assert_eq(g[i].r.requests.limit, 10);
        cr_assert_eq(g[i].r.requests.remaining, 0);
        cr_assert(g[i].r.retry_after_ms > 0 && g[i].r.retry_after_ms <= 60000, "retry %lld",
                  (long long)g[i].r.retry_after_ms);
        limited++;
    }
    cr_assert_eq(ok, 10);
    cr_assert_eq(limited, 30);
    struct gw_counters_stats st;
    gw_counters_stats(f->s[0], &st);
    uint64_t admitted = st.admitted, rpm = st.limited_rpm;
    if (f->s[1] != f->s[0]) {
        gw_counters_stats(f->s[1], &st);
        admitted += st.admitted;
        rpm += st.limited_rpm;
    }
    cr_assert_eq(admitted, 10);
    cr_assert_eq(rpm, 30);
}

CONTRACT(headers_report_limit_remaining_reset)
{
    struct gw_admit_req q = req("k-hdr");
    q.limits.rpm = 5;
    q.limits.tpm = 1000;
    q.tokens = 100;
    struct gw_admit_result r = admit(f, 0, &q);
    cr_assert_eq(r.status, GW_ADMIT_OK);
    cr_assert_eq(r.limit, GW_LIMIT_NONE);
    cr_assert_eq(r.requests.limit, 5);
    cr_assert_eq(r.requests.remaining, 4);
    cr_assert(r.requests.reset_ms > 0 && r.requests.reset_ms <= 60000);
    cr_assert_eq(r.tokens.limit, 1000);
    cr_assert_eq(r.tokens.remaining, 900);
    cr_assert(r.tokens.reset_ms > 0 && r.tokens.reset_ms <= 60000);
    cr_assert_eq(r.budget_remaining_micros, -1);
    cr_assert_eq(r.retry_after_ms, -1);
    r = admit(f, 1, &q);
    cr_assert_eq(r.requests.remaining, 3, "both loops count in one window");
    cr_assert_eq(r.tokens.remaining, 800);
}

CONTRACT(tpm_reserves_then_settles_to_real_usage)
{
    struct gw_admit_req q = req("k-tpm");
    q.limits.tpm = 1000;
    q.tokens = 600;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    struct gw_admit_result b = admit(f, 1, &q);
    cr_assert_eq(b.status, GW_ADMIT_LIMITED);
    cr_assert_eq(b.limit, GW_LIMIT_TPM);
    cr_assert_eq(b.too_large, 0);
    cr_assert(b.retry_after_ms > 0 && b.retry_after_ms <= 60000);
    struct gw_reservation ra = a.reservation;
    cr_assert_eq(gw_counters_settle(f->c[0], &ra, 100, 0), 0); /* 600 reserved, 100 used */
    /* Settlements are asynchronous: an admission sees one for sure when it follows it on the
     * same loop (one Redis connection keeps order). */
    struct gw_admit_result c = admit(f, 0, &q);
    cr_assert_eq(c.status, GW_ADMIT_OK, "100 + 600 <= 1000 after settling");
    cr_assert_eq(c.tokens.remaining, 300);
    /* Settled twice through the same reservation: the second is a no-op. */
    struct gw_reservation rc = c.reservation;
    cr_assert_eq(gw_counters_settle(f->c[0], &rc, 300, 0), 0);
    cr_assert_eq(gw_counters_settle(f->c[0], &rc, 300, 0), 0);
    q.tokens = 600;
    struct gw_admit_result d = admit(f, 0, &q);
    cr_assert_eq(d.status, GW_ADMIT_OK, "100 + 300 + 600 = 1000");
    cr_assert_eq(d.tokens.remaining, 0);
    q.tokens = 1;
    struct gw_admit_result e = admit(f, 0, &q);
    cr_assert_eq(e.status, GW_ADMIT_LIMITED, "a second settlement would have made room");
    q.tokens = 1001;
    struct gw_admit_result big = admit(f, 0, &q);
    cr_assert_eq(big.status, GW_ADMIT_LIMITED);
    cr_assert_eq(big.too_large, 1);
    cr_assert_eq(big.retry_after_ms, -1);
}

CONTRACT(budget_grants_what_remains_then_refuses)
{
    struct gw_admit_req q = req("k-budget");
    q.limits.budget_micros = 1000;
    q.limits.spent_micros = 200; /* the ledger's spend seeds the counter */
    q.limits.period = 20250101;
    q.usd_micros = 500;
    q.usd_min_micros = 100;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    cr_assert_eq(a.granted_micros, 500);
    cr_assert_eq(a.budget_remaining_micros, 300);
    q.limits.spent_micros = 0; /* a later, staler ledger value does not reseed */
    struct gw_admit_result b = admit(f, 1, &q);
    cr_assert_eq(b.status, GW_ADMIT_OK);
    cr_assert_eq(b.granted_micros, 300, "clamped to what remains");
    cr_assert_eq(b.budget_remaining_micros, 0);
    struct gw_admit_result c = admit(f, 0, &q);
    cr_assert_eq(c.status, GW_ADMIT_LIMITED);
    cr_assert_eq(c.limit, GW_LIMIT_BUDGET);
    /* 800 of the 1000 are only reserved by a and b: not exhausted, retry once they settle */
    cr_assert_eq(c.budget_busy, 1);
    cr_assert_eq(c.retry_after_ms, 1000);
    struct gw_reservation ra = a.reservation;
    cr_assert_eq(gw_counters_settle(f->c[0], &ra, 10, 100), 0); /* 500 granted, 100 spent */
    struct gw_admit_result d = admit(f, 0, &q);
    cr_assert_eq(d.status, GW_ADMIT_OK);
    cr_assert_eq(d.granted_micros, 400);
    q.usd_micros = 50;
    q.usd_min_micros = 0;
    struct gw_admit_result e = admit(f, 0, &q);
    cr_assert_eq(e.status, GW_ADMIT_LIMITED, "nothing left at all");
    cr_assert_eq(e.budget_busy, 1, "but 700 of it only reserved");
    /* Spent to the last micro-dollar (the ledger says so): exhausted, waiting cannot help. */
    struct gw_admit_req x = req("k-spent");
    x.limits.budget_micros = 1000;
    x.limits.spent_micros = 1000;
    x.limits.period = 20250101;
    x.usd_micros = 50;
    struct gw_admit_result g = admit(f, 0, &x);
    cr_assert_eq(g.status, GW_ADMIT_LIMITED);
    cr_assert_eq(g.limit, GW_LIMIT_BUDGET);
    cr_assert_eq(g.budget_busy, 0);
    cr_assert_eq(g.retry_after_ms, -1);
}

CONTRACT(budget_spend_counts_once)
{
    struct gw_admit_req q = req("k-once");
    q.limits.budget_micros = 1000;
    q.usd_micros = 600;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    struct gw_reservation r = a.reservation;
    cr_assert_eq(gw_counters_settle(f->c[0], &r, 0, 600), 0);
    cr_assert_eq(gw_counters_settle(f->c[0], &r, 0, 600), 0);
    cr_assert_eq(gw_counters_release(f->c[0], &r), 0);
    q.usd_micros = 400;
    struct gw_admit_result b = admit(f, 0, &q);
    cr_assert_eq(b.status, GW_ADMIT_OK, "600 spent once, 400 left");
    q.usd_micros = 1;
    struct gw_admit_result c = admit(f, 0, &q);
    cr_assert_eq(c.status, GW_ADMIT_LIMITED);
}

CONTRACT(release_gives_the_grant_back_but_keeps_the_request)
{
    struct gw_admit_req q = req("k-release");
    q.limits.budget_micros = 1000;
    q.limits.rpm = 3;
    q.usd_micros = 1000;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    struct gw_admit_result b = admit(f, 0, &q);
    cr_assert_eq(b.limit, GW_LIMIT_BUDGET);
    struct gw_reservation r = a.reservation;
    cr_assert_eq(gw_counters_release(f->c[1], &r), 0);
    struct gw_admit_result c = admit(f, 1, &q);
    cr_assert_eq(c.status, GW_ADMIT_OK);
    cr_assert_eq(c.granted_micros, 1000);
    cr_assert_eq(c.requests.remaining, 1, "a released request still counts in RPM");
}

static int64_t admit_until_ok(struct fix *f, struct gw_admit_req *q, int64_t timeout_ms)
{
    int64_t t0 = gw_counters_now_ms();
    for (;;) {
        q->deadline_ms = gw_counters_now_ms() + 3000;
        struct gw_admit_result r = admit(f, 1, q);
        if (r.status == GW_ADMIT_OK) {
            struct gw_reservation res = r.reservation;
            gw_counters_release(f->c[1], &res);
            return gw_counters_now_ms() - t0;
        }
        cr_assert_lt(gw_counters_now_ms() - t0, timeout_ms, "never admitted");
        /* A TTL has no event to wait on: look again a little later. */
        drive_until(f->c, 2, fix_never, NULL, 20);
    }
}

/* Reservations are leases of LEASE_MS, renewed every third of it while their request lives. */
#define LEASE_MS 750
static const struct gw_counters_cfg lease_cfg = {.reservation_ttl_ms = LEASE_MS};

/* Loop `which` (the replica, with Redis) dies: nothing it holds is settled or
 * renewed again, as when its process is killed. */
static void kill_holder(struct fix *f, int which)
{
    gw_counters_free(f->c[which]);
    f->c[which] = NULL;
    if (f->s[which] != f->s[1 - which]) {
        gw_counters_shared_free(f->s[which]);
        f->s[which] = NULL;
    }
}

/* Admissions on loop 1 are refused on the budget (busy: only reserved) for `ms`. */
static void refused_for(struct fix *f, struct gw_admit_req q, int64_t ms, const char *why)
{
    int64_t t0 = gw_counters_now_ms();
    while (gw_counters_now_ms() - t0 < ms) {
        q.deadline_ms = gw_counters_now_ms() + 3000;
        struct gw_admit_result b = admit(f, 1, &q);
        cr_assert_eq(b.status, GW_ADMIT_LIMITED, "%s: admitted %lld ms on", why,
                     (long long)(gw_counters_now_ms() - t0));
        cr_assert_eq(b.limit, GW_LIMIT_BUDGET);
        cr_assert_eq(b.budget_busy, 1);
        drive_until(f->c, 2, fix_never, NULL, 40);
    }
}

CONTRACT_CFG(reservation_outlives_many_leases_while_its_request_lives, &lease_cfg)
{
    /* A stream longer than the lease (a long agent answer) keeps its grant: a second request
     * that would cross the budget is still refused while the first runs. */
    struct gw_admit_req q = req("k-long");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    cr_assert_eq(a.granted_micros, 1000);
    refused_for(f, q, 4 * LEASE_MS, "the grant of a live request was given back");
    struct gw_reservation ra = a.reservation;
    cr_assert_eq(gw_counters_settle(f->c[0], &ra, 10, 400), 0);
    q.deadline_ms = gw_counters_now_ms() + 3000; /* req()'s has passed by now */
    q.usd_micros = q.usd_min_micros = 601;
    cr_assert_eq(admit(f, 1, &q).limit, GW_LIMIT_BUDGET, "400 spent: 600 left");
    q.usd_micros = q.usd_min_micros = 600;
    cr_assert_eq(admit(f, 1, &q).status, GW_ADMIT_OK, "400 spent once");
}

static struct gw_counters_stats stats0(struct fix *f)
{
    struct gw_counters_stats st;
    gw_counters_stats(f->s[0], &st);
    return st;
}

CONTRACT_CFG(renewal_stops_when_the_request_settles, &lease_cfg)
{
    struct gw_admit_req q = req("k-stop");
    q.limits.budget_micros = 1000;
    q.usd_micros = 100;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    cr_assert_eq(stats0(f).leases, 1, "renewed while its request lives");
    drive_until(f->c, 2, fix_never, NULL, LEASE_MS);
    cr_assert_eq(stats0(f).leases, 1);
    struct gw_reservation ra = a.reservation;
    /* In process through the other loop; with Redis a replica settles its own. */
    cr_assert_eq(gw_counters_settle(f->c[f->redis ? 0 : 1], &ra, 0, 50), 0);
    cr_assert_eq(stats0(f).leases, 0, "settled: renewed no more");
    /* No grant, nothing to give back: such a reservation is not renewed at all. */
    q.deadline_ms = gw_counters_now_ms() + 3000;
    q.usd_micros = 0;
    q.limits.tpm = 1000;
    q.tokens = 10;
    cr_assert_eq(admit(f, 0, &q).status, GW_ADMIT_OK);
    cr_assert_eq(stats0(f).leases, 0);
    drive_until(f->c, 2, fix_never, NULL, LEASE_MS);
    cr_assert_eq(stats0(f).leases_lost, 0);
    cr_assert_eq(stats0(f).leases_untracked, 0);
}

CONTRACT_CFG(reservation_expires_when_never_settled, &lease_cfg)
{
    struct gw_admit_req q = req("k-expiry");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    refused_for(f, q, 2 * LEASE_MS, "held while its holder lives");
    /* Its holder dies: nobody settles it, nobody renews it. */
    kill_holder(f, 0);
    int64_t took = admit_until_ok(f, &q, 20 * LEASE_MS);
    cr_assert_geq(took, LEASE_MS / 2, "freed before its lease ran out");
    cr_assert_leq(took, 3 * LEASE_MS, "freed %lld ms after its holder died, lease %d ms",
                  (long long)took, LEASE_MS);
    /* A late settlement still counts what was spent (but gives back nothing twice). Settled
     * through the other loop (replica), where the checks below run. */
    struct gw_reservation ra = a.reservation;
    cr_assert_eq(gw_counters_settle(f->c[1], &ra, 0, 300), 0);
    q.usd_micros = 701;
    q.usd_min_micros = 701;
    cr_assert_eq(admit(f, 1, &q).status, GW_ADMIT_LIMITED, "300 spent late: 700 left");
    q.usd_micros = 700;
    q.usd_min_micros = 700;
    cr_assert_eq(admit(f, 1, &q).status, GW_ADMIT_OK);
}

/* Decided, and its completion consumed by the loop (timeout 0 means one is queued). */
static int decided_and_drained(void *arg)
{
    struct fix *f = arg;
    struct gw_counters_stats st;
    gw_counters_stats(f->s[0], &st);
    return st.admitted >= 1 && gw_counters_timeout_ms(f->c[0]) != 0;
}

CONTRACT(cancelled_admission_never_calls_back_and_releases)
{
    struct gw_admit_req q = req("k-cancel");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    struct got g = {0};
    struct gw_admit_op *op = NULL;
    cr_assert_eq(gw_counters_admit(f->c[0], &q, on_got, &g, &op), 0);
    cr_assert_not_null(op);
    gw_counters_cancel(f->c[0], op);
    cr_assert(drive_until(f->c, 2, decided_and_drained, f, 5000), "never decided");
    struct gw_admit_result b = admit(f, 0, &q);
    cr_assert_eq(g.done, 0, "cancelled, yet called back");
    cr_assert_eq(b.status, GW_ADMIT_OK, "the cancelled grant was released");
    cr_assert_eq(b.granted_micros, 1000);
}

CONTRACT(bad_arguments_fail_without_callback)
{
    static const char *bad_keys[] = {"", "has space", "{tag}", "a:b",
                                     "0123456789012345678901234567890123456789012345678901234567890"
                                     "1234"};
    struct got g = {0};
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
        struct gw_admit_req q = req(bad_keys[i]);
        q.limits.rpm = 1;
        cr_assert_eq(gw_counters_admit(f->c[0], &q, on_got, &g, NULL), AIGW_EINVAL, "%s",
                     bad_keys[i]);
    }
    struct gw_admit_req q = req("ok");
    q.limits.rpm = -1;
    cr_assert_eq(gw_counters_admit(f->c[0], &q, on_got, &g, NULL), AIGW_EINVAL);
    q.limits.rpm = 1;
    q.tokens = -5;
    cr_assert_eq(gw_counters_admit(f->c[0], &q, on_got, &g, NULL), AIGW_EINVAL);
    q.tokens = 0;
    cr_assert_eq(gw_counters_admit(f->c[0], &q, NULL, &g, NULL), AIGW_EINVAL);
    drive_until(f->c, 2, fix_never, NULL, 50);
    cr_assert_eq(g.done, 0);
    struct gw_reservation none;
    memset(&none, 0, sizeof none);
    cr_assert_eq(gw_counters_settle(f->c[0], &none, 5, 5), 0, "nothing to settle: no-op");
    cr_assert_eq(gw_counters_settle(f->c[0], &none, -1, 0), AIGW_EINVAL);
}

CONTRACT(new_period_starts_from_the_ledger)
{
    struct gw_admit_req q = req("k-period");
    q.limits.budget_micros = 1000;
    q.limits.period = 1;
    q.usd_micros = 1000;
    struct gw_admit_result a = admit(f, 0, &q);
    struct gw_reservation r = a.reservation;
    gw_counters_settle(f->c[0], &r, 0, 1000);
    cr_assert_eq(admit(f, 0, &q).status, GW_ADMIT_LIMITED);
    q.limits.period = 2;
    q.limits.spent_micros = 250;
    struct gw_admit_result c = admit(f, 1, &q);
    cr_assert_eq(c.status, GW_ADMIT_LIMITED, "750 left of 1000 is less than the 1000 asked");
    q.usd_min_micros = 1;
    c = admit(f, 1, &q);
    cr_assert_eq(c.status, GW_ADMIT_OK);
    cr_assert_eq(c.granted_micros, 750);
}

/* A request admitted just before a period ended settles after it: its grant is given back to
 * the old period and its cost counted there, while the ledger dates its row (and the key's
 * spend in the new period) by when it ended. Whatever the ledger's spend says is spent, the
 * new period's counter never stays below. */
CONTRACT(a_period_never_counts_less_than_the_ledger)
{
    struct gw_admit_req q = req("k-straddle");
    q.limits.budget_micros = 1000;
    q.limits.period = 100;
    q.limits.period_end = 200;
    q.usd_micros = 600;
    struct gw_admit_result a = admit(f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    struct gw_reservation r = a.reservation;
    q.limits.period = 200; /* the next period begins, with nothing in the ledger yet */
    q.limits.period_end = 0;
    q.usd_micros = 100;
    struct gw_admit_result b = admit(f, 1, &q);
    cr_assert_eq(b.status, GW_ADMIT_OK);
    cr_assert_eq(b.granted_micros, 100);
    cr_assert_eq(gw_counters_settle(f->c[0], &r, 10, 600), 0);
    /* The straddler's 600 reached the ledger, dated in the new period. */
    q.limits.spent_micros = 600;
    q.usd_micros = 400;
    struct gw_admit_result c = admit(f, 1, &q);
    cr_assert_eq(c.status, GW_ADMIT_LIMITED, "granted %lld with 600 spent and 100 reserved",
                 (long long)c.granted_micros);
    q.usd_micros = 300;
    c = admit(f, 1, &q);
    cr_assert_eq(c.status, GW_ADMIT_OK);
    cr_assert_eq(c.granted_micros, 300);
}

CONTRACT(no_limits_admits_without_counting)
{
    struct gw_admit_req q = req("k-free");
    struct gw_admit_result r = admit(f, 0, &q);
    cr_assert_eq(r.status, GW_ADMIT_OK);
    cr_assert_eq(r.requests.limit, 0);
    cr_assert_eq(r.tokens.limit, 0);
    cr_assert_eq(r.budget_remaining_micros, -1);
    struct gw_reservation res = r.reservation;
    cr_assert_eq(gw_counters_settle(f->c[0], &res, 10, 10), 0);
}

/* ---- in-process only: real threads, one loop each, one table ---- */

struct thr {
    struct gw_counters_shared *s;
    int ok, limited, other;
};

static void on_plain(void *ud, const struct gw_admit_result *r)
{
    struct got *g = ud;
    g->done++;
    g->r = *r;
}

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    struct gw_counters *c;
    if (gw_counters_new(t->s, &c) != 0) {
        t->other = -1;
        return NULL;
    }
    struct got g[100];
    memset(g, 0, sizeof g);
    struct gw_admit_req q = req("k-threads");
    q.limits.rpm = 50;
    q.limits.tpm = 100000;
    q.tokens = 7;
    for (int i = 0; i < 100; i++)
        if (gw_counters_admit(c, &q, on_plain, &g[i], NULL) != 0)
            t->other++;
    struct many m = {g, 100};
    drive_until(&c, 1, all_done, &m, 5000);
    for (int i = 0; i < 100; i++) {
        if (g[i].done != 1)
            t->other++;
        else if (g[i].r.status == GW_ADMIT_OK)
            t->ok++;
        else if (g[i].r.limit == GW_LIMIT_RPM)
            t->limited++;
        else
            t->other++;
    }
    gw_counters_free(c);
    return NULL;
}

Test(counters_mem, exact_across_worker_threads)
{
    struct gw_counters_cfg cfg = {0};
    struct gw_counters_shared *s;
    char err[128];
    cr_assert_eq(gw_counters_shared_new(&cfg, &s, err, sizeof err), 0);
    pthread_t th[4];
    struct thr t[4];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 4; i++) {
        t[i].s = s;
        cr_assert_eq(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
    }
    int ok = 0, limited = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(t[i].other, 0);
        ok += t[i].ok;
        limited += t[i].limited;
    }
    cr_assert_eq(ok, 50, "400 admissions from 4 threads for rpm 50");
    cr_assert_eq(limited, 350);
    gw_counters_shared_free(s);
}

Test(counters_mem, table_cap_refuses_new_keys_without_callback)
{
    struct gw_counters_cfg cfg = {.max_keys = 2};
    struct fix f;
    fix_init(&f, 0, &cfg);
    struct got g = {0};
    struct gw_admit_req q = req("a");
    q.limits.rpm = 5;
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_OK);
    q.key_id = "b";
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_OK);
    q.key_id = "c";
    cr_assert_eq(gw_counters_admit(f.c[0], &q, on_got, &g, NULL), AIGW_ETOOBIG);
    q.key_id = "a";
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_OK, "known keys still work");
    drive_until(f.c, 2, fix_never, NULL, 10);
    cr_assert_eq(g.done, 0);
    fix_fini(&f);
}

Test(counters, reset_durations_in_openai_form)
{
    struct {
        int64_t ms;
        const char *want;
    } cases[] = {{0, "0s"},       {-5, "0s"},       {12, "12ms"},      {999, "999ms"},
                 {1000, "1s"},    {1500, "1.5s"},   {20250, "20.25s"}, {59999, "59.999s"},
                 {60000, "1m0s"}, {360000, "6m0s"}, {61001, "1m2s"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[32];
        size_t n = gw_counters_fmt_reset(cases[i].ms, buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].want, "%lld", (long long)cases[i].ms);
        cr_assert_eq(n, strlen(cases[i].want));
    }
}
