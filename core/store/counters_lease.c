/*
 * counters_lease - reservations are leases. A reservation lives for a short lease (the
 * configured reservation_ttl_ms, 90 s by default) and this replica renews it while its request
 * is alive, so a stream of any length keeps its grant, and a replica that dies stops renewing:
 * its reservations give their grants back within one lease instead of blocking the key's
 * budget for as long as the longest answer could last.
 *
 * The registry holds every live reservation of this process that carries a budget grant (the
 * only thing an expiry gives back: TPM counts age out of their 60 s window on their own). It
 * is shared by the process's loops, because a reservation may be settled through any loop;
 * each entry remembers the loop that admitted it, whose end ends the entry (its requests end
 * with it). Entries are kept in a binary min-heap by when each is next due, a third of its
 * lease after its last renewal, so two renewals in a row may fail (a Redis reconnect) before a
 * lease lapses. A heap, not a sorted list: entries due at any time (a renewal put back to be
 * tried again soon, ahead of thousands not due yet; leases of different lengths) cost
 * log(n) steps each, never a walk past the others. Whichever loop turns when the soonest is
 * due takes up to GW_LEASE_BATCH due entries and renews them with one backend call: one lock
 * on the in-process table, one script for Redis. Nothing is renewed past LEASE_MAX_LIFE_MS: a
 * reservation a bug never settled still ends.
 *
 * A renewal that finds its reservation gone (settled meanwhile, or expired and its grant
 * given back: a renewal came too late, or Redis lost its data) does not re-reserve: the grant
 * may have been spent by others since, and a re-reservation the budget cannot cover would
 * either hold more than the budget or fail anyway. The request goes on (its answer is already
 * bounded by its grant) and its settlement counts the real spend once, as a late settlement
 * of an expired reservation does (see counters_mem.c and counters_redis.c). It is counted
 * (leases_lost) and logged.
 */
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "store/counters_int.h"

#define LEASE_MAX_LIFE_MS (6 * 3600 * 1000LL)
#define LEASE_BATCHES_PER_TURN 16 /* more due: the next turn (the timeout is then 0) */
#define LEASE_RETRY_MS 250        /* Redis not connected: look again this soon */

struct gw_lease {
    struct gw_lease *hnext; /* hash chain */
    size_t hi;              /* where it is in the heap */
    const struct gw_counters *owner;
    int64_t due_ms, born_ms;
    struct gw_lease_ref ref;
};

static size_t bucket(const struct gw_leases *l, uint64_t id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (l->nb - 1);
}

int gw_leases_init(struct gw_leases *l, size_t max)
{
    memset(l, 0, sizeof *l);
    l->max = max;
    l->nb = 1024; /* chains of 16 at most at the cap, in 128 KiB */
    while (l->nb < max / 16 && l->nb < ((size_t)1 << 20))
        l->nb *= 2;
    l->b = calloc(l->nb, sizeof *l->b);
    if (!l->b)
        return AIGW_ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    atomic_init(&l->due_ms, INT64_MAX);
    return 0;
}

void gw_leases_fini(struct gw_leases *l)
{
    if (!l->b)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->heap[i]);
    pthread_mutex_destroy(&l->lock);
    free(l->heap);
    free(l->b);
    l->b = NULL;
    l->heap = NULL;
}

static void publish_due(struct gw_leases *l)
{
    atomic_store(&l->due_ms, l->n ? l->heap[0]->due_ms : INT64_MAX);
}

/* ---- the heap: heap[0] is due first; every entry is due no sooner than its parent ---- */

static void heap_put(struct gw_leases *l, size_t i, struct gw_lease *e)
{
    l->heap[i] = e;
    e->hi = i;
}

static void sift_up(struct gw_leases *l, size_t i)
{
    struct gw_lease *e = l->heap[i];
    while (i > 0 && l->heap[(i - 1) / 2]->due_ms > e->due_ms) {
        heap_put(l, i, l->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
        l->steps++;
    }
    heap_put(l, i, e);
}

static void sift_down(struct gw_leases *l, size_t i)
{
    struct gw_lease *e = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->n)
            break;
        if (c + 1 < l->n && l->heap[c + 1]->due_ms < l->heap[c]->due_ms)
            c++;
        if (l->heap[c]->due_ms >= e->due_ms)
            break;
        heap_put(l, i, l->heap[c]);
        i = c;
        l->steps++;
    }
    heap_put(l, i, e);
}

