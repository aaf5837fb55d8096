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
 * with it). Entries are kept in a list ordered by when each is next due, a third of its lease
 * after its last renewal, so two renewals in a row may fail (a Redis reconnect) before a lease
 * lapses. Whichever loop turns when the head is due takes up to GW_LEASE_BATCH due entries
 * and renews them with one backend call: one lock on the in-process table, one script for
 * Redis. Nothing is renewed past LEASE_MAX_LIFE_MS: a reservation a bug never settled still
 * ends.
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
    struct gw_lease *hnext;       /* hash chain */
    struct gw_lease *prev, *next; /* the due list */
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
    for (struct gw_lease *e = l->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    pthread_mutex_destroy(&l->lock);
    free(l->b);
    l->b = NULL;
}

static void publish_due(struct gw_leases *l)
{
    atomic_store(&l->due_ms, l->head ? l->head->due_ms : INT64_MAX);
}

static void list_unlink(struct gw_leases *l, struct gw_lease *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        l->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = NULL;
}

/* Sorted by due_ms; from the tail, where a new or renewed lease almost always goes. */
static void list_insert(struct gw_leases *l, struct gw_lease *e)
{
    struct gw_lease *after = l->tail;
    while (after && after->due_ms > e->due_ms)
        after = after->prev;
    e->prev = after;
    e->next = after ? after->next : l->head;
    if (e->next)
        e->next->prev = e;
    else
        l->tail = e;
    if (after)
        after->next = e;
    else
        l->head = e;
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
        list_unlink(l, e);
        l->n--;
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
    if (l->n >= l->max) {
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
    l->n++;
    list_insert(l, e);
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
    for (struct gw_lease *e = l->head, *next; e; e = next) {
        next = e->next;
        if (e->owner == c)
            free(take(l, e->ref.id));
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
    while (n < GW_LEASE_BATCH && l->head && l->head->due_ms <= now) {
        struct gw_lease *e = l->head;
        if (now - e->born_ms >= LEASE_MAX_LIFE_MS) {
            GW_WARN("counters: key %s: a reservation held for %lld h is renewed no more",
                    e->ref.key, (long long)(LEASE_MAX_LIFE_MS / 3600000));
            free(take(l, e->ref.id));
            continue;
        }
        out[n++] = e->ref;
        list_unlink(l, e);
        e->due_ms = now + interval(e->ref.lease_ms);
        list_insert(l, e);
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
        list_unlink(l, e);
        e->due_ms = due;
        list_insert(l, e);
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
