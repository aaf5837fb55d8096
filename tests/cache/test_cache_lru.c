/*
 * The in-memory response cache: bytes never pass max_bytes, the least recently used entry
 * goes first, entries expire at their TTL (and are dropped then, not only under pressure),
 * a value being replayed outlives its eviction, and many threads at once keep it whole.
 */
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "cache/lru.h"

static void key(unsigned char k[GW_CACHE_KEY_BYTES], unsigned n)
{
    /* Real keys are SHA-256s; these spread over buckets the same way for the test's needs. */
    memset(k, 0, GW_CACHE_KEY_BYTES);
    for (int i = 0; i < GW_CACHE_KEY_BYTES; i++)
        k[i] = (unsigned char)((n * 2654435761u) >> (i % 4 * 8)) ^ (unsigned char)i;
    memcpy(k + 28, &n, sizeof n);
}

static void put(struct gw_cache_mem *m, unsigned n, size_t len, int64_t now)
{
    unsigned char k[GW_CACHE_KEY_BYTES];
    key(k, n);
    char buf[4096];
    cr_assert_leq(len, sizeof buf);
    memset(buf, (int)('a' + n % 26), len);
    struct gw_cache_val *v = gw_cache_val_new(buf, len);
    cr_assert_not_null(v);
    cr_assert_eq(gw_cache_mem_put(m, k, v, now, NULL), 0);
    gw_cache_val_unref(v);
}

static int has(struct gw_cache_mem *m, unsigned n, int64_t now)
{
    unsigned char k[GW_CACHE_KEY_BYTES];
    key(k, n);
    struct gw_cache_val *v = gw_cache_mem_get(m, k, now);
    if (!v)
        return 0;
    cr_assert_eq(v->data[0], 'a' + n % 26, "entry %u holds its own value", n);
    gw_cache_val_unref(v);
    return 1;
}

Test(cache_lru, bytes_stay_under_the_bound_and_the_least_recently_used_goes_first)
{
    uint64_t per = gw_cache_mem_cost(1000);
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(per * 4, 60000, &m), 0); /* room for exactly 4 */
    for (unsigned i = 0; i < 4; i++)
        put(m, i, 1000, 0);
    struct gw_cache_mem_stats st;
    gw_cache_mem_stats(m, &st);
    cr_assert_eq(st.entries, 4);
    cr_assert_eq(st.bytes, per * 4);
    cr_assert_eq(st.evictions, 0);
    cr_assert(has(m, 0, 1)); /* 0 is now the most recently used; 1 the least */
    put(m, 4, 1000, 2);
    cr_assert(!has(m, 1, 3), "the least recently used was evicted");
    cr_assert(has(m, 0, 3) && has(m, 2, 3) && has(m, 3, 3) && has(m, 4, 3));
    gw_cache_mem_stats(m, &st);
    cr_assert_eq(st.evictions, 1);
    cr_assert_leq(st.bytes, per * 4);
    /* A bigger value evicts as many as it needs. */
    uint64_t evicted = 0;
    unsigned char k[GW_CACHE_KEY_BYTES];
    key(k, 99);
    char big[2500] = {0};
    struct gw_cache_val *v = gw_cache_val_new(big, sizeof big);
    cr_assert_eq(gw_cache_mem_put(m, k, v, 4, &evicted), 0);
    gw_cache_val_unref(v);
    cr_assert_eq(evicted, 3, "2500 bytes need three 1000-byte slots");
    gw_cache_mem_stats(m, &st);
    cr_assert_leq(st.bytes, per * 4);
    cr_assert_eq(st.entries, 2);
    gw_cache_mem_free(m);
}

Test(cache_lru, a_value_larger_than_the_cache_changes_nothing)
{
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(4096, 60000, &m), 0);
    put(m, 1, 100, 0);
    unsigned char k[GW_CACHE_KEY_BYTES];
    key(k, 2);
    static char huge[8192];
    struct gw_cache_val *v = gw_cache_val_new(huge, sizeof huge);
    cr_assert_eq(gw_cache_mem_put(m, k, v, 0, NULL), AIGW_ETOOBIG);
    gw_cache_val_unref(v);
    cr_assert(has(m, 1, 0), "nothing was evicted for it");
    gw_cache_mem_free(m);
}

