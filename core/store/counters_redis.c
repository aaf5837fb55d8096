/*
 * counters_redis - the counters in Redis: four Lua scripts (admit, settle, renew, heartbeat)
 * and the queue of settlements waiting for a connection. Keys, per gateway key id (the {hash tag}
 * keeps them in one Redis Cluster slot, as a script needs):
 *     aigw:v1:{id}:w           hash  r<second> -> requests, t<second> -> tokens (60 s window)
 *     aigw:v1:{id}:b:<period>  hash  spent, resv (micro-USD) for one budget period
 *     aigw:v1:{id}:q           hash  reservation id -> "L:<micros>:<period>" live, "X"
 *                                    expired (its grant given back), "S" settled
 *     aigw:v1:{id}:e           zset  reservation id -> when it expires (its lease, moved on by
 *                                    each renewal: gw_credis_renew_lua) or its tombstone goes
 *     aigw:v1:replicas         zset  replica -> last heartbeat (the observed replica count)
 * Every key has a TTL. A renewal names the keys of up to GW_LEASE_BATCH gateway keys in one
 * script: one round trip for the replica's leases, on one Redis server (a Cluster would need
 * a batch per slot). Tombstones ("S", "X") make a settlement idempotent for TOMB_MS, so a
 * settlement re-sent after a lost reply is not counted twice.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "store/counters_int.h"
#include "store/counters_redis_lua.h"

#define TOMB_MS 600000 /* settled/expired reservations are remembered this long */
#define SETTLE_DEADLINE_MS 2000
#define HEARTBEAT_MS 5000
#define REPLICA_LIVE_MS 15000

static struct gw_redis_script s_admit, s_settle, s_heartbeat, s_renew;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_init_rc;

static void init_scripts(void)
{
    s_init_rc = gw_redis_script_init(&s_admit, gw_credis_admit_lua);
    if (!s_init_rc)
        s_init_rc = gw_redis_script_init(&s_settle, gw_credis_settle_lua);
    if (!s_init_rc)
        s_init_rc = gw_redis_script_init(&s_heartbeat, gw_credis_heartbeat_lua);
    if (!s_init_rc)
        s_init_rc = gw_redis_script_init(&s_renew, gw_credis_renew_lua);
}

int gw_credis_init(void)
{
    pthread_once(&s_once, init_scripts);
    return s_init_rc;
}

void gw_credis_preload(struct gw_redis_opts *o)
{
    static const struct gw_redis_script *const all[] = {&s_admit, &s_settle, &s_heartbeat,
                                                        &s_renew};
    o->preload = all;
    o->npreload = sizeof all / sizeof *all;
}

/* The keys of one gateway key; the budget's is for `period`. */
struct rkeys {
    char k[4][GW_COUNTERS_KEY_MAX + 48];
    size_t len[4];
};

static void make_keys(struct rkeys *k, const char *id, int64_t period)
{
    static const char *suffix[4] = {":w", ":b:", ":q", ":e"};
    for (int i = 0; i < 4; i++) {
        char p[24] = "";
        if (i == 1)
            gw_fmt_i64(p, sizeof p, period);
        int n = snprintf(k->k[i], sizeof k->k[i], "aigw:v1:{%s}%s%s", id, suffix[i], p);
        k->len[i] = n > 0 && (size_t)n < sizeof k->k[i] ? (size_t)n : 0;
    }
}

