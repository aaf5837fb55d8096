/* metrics_series - the series table and the per-thread value shards (see metrics_int.h): a
 * label set to its values, created on first use, and the adds and observations into them.
 * Labels and the state's lifetime are metrics.c's. */
#include "obs/metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/metrics_int.h"

/* ---- hashing ------------------------------------------------------------------------------ */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ---- series ------------------------------------------------------------------------------- */

static uint64_t series_hash(int family, const struct gw_m_label *const *lab, int nl)
{
    uint64_t h = mix((uint64_t)family + 1);
    for (int i = 0; i < nl; i++)
        h = mix(h ^ (uint64_t)(uintptr_t)lab[i]);
    return h;
}

static struct gw_m_series *series_find(struct gw_metrics *m, int family,
                                       const struct gw_m_label *const *lab, int nl, uint64_t h)
{
    size_t mask = m->nsslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct gw_m_series *s = atomic_load_explicit(&m->sslots[i], memory_order_acquire);
        if (!s)
            return NULL;
        if (s->hash != h || s->family != family)
            continue;
        int k = 0;
        while (k < nl && s->lab[k] == lab[k])
            k++;
        if (k == nl)
            return s;
    }
}

/* Lock held. limit: series allowed in all. */
static struct gw_m_series *series_insert(struct gw_metrics *m, int family,
                                         const struct gw_m_label *const *lab, int nl, uint64_t h,
                                         size_t limit)
{
    size_t count = atomic_load_explicit(&m->nlist, memory_order_relaxed);
    if (count >= limit)
        return NULL;
    const struct gw_m_family_desc *f = &gw_m_families[family];
    size_t nv = f->type == GW_MT_HISTOGRAM ? (size_t)f->nle + 2 : 1;
    if (m->nvalues + nv > m->max_values + (limit > m->max_series ? GW_M_RESERVE : 0))
        return NULL;
    struct gw_m_series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hash = h;
    s->family = family;
    s->off = (uint32_t)m->nvalues;
    m->nvalues += nv;
    memcpy(s->lab, lab, (size_t)nl * sizeof lab[0]);
    size_t mask = m->nsslots - 1, i = h & mask;
    while (atomic_load_explicit(&m->sslots[i], memory_order_relaxed))
        i = (i + 1) & mask;
    m->list[count] = s;
    atomic_store_explicit(&m->nlist, count + 1, memory_order_release);
    atomic_store_explicit(&m->sslots[i], s, memory_order_release);
    return s;
}

/* The series of this label set, created on first use. Past max_series a new label set is
 * counted in the family's all-"other" series, which always has room: totals stay right. */
static struct gw_m_series *series_get(struct gw_metrics *m, int family,
                                      const struct gw_m_label *const *lab)
{
    int nl = gw_m_families[family].nlabels;
    uint64_t h = series_hash(family, lab, nl);
    struct gw_m_series *s = series_find(m, family, lab, nl, h);
    if (s)
        return s;
    pthread_mutex_lock(&m->lock);
    if (!(s = series_find(m, family, lab, nl, h)) &&
        !(s = series_insert(m, family, lab, nl, h, m->max_series))) {
        const struct gw_m_label *other[GW_M_MAX_LABELS] = {&gw_m_other, &gw_m_other, &gw_m_other,
                                                           &gw_m_other};
        h = series_hash(family, other, nl);
        if (!(s = series_find(m, family, other, nl, h)))
            s = series_insert(m, family, other, nl, h, m->max_series + GW_MF_COUNT);
    }
    pthread_mutex_unlock(&m->lock);
    return s;
}

/* This thread's value array. Threads take shards in turn on first use. */
static _Atomic uint64_t *my_shard(struct gw_metrics *m)
{
    static atomic_uint next;
    static _Thread_local int mine = -1;
    if (mine < 0)
        mine = (int)(atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) % GW_M_SHARDS);
    return m->shard[mine];
}

