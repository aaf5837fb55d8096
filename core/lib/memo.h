/*
 * memo - room in one module's record for what another module resolved about it, once: the
 * router's health slot of a (provider, model) pair keeps the pair's metric label values for
 * the metrics, which would otherwise hash both strings on every request. Three pointers, each
 * stamped with the generation of the state it belongs to (its owner's count of states: a
 * value stamped by a replaced state reads as empty). All zero is empty.
 *
 * Threading: any thread reads and fills it at once, without a lock. A filler stores the value
 * before its stamp (release), a reader loads the stamp (acquire) before the value; fillers of
 * one generation store the same value. The owner must not replace its state while another
 * thread may be inside a fill or a read (the metrics' rule for their state already).
 */
#ifndef GW_MEMO_H
#define GW_MEMO_H

#include <stdatomic.h>
#include <stdint.h>

#define GW_MEMO_VALUES 3

struct gw_memo {
    atomic_uint_least64_t gen[GW_MEMO_VALUES];
    const void *_Atomic v[GW_MEMO_VALUES];
};

/* Value i when it was stamped with gen (gen > 0), else NULL. */
static inline const void *gw_memo_get(struct gw_memo *m, int i, uint64_t gen)
{
    if (atomic_load_explicit(&m->gen[i], memory_order_acquire) != gen)
        return NULL;
    return atomic_load_explicit(&m->v[i], memory_order_relaxed);
}

static inline void gw_memo_put(struct gw_memo *m, int i, uint64_t gen, const void *v)
{
    atomic_store_explicit(&m->v[i], v, memory_order_relaxed);
    atomic_store_explicit(&m->gen[i], gen, memory_order_release);
}

#endif
