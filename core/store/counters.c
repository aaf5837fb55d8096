/*
 * counters - admissions per worker loop: the choice of backend, the failure policy, the
 * completion queue (callbacks run from gw_counters_run, never inside gw_counters_admit), and
 * the counts the metrics layer reads. See counters.h.
 */
#include "store/counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "store/counters_int.h"

#define OP_POOL_MAX 256
#define LEASES_MAX 262144 /* live reservations renewed per process: requests in flight */
#define LEASE_DEFAULT_MS 90000

int64_t gw_counters_now_ms(void)
{
    return gw_redis_now_ms();
}

uint64_t gw_counters_next_id(struct gw_counters_shared *s)
{
    return atomic_fetch_add(&s->next_id, 1) + 1;
}

/* ---- shared ---- */

int gw_counters_shared_new(const struct gw_counters_cfg *cfg, struct gw_counters_shared **out,
                           char *err, size_t errsize)
{
    struct gw_counters_shared *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsize, "out of memory");
        return AIGW_ENOMEM;
    }
    if (cfg)
        s->cfg = *cfg;
    const char *url = s->cfg.redis_url;
    s->cfg.redis_url = NULL; /* not kept: it may hold a password */
    if (s->cfg.redis_timeout_ms <= 0)
        s->cfg.redis_timeout_ms = 50;
    if (s->cfg.redis_connect_timeout_ms <= 0)
        s->cfg.redis_connect_timeout_ms = 1000;
    if (s->cfg.redis_stall_ms <= 0)
        s->cfg.redis_stall_ms = 1000;
    if (s->cfg.reservation_ttl_ms <= 0)
        s->cfg.reservation_ttl_ms = LEASE_DEFAULT_MS;
    if (!s->cfg.max_pending)
        s->cfg.max_pending = 4096;
    if (s->cfg.replicas < 0) {
        snprintf(err, errsize, "redis.replicas must be 0 (observed) or more");
        free(s);
        return AIGW_EINVAL;
    }
    int rc;
    if (url && *url) {
        rc = gw_redis_parse_url(url, &s->addr, err, errsize);
        if (rc == 0 && gw_credis_init() != 0) {
            snprintf(err, errsize, "cannot hash the counter scripts");
            rc = AIGW_EINTERNAL;
        }
        if (rc != 0) {
            free(s);
            return rc;
        }
        s->redis = 1;
    }
    rc = gw_cmem_new(s->cfg.max_keys, &s->mem);
    if (rc == 0 && (rc = gw_leases_init(&s->leases, LEASES_MAX)) != 0)
        gw_cmem_free(s->mem);
    if (rc != 0) {
        snprintf(err, errsize, "out of memory");
        free(s);
        return rc;
    }
    if (getrandom(&s->replica, sizeof s->replica, 0) != (ssize_t)sizeof s->replica)
        s->replica = (uint64_t)gw_counters_now_ms() * 0x9e3779b97f4a7c15ull;
    atomic_init(&s->observed_replicas, 1);
    *out = s;
    return 0;
}

void gw_counters_shared_free(struct gw_counters_shared *s)
{
    if (!s)
        return;
    gw_leases_fini(&s->leases);
    gw_cmem_free(s->mem);
    memset(s->addr.password, 0, sizeof s->addr.password);
    free(s);
}

int gw_counters_shared_redis(const struct gw_counters_shared *s)
{
    return s->redis;
}

static int64_t divisor(const struct gw_counters_shared *s)
{
    if (s->cfg.replicas > 0)
        return s->cfg.replicas;
    int64_t n = atomic_load(&((struct gw_counters_shared *)s)->observed_replicas);
    return n > 0 ? n : 1;
}

void gw_counters_stats(const struct gw_counters_shared *cs, struct gw_counters_stats *o)
{
    struct gw_counters_shared *s = (struct gw_counters_shared *)cs;
    memset(o, 0, sizeof *o);
    o->admitted = atomic_load(&s->st.admitted);
    o->limited_rpm = atomic_load(&s->st.limited_rpm);
    o->limited_tpm = atomic_load(&s->st.limited_tpm);
    o->limited_budget = atomic_load(&s->st.limited_budget);
    o->unavailable = atomic_load(&s->st.unavailable);
    o->degraded_down = atomic_load(&s->st.degraded_down);
    o->degraded_timeout = atomic_load(&s->st.degraded_timeout);
    o->degraded_error = atomic_load(&s->st.degraded_error);
    o->budget_fail_open = atomic_load(&s->st.budget_fail_open);
    o->settle_retried = atomic_load(&s->st.settle_retried);
    o->settle_dropped = atomic_load(&s->st.settle_dropped);
    o->leases_lost = atomic_load(&s->st.leases_lost);
    o->leases_untracked = atomic_load(&s->st.leases_untracked);
    pthread_mutex_lock(&s->leases.lock);
    o->leases = s->leases.n;
    pthread_mutex_unlock(&s->leases.lock);
    o->redis_connects = atomic_load(&s->rstats.connects);
    o->redis_drops = atomic_load(&s->rstats.drops);
    o->redis_connect_failures = atomic_load(&s->rstats.failures);
    o->redis_timeouts = atomic_load(&s->rstats.timeouts);
    o->redis_noscript = atomic_load(&s->rstats.noscript);
    o->replicas = divisor(s);
}

