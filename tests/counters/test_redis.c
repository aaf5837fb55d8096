/*
 * The Redis client against a real redis-server on loopback: pipelined replies in order, a
 * deadline that holds when the server is frozen (SIGSTOP), refusal without waiting while
 * down, reconnection after a kill, EVALSHA falling back to EVAL, AUTH refused without the
 * password in any message. Skipped when redis-server is absent.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "counters/harness.h"
#include "store/redis.h"

struct ctx {
    struct redis_srv srv;
    struct gw_redis_stats stats;
    struct gw_redis *r;
};

struct answer {
    int n; /* callbacks so far */
    int status[16];
    int type[16];
    long long integer[16];
    char str[16][64];
};

static void on_answer(void *ud, int status, const struct gw_resp *v)
{
    struct answer *a = ud;
    int i = a->n++;
    cr_assert_lt(i, 16);
    a->status[i] = status;
    if (v) {
        a->type[i] = v->type;
        a->integer[i] = v->integer;
        snprintf(a->str[i], sizeof a->str[i], "%.*s", (int)(v->len < 63 ? v->len : 63),
                 v->str ? v->str : "");
    }
}

struct want {
    struct answer *a;
    int n;
};

static int answered(void *arg)
{
    struct want *w = arg;
    return w->a->n >= w->n;
}

static int ready(void *arg)
{
    return gw_redis_ready(arg);
}

static int not_ready(void *arg)
{
    return !gw_redis_ready(arg);
}

static void start(struct ctx *c, const char *url_override)
{
    if (!redis_srv_binary())
        cr_skip_test("redis-server not installed (Debian: apt-get install redis-server)");
    memset(c, 0, sizeof *c);
    cr_assert_eq(redis_srv_start(&c->srv), 0);
    struct gw_redis_addr a;
    char err[256];
    cr_assert_eq(gw_redis_parse_url(url_override ? url_override : c->srv.url, &a, err, sizeof err),
                 0, "%s", err);
    struct gw_redis_opts o = {.connect_timeout_ms = 500,
                              .stall_ms = 300,
                              .backoff_min_ms = 20,
                              .backoff_max_ms = 200,
                              .stats = &c->stats};
    cr_assert_eq(gw_redis_new(&a, &o, &c->r), 0);
}

static void finish(struct ctx *c)
{
    gw_redis_free(c->r);
    redis_srv_stop(&c->srv);
}

static int cmd(struct ctx *c, struct answer *a, int64_t deadline, const char *x, const char *y,
               const char *z)
{
    const char *argv[3] = {x, y, z};
    size_t lens[3] = {strlen(x), y ? strlen(y) : 0, z ? strlen(z) : 0};
    int argc = z ? 3 : y ? 2 : 1;
    return gw_redis_command(c->r, argc, argv, lens, deadline, on_answer, a);
}

Test(redis_client, pipelined_replies_in_order)
{
    struct ctx c;
    start(&c, NULL);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    struct answer a = {0};
    int64_t dl = gw_redis_now_ms() + 2000;
    cr_assert_eq(cmd(&c, &a, dl, "SET", "k", "v1"), 0);
    cr_assert_eq(cmd(&c, &a, dl, "INCR", "n", NULL), 0);
    cr_assert_eq(cmd(&c, &a, dl, "INCR", "n", NULL), 0);
    cr_assert_eq(cmd(&c, &a, dl, "GET", "k", NULL), 0);
    cr_assert_eq(cmd(&c, &a, dl, "GET", "missing", NULL), 0);
    cr_assert_eq(a.n, 0, "callbacks never run inside gw_redis_command");
    struct want w = {&a, 5};
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000));
    cr_assert_eq(a.type[0], GW_RESP_STATUS);
    cr_assert_eq(a.integer[1], 1);
    cr_assert_eq(a.integer[2], 2);
    cr_assert_str_eq(a.str[3], "v1");
    cr_assert_eq(a.type[4], GW_RESP_NIL);
    cr_assert_eq(atomic_load(&c.stats.connects), 1);
    finish(&c);
}

Test(redis_client, frozen_server_hits_the_deadline_then_is_dropped)
{
    struct ctx c;
    start(&c, NULL);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    redis_srv_pause(&c.srv, 1);
    struct answer a = {0};
    int64_t t0 = gw_redis_now_ms();
    cr_assert_eq(cmd(&c, &a, t0 + 100, "PING", NULL, NULL), 0);
    struct want w = {&a, 1};
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000), "the deadline did not fire");
    int64_t waited = gw_redis_now_ms() - t0;
    cr_assert_eq(a.status[0], GW_REDIS_ETIMEDOUT);
    cr_assert_geq(waited, 100);
    cr_assert_eq(atomic_load(&c.stats.timeouts), 1);
    /* Still no reply at stall_ms: the connection is dropped, commands are refused at once. */
    cr_assert(drive_redis_until(&c.r, 1, not_ready, c.r, 3000));
    cr_assert_eq(cmd(&c, &a, gw_redis_now_ms() + 1000, "PING", NULL, NULL), GW_REDIS_EDOWN);
    cr_assert_eq(a.n, 1, "a refused command has no callback");
    cr_assert_geq(atomic_load(&c.stats.drops), 1);
    /* Thawed: back within the backoff. */
    redis_srv_pause(&c.srv, 0);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    cr_assert_eq(cmd(&c, &a, gw_redis_now_ms() + 2000, "PING", NULL, NULL), 0);
    w.n = 2;
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000));
    cr_assert_str_eq(a.str[1], "PONG");
    finish(&c);
}

