/* route_memo - a router's candidate lists, per (model, op, chosen list) (see route_int.h).
 *
 * Finding a model's candidates walks the catalog's entries for it and names each entry's
 * provider to the plugin table (a string compare per plugin), touching memory no other
 * request did; the answer only changes with the router, so each router keeps it. Entries go
 * with the router: a reload builds a new, empty memo. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "catalog/catalog.h"
#include "route/route_int.h"

/* Models one router remembers, and the bytes they may take: a client cycling through the
 * catalog's ids fills it and the rest are computed as before. */
#define MEMO_ENTRIES 256
#define MEMO_SLOTS 512 /* a power of two, twice MEMO_ENTRIES: probe chains stay short */
#define MEMO_BYTES (64 * 1024)

struct memo_ent {
    uint64_t hash;
    const void *chosen;
    int op;
    int bypass;
    int n;
    size_t mlen;
    char *model; /* after the candidates, NUL-terminated */
    struct gw_cand v[];
};

struct gw_route_memo {
    struct memo_ent *_Atomic slot[MEMO_SLOTS];
    pthread_mutex_t lock; /* inserts only */
    size_t count, bytes;  /* under lock */
};

int gw_route_memo_new(struct gw_route_memo **out)
{
    struct gw_route_memo *m = calloc(1, sizeof *m);
    if (!m)
        return AIGW_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

void gw_route_memo_free(struct gw_route_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < MEMO_SLOTS; i++)
        free(atomic_load_explicit(&m->slot[i], memory_order_relaxed));
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static uint64_t key_hash(const char *model, size_t n, int op, const void *chosen)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned)op ^ (uint64_t)(uintptr_t)chosen;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)model[i];
        h *= 1099511628211ull;
    }
    return h;
}

static struct memo_ent *find(struct gw_route_memo *m, uint64_t h, const char *model, size_t n,
                             int op, const void *chosen, size_t *free_at)
{
    size_t mask = MEMO_SLOTS - 1;
    for (size_t k = 0, i = h & mask; k < MEMO_SLOTS; k++, i = (i + 1) & mask) {
        struct memo_ent *e = atomic_load_explicit(&m->slot[i], memory_order_acquire);
        if (!e) {
            *free_at = i;
            return NULL;
        }
        if (e->hash == h && e->op == op && e->chosen == chosen && e->mlen == n &&
            !memcmp(e->model, model, n))
            return e;
    }
    *free_at = MEMO_SLOTS;
    return NULL;
}

int gw_route_memo_get(struct gw_route_memo *m, const char *model, int op, const void *chosen,
                      struct gw_cand *out, int *n)
{
    if (!m)
        return -1;
    size_t len = strlen(model), free_at;
    const struct memo_ent *e =
        find(m, key_hash(model, len, op, chosen), model, len, op, chosen, &free_at);
    if (!e)
        return -1;
    memcpy(out, e->v, (size_t)e->n * sizeof e->v[0]);
    *n = e->n;
    return e->bypass;
}

void gw_route_memo_put(struct gw_route_memo *m, const char *model, int op, const void *chosen,
                       int bypass, const struct gw_cand *v, int n)
{
    if (!m || n <= 0)
        return;
    size_t len = strlen(model);
    size_t size = sizeof(struct memo_ent) + (size_t)n * sizeof v[0] + len + 1;
    uint64_t h = key_hash(model, len, op, chosen);
    pthread_mutex_lock(&m->lock);
    size_t at;
    struct memo_ent *e = NULL;
    if (m->count < MEMO_ENTRIES && m->bytes + size <= MEMO_BYTES &&
        !find(m, h, model, len, op, chosen, &at) && at < MEMO_SLOTS && (e = malloc(size))) {
        e->hash = h;
        e->chosen = chosen;
        e->op = op;
        e->bypass = bypass;
        e->n = n;
        e->mlen = len;
        e->model = (char *)&e->v[n];
        memcpy(e->model, model, len + 1);
        /* A candidate's model may be the request's own string or a piece of it ("vkey/x"):
         * the entry's copy stands in for it. */
        for (int i = 0; i < n; i++) {
            e->v[i] = v[i];
            uintptr_t at_m = (uintptr_t)v[i].model, from = (uintptr_t)model;
            if (at_m >= from && at_m <= from + len)
                e->v[i].model = e->model + (at_m - from);
        }
        m->count++;
        m->bytes += size;
        atomic_store_explicit(&m->slot[at], e, memory_order_release);
    }
    pthread_mutex_unlock(&m->lock);
}

size_t gw_route_memo_count(const struct gw_route_memo *m)
{
    if (!m)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
    return n;
}

/* What a slot keeps when the catalog has no entry for its pair. */
static const char no_entry;

const struct gw_model *gw_pair_entry(struct gw_tstat *stat, const struct gw_plugin *p,
                                     const char *model, const struct gw_catalog *cat)
{
    if (!cat || !p || !model)
        return NULL;
    if (!stat || !stat->model[0] || stat->plugin != p) /* the provider's slot: not the pair's */
        return gw_catalog_find(cat, p->desc.vkey, model);
    uint64_t gen = gw_catalog_gen(cat);
    if (atomic_load_explicit(&stat->entry_gen, memory_order_acquire) == gen) {
        const void *e = atomic_load_explicit(&stat->entry, memory_order_relaxed);
        return e == &no_entry ? NULL : e;
    }
    const struct gw_model *m = gw_catalog_find(cat, p->desc.vkey, model);
    atomic_store_explicit(&stat->entry, m ? (const void *)m : &no_entry, memory_order_relaxed);
    atomic_store_explicit(&stat->entry_gen, gen, memory_order_release);
    return m;
}