/* ---- one loop ---- */

int gw_counters_new(struct gw_counters_shared *s, struct gw_counters **out)
{
    struct gw_counters *c = calloc(1, sizeof *c);
    if (!c)
        return AIGW_ENOMEM;
    c->s = s;
    if (s->redis) {
        struct gw_redis_opts o = {
            .connect_timeout_ms = s->cfg.redis_connect_timeout_ms,
            .stall_ms = s->cfg.redis_stall_ms,
            .max_pending = s->cfg.max_pending,
            .stats = &s->rstats,
        };
        gw_credis_preload(&o);
        int rc = gw_redis_new(&s->addr, &o, &c->rc);
        if (rc != 0) {
            free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

void gw_counters_op_free(struct gw_counters *c, struct gw_admit_op *op)
{
    if (c->nfree < OP_POOL_MAX) {
        op->next = c->free_ops;
        c->free_ops = op;
        c->nfree++;
        return;
    }
    free(op);
}

/* A reservation nobody will settle (its admission was cancelled): give it back. */
static void release_local(struct gw_counters *c, struct gw_reservation *r)
{
    if (r->state == GW_RS_LIVE)
        gw_counters_settle(c, r, 0, 0);
}

void gw_counters_free(struct gw_counters *c)
{
    if (!c)
        return;
    gw_lease_drop_owner(c->s, c);
    gw_redis_free(c->rc); /* ops waiting on Redis are freed by their callbacks */
    c->rc = NULL;
    while (c->done_head) {
        struct gw_admit_op *op = c->done_head;
        c->done_head = op->next;
        if (op->res.status == GW_ADMIT_OK && op->res.reservation.backend != GW_CB_REDIS)
            release_local(c, &op->res.reservation);
        free(op);
    }
    gw_credis_drop_queue(c);
    while (c->free_ops) {
        struct gw_admit_op *op = c->free_ops;
        c->free_ops = op->next;
        free(op);
    }
    free(c);
}

size_t gw_counters_backlog(const struct gw_counters *c)
{
    return c->nsq;
}

int gw_counters_fd(const struct gw_counters *c)
{
    return c->rc ? gw_redis_fd(c->rc) : -1;
}

int gw_counters_timeout_ms(const struct gw_counters *c)
{
    if (c->done_head)
        return 0;
    int lease = gw_lease_timeout_ms(c->s, gw_counters_now_ms());
    if (!c->rc)
        return lease;
    int t = gw_redis_timeout_ms(c->rc);
    if (lease >= 0 && (t < 0 || lease < t))
        t = lease;
    if (gw_redis_ready(c->rc)) {
        if (c->sq_head)
            return 0;
        int64_t hb = atomic_load(&c->s->next_heartbeat_ms) - gw_counters_now_ms();
        int h = hb < 0 ? 0 : hb > 60000 ? 60000 : (int)hb;
        t = t < 0 || h < t ? h : t;
    }
    return t;
}

void gw_counters_complete(struct gw_counters *c, struct gw_admit_op *op)
{
    struct gw_counters_shared *s = c->s;
    const struct gw_admit_result *r = &op->res;
    if (r->status == GW_ADMIT_OK)
        atomic_fetch_add(&s->st.admitted, 1);
    else if (r->status == GW_ADMIT_UNAVAILABLE)
        atomic_fetch_add(&s->st.unavailable, 1);
    else if (r->limit == GW_LIMIT_RPM)
        atomic_fetch_add(&s->st.limited_rpm, 1);
    else if (r->limit == GW_LIMIT_TPM)
        atomic_fetch_add(&s->st.limited_tpm, 1);
    else
        atomic_fetch_add(&s->st.limited_budget, 1);
    op->next = NULL;
    if (c->done_tail)
        c->done_tail->next = op;
    else
        c->done_head = op;
    c->done_tail = op;
}

void gw_counters_run(struct gw_counters *c, int fd_ready)
{
    int64_t now = gw_counters_now_ms();
    if (c->rc) {
        gw_redis_process(c->rc, fd_ready);
        gw_credis_tick(c, now);
    }
    gw_lease_tick(c, now);
    /* Only what is queued now: completions queued by these callbacks wait for the next turn
     * (the timeout is then 0), so a callback that admits again cannot starve the loop. */
    struct gw_admit_op *last = c->done_tail;
    while (last && c->done_head) {
        struct gw_admit_op *op = c->done_head;
        c->done_head = op->next;
        if (!c->done_head)
            c->done_tail = NULL;
        int was_last = op == last;
        if (op->cancelled) {
            release_local(c, &op->res.reservation);
        } else {
            /* Renewed from now on, until it settles (or this loop ends). */
            if (op->res.status == GW_ADMIT_OK)
                gw_lease_add(c, &op->res.reservation, op->req.ttl_ms, now);
            op->cb(op->ud, &op->res);
        }
        gw_counters_op_free(c, op);
        if (was_last)
            break;
    }
}

static const char *degraded_name(int why)
{
    return why == GW_DEGRADED_TIMEOUT ? "did not answer in time (or too much is waiting)"
           : why == GW_DEGRADED_ERROR ? "answered with an error"
                                      : "is not connected";
}

/* One line per second at most, with the count since the previous line. */
static void log_degraded(struct gw_counters_shared *s, const struct gw_admit_op *op, int why,
                         const char *what, int64_t n)
{
    int64_t now = gw_counters_now_ms();
    int64_t last = atomic_load(&s->last_log_ms);
    if (last && now - last < 1000)
        return;
    if (!atomic_compare_exchange_strong(&s->last_log_ms, &last, now))
        return;
    uint64_t total = atomic_load(&s->st.degraded_down) + atomic_load(&s->st.degraded_timeout) +
                     atomic_load(&s->st.degraded_error);
    uint64_t before = atomic_exchange(&s->logged_degraded, total);
    GW_WARN("counters: Redis %s %s; key %s: %s on this replica's share (1/%lld); "
            "%llu decisions made without Redis since the last line",
            s->addr.display, degraded_name(why), op->key, what, (long long)n,
            (unsigned long long)(total - before));
}

void gw_counters_fallback(struct gw_counters *c, struct gw_admit_op *op, int why)
{
    struct gw_counters_shared *s = c->s;
    atomic_fetch_add(why == GW_DEGRADED_TIMEOUT ? &s->st.degraded_timeout
                     : why == GW_DEGRADED_ERROR ? &s->st.degraded_error
                                                : &s->st.degraded_down,
                     1);
    int64_t n = divisor(s);
    struct gw_admit_result *r = &op->res;
    const char *what;
    if (op->req.limits.budget_micros > 0 && !s->cfg.budget_fail_open) {
        memset(r, 0, sizeof *r);
        r->status = GW_ADMIT_UNAVAILABLE;
        r->limit = GW_LIMIT_BUDGET;
        r->retry_after_ms = -1;
        r->budget_remaining_micros = -1;
        what = "budget unavailable (fails closed, 503)";
    } else if (gw_cmem_admit(s->mem, &op->req, n, op->id, op->req.ttl_ms, gw_counters_now_ms(),
                             r) != 0) {
        memset(r, 0, sizeof *r);
        r->status = GW_ADMIT_UNAVAILABLE;
        r->retry_after_ms = -1;
        r->budget_remaining_micros = -1;
        what = "no room for a local counter (503)";
    } else {
        if (op->req.limits.budget_micros > 0)
            atomic_fetch_add(&s->st.budget_fail_open, 1);
        r->reservation.backend = GW_CB_FALLBACK;
        if (op->req.limits.tpm == 0 && op->req.limits.budget_micros == 0)
            r->reservation.state = GW_RS_NONE;
        if (r->status == GW_ADMIT_LIMITED && r->retry_after_ms < 0 && !r->too_large)
            r->retry_after_ms = 1000; /* a zero share: Redis may be back by then */
        what = r->status == GW_ADMIT_OK ? "admitted" : "limited";
    }
    r->degraded = why;
    log_degraded(s, op, why, what, n);
    gw_counters_complete(c, op);
}

static int valid_key(const char *k)
{
    size_t n = 0;
    for (; k && k[n]; n++) {
        char ch = k[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return 0;
    }
    return n > 0 && n <= GW_COUNTERS_KEY_MAX;
}

int gw_counters_admit(struct gw_counters *c, const struct gw_admit_req *req, gw_admit_cb cb,
                      void *ud, struct gw_admit_op **opp)
{
    if (!c || !req || !cb || !valid_key(req->key_id))
        return AIGW_EINVAL;
    const struct gw_limits *l = &req->limits;
    if (l->rpm < 0 || l->tpm < 0 || l->budget_micros < 0 || l->spent_micros < 0 ||
        req->tokens < 0 || req->usd_micros < 0 || req->usd_min_micros < 0 || req->ttl_ms < 0)
        return AIGW_EINVAL;
    struct gw_counters_shared *s = c->s;
    struct gw_admit_op *op = c->free_ops;
    if (op) {
        c->free_ops = op->next;
        c->nfree--;
    } else if (!(op = malloc(sizeof *op))) {
        return AIGW_ENOMEM;
    }
    memset(op, 0, sizeof *op);
    op->c = c;
    op->cb = cb;
    op->ud = ud;
    op->req = *req;
    gw_strlcpy(op->key, req->key_id, sizeof op->key);
    op->req.key_id = op->key;
    op->id = gw_counters_next_id(s);
    int64_t now = gw_counters_now_ms();
    if (op->req.ttl_ms == 0)
        op->req.ttl_ms = s->cfg.reservation_ttl_ms;
    if (op->req.deadline_ms == 0)
        op->req.deadline_ms = now + s->cfg.redis_timeout_ms;
    int rc;
    if (l->rpm == 0 && l->tpm == 0 && l->budget_micros == 0) {
        /* Nothing to count: no trip to Redis, no lock. */
        op->res.status = GW_ADMIT_OK;
        op->res.retry_after_ms = -1;
        op->res.budget_remaining_micros = -1;
        gw_counters_complete(c, op);
    } else if (!s->redis) {
        rc = gw_cmem_admit(s->mem, &op->req, 1, op->id, op->req.ttl_ms, now, &op->res);
        if (rc != 0) {
            gw_counters_op_free(c, op);
            return rc;
        }
        op->res.reservation.backend = GW_CB_MEM;
        if (l->tpm == 0 && l->budget_micros == 0)
            op->res.reservation.state = GW_RS_NONE;
        gw_counters_complete(c, op);
    } else if ((rc = gw_credis_admit(c, op)) != 0) {
        if (rc == AIGW_ENOMEM) {
            gw_counters_op_free(c, op);
            return rc;
        }
        /* Not connected: down. A deadline already past or a pipeline at its cap: Redis is
         * not keeping up, which is a timeout in all but name. */
        gw_counters_fallback(c, op, rc == GW_REDIS_EDOWN ? GW_DEGRADED_DOWN : GW_DEGRADED_TIMEOUT);
    }
    if (opp)
        *opp = op;
    return 0;
}

void gw_counters_cancel(struct gw_counters *c, struct gw_admit_op *op)
{
    (void)c;
    if (op)
        op->cancelled = 1; /* delivered nowhere; an admitted reservation is released */
}

int gw_counters_settle(struct gw_counters *c, struct gw_reservation *r, int64_t tokens,
                       int64_t usd_micros)
{
    if (!c || !r || tokens < 0 || usd_micros < 0)
        return AIGW_EINVAL;
    if (r->state != GW_RS_LIVE)
        return 0;
    r->state = GW_RS_DONE;
    struct gw_counters_shared *s = c->s;
    if (r->micros > 0)
        gw_lease_drop(s, r->id); /* settled: renewed no more */
    int64_t now = gw_counters_now_ms();
    if (r->backend == GW_CB_REDIS && c->rc) {
        gw_credis_settle(c, r, tokens, usd_micros);
        return 0;
    }
    gw_cmem_settle(s->mem, r, tokens, usd_micros, now);
    if (r->backend == GW_CB_FALLBACK && c->rc && (tokens > 0 || usd_micros > 0)) {
        /* Decided without Redis: tell Redis what was used once it is back, as a charge with
         * no reservation behind it (a fresh id, counted in the current second). */
        struct gw_reservation charge = *r;
        charge.id = gw_counters_next_id(s);
        charge.origin = s->replica;
        charge.slot = 0;
        charge.tokens = 0;
        charge.micros = 0;
        gw_credis_settle(c, &charge, tokens, usd_micros);
    }
    return 0;
}

int gw_counters_release(struct gw_counters *c, struct gw_reservation *r)
{
    return gw_counters_settle(c, r, 0, 0);
}

size_t gw_counters_fmt_reset(int64_t ms, char *buf, size_t size)
{
    char tmp[48];
    int n;
    if (ms <= 0)
        n = snprintf(tmp, sizeof tmp, "0s");
    else if (ms < 1000)
        n = snprintf(tmp, sizeof tmp, "%lldms", (long long)ms);
    else if (ms < 60000 && ms % 1000 == 0)
        n = snprintf(tmp, sizeof tmp, "%llds", (long long)(ms / 1000));
    else if (ms < 60000) {
        n = snprintf(tmp, sizeof tmp, "%lld.%03lld", (long long)(ms / 1000),
                     (long long)(ms % 1000));
        while (n > 0 && tmp[n - 1] == '0')
            tmp[--n] = '\0';
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, "s");
    } else {
        int64_t secs = (ms + 999) / 1000; /* never promise a reset earlier than it is */
        n = snprintf(tmp, sizeof tmp, "%lldm%llds", (long long)(secs / 60), (long long)(secs % 60));
    }
    (void)n;
    return gw_strlcpy(buf, tmp, size);
}