/* e's due_ms changed: back where it belongs. */
static void heap_fix(struct gw_leases *l, struct gw_lease *e)
{
    sift_up(l, e->hi);
    sift_down(l, e->hi);
}

/* Room for one more; -1 when there is no memory for it. Grows by doubling up to the cap. */
static int heap_room(struct gw_leases *l)
{
    if (l->n < l->cap)
        return 0;
    size_t cap = l->cap ? l->cap * 2 : 1024;
    if (cap > l->max)
        cap = l->max;
    struct gw_lease **h = cap > l->n ? realloc(l->heap, cap * sizeof *h) : NULL;
    if (!h)
        return -1;
    l->heap = h;
    l->cap = cap;
    return 0;
}

static void heap_remove(struct gw_leases *l, struct gw_lease *e)
{
    size_t i = e->hi;
    struct gw_lease *last = l->heap[--l->n];
    if (last == e)
        return;
    heap_put(l, i, last);
    heap_fix(l, last);
}

static struct gw_lease *find(struct gw_leases *l, uint64_t id)
{
    struct gw_lease *e = l->b[bucket(l, id)];
    while (e && e->ref.id != id)
        e = e->hnext;
    return e;
}

/* Unlinks and returns the entry of id, or NULL. Under the lock. */
static struct gw_lease *take(struct gw_leases *l, uint64_t id)
{
    for (struct gw_lease **pp = &l->b[bucket(l, id)]; *pp; pp = &(*pp)->hnext) {
        struct gw_lease *e = *pp;
        if (e->ref.id != id)
            continue;
        *pp = e->hnext;
        heap_remove(l, e);
        return e;
    }
    return NULL;
}

static int64_t interval(int64_t lease_ms)
{
    return lease_ms >= 3 ? lease_ms / 3 : 1;
}

void gw_lease_add(struct gw_counters *c, const struct gw_reservation *r, int64_t lease_ms,
                  int64_t now)
{
    struct gw_counters_shared *s = c->s;
    if (r->state != GW_RS_LIVE || r->micros <= 0 || r->backend == 0)
        return;
    struct gw_leases *l = &s->leases;
    struct gw_lease *e = calloc(1, sizeof *e);
    if (!e) {
        atomic_fetch_add(&s->st.leases_untracked, 1);
        return;
    }
    e->owner = c;
    e->born_ms = now;
    e->due_ms = now + interval(lease_ms);
    e->ref.id = r->id;
    e->ref.period = r->period;
    e->ref.lease_ms = lease_ms;
    e->ref.backend = r->backend;
    gw_strlcpy(e->ref.key, r->key, sizeof e->ref.key);
    pthread_mutex_lock(&l->lock);
    if (l->n >= l->max || heap_room(l) < 0) {
        pthread_mutex_unlock(&l->lock);
        free(e);
        /* Not renewed: it keeps one lease. The cap is far above the requests one process
         * can have in flight; counted (leases_untracked). */
        atomic_fetch_add(&s->st.leases_untracked, 1);
        return;
    }
    size_t b = bucket(l, e->ref.id);
    e->hnext = l->b[b];
    l->b[b] = e;
    heap_put(l, l->n++, e);
    sift_up(l, e->hi);
    publish_due(l);
    pthread_mutex_unlock(&l->lock);
}

void gw_lease_drop(struct gw_counters_shared *s, uint64_t id)
{
    struct gw_leases *l = &s->leases;
    if (atomic_load(&l->due_ms) == INT64_MAX)
        return; /* none: no lock */
    pthread_mutex_lock(&l->lock);
    struct gw_lease *e = take(l, id);
    publish_due(l);
    pthread_mutex_unlock(&l->lock);
    free(e);
}

int gw_lease_lost(struct gw_counters_shared *s, uint64_t id)
{
    struct gw_leases *l = &s->leases;
    pthread_mutex_lock(&l->lock);
    struct gw_lease *e = take(l, id);
    publish_due(l);
    pthread_mutex_unlock(&l->lock);
    if (!e)
        return 0; /* settled while the renewal was on its way */
    atomic_fetch_add(&s->st.leases_lost, 1);
    free(e);
    return 1;
}

