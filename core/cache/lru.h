/*
 * lru - the response cache's in-memory backend: cached answers by key, bounded by bytes,
 * each kept for the TTL at most.
 *
 * A hash table (chained, doubled as it fills) finds an entry in O(1); two lists order them:
 * by use (the least recently used is evicted first when a new answer needs room) and by age
 * (the TTL is one for all entries, so the oldest expires first and is dropped as soon as it
 * expires, without waiting for memory pressure). Bytes count the value, the entry and its
 * share of the table, so max_bytes bounds what the cache holds in memory.
 *
 * Values are immutable and reference-counted: a hit holds its value while it is replayed,
 * without the lock and without a copy, even if the entry is evicted meanwhile.
 *
 * Threading: every function may be called from any thread; one mutex guards the table and is
 * held for a few pointer moves (never during a replay or an allocation of a value).
 */
#ifndef GW_CACHE_LRU_H
#define GW_CACHE_LRU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/key.h"

/* A cached answer (a chunk log), shared by the table and every replay in progress. */
struct gw_cache_val {
    atomic_int refs;
    size_t len;
    unsigned char data[];
};

/* A value holding a copy of p (one reference), or NULL when out of memory. */
struct gw_cache_val *gw_cache_val_new(const void *p, size_t len);
void gw_cache_val_ref(struct gw_cache_val *v);
void gw_cache_val_unref(struct gw_cache_val *v); /* NULL is ignored */

struct gw_cache_mem_stats {
    uint64_t bytes;     /* held now, overhead included */
    uint64_t entries;   /* held now */
    uint64_t evictions; /* entries dropped for room, since the start */
    uint64_t expired;   /* entries dropped at their TTL, since the start */
};

struct gw_cache_mem;

/* max_bytes: the bound (at least 4096); ttl_ms: each entry's lifetime (> 0). */
int gw_cache_mem_new(uint64_t max_bytes, int64_t ttl_ms, struct gw_cache_mem **out);
void gw_cache_mem_free(struct gw_cache_mem *m);

/* The value kept under key (one reference for the caller), or NULL (absent or expired).
 * now_ms: a monotonic clock (tests pass their own). */
struct gw_cache_val *gw_cache_mem_get(struct gw_cache_mem *m,
                                      const unsigned char key[GW_CACHE_KEY_BYTES], int64_t now_ms);
/* Keeps v under key (taking a reference of its own), replacing what was there, evicting the
 * least recently used entries as needed (their count in *evicted, which may be NULL). 0,
 * AIGW_ETOOBIG (v alone does not fit: nothing changes), AIGW_ENOMEM. */
int gw_cache_mem_put(struct gw_cache_mem *m, const unsigned char key[GW_CACHE_KEY_BYTES],
                     struct gw_cache_val *v, int64_t now_ms, uint64_t *evicted);
void gw_cache_mem_stats(struct gw_cache_mem *m, struct gw_cache_mem_stats *out);
/* Drops the entry under key (an answer found wrong after it was kept): 1 when there was one. */
int gw_cache_mem_del(struct gw_cache_mem *m, const unsigned char key[GW_CACHE_KEY_BYTES]);
/* Drops the entries past their TTL now (a lookup or a store does it too, as it passes). */
void gw_cache_mem_sweep(struct gw_cache_mem *m, int64_t now_ms);
/* fn(ud, st) is told the table's stats (as gw_cache_mem_stats) at once and after every
 * change: a store, an eviction, an expiry, a delete. It runs under the table's lock, so the
 * last stats it was told are the table's and calls never overlap; it must not call back into
 * the table. */
void gw_cache_mem_watch(struct gw_cache_mem *m,
                        void (*fn)(void *ud, const struct gw_cache_mem_stats *st), void *ud);

/* What an entry of len value bytes counts against max_bytes. */
uint64_t gw_cache_mem_cost(size_t len);

#endif