uint64_t gw_m_value(const struct gw_metrics *m, uint32_t off)
{
    uint64_t v = 0;
    for (int k = 0; k < GW_M_SHARDS; k++)
        v += atomic_load_explicit(&m->shard[k][off], memory_order_relaxed);
    return v;
}

static void add(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, uint64_t v)
{
    struct gw_m_series *s = series_get(m, family, lab);
    if (s)
        atomic_fetch_add_explicit(&my_shard(m)[s->off], v, memory_order_relaxed);
}

/* One observation of x (in the family's unit) into histogram series s. */
static void observe_in(struct gw_metrics *m, int family, struct gw_m_series *s, int64_t x)
{
    const struct gw_m_family_desc *f = &gw_m_families[family];
    if (x < 0)
        x = 0;
    int i = 0;
    while (i < f->nle && x > f->le[i])
        i++;
    _Atomic uint64_t *v = my_shard(m) + s->off;
    atomic_fetch_add_explicit(&v[0], (uint64_t)x, memory_order_relaxed);
    atomic_fetch_add_explicit(&v[1 + i], 1, memory_order_relaxed);
}

/* One observation of x into the histogram series of lab. */
static void observe(struct gw_metrics *m, int family, const struct gw_m_label *const *lab,
                    int64_t x)
{
    struct gw_m_series *s = series_get(m, family, lab);
    if (s)
        observe_in(m, family, s, x);
}

void gw_metrics_active(int delta)
{
    struct gw_metrics *m = gw_m_get();
    if (m)
        atomic_fetch_add_explicit(&my_shard(m)[GW_M_OFF_ACTIVE], (uint64_t)(int64_t)delta,
                                  memory_order_relaxed);
}

void gw_metrics_streams(int delta)
{
    struct gw_metrics *m = gw_m_get();
    if (m)
        atomic_fetch_add_explicit(&my_shard(m)[GW_M_OFF_STREAMS], (uint64_t)(int64_t)delta,
                                  memory_order_relaxed);
}
void gw_m_add(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, uint64_t v)
{
    add(m, family, lab, v);
}

void gw_m_observe(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, int64_t x)
{
    observe(m, family, lab, x);
}

void gw_m_set(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, int64_t v)
{
    struct gw_m_series *s = series_get(m, family, lab);
    /* A gauge that is set, not added to: it lives in shard 0 alone (changes are rare). */
    if (s)
        atomic_store_explicit(&m->shard[0][s->off], (uint64_t)(v < 0 ? 0 : v),
                              memory_order_relaxed);
}

/* The block's series, found by lab once. A series, once found for a label set, is the one
 * every later look finds (past the cap: the family's all-"other" one, for good too). */
static struct gw_m_series *pair_series(struct gw_metrics *m, struct gw_m_pair *pb, int which,
                                       int family, const struct gw_m_label *const *lab)
{
    struct gw_m_series *s = atomic_load_explicit(&pb->s[which], memory_order_acquire);
    if (!s && (s = series_get(m, family, lab)))
        atomic_store_explicit(&pb->s[which], s, memory_order_release);
    return s;
}

void gw_m_pair_add(struct gw_metrics *m, struct gw_m_pair *pb, int which, int family,
                   const struct gw_m_label *const *lab, uint64_t v)
{
    struct gw_m_series *s =
        pb ? pair_series(m, pb, which, family, lab) : series_get(m, family, lab);
    if (s)
        atomic_fetch_add_explicit(&my_shard(m)[s->off], v, memory_order_relaxed);
}

void gw_m_pair_observe(struct gw_metrics *m, struct gw_m_pair *pb, int which, int family,
                       const struct gw_m_label *const *lab, int64_t x)
{
    struct gw_m_series *s =
        pb ? pair_series(m, pb, which, family, lab) : series_get(m, family, lab);
    if (s)
        observe_in(m, family, s, x);
}
