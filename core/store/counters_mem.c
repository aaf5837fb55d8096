/*
 * counters_mem - the in-process counters: one table per process, one lock. Exact on one
 * machine (every worker decides under the same lock); also the fallback's local shares when
 * Redis is configured but unavailable. The lock is held for a few hundred nanoseconds per
 * decision (60 slots summed), far below a request's own cost, so it is not striped.
 */
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "store/counters_int.h"

#define WIN GW_COUNTERS_WINDOW
#define IDLE_MS 120000 /* an entry this idle, holding no reservation, may be evicted (below) */

struct centry;

struct cres {
    struct cres *prev, *next; /* the key's reservations */
    struct cres *inext;       /* the table's index by id */
    struct centry *owner;
    uint64_t id;
    int64_t micros;
    int64_t period;
    int64_t expires; /* moved on by each renewal; min_expiry stays a lower bound */
};

struct centry {
    struct centry *next;
    uint32_t hash;
    int64_t head; /* the newest second the slots cover: they hold head-59 .. head */
    uint32_t req[WIN];
    int64_t tok[WIN];
    int budget_on;
    int64_t period, spent, resv;
    struct cres *res; /* live budget reservations */
    size_t nres;
    int64_t min_expiry;
    int64_t last_ms;
    char key[GW_COUNTERS_KEY_MAX + 1];
};

struct gw_cmem {
    pthread_mutex_t lock;
    struct centry **b;
    size_t nb, n, max, hand;
    /* Every live reservation by id, so that a settlement or a renewal finds its own without
     * walking its key's others (one key may hold thousands of streams). */
    struct cres **rb;
    size_t nrb, nres;
    uint64_t probes; /* reservation records looked at to find one (gw_cmem_probes) */
};

static size_t rbucket(size_t nrb, uint64_t id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (nrb - 1);
}

/* Twice as many buckets once they hold two records each on average: chains stay short at any
 * number of reservations. No memory: the chains grow longer, nothing is lost. */
static void index_grow(struct gw_cmem *m)
{
    if (m->nres < 2 * m->nrb || m->nrb >= ((size_t)1 << 24))
        return;
    size_t nrb = m->nrb * 2;
    struct cres **rb = calloc(nrb, sizeof *rb);
    if (!rb)
        return;
    for (size_t i = 0; i < m->nrb; i++)
        for (struct cres *r = m->rb[i], *next; r; r = next) {
            next = r->inext;
            r->inext = rb[rbucket(nrb, r->id)];
            rb[rbucket(nrb, r->id)] = r;
        }
    free(m->rb);
    m->rb = rb;
    m->nrb = nrb;
}

static void index_add(struct gw_cmem *m, struct cres *r)
{
    size_t b = rbucket(m->nrb, r->id);
    r->inext = m->rb[b];
    m->rb[b] = r;
    m->nres++;
    index_grow(m);
}

static void index_del(struct gw_cmem *m, const struct cres *r)
{
    for (struct cres **pp = &m->rb[rbucket(m->nrb, r->id)]; *pp; pp = &(*pp)->inext)
        if (*pp == r) {
            *pp = r->inext;
            m->nres--;
            return;
        }
}

/* The live reservation id of entry e, or NULL. */
static struct cres *res_find(struct gw_cmem *m, const struct centry *e, uint64_t id)
{
    for (struct cres *r = m->rb[rbucket(m->nrb, id)]; r; r = r->inext) {
        m->probes++;
        if (r->id == id && r->owner == e)
            return r;
    }
    return NULL;
}

/* Takes r out of its key's list and the index, gives its grant back, frees it. */
static void res_drop(struct gw_cmem *m, struct centry *e, struct cres *r)
{
    if (e->budget_on && e->period == r->period)
        e->resv -= r->micros;
    if (r->prev)
        r->prev->next = r->next;
    else
        e->res = r->next;
    if (r->next)
        r->next->prev = r->prev;
    e->nres--;
    index_del(m, r);
    free(r);
}

static uint32_t hash_key(const char *k)
{
    uint32_t h = 2166136261u;
    for (; *k; k++)
        h = (h ^ (uint8_t)*k) * 16777619u;
    return h;
}

