/*
 * The failure policy with a real redis-server that is killed, frozen and brought back: rate
 * limits fall back to this replica's share, budgets fail closed (or open when configured),
 * every degraded decision is counted and logged without the password, nothing waits on a
 * dead server, settlements sent into an outage count exactly once, and a reply that comes
 * after its deadline leaves no phantom reservation; reservations are leases, renewed across a
 * reconnect and given back within one lease when their replica's process is killed. Skipped
 * when redis-server is absent.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "counters/harness.h"
#include "lib/log.h"

struct got {
    int done;
    struct gw_admit_result r;
};

static void on_got(void *ud, const struct gw_admit_result *r)
{
    struct got *g = ud;
    g->done = 1;
    g->r = *r;
}

static int got_done(void *arg)
{
    return ((struct got *)arg)->done;
}

static struct gw_admit_result admit_dl(struct fix *f, int which, struct gw_admit_req *q,
                                       int64_t deadline_ms)
{
    struct got g = {0};
    q->deadline_ms = gw_counters_now_ms() + deadline_ms;
    cr_assert_eq(gw_counters_admit(f->c[which], q, on_got, &g, NULL), 0);
    cr_assert(drive_until(f->c, 2, got_done, &g, 5000), "no answer: something waited");
    return g.r;
}

static struct gw_admit_result admit(struct fix *f, int which, struct gw_admit_req *q)
{
    return admit_dl(f, which, q, 3000);
}

static struct gw_admit_req req(const char *key)
{
    struct gw_admit_req q;
    memset(&q, 0, sizeof q);
    q.key_id = key;
    return q;
}

static struct gw_counters_stats stats(struct fix *f, int i)
{
    struct gw_counters_stats st;
    gw_counters_stats(f->s[i], &st);
    return st;
}

static int both_down(void *arg)
{
    struct fix *f = arg;
    return stats(f, 0).redis_drops >= 1 && stats(f, 1).redis_drops >= 1;
}

static int first_down(void *arg)
{
    return stats(arg, 0).redis_drops >= 1;
}

static int first_back(void *arg)
{
    return stats(arg, 0).redis_connects >= 2;
}

static int both_back(void *arg)
{
    struct fix *f = arg;
    return stats(f, 0).redis_connects >= 2 && stats(f, 1).redis_connects >= 2;
}

static void init(struct fix *f, struct gw_counters_cfg *cfg)
{
    if (fix_init(f, 1, cfg) != 0)
        cr_skip_test("redis-server not installed (Debian: apt-get install redis-server)");
}

static struct gw_counters_cfg fast_cfg(void)
{
    struct gw_counters_cfg c = {0};
    c.replicas = 2;
    c.redis_stall_ms = 300;
    c.redis_connect_timeout_ms = 300;
    return c;
}

Test(failover, killed_redis_falls_back_to_shares_then_recovers)
{
    struct gw_counters_cfg cfg = fast_cfg();
    struct fix f;
    init(&f, &cfg);
    struct gw_admit_req q = req("k-fail");
    q.limits.rpm = 10;
    cr_assert_eq(admit(&f, 0, &q).degraded, GW_DEGRADED_NO);

    redis_srv_kill(&f.srv);
    cr_assert(drive_until(f.c, 2, both_down, &f, 5000));
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        struct gw_admit_result r = admit(&f, 0, &q);
        cr_assert_eq(r.degraded, GW_DEGRADED_DOWN);
        ok += r.status == GW_ADMIT_OK;
        if (r.status != GW_ADMIT_OK) {
            cr_assert_eq(r.limit, GW_LIMIT_RPM);
            cr_assert_eq(r.requests.limit, 5, "this replica's share of 10 among 2");
        }
    }
    cr_assert_eq(ok, 5);
    struct gw_admit_req b = req("k-fail-budget");
    b.limits.budget_micros = 1000;
    b.usd_micros = 10;
    struct gw_admit_result rb = admit(&f, 1, &b);
    cr_assert_eq(rb.status, GW_ADMIT_UNAVAILABLE, "budgets fail closed");
    cr_assert_eq(rb.degraded, GW_DEGRADED_DOWN);
    struct gw_counters_stats st = stats(&f, 0);
    cr_assert_eq(st.degraded_down, 10);
    cr_assert_eq(st.limited_rpm, 5);
    cr_assert_eq(stats(&f, 1).unavailable, 1);
    cr_assert_eq(stats(&f, 1).degraded_down, 1);

    cr_assert_eq(redis_srv_restart(&f.srv), 0);
    cr_assert(drive_until(f.c, 2, both_back, &f, 10000), "never reconnected");
    struct gw_admit_result r = admit(&f, 1, &q);
    cr_assert_eq(r.degraded, GW_DEGRADED_NO);
    cr_assert_eq(r.status, GW_ADMIT_OK);
    cr_assert_eq(r.requests.limit, 10, "the whole limit again");
    rb = admit(&f, 1, &b);
    cr_assert_eq(rb.status, GW_ADMIT_OK);
    cr_assert_eq(stats(&f, 0).degraded_down, 10, "no degraded decision after recovery");
    fix_fini(&f);
}

Test(failover, budget_fail_open_uses_a_local_share)
{
    struct gw_counters_cfg cfg = fast_cfg();
    cfg.budget_fail_open = 1;
    struct fix f;
    init(&f, &cfg);
    redis_srv_kill(&f.srv);
    cr_assert(drive_until(f.c, 2, both_down, &f, 5000));
    struct gw_admit_req q = req("k-open");
    q.limits.budget_micros = 1000;
    q.usd_micros = 400;
    struct gw_admit_result a = admit(&f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    cr_assert_eq(a.degraded, GW_DEGRADED_DOWN);
    cr_assert_eq(a.budget_remaining_micros, 100, "a share of 500");
    struct gw_admit_result b = admit(&f, 0, &q);
    cr_assert_eq(b.status, GW_ADMIT_LIMITED);
    cr_assert_eq(b.limit, GW_LIMIT_BUDGET);
    cr_assert_eq(stats(&f, 0).budget_fail_open, 2);
    fix_fini(&f);
}

Test(failover, frozen_redis_hits_the_deadline_and_never_hangs)
{
    struct gw_counters_cfg cfg = fast_cfg();
    struct fix f;
    init(&f, &cfg);
    struct gw_admit_req q = req("k-frozen");
    q.limits.rpm = 10;
    redis_srv_pause(&f.srv, 1);
    int64_t t0 = gw_counters_now_ms();
    struct gw_admit_result r = admit_dl(&f, 0, &q, 100);
    cr_assert_geq(gw_counters_now_ms() - t0, 100);
    cr_assert_eq(r.degraded, GW_DEGRADED_TIMEOUT);
    cr_assert_eq(r.status, GW_ADMIT_OK, "a share of 5 is left");
    cr_assert_eq(stats(&f, 0).degraded_timeout, 1);
    /* No reply within the stall time: the connection goes, and decisions stop waiting. (The
     * other replica's idle connection has nothing to notice.) */
    cr_assert(drive_until(f.c, 2, first_down, &f, 5000));
    r = admit_dl(&f, 0, &q, 100);
    cr_assert_eq(r.degraded, GW_DEGRADED_DOWN, "decided at once while down");
    redis_srv_pause(&f.srv, 0);
    cr_assert(drive_until(f.c, 2, first_back, &f, 10000));
    r = admit(&f, 0, &q);
    cr_assert_eq(r.degraded, GW_DEGRADED_NO);
    fix_fini(&f);
}