void gw_lease_drop_owner(struct gw_counters_shared *s, const struct gw_counters *c)
{
    struct gw_leases *l = &s->leases;
    pthread_mutex_lock(&l->lock);
    /* By the hash chains, which a removal does not reorder (the heap's order it does). */
    for (size_t i = 0; i < l->nb; i++)
        for (struct gw_lease **pp = &l->b[i]; *pp;) {
            struct gw_lease *e = *pp;
            if (e->owner != c) {
                pp = &e->hnext;
                continue;
            }
            *pp = e->hnext;
            heap_remove(l, e);
            free(e);
        }
    publish_due(l);
    pthread_mutex_unlock(&l->lock);
}

int gw_lease_timeout_ms(struct gw_counters_shared *s, int64_t now)
{
    int64_t due = atomic_load(&s->leases.due_ms);
    if (due == INT64_MAX)
        return -1;
    int64_t t = due - now;
    return t <= 0 ? 0 : t > 60000 ? 60000 : (int)t;
}

/* Takes up to GW_LEASE_BATCH due leases, each due again an interval from now. */
static size_t take_due(struct gw_leases *l, int64_t now, struct gw_lease_ref *out)
{
    size_t n = 0;
    pthread_mutex_lock(&l->lock);
    while (n < GW_LEASE_BATCH && l->n && l->heap[0]->due_ms <= now) {
        struct gw_lease *e = l->heap[0];
        if (now - e->born_ms >= LEASE_MAX_LIFE_MS) {
            GW_WARN("counters: key %s: a reservation held for %lld h is renewed no more",
                    e->ref.key, (long long)(LEASE_MAX_LIFE_MS / 3600000));
            free(take(l, e->ref.id));
            continue;
        }
        out[n++] = e->ref;
        e->due_ms = now + interval(e->ref.lease_ms);
        sift_down(l, 0);
    }
    publish_due(l);
    pthread_mutex_unlock(&l->lock);
    return n;
}

static void renew_local(struct gw_counters *c, const struct gw_lease_ref *refs, size_t n,
                        int64_t now)
{
    unsigned char found[GW_LEASE_BATCH];
    gw_cmem_renew(c->s->mem, refs, n, now, found);
    size_t lost = 0;
    for (size_t i = 0; i < n; i++)
        if (!found[i])
            lost += (size_t)gw_lease_lost(c->s, refs[i].id);
    if (lost)
        GW_WARN("counters: %zu reservations expired while their requests ran (renewed too "
                "late); their spend still counts when they settle",
                lost);
}

/* Not sent (Redis not connected from this loop): due again soon rather than a whole interval
 * later, so a reconnect is followed by a renewal before the lease can lapse. */
static void retry_soon(struct gw_leases *l, const struct gw_lease_ref *refs, size_t n, int64_t now)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < n; i++) {
        struct gw_lease *e = find(l, refs[i].id);
        int64_t due =
            now + (interval(refs[i].lease_ms) < LEASE_RETRY_MS ? interval(refs[i].lease_ms)
                                                               : LEASE_RETRY_MS);
        if (!e || e->due_ms <= due)
            continue;
        e->due_ms = due;
        sift_up(l, e->hi);
    }
    publish_due(l);
    pthread_mutex_unlock(&l->lock);
}

void gw_lease_tick(struct gw_counters *c, int64_t now)
{
    struct gw_counters_shared *s = c->s;
    if (atomic_load(&s->leases.due_ms) > now)
        return;
    struct gw_lease_ref *refs = malloc(sizeof *refs * GW_LEASE_BATCH * 2);
    if (!refs)
        return; /* due still: the next turn tries again */
    struct gw_lease_ref *local = refs, *remote = refs + GW_LEASE_BATCH;
    for (int k = 0; k < LEASE_BATCHES_PER_TURN; k++) {
        size_t n = take_due(&s->leases, now, refs + GW_LEASE_BATCH);
        if (!n)
            break;
        /* In place: the in-process ones to the front half, Redis' kept in the back. */
        size_t nl = 0, nr = 0;
        for (size_t i = 0; i < n; i++) {
            const struct gw_lease_ref *x = &refs[GW_LEASE_BATCH + i];
            if (x->backend == GW_CB_REDIS)
                remote[nr++] = *x;
            else
                local[nl++] = *x;
        }
        if (nl)
            renew_local(c, local, nl, now);
        /* Not answered (Redis slow, the connection lost on the way): the next round, an
         * interval later, which still leaves two thirds of the lease. */
        if (nr && (!c->rc || !gw_redis_ready(c->rc) || gw_credis_renew(c, remote, nr) != 0))
            retry_soon(&s->leases, remote, nr, now);
    }
    free(refs);
}