int gw_cmem_new(size_t max_keys, struct gw_cmem **out)
{
    struct gw_cmem *m = calloc(1, sizeof *m);
    if (!m)
        return AIGW_ENOMEM;
    m->max = max_keys ? max_keys : 65536;
    m->nb = 64;
    while (m->nb < m->max && m->nb < ((size_t)1 << 24))
        m->nb *= 2;
    m->b = calloc(m->nb, sizeof *m->b);
    m->nrb = 1024;
    m->rb = calloc(m->nrb, sizeof *m->rb);
    if (!m->b || !m->rb) {
        free(m->b);
        free(m->rb);
        free(m);
        return AIGW_ENOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

static void free_entry(struct centry *e)
{
    struct cres *r = e->res;
    while (r) {
        struct cres *next = r->next;
        free(r);
        r = next;
    }
    free(e);
}

void gw_cmem_free(struct gw_cmem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        struct centry *e = m->b[i];
        while (e) {
            struct centry *next = e->next;
            free_entry(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&m->lock);
    free(m->b);
    free(m->rb);
    free(m);
}

size_t gw_cmem_keys(struct gw_cmem *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->n;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* Moves the window to `sec`, clearing the slots of the seconds it skips. */
static void advance(struct centry *e, int64_t sec)
{
    if (sec <= e->head)
        return;
    int64_t from = sec - e->head > WIN ? sec - WIN + 1 : e->head + 1;
    for (int64_t s = from; s <= sec; s++) {
        e->req[s % WIN] = 0;
        e->tok[s % WIN] = 0;
    }
    e->head = sec;
}

/* Reservations past their time give their budget back. A walk of the key's list, but only
 * once its earliest end has passed: renewals move ends on, so that is about once a lease. */
static void expire_res(struct gw_cmem *m, struct centry *e, int64_t now)
{
    if (!e->nres || now < e->min_expiry)
        return;
    int64_t min = INT64_MAX;
    for (struct cres *r = e->res, *next; r; r = next) {
        next = r->next;
        if (r->expires > now) {
            min = r->expires < min ? r->expires : min;
            continue;
        }
        res_drop(m, e, r);
    }
    e->min_expiry = min;
}

/* A budget's counter is the spend on this machine, which the ledger only seeds: seeded
 * again after an eviction it forgets what was spent since the key record was read (a
 * record the store could not refresh keeps its old spend). So it goes only when the table
 * is full (`pressure`), after the idle entries holding no budget. */
static int evictable(const struct centry *e, int64_t now, int pressure)
{
    return e->nres == 0 && now - e->last_ms >= IDLE_MS && (!e->budget_on || pressure);
}

static void sweep_bucket(struct gw_cmem *m, size_t i, int64_t now, int pressure)
{
    for (struct centry **pp = &m->b[i]; *pp;) {
        struct centry *e = *pp;
        expire_res(m, e, now);
        if (evictable(e, now, pressure)) {
            *pp = e->next;
            free_entry(e);
            m->n--;
        } else {
            pp = &e->next;
        }
    }
}

static struct centry *find(struct gw_cmem *m, const char *key, uint32_t h)
{
    for (struct centry *e = m->b[h & (m->nb - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static int64_t slot_val(const struct centry *e, int tok, int64_t s)
{
    return tok ? e->tok[s % WIN] : (int64_t)e->req[s % WIN];
}

/* Milliseconds until `need` units have left the window (oldest first); -1: never. */
static int64_t free_at(const struct centry *e, int tok, int64_t need, int64_t now)
{
    int64_t sec = now / 1000, freed = 0;
    for (int64_t s = sec - WIN + 1; s <= sec; s++) {
        freed += slot_val(e, tok, s);
        if (freed >= need && freed > 0)
            return (s + WIN) * 1000 - now;
    }
    return -1;
}

/* Milliseconds until the window is empty. */
static int64_t empty_at(const struct centry *e, int tok, int64_t now)
{
    int64_t sec = now / 1000;
    for (int64_t s = sec; s > sec - WIN; s--)
        if (slot_val(e, tok, s) > 0)
            return (s + WIN) * 1000 - now;
    return 0;
}

static void window_out(struct gw_rl_window *w, int64_t limit, int64_t used, int64_t reset)
{
    w->limit = limit > 0 ? limit : 0;
    w->remaining = limit > 0 ? (used >= limit ? 0 : limit - used) : 0;
    w->reset_ms = reset;
}

int gw_cmem_admit(struct gw_cmem *m, const struct gw_admit_req *req, int64_t share, uint64_t id,
                  int64_t ttl_ms, int64_t now, struct gw_admit_result *res)
{
    const struct gw_limits *l = &req->limits;
    if (share < 1)
        share = 1;
    /* A limit's share: -1 when there is none; 0 is a real (closed) limit. */
    int64_t rpm = l->rpm > 0 ? l->rpm / share : -1;
    int64_t tpm = l->tpm > 0 ? l->tpm / share : -1;
    int64_t budget = -1;
    if (l->budget_micros > 0) {
        int64_t seed = l->spent_micros > 0 ? l->spent_micros : 0;
        budget = share == 1 || l->budget_micros <= seed ? l->budget_micros
                                                        : seed + (l->budget_micros - seed) / share;
    }
    int64_t want = req->usd_micros > 0 ? req->usd_micros : 0;
    int64_t min =
        req->usd_min_micros > 0 && req->usd_min_micros < want ? req->usd_min_micros : want;
    int64_t est = req->tokens > 0 && l->tpm > 0 ? req->tokens : 0; /* TPM counts only when set */
    struct cres *rec = NULL;
    if (budget >= 0 && want > 0 && !(rec = calloc(1, sizeof *rec)))
        return AIGW_ENOMEM;

    uint32_t h = hash_key(req->key_id);
    int64_t sec = now / 1000;
    pthread_mutex_lock(&m->lock);
    sweep_bucket(m, m->hand, now, 0);
    m->hand = (m->hand + 1) & (m->nb - 1);
    struct centry *e = find(m, req->key_id, h);
    if (!e) {
        for (int pressure = 0; pressure < 2 && m->n >= m->max; pressure++)
            for (size_t i = 0; m->n >= m->max && i < m->nb; i++)
                sweep_bucket(m, i, now, pressure);
        if (m->n >= m->max || !(e = calloc(1, sizeof *e))) {
            int full = m->n >= m->max;
            pthread_mutex_unlock(&m->lock);
            free(rec);
            return full ? AIGW_ETOOBIG : AIGW_ENOMEM;
        }
        e->hash = h;
        e->head = sec;
        gw_strlcpy(e->key, req->key_id, sizeof e->key);
        e->next = m->b[h & (m->nb - 1)];
        m->b[h & (m->nb - 1)] = e;
        m->n++;
    }
    advance(e, sec);
    expire_res(m, e, now);
    e->last_ms = now;
    int64_t ureq = 0, utok = 0;
    for (int i = 0; i < WIN; i++) {
        ureq += e->req[i];
        utok += e->tok[i];
    }

    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    res->budget_remaining_micros = -1;
    int limit = GW_LIMIT_NONE;
    if (rpm >= 0 && ureq + 1 > rpm) {
        limit = GW_LIMIT_RPM;
        res->retry_after_ms = free_at(e, 0, ureq + 1 - rpm, now);
    } else if (tpm >= 0 && est > tpm) {
        limit = GW_LIMIT_TPM;
        res->too_large = 1;
    } else if (tpm >= 0 && utok + est > tpm) {
        limit = GW_LIMIT_TPM;
        res->retry_after_ms = free_at(e, 1, utok + est - tpm, now);
    }
    int64_t granted = 0, avail = -1;
    if (budget >= 0) {
        if (!e->budget_on || e->period != l->period) {
            /* A new period, or the first use since start: the ledger says what was spent. */
            e->budget_on = 1;
            e->period = l->period;
            e->spent = l->spent_micros > 0 ? l->spent_micros : 0;
            e->resv = 0;
        } else if (l->spent_micros > e->spent) {
            /* Both are spend known to be done, so the larger holds: the ledger has what this
             * table never counted (the fleet's spend while Redis was back, between two
             * outages; another process's; a settlement that found no entry). */
            e->spent = l->spent_micros;
        }
        avail = budget - e->spent - e->resv;
        if (limit == GW_LIMIT_NONE) {
            granted = want < avail ? want : avail;
            if (avail <= 0 || granted < min) {
                limit = GW_LIMIT_BUDGET;
                granted = 0;
                /* what is left is only reserved: not exhausted, busy */
                if (budget - e->spent >= (min > 0 ? min : 1)) {
                    res->budget_busy = 1;
                    res->retry_after_ms = 1000;
                }
            }
        }
    }
    res->limit = limit;
    if (limit == GW_LIMIT_NONE) {
        res->status = GW_ADMIT_OK;
        e->req[sec % WIN]++;
        e->tok[sec % WIN] += est;
        ureq++;
        utok += est;
        if (rec && granted > 0) {
            rec->id = id;
            rec->owner = e;
            rec->micros = granted;
            rec->period = l->period;
            rec->expires = now + ttl_ms;
            rec->next = e->res;
            if (e->res)
                e->res->prev = rec;
            e->res = rec;
            e->nres++;
            if (e->nres == 1 || rec->expires < e->min_expiry)
                e->min_expiry = rec->expires;
            e->resv += granted;
            avail -= granted;
            index_add(m, rec);
            rec = NULL;
        }
        struct gw_reservation *r = &res->reservation;
        r->id = id;
        r->slot = sec;
        r->tokens = est;
        r->micros = granted;
        r->period = l->period;
        r->period_end = l->period_end;
        r->state = GW_RS_LIVE;
        gw_strlcpy(r->key, req->key_id, sizeof r->key);
    } else {
        res->status = GW_ADMIT_LIMITED;
    }
    res->granted_micros = granted;
    res->budget_remaining_micros = budget >= 0 ? (avail > 0 ? avail : 0) : -1;
    window_out(&res->requests, rpm, ureq, empty_at(e, 0, now));
    window_out(&res->tokens, tpm, utok, empty_at(e, 1, now));
    pthread_mutex_unlock(&m->lock);
    free(rec);
    return 0;
}

void gw_cmem_settle(struct gw_cmem *m, const struct gw_reservation *r, int64_t tokens,
                    int64_t micros, int64_t now)
{
    uint32_t h = hash_key(r->key);
    int64_t sec = now / 1000;
    pthread_mutex_lock(&m->lock);
    struct centry *e = find(m, r->key, h);
    /* Gone: evicted idle with no reservation, so only a late TPM correction is lost. */
    if (e) {
        advance(e, sec);
        e->last_ms = now;
        if (r->slot > sec - WIN && r->slot <= sec) {
            int64_t v = e->tok[r->slot % WIN] + (tokens - r->tokens);
            e->tok[r->slot % WIN] = v > 0 ? v : 0;
        }
        struct cres *c = res_find(m, e, r->id);
        if (c)
            res_drop(m, e, c);
        /* Expired or not, the real cost is spent (a late settlement still counts). */
        if (e->budget_on && e->period == r->period && micros > 0)
            e->spent += micros;
    }
    pthread_mutex_unlock(&m->lock);
}

/* A reservation still held (not settled, not yet expired by a sweep) keeps its grant: a
 * renewal moves its end, even one a late renewal finds past it, since nothing has given that
 * grant back yet. One gone is not made again (counters_lease.c says why). */
void gw_cmem_renew(struct gw_cmem *m, const struct gw_lease_ref *refs, size_t n, int64_t now,
                   unsigned char *found)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        struct centry *e = find(m, refs[i].key, hash_key(refs[i].key));
        struct cres *c = e ? res_find(m, e, refs[i].id) : NULL;
        if (c) {
            c->expires = now + refs[i].lease_ms;
            found[i] = 1;
        }
    }
    pthread_mutex_unlock(&m->lock);
}

uint64_t gw_cmem_probes(struct gw_cmem *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->probes;
    pthread_mutex_unlock(&m->lock);
    return n;
}