static int settle_retried(void *arg)
{
    return stats(arg, 0).settle_retried >= 1;
}

static int settle_resent(void *arg)
{
    struct fix *f = arg;
    return gw_counters_backlog(f->c[0]) == 0 && first_back(f);
}

Test(failover, settlement_sent_into_an_outage_counts_once)
{
    struct gw_counters_cfg cfg = fast_cfg();
    struct fix f;
    init(&f, &cfg);
    struct gw_admit_req q = req("k-settle");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    struct gw_admit_result a = admit(&f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    redis_srv_pause(&f.srv, 1);
    struct gw_reservation r = a.reservation;
    cr_assert_eq(gw_counters_settle(f.c[0], &r, 0, 300), 0);
    /* Sent, unanswered, the connection dropped: queued again. Thawed, Redis runs the first
     * copy from its socket buffer and the re-sent one finds the tombstone. */
    cr_assert(drive_until(f.c, 2, settle_retried, &f, 5000));
    redis_srv_pause(&f.srv, 0);
    cr_assert(drive_until(f.c, 2, settle_resent, &f, 10000));
    /* On c[0]'s connection, so Redis runs these after the re-sent settlement. */
    q.usd_micros = 700;
    struct gw_admit_result b = admit(&f, 0, &q);
    cr_assert_eq(b.status, GW_ADMIT_OK, "300 spent once: 700 left");
    q.usd_micros = 1;
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_LIMITED);
    cr_assert_eq(stats(&f, 0).settle_dropped, 0);
    fix_fini(&f);
}

