/*
 * counters_redis - the counters in Redis: four Lua scripts (admit, settle, renew, heartbeat)
 * and the queue of settlements waiting for a connection. Keys, per gateway key id (the {hash tag}
 * keeps them in one Redis Cluster slot, as a script needs):
 *     aigw:v1:{id}:w           hash  r<second> -> requests, t<second> -> tokens (60 s window)
 *     aigw:v1:{id}:b:<period>  hash  spent, resv (micro-USD) for one budget period
 *     aigw:v1:{id}:q           hash  reservation id -> "L:<micros>:<period>" live, "X"
 *                                    expired (its grant given back), "S" settled
 *     aigw:v1:{id}:e           zset  reservation id -> when it expires (its lease, moved on by
 *                                    each renewal: RENEW_LUA) or its tombstone goes
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

#define TOMB_MS 600000 /* settled/expired reservations are remembered this long */
#define SETTLE_DEADLINE_MS 2000
#define HEARTBEAT_MS 5000
#define REPLICA_LIVE_MS 15000

static const char ADMIT_LUA[] =
    "local function I(x) return string.format('%d', x) end\n"
    "local t = redis.call('TIME')\n"
    "local sec = tonumber(t[1])\n"
    "local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local rpm, tpm, est = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local budget, seed = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local want, minm = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "local ttl, tomb, bttl, period = tonumber(ARGV[9]), tonumber(ARGV[10]), "
    "tonumber(ARGV[11]), ARGV[12]\n"
    /* released before it ran (its connection dropped, the release came on the next): no */
    "if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return {0, 0} end\n"
    /* reservations past their time give their grant back (their replica died) */
    "local bexists = redis.call('EXISTS', KEYS[2]) == 1\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', I(now), 'LIMIT', 0, "
    "100)) do\n"
    "  local st = redis.call('HGET', KEYS[3], id)\n"
    "  local m, p\n"
    "  if st then m, p = string.match(st, '^L:(%d+):(.*)$') end\n"
    "  if m then\n"
    "    if bexists and p == period and tonumber(m) > 0 then\n"
    "      redis.call('HINCRBY', KEYS[2], 'resv', '-' .. m) end\n"
    "    redis.call('HSET', KEYS[3], id, 'X')\n"
    "    redis.call('ZADD', KEYS[4], I(now + tomb), id)\n"
    "  else\n"
    "    redis.call('HDEL', KEYS[3], id)\n"
    "    redis.call('ZREM', KEYS[4], id)\n"
    "  end\n"
    "end\n"
    /* the window: slots older than 60 s go */
    "local w = redis.call('HGETALL', KEYS[1])\n"
    "local rq, tk, ureq, utok, stale = {}, {}, 0, 0, {}\n"
    "for i = 1, #w, 2 do\n"
    "  local f, v = w[i], tonumber(w[i + 1]) or 0\n"
    "  local s = tonumber(string.sub(f, 2))\n"
    "  if not s or s <= sec - 60 then stale[#stale + 1] = f\n"
    "  elseif string.sub(f, 1, 1) == 'r' then rq[s] = v; ureq = ureq + v\n"
    "  else tk[s] = v; utok = utok + v end\n"
    "end\n"
    "if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end\n"
    "local function free_at(tb, need)\n"
    "  local freed = 0\n"
    "  for s = sec - 59, sec do\n"
    "    freed = freed + (tb[s] or 0)\n"
    "    if freed >= need and freed > 0 then return (s + 60) * 1000 - now end\n"
    "  end\n"
    "  return -1\n"
    "end\n"
    "local function empty_at(tb)\n"
    "  for s = sec, sec - 59, -1 do\n"
    "    if (tb[s] or 0) > 0 then return (s + 60) * 1000 - now end\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local reason, retry, large = 0, -1, 0\n"
    "if rpm > 0 and ureq + 1 > rpm then reason = 1; retry = free_at(rq, ureq + 1 - rpm)\n"
    "elseif tpm > 0 and est > tpm then reason = 2; large = 1\n"
    "elseif tpm > 0 and utok + est > tpm then reason = 2; retry = free_at(tk, utok + est - tpm)\n"
    "end\n"
    "local granted, avail, busy = 0, -1, 0\n"
    "if budget > 0 then\n"
    "  local b = redis.call('HMGET', KEYS[2], 'spent', 'resv')\n"
    "  local spent, resv = tonumber(b[1]), tonumber(b[2]) or 0\n"
    "  if not spent then\n"
    "    spent, resv = seed, 0\n"
    "    redis.call('HSET', KEYS[2], 'spent', I(seed), 'resv', '0')\n"
    "  elseif resv ~= 0 and redis.call('EXISTS', KEYS[3]) == 0 then\n"
    /* no reservation record left at all (they outlive every live reservation): a grant
     * still counted is a phantom */
    "    resv = 0\n"
    "    redis.call('HSET', KEYS[2], 'resv', '0')\n"
    "  end\n"
    /* both are spend known to be done: the ledger may hold what this counter missed (a
     * request that ended after its period did, a settlement given up) */
    "  if seed > spent then spent = seed; redis.call('HSET', KEYS[2], 'spent', I(seed)) end\n"
    "  redis.call('EXPIRE', KEYS[2], I(bttl))\n"
    "  avail = budget - spent - resv\n"
    "  if reason == 0 then\n"
    "    granted = math.min(want, avail)\n"
    "    if avail <= 0 or granted < minm then reason = 3; granted = 0\n"
    /* what is left is only reserved by requests in flight: busy, not exhausted */
    "      if budget - spent >= math.max(minm, 1) then busy = 1 end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if reason == 0 then\n"
    "  redis.call('HINCRBY', KEYS[1], 'r' .. I(sec), 1)\n"
    "  rq[sec] = (rq[sec] or 0) + 1; ureq = ureq + 1\n"
    "  if est > 0 then\n"
    "    redis.call('HINCRBY', KEYS[1], 't' .. I(sec), I(est))\n"
    "    tk[sec] = (tk[sec] or 0) + est; utok = utok + est\n"
    "  end\n"
    "  redis.call('PEXPIRE', KEYS[1], 61000)\n"
    "  if granted > 0 then\n"
    "    redis.call('HINCRBY', KEYS[2], 'resv', I(granted)); avail = avail - granted end\n"
    "  if tpm > 0 or budget > 0 then\n"
    "    redis.call('HSET', KEYS[3], ARGV[1], 'L:' .. I(granted) .. ':' .. period)\n"
    "    redis.call('ZADD', KEYS[4], I(now + ttl), ARGV[1])\n"
    "    local keep = ttl + tomb + 60000\n"
    "    if redis.call('PTTL', KEYS[3]) < keep then redis.call('PEXPIRE', KEYS[3], I(keep)) end\n"
    "    if redis.call('PTTL', KEYS[4]) < keep then redis.call('PEXPIRE', KEYS[4], I(keep)) end\n"
    "  end\n"
    "end\n"
    "return {reason == 0 and 1 or 0, reason, sec, now, ureq, empty_at(rq), utok, empty_at(tk), "
    "retry, granted, avail, large, busy}\n";