Test(cache_lru, entries_expire_at_their_ttl_without_memory_pressure)
{
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(1 << 20, 1000, &m), 0);
    put(m, 1, 10, 0);
    put(m, 2, 10, 500);
    cr_assert(has(m, 1, 999));
    cr_assert(!has(m, 1, 1000), "expired at exactly its TTL");
    cr_assert(has(m, 2, 1000));
    /* An unread entry is dropped (and its bytes returned) once any later call sees it old. */
    put(m, 3, 10, 1600);
    struct gw_cache_mem_stats st;
    gw_cache_mem_stats(m, &st);
    cr_assert_eq(st.entries, 1);
    cr_assert_eq(st.expired, 2);
    cr_assert_eq(st.evictions, 0);
    cr_assert_eq(st.bytes, gw_cache_mem_cost(10));
    /* A hit does not extend the TTL: an answer is at most ttl old. */
    cr_assert(has(m, 3, 2500));
    cr_assert(!has(m, 3, 2600));
    gw_cache_mem_free(m);
}

Test(cache_lru, a_store_replaces_and_a_replayed_value_outlives_its_entry)
{
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(4096, 60000, &m), 0);
    unsigned char k[GW_CACHE_KEY_BYTES];
    key(k, 7);
    struct gw_cache_val *v1 = gw_cache_val_new("first", 5);
    cr_assert_eq(gw_cache_mem_put(m, k, v1, 0, NULL), 0);
    gw_cache_val_unref(v1);
    struct gw_cache_val *held = gw_cache_mem_get(m, k, 1);
    cr_assert_not_null(held);
    struct gw_cache_val *v2 = gw_cache_val_new("second", 6);
    cr_assert_eq(gw_cache_mem_put(m, k, v2, 2, NULL), 0);
    gw_cache_val_unref(v2);
    struct gw_cache_mem_stats st;
    gw_cache_mem_stats(m, &st);
    cr_assert_eq(st.entries, 1);
    struct gw_cache_val *now = gw_cache_mem_get(m, k, 3);
    cr_assert_eq(now->len, 6);
    cr_assert_eq(memcmp(now->data, "second", 6), 0);
    gw_cache_val_unref(now);
    /* The replaced value is still whole for whoever holds it (ASan would see a free). */
    cr_assert_eq(held->len, 5);
    cr_assert_eq(memcmp(held->data, "first", 5), 0);
    gw_cache_mem_free(m);
    cr_assert_eq(memcmp(held->data, "first", 5), 0, "even after the cache is gone");
    gw_cache_val_unref(held);
}

Test(cache_lru, many_entries_grow_the_table_and_all_stay_reachable)
{
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(64u << 20, 60000, &m), 0);
    for (unsigned i = 0; i < 5000; i++)
        put(m, i, 16, 0);
    for (unsigned i = 0; i < 5000; i++)
        cr_assert(has(m, i, 1), "entry %u", i);
    cr_assert(!has(m, 5000, 1));
    struct gw_cache_mem_stats st;
    gw_cache_mem_stats(m, &st);
    cr_assert_eq(st.entries, 5000);
    cr_assert_eq(st.bytes, 5000 * gw_cache_mem_cost(16));
    gw_cache_mem_free(m);
}

Test(cache_lru, bad_settings_are_refused)
{
    struct gw_cache_mem *m = NULL;
    cr_assert_eq(gw_cache_mem_new(100, 60000, &m), AIGW_EINVAL);
    cr_assert_eq(gw_cache_mem_new(1 << 20, 0, &m), AIGW_EINVAL);
    cr_assert_null(m);
}

/* ---- threads ------------------------------------------------------------------------------ */

struct worker {
    struct gw_cache_mem *m;
    unsigned seed;
    int bad;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    unsigned x = w->seed;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        unsigned n = (x >> 8) % 300;
        unsigned char k[GW_CACHE_KEY_BYTES];
        key(k, n);
        if (x & 1) {
            char buf[200];
            memset(buf, (int)('a' + n % 26), sizeof buf);
            struct gw_cache_val *v = gw_cache_val_new(buf, 50 + n % 150);
            if (v && gw_cache_mem_put(w->m, k, v, i, NULL) != 0)
                w->bad = 1;
            gw_cache_val_unref(v);
        } else {
            struct gw_cache_val *v = gw_cache_mem_get(w->m, k, i);
            if (v) {
                for (size_t j = 0; j < v->len; j++)
                    if (v->data[j] != 'a' + n % 26)
                        w->bad = 1;
                gw_cache_val_unref(v);
            }
        }
    }
    return NULL;
}