Test(failover, late_reply_leaves_no_phantom_reservation)
{
    struct gw_counters_cfg cfg = fast_cfg();
    cfg.redis_stall_ms = 5000; /* keep the connection through the freeze */
    struct fix f;
    init(&f, &cfg);
    struct gw_admit_req q = req("k-late");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    redis_srv_pause(&f.srv, 1);
    struct gw_admit_result a = admit_dl(&f, 0, &q, 100);
    cr_assert_eq(a.status, GW_ADMIT_UNAVAILABLE);
    cr_assert_eq(a.degraded, GW_DEGRADED_TIMEOUT);
    redis_srv_pause(&f.srv, 0);
    /* The admission ran late and reserved 1000; the release queued behind it gave it back. */
    struct gw_admit_result b = admit(&f, 0, &q);
    cr_assert_eq(b.degraded, GW_DEGRADED_NO);
    cr_assert_eq(b.status, GW_ADMIT_OK);
    cr_assert_eq(b.granted_micros, 1000);
    fix_fini(&f);
}

/* The connection is dropped (no reply within redis.stall_ms) while an admission waits: Redis
 * still runs it from its socket buffer once it thaws, and the grant it reserved for nobody
 * must be given back, as after a deadline, not held until the reservation's TTL. */
Test(failover, admission_lost_with_its_connection_leaves_no_phantom_reservation)
{
    struct gw_counters_cfg cfg = fast_cfg();
    struct fix f;
    init(&f, &cfg);
    struct gw_admit_req q = req("k-dropped");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    redis_srv_pause(&f.srv, 1);
    struct gw_admit_result a = admit_dl(&f, 0, &q, 3000); /* the stall (300 ms) comes first */
    cr_assert_eq(a.status, GW_ADMIT_UNAVAILABLE);
    cr_assert_eq(a.degraded, GW_DEGRADED_DOWN);
    redis_srv_pause(&f.srv, 0);
    cr_assert(drive_until(f.c, 2, first_back, &f, 10000));
    cr_assert(drive_until(f.c, 2, settle_resent, &f, 10000));
    struct gw_admit_result b = admit(&f, 0, &q);
    cr_assert_eq(b.degraded, GW_DEGRADED_NO);
    cr_assert_eq(b.status, GW_ADMIT_OK, "the lost admission still holds the budget (busy %d)",
                 b.budget_busy);
    cr_assert_eq(b.granted_micros, 1000);
    fix_fini(&f);
}

static int two_replicas_seen(void *arg)
{
    return stats(arg, 0).replicas == 2 && stats(arg, 1).replicas == 2;
}

Test(failover, replica_count_is_observed_when_not_configured)
{
    struct gw_counters_cfg cfg = fast_cfg();
    cfg.replicas = 0;
    struct fix f;
    init(&f, &cfg);
    cr_assert(drive_until(f.c, 2, two_replicas_seen, &f, 8000));
    redis_srv_kill(&f.srv);
    cr_assert(drive_until(f.c, 2, both_down, &f, 5000));
    struct gw_admit_req q = req("k-observed");
    q.limits.rpm = 10;
    int ok = 0;
    for (int i = 0; i < 8; i++)
        ok += admit(&f, 0, &q).status == GW_ADMIT_OK;
    cr_assert_eq(ok, 5);
    fix_fini(&f);
}

Test(failover, keys_carry_ttls)
{
    struct fix f;
    init(&f, NULL);
    struct gw_admit_req q = req("k-ttl");
    q.limits.rpm = 5;
    q.limits.tpm = 100;
    q.limits.budget_micros = 1000;
    q.limits.period = 7;
    q.tokens = 10;
    q.usd_micros = 10;
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_OK);
    static const char *keys[] = {"aigw:v1:{k-ttl}:w", "aigw:v1:{k-ttl}:b:7", "aigw:v1:{k-ttl}:q",
                                 "aigw:v1:{k-ttl}:e"};
    for (int i = 0; i < 4; i++) {
        struct raw_reply rr;
        cr_assert_eq(redis_srv_call(&f.srv, &rr, "PTTL", keys[i], NULL), 0);
        cr_assert_eq(rr.type, GW_RESP_INTEGER);
        cr_assert_gt(rr.integer, 0, "%s has no TTL (%lld)", keys[i], rr.integer);
    }
    fix_fini(&f);
}