static const char SETTLE_LUA[] =
    "local function I(x) return string.format('%d', x) end\n"
    "local st = redis.call('HGET', KEYS[3], ARGV[1])\n"
    "if st == 'S' then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "local sec = tonumber(t[1])\n"
    "local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local slot, est, real = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local spend, tomb = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "if slot == 0 then slot = sec end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  local m = st and string.match(st, '^L:(%d+):')\n"
    "  if m and tonumber(m) > 0 then redis.call('HINCRBY', KEYS[2], 'resv', '-' .. m) end\n"
    "  if spend > 0 then redis.call('HINCRBY', KEYS[2], 'spent', I(spend)) end\n"
    "end\n"
    "if slot > sec - 60 and slot <= sec and real ~= est then\n"
    "  local f = 't' .. I(slot)\n"
    "  local v = (tonumber(redis.call('HGET', KEYS[1], f)) or 0) + real - est\n"
    "  if v < 0 then v = 0 end\n"
    "  redis.call('HSET', KEYS[1], f, I(v))\n"
    "  redis.call('PEXPIRE', KEYS[1], 61000)\n"
    "end\n"
    "redis.call('HSET', KEYS[3], ARGV[1], 'S')\n"
    "redis.call('ZADD', KEYS[4], I(now + tomb), ARGV[1])\n"
    "local keep = tomb + 60000\n"
    "if redis.call('PTTL', KEYS[3]) < keep then redis.call('PEXPIRE', KEYS[3], I(keep)) end\n"
    "if redis.call('PTTL', KEYS[4]) < keep then redis.call('PEXPIRE', KEYS[4], I(keep)) end\n"
    "return 1\n";

/* KEYS: (q, e) of each reservation; ARGV: tomb, then (id, lease) of each. A reservation still
 * live ("L:", whatever its score: until an admission sweeps it, its grant is still counted)
 * gets its end moved to now + lease: 1. Settled, expired or gone: 0, nothing touched, so a
 * renewal never brings a grant back that was given back. */
static const char RENEW_LUA[] =
    "local function I(x) return string.format('%d', x) end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local tomb = tonumber(ARGV[1])\n"
    "local out = {}\n"
    "for i = 1, #KEYS / 2 do\n"
    "  local q, e = KEYS[2 * i - 1], KEYS[2 * i]\n"
    "  local id, lease = ARGV[2 * i], tonumber(ARGV[2 * i + 1])\n"
    "  local st = redis.call('HGET', q, id)\n"
    "  if st and string.sub(st, 1, 2) == 'L:' then\n"
    "    redis.call('ZADD', e, I(now + lease), id)\n"
    "    local keep = lease + tomb + 60000\n"
    "    if redis.call('PTTL', q) < keep then redis.call('PEXPIRE', q, I(keep)) end\n"
    "    if redis.call('PTTL', e) < keep then redis.call('PEXPIRE', e, I(keep)) end\n"
    "    out[i] = 1\n"
    "  else out[i] = 0 end\n"
    "end\n"
    "return out\n";

static const char HEARTBEAT_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local live = tonumber(ARGV[2])\n"
    "redis.call('ZADD', KEYS[1], string.format('%d', now), ARGV[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - live))\n"
    "redis.call('PEXPIRE', KEYS[1], string.format('%d', live * 2))\n"
    "return redis.call('ZCARD', KEYS[1])\n";

static struct gw_redis_script s_admit, s_settle, s_heartbeat, s_renew;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_init_rc;

static void init_scripts(void)
{
    s_init_rc = gw_redis_script_init(&s_admit, ADMIT_LUA);
    if (!s_init_rc)
        s_init_rc = gw_redis_script_init(&s_settle, SETTLE_LUA);
    if (!s_init_rc)
        s_init_rc = gw_redis_script_init(&s_heartbeat, HEARTBEAT_LUA);
    if (!s_init_rc)
        s_init_rc = gw_redis_script_init(&s_renew, RENEW_LUA);
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
