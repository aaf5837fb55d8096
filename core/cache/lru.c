/* lru - the in-memory response cache: a hash table and two lists (see lru.h). */
#include "cache/lru.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"

#define MIN_BUCKETS 64

struct entry {
    unsigned char key[GW_CACHE_KEY_BYTES];
    struct gw_cache_val *val;
    int64_t expires_ms;
    uint64_t cost;
    struct entry *chain;               /* the bucket's next */
    struct entry *use_prev, *use_next; /* most recently used first */
    struct entry *age_prev, *age_next; /* oldest first */
};

struct gw_cache_mem {
    pthread_mutex_t lock;
    uint64_t max_bytes;
    int64_t ttl_ms;
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    uint64_t entries, bytes;
    uint64_t evictions, expired;
    struct entry *use_head, *use_tail;
    struct entry *age_head, *age_tail;
    void (*watch)(void *ud, const struct gw_cache_mem_stats *st); /* told every change, locked */
    void *watch_ud;
};

struct gw_cache_val *gw_cache_val_new(const void *p, size_t len)
{
    struct gw_cache_val *v = malloc(sizeof *v + len);
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    v->len = len;
    if (len)
        memcpy(v->data, p, len);
    return v;
}

void gw_cache_val_ref(struct gw_cache_val *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void gw_cache_val_unref(struct gw_cache_val *v)
{
    if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
        free(v);
}

uint64_t gw_cache_mem_cost(size_t len)
{
    /* The value, its entry, and the bucket slot it claims at most (the table doubles at
     * one entry per bucket). */
    return (uint64_t)len + sizeof(struct gw_cache_val) + sizeof(struct entry) +
           2 * sizeof(struct entry *);
}

int gw_cache_mem_new(uint64_t max_bytes, int64_t ttl_ms, struct gw_cache_mem **out)
{
    if (max_bytes < 4096 || ttl_ms <= 0)
        return AIGW_EINVAL;
    struct gw_cache_mem *m = calloc(1, sizeof *m);
    if (!m)
        return AIGW_ENOMEM;
    m->buckets = calloc(MIN_BUCKETS, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return AIGW_ENOMEM;
    }
    m->nbuckets = MIN_BUCKETS;
    m->max_bytes = max_bytes;
    m->ttl_ms = ttl_ms;
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

static void entry_free(struct entry *e)
{
    gw_cache_val_unref(e->val);
    free(e);
}

void gw_cache_mem_free(struct gw_cache_mem *m)
{
    if (!m)
        return;
    for (struct entry *e = m->use_head, *next; e; e = next) {
        next = e->use_next;
        entry_free(e);
    }
    free(m->buckets);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static size_t bucket_of(const struct gw_cache_mem *m, const unsigned char *key)
{
    /* The key is a SHA-256: any 8 of its bytes are uniform. */
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)(h & (m->nbuckets - 1));
}

static struct entry **slot_of(struct gw_cache_mem *m, const unsigned char *key)
{
    struct entry **s = &m->buckets[bucket_of(m, key)];
    while (*s && memcmp((*s)->key, key, GW_CACHE_KEY_BYTES) != 0)
        s = &(*s)->chain;
    return s;
}

/* ---- the two lists ----------------------------------------------------------------------- */

static void use_unlink(struct gw_cache_mem *m, struct entry *e)
{
    if (e->use_prev)
        e->use_prev->use_next = e->use_next;
    else
        m->use_head = e->use_next;
    if (e->use_next)
        e->use_next->use_prev = e->use_prev;
    else
        m->use_tail = e->use_prev;
    e->use_prev = e->use_next = NULL;
}

static void use_push(struct gw_cache_mem *m, struct entry *e)
{
    e->use_prev = NULL;
    e->use_next = m->use_head;
    if (m->use_head)
        m->use_head->use_prev = e;
    m->use_head = e;
    if (!m->use_tail)
        m->use_tail = e;
}

static void age_unlink(struct gw_cache_mem *m, struct entry *e)
{
    if (e->age_prev)
        e->age_prev->age_next = e->age_next;
    else
        m->age_head = e->age_next;
    if (e->age_next)
        e->age_next->age_prev = e->age_prev;
    else
        m->age_tail = e->age_prev;
    e->age_prev = e->age_next = NULL;
}

static void age_append(struct gw_cache_mem *m, struct entry *e)
{
    e->age_next = NULL;
    e->age_prev = m->age_tail;
    if (m->age_tail)
        m->age_tail->age_next = e;
    m->age_tail = e;
    if (!m->age_head)
        m->age_head = e;
}

/* Unlinks e from everything and frees it. Lock held. */
static void drop(struct gw_cache_mem *m, struct entry *e)
{
    struct entry **s = slot_of(m, e->key);
    *s = e->chain;
    use_unlink(m, e);
    age_unlink(m, e);
    m->entries--;
    m->bytes -= e->cost;
    entry_free(e);
}

/* The stats now. Lock held. */
static void stats_of(const struct gw_cache_mem *m, struct gw_cache_mem_stats *out)
{
    out->bytes = m->bytes;
    out->entries = m->entries;
    out->evictions = m->evictions;
    out->expired = m->expired;
}

/* Tells the watcher the stats now. Under the lock, so the last stats told are the table's,
 * whichever thread changed it last. */
static void tell(struct gw_cache_mem *m)
{
    if (!m->watch)
        return;
    struct gw_cache_mem_stats st;
    stats_of(m, &st);
    m->watch(m->watch_ud, &st);
}

/* Entries past their TTL, oldest first; 1 when any was dropped. Lock held. */
static int expire(struct gw_cache_mem *m, int64_t now_ms)
{
    int any = 0;
    while (m->age_head && m->age_head->expires_ms <= now_ms) {
        drop(m, m->age_head);
        m->expired++;
        any = 1;
    }
    return any;
}

/* Doubles the table when it holds one entry per bucket; a failed allocation only makes the
 * chains longer. Lock held. */
static void grow(struct gw_cache_mem *m)
{
    if (m->entries < m->nbuckets)
        return;
    size_t n = m->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (struct entry *e = m->buckets[i], *next; e; e = next) {
            next = e->chain;
            uint64_t h;
            memcpy(&h, e->key, sizeof h);
            size_t k = (size_t)(h & (n - 1));
            e->chain = b[k];
            b[k] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

struct gw_cache_val *gw_cache_mem_get(struct gw_cache_mem *m,
                                      const unsigned char key[GW_CACHE_KEY_BYTES], int64_t now_ms)
{
    struct gw_cache_val *v = NULL;
    pthread_mutex_lock(&m->lock);
    if (expire(m, now_ms))
        tell(m);
    struct entry *e = *slot_of(m, key);
    if (e) {
        use_unlink(m, e);
        use_push(m, e);
        v = e->val;
        gw_cache_val_ref(v);
    }
    pthread_mutex_unlock(&m->lock);
    return v;
}

int gw_cache_mem_put(struct gw_cache_mem *m, const unsigned char key[GW_CACHE_KEY_BYTES],
                     struct gw_cache_val *v, int64_t now_ms, uint64_t *evicted)
{
    if (evicted)
        *evicted = 0;
    uint64_t cost = gw_cache_mem_cost(v->len);
    if (cost > m->max_bytes)
        return AIGW_ETOOBIG;
    struct entry *n = calloc(1, sizeof *n);
    if (!n)
        return AIGW_ENOMEM;
    memcpy(n->key, key, GW_CACHE_KEY_BYTES);
    n->val = v;
    n->cost = cost;
    n->expires_ms = now_ms + m->ttl_ms;
    gw_cache_val_ref(v);
    pthread_mutex_lock(&m->lock);
    expire(m, now_ms);
    struct entry *old = *slot_of(m, key);
    if (old)
        drop(m, old);
    while (m->use_tail && m->bytes + cost > m->max_bytes) {
        drop(m, m->use_tail);
        m->evictions++;
        if (evicted)
            (*evicted)++;
    }
    struct entry **s = &m->buckets[bucket_of(m, key)];
    n->chain = *s;
    *s = n;
    use_push(m, n);
    age_append(m, n);
    m->entries++;
    m->bytes += cost;
    grow(m);
    tell(m);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

int gw_cache_mem_del(struct gw_cache_mem *m, const unsigned char key[GW_CACHE_KEY_BYTES])
{
    pthread_mutex_lock(&m->lock);
    struct entry *e = *slot_of(m, key);
    if (e) {
        drop(m, e);
        tell(m);
    }
    pthread_mutex_unlock(&m->lock);
    return e != NULL;
}

void gw_cache_mem_sweep(struct gw_cache_mem *m, int64_t now_ms)
{
    pthread_mutex_lock(&m->lock);
    if (expire(m, now_ms))
        tell(m);
    pthread_mutex_unlock(&m->lock);
}

void gw_cache_mem_watch(struct gw_cache_mem *m,
                        void (*fn)(void *ud, const struct gw_cache_mem_stats *st), void *ud)
{
    pthread_mutex_lock(&m->lock);
    m->watch = fn;
    m->watch_ud = ud;
    tell(m);
    pthread_mutex_unlock(&m->lock);
}

void gw_cache_mem_stats(struct gw_cache_mem *m, struct gw_cache_mem_stats *out)
{
    pthread_mutex_lock(&m->lock);
    stats_of(m, out);
    pthread_mutex_unlock(&m->lock);
}
