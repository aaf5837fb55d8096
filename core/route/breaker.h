/*
 * breaker - the health of each target (provider + model) the router sends to: a circuit
 * breaker and a rolling latency window, kept in a fixed table of slots.
 *
 * Breaker: CLOSED counts consecutive failures; at the threshold it turns OPEN for a cooldown,
 * in which the target gets no traffic. After the cooldown one call is let through as the
 * HALF_OPEN probe: its success closes the breaker, its failure opens it for another cooldown,
 * and an outcome that proves nothing (a client error, a cancel) lets the next call probe.
 * The probe holds a lease as long as the cooldown, so a probe that never reports (its request
 * went elsewhere, the client left) cannot wedge the target half-open for good.
 *
 * Latency: the last `window` successful attempts of the target; their median is republished on
 * every report. A target with fewer than `min_samples` is "cold" (median -1).
 *
 * Slots: one per (plugin, model), found by hashing; a slot is never removed, so lookups walk a
 * probe chain without locking and only an insert takes the table lock. When the table is full
 * the provider's own slot (model "") stands in, so every target always has one.
 *
 * Threading: every function may run on any thread at once. A breaker is one 64-bit atomic word
 * (state and deadline together, changed by compare-and-swap) plus an atomic failure count. The
 * latency window has a small mutex of its own and publishes its median atomically, so readers
 * never lock.
 */
#ifndef GW_BREAKER_H
#define GW_BREAKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/memo.h"

#define GW_TSTAT_MODEL_MAX 256
#define GW_LAT_WINDOW_MAX 128

enum gw_breaker_state {
    GW_BREAKER_CLOSED = 0,
    GW_BREAKER_OPEN = 1,
    GW_BREAKER_HALF_OPEN = 2,
};

/* What one attempt says about its target. */
enum gw_breaker_outcome {
    GW_BREAKER_NEUTRAL = -1, /* says nothing about the target's health (a 400, a cancel) */
    GW_BREAKER_FAILURE = 0,
    GW_BREAKER_SUCCESS = 1,
};

struct gw_breaker_cfg {
    int threshold;       /* consecutive failures that open it; 0: never opens */
    int64_t cooldown_ms; /* how long it stays open (and how long a probe's lease lasts) */
};

struct gw_breaker {
    /* state in the low 2 bits, the deadline (monotonic ms) above them: OPEN until it, or the
     * HALF_OPEN probe's lease until it. */
    atomic_uint_least64_t word;
    atomic_int fails;
};

void gw_breaker_init(struct gw_breaker *b);
/* The state as stored (an OPEN breaker past its cooldown still reads OPEN). */
int gw_breaker_state(const struct gw_breaker *b);
/* 1 when a call may go to the target at `now`. With claim, the call let through after a
 * cooldown becomes the half-open probe and other callers are refused until it reports or its
 * lease ends; without, nothing changes (a look for ordering). */
int gw_breaker_allow(struct gw_breaker *b, const struct gw_breaker_cfg *c, int64_t now, int claim);
/* Records one attempt's outcome (enum gw_breaker_outcome). Returns the transition it caused:
 * GW_BREAKER_OPEN (it opened), GW_BREAKER_CLOSED (it closed again), or -1 (none). */
int gw_breaker_record(struct gw_breaker *b, const struct gw_breaker_cfg *c, int outcome,
                      int64_t now);
/* Milliseconds until a call may go through (0: now). */
int64_t gw_breaker_wait_ms(const struct gw_breaker *b, int64_t now);

struct gw_tstat {
    atomic_int ready; /* 1 once the key below is written (release) */
    uint32_t hash;
    const void *plugin;
    struct gw_breaker breaker;
    pthread_mutex_t lat_lock;
    int lat_n, lat_pos;
    atomic_llong p50;     /* median of the window; -1 while cold */
    atomic_llong samples; /* successful attempts ever recorded */
    /* The metrics' label values of this pair, found once (obs/metrics.h, *_memo hooks); only
     * meaningful in a slot of a real pair (model not ""), which a target's stat is exactly:
     * a target has its own pair's slot or its provider's. */
    struct gw_memo metrics;
    /* The catalog's entry for this pair (gw_pair_entry in route.h), stamped with the catalog's
     * gw_catalog_gen; a stand-in when it has none. */
    const void *_Atomic entry;
    atomic_uint_least64_t entry_gen;
    /* What taking a slot writes is above, what it does not below: the window's pages stay
     * out of RSS until a target has latencies, the model's beyond its length. */
    char model[GW_TSTAT_MODEL_MAX];
    int32_t lat[GW_LAT_WINDOW_MAX];        /* the window in arrival order (a ring) */
    int32_t lat_sorted[GW_LAT_WINDOW_MAX]; /* the same lat_n values, ascending */
};

struct gw_tstats;

/* A table of `cap` slots (rounded up to a power of two). window: latency samples kept (1 to
 * GW_LAT_WINDOW_MAX); min_samples: how many make a target warm. */
int gw_tstats_new(struct gw_tstats **out, size_t cap, int window, int min_samples);
/* Another holder (a reloaded router): the table goes when the last one frees it. */
struct gw_tstats *gw_tstats_ref(struct gw_tstats *t);
/* 1 when t keeps this latency window and warm threshold (a router may share it). */
int gw_tstats_fits(const struct gw_tstats *t, int window, int min_samples);
/* Drops one holder's reference; the last frees the table. NULL is ignored. */
void gw_tstats_free(struct gw_tstats *t);
/* The slot of (plugin, model). With insert, a new slot is made when there is none (the
 * provider's slot, model "", when the table is full); without, the provider's slot stands in
 * for an unknown pair. NULL only when even the provider's slot cannot be made. */
struct gw_tstat *gw_tstats_get(struct gw_tstats *t, const void *plugin, const char *model,
                               int insert);
/* Slots in use. */
size_t gw_tstats_count(const struct gw_tstats *t);
/* Calls fn for every slot in use, in table order (for the admin API's provider list). Slots
 * inserted meanwhile may or may not be seen. */
void gw_tstats_each(struct gw_tstats *t, void (*fn)(void *ud, struct gw_tstat *s), void *ud);

/* Adds one successful attempt's latency. */
void gw_tstat_add_latency(struct gw_tstats *t, struct gw_tstat *s, int64_t ms);
/* The median latency in ms, or -1 while the target is cold. */
int64_t gw_tstat_p50(const struct gw_tstat *s);

/* Monotonic milliseconds. */
int64_t gw_mono_ms(void);

#endif