/* Reservation ids: the replica, then a counter, so replicas never collide. */
static size_t res_id(char *buf, size_t size, uint64_t replica, uint64_t id)
{
    int n = snprintf(buf, size, "%016" PRIx64 "-%" PRIx64, replica, id);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static int64_t budget_ttl_s(int64_t period_end)
{
    /* The counter outlives its period by a day; with no period it lives 35 days past its
     * last use and is then seeded again from the ledger. */
    if (period_end <= 0)
        return 35 * 86400;
    int64_t left = period_end - (int64_t)time(NULL);
    return (left > 0 ? left : 0) + 86400;
}

static void on_admit(void *ud, int status, const struct gw_resp *v);

int gw_credis_admit(struct gw_counters *c, struct gw_admit_op *op)
{
    const struct gw_admit_req *q = &op->req;
    const struct gw_limits *l = &q->limits;
    struct rkeys k;
    make_keys(&k, op->key, l->period);
    char v[12][40];
    size_t n[12];
    n[0] = res_id(v[0], sizeof v[0], c->s->replica, op->id);
    int64_t want = q->usd_micros > 0 ? q->usd_micros : 0;
    int64_t min = q->usd_min_micros > 0 && q->usd_min_micros < want ? q->usd_min_micros : want;
    int64_t nums[11] = {l->rpm,
                        l->tpm,
                        l->tpm > 0 ? q->tokens : 0,
                        l->budget_micros,
                        l->spent_micros > 0 ? l->spent_micros : 0,
                        want,
                        min,
                        q->ttl_ms,
                        TOMB_MS,
                        budget_ttl_s(l->period_end),
                        l->period};
    for (int i = 0; i < 11; i++)
        n[i + 1] = gw_fmt_i64(v[i + 1], sizeof v[i + 1], nums[i]);
    const char *argv[16];
    size_t lens[16];
    for (int i = 0; i < 4; i++) {
        argv[i] = k.k[i];
        lens[i] = k.len[i];
    }
    for (int i = 0; i < 12; i++) {
        argv[4 + i] = v[i];
        lens[4 + i] = n[i];
    }
    int rc = gw_redis_eval(c->rc, &s_admit, 4, 16, argv, lens, q->deadline_ms, on_admit, op);
    if (rc == 0) {
        op->in_redis = 1;
        c->inflight++;
    }
    return rc;
}

static void window_out(struct gw_rl_window *w, int64_t limit, long long used, long long reset)
{
    w->limit = limit > 0 ? limit : 0;
    w->remaining = limit > 0 ? (used >= limit ? 0 : limit - used) : 0;
    w->reset_ms = reset > 0 ? reset : 0;
}

int gw_credis_parse(const struct gw_resp *v, const struct gw_admit_req *req,
                    struct gw_admit_result *res)
{
    long long a[13] = {0};
    /* 12 from a script loaded by an older aigw of the fleet (no busy flag) */
    if (!v || v->type != GW_RESP_ARRAY || (v->elements != 12 && v->elements != 13))
        return -1;
    for (size_t i = 0; i < v->elements; i++) {
        if (!v->element[i] || v->element[i]->type != GW_RESP_INTEGER)
            return -1;
        a[i] = v->element[i]->integer;
    }
    if ((a[0] != 0 && a[0] != 1) || a[1] < 0 || a[1] > 3 || (a[0] == 1) != (a[1] == 0))
        return -1;
    const struct gw_limits *l = &req->limits;
    memset(res, 0, sizeof *res);
    res->status = a[0] ? GW_ADMIT_OK : GW_ADMIT_LIMITED;
    res->limit = (int)a[1];
    res->too_large = a[11] != 0;
    res->retry_after_ms = -1;
    if ((a[1] == GW_LIMIT_RPM || a[1] == GW_LIMIT_TPM) && !res->too_large)
        res->retry_after_ms = a[8] > 0 ? a[8] : 1000; /* the window moved under us: a second */
    if (a[1] == GW_LIMIT_BUDGET && a[12]) {
        res->budget_busy = 1;
        res->retry_after_ms = 1000;
    }
    window_out(&res->requests, l->rpm, a[4], a[5]);
    window_out(&res->tokens, l->tpm, a[6], a[7]);
    res->granted_micros = a[9] > 0 ? a[9] : 0;
    res->budget_remaining_micros = l->budget_micros > 0 ? (a[10] > 0 ? a[10] : 0) : -1;
    if (a[0]) {
        struct gw_reservation *r = &res->reservation;
        r->slot = a[2];
        r->tokens = l->tpm > 0 ? req->tokens : 0;
        r->micros = res->granted_micros;
        r->period = l->period;
        r->period_end = l->period_end;
        r->backend = GW_CB_REDIS;
        r->state = l->tpm > 0 || l->budget_micros > 0 ? GW_RS_LIVE : GW_RS_NONE;
        gw_strlcpy(r->key, req->key_id, sizeof r->key);
    }
    return 0;
}

static void on_admit(void *ud, int status, const struct gw_resp *v)
{
    struct gw_admit_op *op = ud;
    struct gw_counters *c = op->c;
    c->inflight--;
    op->in_redis = 0;
    if (status == GW_REDIS_ECLOSED) {
        gw_counters_op_free(c, op);
        return;
    }
    if (status == 0 && gw_credis_parse(v, &op->req, &op->res) == 0) {
        op->res.reservation.id = op->id;
        op->res.reservation.origin = c->s->replica;
        gw_counters_complete(c, op);
        return;
    }
    const struct gw_limits *l = &op->req.limits;
    if ((status == GW_REDIS_ETIMEDOUT || status == GW_REDIS_EDOWN) &&
        (l->tpm > 0 || l->budget_micros > 0)) {
        /* The script may still run, or have run (it was on the wire; a dropped connection's
         * last commands still run from the server's socket buffer): release what it would
         * reserve. After a deadline the release runs after the admission on the same
         * connection; after a drop it is sent on the next one, and the admission script
         * refuses an id already released, so either order leaves nothing reserved. */
        struct gw_reservation r = {.id = op->id,
                                   .origin = c->s->replica,
                                   .slot = -1,
                                   .period = l->period,
                                   .period_end = l->period_end,
                                   .state = GW_RS_LIVE,
                                   .backend = GW_CB_REDIS};
        gw_strlcpy(r.key, op->key, sizeof r.key);
        gw_credis_settle(c, &r, 0, 0);
    }
    if (status == 0 && v && v->type == GW_RESP_ERROR)
        GW_WARN("counters: Redis refused the admission script: %.120s", v->str);
    if (op->cancelled) {
        gw_counters_op_free(c, op);
        return;
    }
    gw_counters_fallback(c, op,
                         status == GW_REDIS_ETIMEDOUT ? GW_DEGRADED_TIMEOUT
                         : status == 0                ? GW_DEGRADED_ERROR
                                                      : GW_DEGRADED_DOWN);
}

/* ---- settlements ---- */

static void enqueue(struct gw_counters *c, struct gw_settle_item *it)
{
    size_t cap = c->s->cfg.max_pending;
    while (c->nsq >= cap && c->sq_head) {
        struct gw_settle_item *old = c->sq_head;
        c->sq_head = old->next;
        c->nsq--;
        atomic_fetch_add(&c->s->st.settle_dropped, 1);
        GW_WARN("counters: settlement queue full; dropped one for key %s", old->r.key);
        free(old);
    }
    if (!c->sq_head)
        c->sq_tail = NULL;
    it->next = NULL;
    if (c->sq_tail)
        c->sq_tail->next = it;
    else
        c->sq_head = it;
    c->sq_tail = it;
    c->nsq++;
}

static void on_settle(void *ud, int status, const struct gw_resp *v)
{
    struct gw_settle_item *it = ud;
    struct gw_counters *c = it->c;
    c->inflight--;
    if (status == 0 && v->type != GW_RESP_ERROR) {
        free(it);
        return;
    }
    if (status == GW_REDIS_ECLOSED || status == 0) {
        /* Closing, or the server refused the script itself: re-sending cannot help. */
        atomic_fetch_add(&c->s->st.settle_dropped, 1);
        GW_WARN("counters: settlement for key %s lost (%s)", it->r.key,
                status == 0 ? "script error" : "shutting down");
        free(it);
        return;
    }
    atomic_fetch_add(&c->s->st.settle_retried, 1);
    enqueue(c, it); /* idempotent on the server: a re-send after a lost reply counts once */
}

static int send_settle(struct gw_counters *c, struct gw_settle_item *it)
{
    const struct gw_reservation *r = &it->r;
    struct rkeys k;
    make_keys(&k, r->key, r->period);
    char v[6][40];
    size_t n[6];
    n[0] = res_id(v[0], sizeof v[0], r->origin, r->id);
    int64_t nums[5] = {r->slot, r->tokens, it->real_tokens, it->real_micros, TOMB_MS};
    for (int i = 0; i < 5; i++)
        n[i + 1] = gw_fmt_i64(v[i + 1], sizeof v[i + 1], nums[i]);
    const char *argv[10];
    size_t lens[10];
    for (int i = 0; i < 4; i++) {
        argv[i] = k.k[i];
        lens[i] = k.len[i];
    }
    for (int i = 0; i < 6; i++) {
        argv[4 + i] = v[i];
        lens[4 + i] = n[i];
    }
    it->c = c;
    int rc = gw_redis_eval(c->rc, &s_settle, 4, 10, argv, lens,
                           gw_counters_now_ms() + SETTLE_DEADLINE_MS, on_settle, it);
    if (rc == 0)
        c->inflight++;
    return rc;
}

void gw_credis_settle(struct gw_counters *c, const struct gw_reservation *r, int64_t tokens,
                      int64_t micros)
{
    struct gw_settle_item *it = calloc(1, sizeof *it);
    if (!it) {
        atomic_fetch_add(&c->s->st.settle_dropped, 1);
        return;
    }
    it->r = *r;
    it->real_tokens = tokens;
    it->real_micros = micros;
    it->queued_ms = gw_counters_now_ms();
    if (c->sq_head || send_settle(c, it) != 0)
        enqueue(c, it); /* keep the order of settlements that wait */
}

/* ---- lease renewals ---- */

struct renew_batch {
    struct gw_counters *c;
    size_t n;
    uint64_t ids[GW_LEASE_BATCH];
};

static void on_renew(void *ud, int status, const struct gw_resp *v)
{
    struct renew_batch *b = ud;
    struct gw_counters_shared *s = b->c->s;
    b->c->inflight--;
    if (status == 0 && v->type == GW_RESP_ARRAY && v->elements == b->n) {
        size_t lost = 0;
        for (size_t i = 0; i < b->n; i++)
            if (v->element[i] && v->element[i]->type == GW_RESP_INTEGER &&
                v->element[i]->integer == 0)
                lost += (size_t)gw_lease_lost(s, b->ids[i]);
        if (lost)
            GW_WARN("counters: %zu reservations were gone from Redis while their requests ran "
                    "(expired, or Redis lost them); their spend still counts when they settle",
                    lost);
    } else if (status == 0) {
        GW_WARN("counters: Redis refused a lease renewal: %.120s",
                v->type == GW_RESP_ERROR ? v->str : "unexpected reply");
    }
    /* Not answered: renewed again next round, a third of a lease later. */
    free(b);
}

int gw_credis_renew(struct gw_counters *c, const struct gw_lease_ref *refs, size_t n)
{
    if (n == 0 || n > GW_LEASE_BATCH)
        return AIGW_EINVAL;
    size_t argc = 4 * n + 1; /* (q, e) keys, the tombstone time, (id, lease) pairs */
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    struct rkeys *k = calloc(n, sizeof *k);
    char(*num)[2][40] = calloc(n, sizeof *num);
    struct renew_batch *b = malloc(sizeof *b);
    int rc = AIGW_ENOMEM;
    if (!argv || !lens || !k || !num || !b)
        goto out;
    char tomb[24];
    argv[2 * n] = tomb;
    lens[2 * n] = gw_fmt_i64(tomb, sizeof tomb, TOMB_MS);
    for (size_t i = 0; i < n; i++) {
        make_keys(&k[i], refs[i].key, refs[i].period);
        argv[2 * i] = k[i].k[2];
        lens[2 * i] = k[i].len[2];
        argv[2 * i + 1] = k[i].k[3];
        lens[2 * i + 1] = k[i].len[3];
        argv[2 * n + 1 + 2 * i] = num[i][0];
        lens[2 * n + 1 + 2 * i] = res_id(num[i][0], sizeof num[i][0], c->s->replica, refs[i].id);
        argv[2 * n + 2 + 2 * i] = num[i][1];
        lens[2 * n + 2 + 2 * i] = gw_fmt_i64(num[i][1], sizeof num[i][1], refs[i].lease_ms);
        b->ids[i] = refs[i].id;
    }
    b->c = c;
    b->n = n;
    rc = gw_redis_eval(c->rc, &s_renew, (int)(2 * n), (int)argc, argv, lens,
                       gw_counters_now_ms() + SETTLE_DEADLINE_MS, on_renew, b);
    if (rc == 0) {
        c->inflight++;
        b = NULL;
    }
out:
    free(argv);
    free(lens);
    free(k);
    free(num);
    free(b);
    return rc;
}

static void on_heartbeat(void *ud, int status, const struct gw_resp *v)
{
    struct gw_counters_shared *s = ud;
    if (status == 0 && v->type == GW_RESP_INTEGER && v->integer > 0)
        atomic_store(&s->observed_replicas, (int64_t)v->integer);
}

void gw_credis_tick(struct gw_counters *c, int64_t now)
{
    struct gw_counters_shared *s = c->s;
    if (!gw_redis_ready(c->rc))
        return;
    int64_t due = atomic_load(&s->next_heartbeat_ms);
    if (now >= due &&
        atomic_compare_exchange_strong(&s->next_heartbeat_ms, &due, now + HEARTBEAT_MS)) {
        static const char key[] = "aigw:v1:replicas";
        char id[24], live[24];
        size_t idn = (size_t)snprintf(id, sizeof id, "%016" PRIx64, s->replica);
        size_t ln = gw_fmt_i64(live, sizeof live, REPLICA_LIVE_MS);
        const char *argv[3] = {key, id, live};
        size_t lens[3] = {sizeof key - 1, idn, ln};
        gw_redis_eval(c->rc, &s_heartbeat, 1, 3, argv, lens, now + SETTLE_DEADLINE_MS, on_heartbeat,
                      s);
    }
    while (c->sq_head && gw_redis_ready(c->rc)) {
        struct gw_settle_item *it = c->sq_head;
        if (now - it->queued_ms > TOMB_MS / 2) {
            /* Past half the tombstone's life a re-send could count twice: give up. */
            c->sq_head = it->next;
            c->nsq--;
            atomic_fetch_add(&s->st.settle_dropped, 1);
            GW_WARN("counters: settlement for key %s dropped after %lld s waiting for Redis",
                    it->r.key, (long long)((now - it->queued_ms) / 1000));
            free(it);
            continue;
        }
        if (c->inflight >= s->cfg.max_pending)
            break;
        c->sq_head = it->next;
        c->nsq--;
        if (send_settle(c, it) != 0) {
            it->next = c->sq_head;
            c->sq_head = it;
            c->nsq++;
            break;
        }
    }
    if (!c->sq_head)
        c->sq_tail = NULL;
}

void gw_credis_drop_queue(struct gw_counters *c)
{
    if (c->nsq) {
        atomic_fetch_add(&c->s->st.settle_dropped, c->nsq);
        GW_WARN("counters: %zu settlements never reached Redis", c->nsq);
    }
    while (c->sq_head) {
        struct gw_settle_item *it = c->sq_head;
        c->sq_head = it->next;
        free(it);
    }
    c->sq_tail = NULL;
    c->nsq = 0;
}