Test(failover, degraded_decisions_are_logged_without_the_password)
{
    if (!redis_srv_binary())
        cr_skip_test("redis-server not installed (Debian: apt-get install redis-server)");
    struct redis_srv pre;
    cr_assert_eq(redis_srv_start(&pre), 0);
    struct raw_reply rr;
    cr_assert_eq(redis_srv_call(&pre, &rr, "CONFIG", "SET", "requirepass", "canary-pw-7781", NULL),
                 0);
    char logpath[] = "/tmp/aigw-counters-log-XXXXXX";
    int lfd = mkstemp(logpath);
    cr_assert_geq(lfd, 0);
    close(lfd);
    cr_assert_eq(gw_log_init(AIGW_LOG_INFO, logpath, NULL), 0);
    char url[200];
    snprintf(url, sizeof url, "redis://:canary-pw-7781@127.0.0.1:%d/0", pre.port);
    struct gw_counters_cfg cfg = fast_cfg();
    cfg.redis_url = url;
    char err[256];
    struct gw_counters_shared *s;
    struct gw_counters *c[2] = {NULL, NULL};
    cr_assert_eq(gw_counters_shared_new(&cfg, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(gw_counters_new(s, &c[0]), 0);
    struct fix f = {.s = {s, s}, .c = {c[0], NULL}};
    struct gw_admit_req q = req("k-log");
    q.limits.rpm = 10;
    struct got g = {0};
    redis_srv_kill(&pre);
    cr_assert_eq(gw_counters_admit(c[0], &q, on_got, &g, NULL), 0);
    cr_assert(drive_until(f.c, 1, got_done, &g, 5000));
    cr_assert_neq(g.r.degraded, GW_DEGRADED_NO);
    gw_counters_free(c[0]);
    gw_counters_shared_free(s);
    gw_log_close();
    FILE *fp = fopen(logpath, "r");
    cr_assert_not_null(fp);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    unlink(logpath);
    cr_assert_not_null(strstr(text, "made without Redis"), "no degraded line in:\n%s", text);
    cr_assert_not_null(strstr(text, "k-log"));
    cr_assert_null(strstr(text, "canary-pw-7781"), "the password reached the log");
    redis_srv_stop(&pre);
}

Test(failover, budget_never_holds_a_grant_whose_records_are_gone)
{
    struct fix f;
    init(&f, NULL);
    struct gw_admit_req q = req("k-phantom");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_OK);
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_LIMITED);
    /* As if the replica died and nobody used the key until its records' TTL ran out. */
    struct raw_reply rr;
    cr_assert_eq(
        redis_srv_call(&f.srv, &rr, "DEL", "aigw:v1:{k-phantom}:q", "aigw:v1:{k-phantom}:e", NULL),
        0);
    cr_assert_eq(rr.integer, 2);
    struct gw_admit_result r = admit(&f, 1, &q);
    cr_assert_eq(r.status, GW_ADMIT_OK);
    cr_assert_eq(r.granted_micros, 1000);
    fix_fini(&f);
}

/* ---- reservations are leases ---- */