Test(redis_client, killed_server_fails_waiting_commands_and_comes_back)
{
    struct ctx c;
    start(&c, NULL);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    redis_srv_pause(&c.srv, 1); /* so the command is surely waiting when the server dies */
    struct answer a = {0};
    cr_assert_eq(cmd(&c, &a, gw_redis_now_ms() + 5000, "PING", NULL, NULL), 0);
    redis_srv_kill(&c.srv);
    struct want w = {&a, 1};
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000));
    cr_assert_eq(a.status[0], GW_REDIS_EDOWN);
    cr_assert_not(gw_redis_ready(c.r));
    /* While it is down, the loop sleeps until the next attempt, never longer than the
     * backoff's ceiling (plus jitter). */
    int t = gw_redis_timeout_ms(c.r);
    cr_assert(t >= 0 && t <= 250, "timeout %d", t);
    cr_assert_eq(redis_srv_restart(&c.srv), 0);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    cr_assert_geq(atomic_load(&c.stats.connects), 2);
    finish(&c);
}

Test(redis_client, evalsha_falls_back_to_eval_after_script_flush)
{
    struct ctx c;
    start(&c, NULL);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    static const char src[] = "return tonumber(ARGV[1]) + redis.call('INCR', KEYS[1])";
    struct gw_redis_script s;
    cr_assert_eq(gw_redis_script_init(&s, src), 0);
    const char *argv[2] = {"ctr", "100"};
    size_t lens[2] = {3, 3};
    struct answer a = {0};
    struct want w = {&a, 1};
    cr_assert_eq(gw_redis_eval(c.r, &s, 1, 2, argv, lens, gw_redis_now_ms() + 2000, on_answer, &a),
                 0);
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000));
    cr_assert_eq(a.integer[0], 101);
    cr_assert_eq(atomic_load(&c.stats.noscript), 1, "first use: NOSCRIPT, then EVAL");
    cr_assert_eq(gw_redis_eval(c.r, &s, 1, 2, argv, lens, gw_redis_now_ms() + 2000, on_answer, &a),
                 0);
    w.n = 2;
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000));
    cr_assert_eq(a.integer[1], 102);
    cr_assert_eq(atomic_load(&c.stats.noscript), 1, "cached after EVAL");
    struct raw_reply rr;
    cr_assert_eq(redis_srv_call(&c.srv, &rr, "SCRIPT", "FLUSH", NULL), 0);
    cr_assert_eq(gw_redis_eval(c.r, &s, 1, 2, argv, lens, gw_redis_now_ms() + 2000, on_answer, &a),
                 0);
    w.n = 3;
    cr_assert(drive_redis_until(&c.r, 1, answered, &w, 3000));
    cr_assert_eq(a.status[2], 0);
    cr_assert_eq(a.integer[2], 103);
    cr_assert_eq(atomic_load(&c.stats.noscript), 2);
    finish(&c);
}

Test(redis_client, wrong_password_never_connects)
{
    struct ctx c;
    start(&c, NULL);
    gw_redis_free(c.r);
    struct raw_reply rr;
    cr_assert_eq(redis_srv_call(&c.srv, &rr, "CONFIG", "SET", "requirepass", "right-pw", NULL), 0);
    char url[200];
    snprintf(url, sizeof url, "redis://:wrong-pw@127.0.0.1:%d/0", c.srv.port);
    struct gw_redis_addr a;
    char err[256];
    cr_assert_eq(gw_redis_parse_url(url, &a, err, sizeof err), 0);
    struct gw_redis_opts o = {
        .connect_timeout_ms = 500, .backoff_min_ms = 20, .backoff_max_ms = 50, .stats = &c.stats};
    cr_assert_eq(gw_redis_new(&a, &o, &c.r), 0);
    cr_assert_not(drive_redis_until(&c.r, 1, ready, c.r, 300));
    cr_assert_geq(atomic_load(&c.stats.failures), 1);
    gw_redis_free(c.r);
    snprintf(url, sizeof url, "redis://:right-pw@127.0.0.1:%d/2", c.srv.port);
    cr_assert_eq(gw_redis_parse_url(url, &a, err, sizeof err), 0);
    cr_assert_eq(gw_redis_new(&a, &o, &c.r), 0);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 3000), "AUTH and SELECT 2 pass");
    finish(&c);
}

Test(redis_client, nothing_listening_refuses_at_once)
{
    struct ctx c;
    start(&c, NULL);
    cr_assert(drive_redis_until(&c.r, 1, ready, c.r, 5000));
    gw_redis_free(c.r);
    redis_srv_kill(&c.srv); /* the port is now closed */
    struct gw_redis_addr a;
    char err[256];
    cr_assert_eq(gw_redis_parse_url(c.srv.url, &a, err, sizeof err), 0);
    struct gw_redis_opts o = {.backoff_min_ms = 20, .backoff_max_ms = 50, .stats = &c.stats};
    cr_assert_eq(gw_redis_new(&a, &o, &c.r), 0);
    struct answer an = {0};
    cr_assert_eq(cmd(&c, &an, gw_redis_now_ms() + 1000, "PING", NULL, NULL), GW_REDIS_EDOWN);
    cr_assert_not(drive_redis_until(&c.r, 1, ready, c.r, 200));
    cr_assert_geq(atomic_load(&c.stats.failures), 2, "it keeps trying");
    finish(&c);
}