Test(cache_lru, threads_at_once_keep_values_and_bounds)
{
    uint64_t max = gw_cache_mem_cost(200) * 40; /* far fewer than the 300 keys: evictions */
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(max, 5000, &m), 0);
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){m, (unsigned)i * 7919u + 1, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].bad, 0, "thread %d saw a wrong value or a failed store", i);
    }
    struct gw_cache_mem_stats st;
    gw_cache_mem_stats(m, &st);
    cr_assert_leq(st.bytes, max);
    cr_assert_gt(st.evictions, 0);
    gw_cache_mem_free(m);
}

struct told {
    uint64_t bytes;
    int times;
    uint64_t evictions, expired;
};

static void watch(void *ud, const struct gw_cache_mem_stats *st)
{
    struct told *t = ud;
    t->bytes = st->bytes;
    t->evictions = st->evictions;
    t->expired = st->expired;
    t->times++;
}

/* What the watcher was last told of the entries dropped, and why. */
static void told_dropped(const struct told *t, uint64_t evictions, uint64_t expired)
{
    cr_assert_eq(t->evictions, evictions, "told %llu evictions, want %llu",
                 (unsigned long long)t->evictions, (unsigned long long)evictions);
    cr_assert_eq(t->expired, expired, "told %llu expiries, want %llu",
                 (unsigned long long)t->expired, (unsigned long long)expired);
}

/* What the watcher was last told is what the table holds, after every kind of change. */
static void told_is_held(struct gw_cache_mem *m, const struct told *t, uint64_t want)
{
    struct gw_cache_mem_stats st;
    gw_cache_mem_stats(m, &st);
    cr_assert_eq(st.bytes, want, "held %llu, want %llu", (unsigned long long)st.bytes,
                 (unsigned long long)want);
    cr_assert_eq(t->bytes, want, "told %llu, held %llu", (unsigned long long)t->bytes,
                 (unsigned long long)want);
}

/* aigw_cache_bytes is this count: it changed only on a store, so an eviction, an expiry or a
 * delete left it telling bytes the cache no longer held. aigw_cache_evictions_total is told
 * the entries dropped and why: for room, or past the TTL (a delete is neither). */
Test(cache_lru, the_bytes_held_are_told_after_every_change)
{
    uint64_t per = gw_cache_mem_cost(3000);
    struct gw_cache_mem *m;
    cr_assert_eq(gw_cache_mem_new(per * 2, 1000, &m), 0); /* room for 2, each for 1 s */
    struct told t = {12345, 0, 99, 99};
    gw_cache_mem_watch(m, watch, &t);
    told_is_held(m, &t, 0);
    told_dropped(&t, 0, 0);
    put(m, 0, 3000, 0);
    told_is_held(m, &t, per);
    put(m, 1, 3000, 0);
    told_is_held(m, &t, 2 * per);
    put(m, 2, 3000, 10); /* evicts 0 */
    told_is_held(m, &t, 2 * per);
    told_dropped(&t, 1, 0);
    unsigned char k[GW_CACHE_KEY_BYTES];
    key(k, 1);
    cr_assert_eq(gw_cache_mem_del(m, k), 1);
    told_is_held(m, &t, per);
    cr_assert_eq(gw_cache_mem_del(m, k), 0, "nothing left to delete");
    told_is_held(m, &t, per);
    told_dropped(&t, 1, 0);
    /* A lookup drops what expired, and says so. */
    cr_assert_not(has(m, 2, 1010));
    told_is_held(m, &t, 0);
    told_dropped(&t, 1, 1);
    /* So does a sweep, without a lookup: only what expired. */
    put(m, 3, 3000, 2000);
    put(m, 4, 3000, 2500);
    gw_cache_mem_sweep(m, 2999);
    told_is_held(m, &t, 2 * per);
    gw_cache_mem_sweep(m, 3000);
    told_is_held(m, &t, per);
    gw_cache_mem_sweep(m, 3500);
    told_is_held(m, &t, 0);
    told_dropped(&t, 1, 3);
    /* A store drops what expired before it looks for room. */
    put(m, 5, 3000, 4000);
    put(m, 6, 3000, 5500);
    told_dropped(&t, 1, 4);
    int times = t.times;
    gw_cache_mem_sweep(m, 5600);
    cr_assert_eq(t.times, times, "nothing changed: nothing told");
    gw_cache_mem_free(m);
}