#define LEASE_MS 750

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(failover, default_lease_is_short)
{
    /* What a dead replica's reservation blocks: its key's budget until its expiry. */
    struct fix f;
    init(&f, NULL);
    struct gw_admit_req q = req("k-dflt");
    q.limits.budget_micros = 1000;
    q.usd_micros = 10;
    struct gw_admit_result a = admit(&f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    char id[64];
    snprintf(id, sizeof id, "%016" PRIx64 "-%" PRIx64, a.reservation.origin, a.reservation.id);
    struct raw_reply rr;
    cr_assert_eq(redis_srv_call(&f.srv, &rr, "ZSCORE", "aigw:v1:{k-dflt}:e", id, NULL), 0);
    int64_t left = strtoll(rr.str, NULL, 10) - wall_ms();
    cr_assert(left > 30000 && left <= 120000, "the reservation expires in %lld ms",
              (long long)left);
    fix_fini(&f);
}

static int admitted_or_refused(void *arg)
{
    return ((struct got *)arg)->done;
}

/* A replica in a process of its own: admits one budget reservation, says so on wfd, then
 * keeps its loop turning (renewing its lease) until it is killed. Never returns. */
static void holder_process(const char *url, int wfd)
{
    struct gw_counters_cfg cfg = {.redis_url = url, .reservation_ttl_ms = LEASE_MS};
    struct gw_counters_shared *s = NULL;
    struct gw_counters *c = NULL;
    char err[128];
    char verdict = 'x';
    if (gw_counters_shared_new(&cfg, &s, err, sizeof err) == 0 && gw_counters_new(s, &c) == 0) {
        struct gw_admit_req q = req("k-killed");
        q.limits.budget_micros = 1000;
        q.usd_micros = 1000;
        for (int tries = 0; tries < 50 && verdict != 'k'; tries++) {
            struct got g = {0};
            q.deadline_ms = gw_counters_now_ms() + 3000;
            if (gw_counters_admit(c, &q, on_got, &g, NULL) != 0 ||
                !drive_until(&c, 1, admitted_or_refused, &g, 5000))
                break;
            if (g.r.status == GW_ADMIT_OK && !g.r.degraded)
                verdict = 'k';
            else if (g.r.degraded) /* not connected yet */
                drive_until(&c, 1, fix_never, NULL, 50);
            else
                break;
        }
    }
    if (write(wfd, &verdict, 1) != 1)
        _exit(1);
    for (;;)
        drive_until(&c, 1, fix_never, NULL, 60000);
}

static void refused_for(struct fix *f, struct gw_admit_req q, int64_t ms, const char *why)
{
    int64_t t0 = gw_counters_now_ms();
    while (gw_counters_now_ms() - t0 < ms) {
        struct gw_admit_result b = admit(f, 1, &q);
        cr_assert_eq(b.status, GW_ADMIT_LIMITED, "%s: %s after %lld ms", why,
                     b.status == GW_ADMIT_OK ? "admitted" : "unavailable",
                     (long long)(gw_counters_now_ms() - t0));
        cr_assert_eq(b.budget_busy, 1);
        drive_until(f->c, 2, fix_never, NULL, 40);
    }
}

Test(failover, killed_replica_process_gives_its_grants_back_within_a_lease)
{
    struct gw_counters_cfg cfg = {.reservation_ttl_ms = LEASE_MS};
    struct fix f;
    init(&f, &cfg);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Dies with the test, should an assertion end it before the kill below. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(fds[0]);
        holder_process(f.srv.url, fds[1]);
    }
    close(fds[1]);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    char verdict = 0;
    cr_assert_eq(poll(&pfd, 1, 15000), 1, "the holder never said");
    cr_assert_eq(read(fds[0], &verdict, 1), 1);
    close(fds[0]);
    if (verdict != 'k') {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("the holder could not admit (%c)", verdict);
    }
    struct gw_admit_req q = req("k-killed");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    /* Alive, it renews: its grant holds for several leases. */
    refused_for(&f, q, 3 * LEASE_MS, "a live replica's grant was given back");
    int64_t t0 = gw_counters_now_ms();
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    for (;;) {
        struct gw_admit_result r = admit(&f, 1, &q);
        int64_t took = gw_counters_now_ms() - t0;
        if (r.status == GW_ADMIT_OK) {
            cr_assert_geq(took, LEASE_MS / 2, "freed before its lease ran out");
            break;
        }
        cr_assert_eq(r.budget_busy, 1);
        cr_assert_lt(took, 3 * LEASE_MS, "still held %lld ms after its replica was killed",
                     (long long)took);
        drive_until(f.c, 2, fix_never, NULL, 20);
    }
    fix_fini(&f);
}

static int both_reconnected(void *arg)
{
    struct fix *f = arg;
    return stats(f, 0).redis_connects >= 2 && stats(f, 1).redis_connects >= 2 && fix_connected(f);
}

Test(failover, lease_renewal_survives_a_reconnect)
{
    struct gw_counters_cfg cfg = fast_cfg();
    cfg.reservation_ttl_ms = 2 * LEASE_MS; /* the reconnect takes part of one renewal interval */
    struct fix f;
    init(&f, &cfg);
    struct gw_admit_req q = req("k-reconnect");
    q.limits.budget_micros = 1000;
    q.usd_micros = 1000;
    struct gw_admit_result a = admit(&f, 0, &q);
    cr_assert_eq(a.status, GW_ADMIT_OK);
    struct raw_reply rr;
    cr_assert_eq(redis_srv_call(&f.srv, &rr, "CLIENT", "KILL", "TYPE", "normal", NULL), 0);
    cr_assert_geq(rr.integer, 2, "both replicas' connections dropped");
    cr_assert(drive_until(f.c, 2, both_reconnected, &f, 5000), "never reconnected");
    refused_for(&f, q, 2 * cfg.reservation_ttl_ms, "renewal stopped at the reconnect");
    struct gw_reservation r = a.reservation;
    cr_assert_eq(gw_counters_settle(f.c[0], &r, 0, 100), 0);
    q.usd_min_micros = 900;
    q.usd_micros = 900;
    cr_assert_eq(admit(&f, 0, &q).status, GW_ADMIT_OK, "settled: 100 spent, 900 left");
    fix_fini(&f);
}
