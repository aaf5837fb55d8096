/*
 * metrics_int - what metrics.c (labels, lifetime, hooks), metrics_series.c (series and
 * shards), metrics_ops.c and metrics_render.c share.
 *
 * Storage: two fixed-size open-addressing tables sized once at init. Labels interns every
 * label value (per dimension, each dimension capped); series maps (family, interned label
 * pointers) to the values of one label set. Slots are published with a release store and
 * never change or go away until gw_metrics_free(), so lookups take no lock; only the first
 * use of a new label value or label set takes the mutex.
 *
 * Values are per-thread: GW_M_SHARDS arrays of counters, a thread adding to its own array
 * (threads beyond GW_M_SHARDS share one, still with atomic adds), render summing them. A
 * shared counter would cost every request a cache miss per series on a busy multi-core box
 * as the line moves between cores; a shard's lines stay in one core's cache.
 */
#ifndef GW_METRICS_INT_H
#define GW_METRICS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/memo.h"

struct gw_catalog;

#define GW_M_MAX_LABELS 4
#define GW_M_LABEL_MAX 128        /* bytes of a label value; longer values are folded or cut */
#define GW_M_SERIES_VALUES_MAX 18 /* a histogram: sum, buckets and +Inf */

enum gw_m_family {
    GW_MF_REQUESTS,
    GW_MF_DURATION,
    GW_MF_TTFB,
    GW_MF_ATTEMPTS,
    GW_MF_RETRIES,
    GW_MF_FALLBACKS,
    GW_MF_TOKENS,
    GW_MF_COST,
    GW_MF_BREAKER,
    GW_MF_TTFT,
    GW_MF_TPOT,
    GW_MF_TOKEN_USAGE,
    GW_MF_KEY_TOKENS,
    GW_MF_KEY_COST,
    GW_MF_RATE_LIMITED,
    GW_MF_BUDGET,
    GW_MF_DEGRADED,
    GW_MF_CACHE,
    GW_MF_CACHE_EVICTIONS,
    GW_MF_CACHE_BYTES,
    GW_MF_GUARD,
    GW_MF_STORE_DURATION,
    GW_MF_STORE_ERRORS,
    GW_MF_LOG_DROPPED,
    GW_MF_SPANS_DROPPED,
    GW_MF_SPANS_EXPORTED,
    GW_MF_LEASES,
    GW_MF_LEASES_LOST,
    GW_MF_LEASES_UNTRACKED,
    GW_MF_UPSTREAM_CANCELS,
    GW_MF_COUNT
};

enum gw_m_type { GW_MT_COUNTER, GW_MT_GAUGE, GW_MT_HISTOGRAM };

/* How a series' value is stored (histograms: their bounds and sum). */
enum gw_m_unit {
    GW_MU_COUNT, /* an integer */
    GW_MU_NANO,  /* integer billionths (USD): no floating-point CAS loop on the hot path */
    GW_MU_MS,    /* milliseconds, shown as seconds */
    GW_MU_US,    /* microseconds, shown as seconds */
};

struct gw_m_family_desc {
    const char *name;
    const char *help;
    int type; /* enum gw_m_type */
    int unit; /* enum gw_m_unit */
    int nlabels;
    const char *labels[GW_M_MAX_LABELS];
    const int64_t *le; /* histogram upper bounds in the family's unit, ascending */
    int nle;
};

/* An interned label value. `s` is NUL-terminated and never changes. */
struct gw_m_label {
    uint64_t hash;
    int dim;
    size_t len;
    const char *s;
};

/* One label set of one family; its values are shard[k][off ...]. Histograms: off holds the
 * sum in the family's unit, then the per-bucket (not cumulative) counts, the last being +Inf. */
struct gw_m_series {
    uint64_t hash;
    int family;
    uint32_t off;
    const struct gw_m_label *lab[GW_M_MAX_LABELS];
};

#define GW_M_SHARDS 16
/* Fixed value offsets. */
#define GW_M_OFF_ACTIVE 0
#define GW_M_OFF_STREAMS 1
#define GW_M_OFF_FIRST 2
/* Values past max_values kept for the all-"other" series of every family. */
#define GW_M_RESERVE (GW_MF_COUNT * GW_M_SERIES_VALUES_MAX)

/* The series of a target's pair that no other label varies, found once per pair (the pair's
 * block, kept in its memo: value 2) instead of hashing the label set on every request. */
enum gw_m_pair_series {
    GW_MPS_DURATION,
    GW_MPS_TTFB,
    GW_MPS_TTFT,
    GW_MPS_TPOT,
    GW_MPS_USAGE_IN,
    GW_MPS_USAGE_OUT,
    GW_MPS_TOKENS, /* + the kind, as GW_ML_TOKEN_KIND */
    GW_MPS_COST = GW_MPS_TOKENS + 5,
    GW_MPS_COUNT
};

struct gw_m_pair {
    struct gw_m_series *_Atomic s[GW_MPS_COUNT]; /* NULL until first used */
    struct gw_m_pair *next;                      /* the state's list, for its free */
};

struct gw_metrics {
    pthread_mutex_t lock; /* inserts only */
    uint64_t gen;         /* this state's number (from 1): stamps what memos keep of it */
    const struct gw_catalog *_Atomic cat;
    int max_models;

    struct gw_m_label *_Atomic *lslots;
    size_t nlslots;            /* a power of two */
    size_t nlabels;            /* under lock; at most nlslots / 2 */
    int dim_count[8];          /* under lock: distinct values per dimension */
    atomic_int unknown_models; /* models admitted that neither catalog nor config know */
    int allowed_models;        /* under lock */

    struct gw_m_series *_Atomic *sslots;
    size_t nsslots; /* a power of two */
    size_t max_series;
    struct gw_m_series **list; /* insertion order, for render; gw_pages_alloc'ed */
    atomic_size_t nlist;

    /* gw_pages_alloc'ed (max_values + GW_M_RESERVE values each): all-zero bytes are a zero
     * lock-free atomic, and untouched pages of a large arena are never committed, whatever
     * malloc's history (a calloc may come from reused heap and be zeroed, hence resident). */
    _Atomic uint64_t *shard[GW_M_SHARDS];
    size_t nvalues; /* under lock: values handed out */
    size_t max_values;

    struct gw_m_pair *pairs; /* under lock: every pair block made */
    size_t npairs;           /* under lock */

    /* HTTP status 100..599 -> its label: the hot path skips snprintf and the hash. */
    const struct gw_m_label *_Atomic status_cache[500];
};

/* The sum over shards of value off (wrapping: gauges store two's complement deltas). */
uint64_t gw_m_value(const struct gw_metrics *m, uint32_t off);

extern const struct gw_m_family_desc gw_m_families[GW_MF_COUNT];

/* The label every refused value folds into ("other"); the series table folds into it too. */
extern const struct gw_m_label gw_m_other;

/* The state set by gw_metrics_init, or NULL. */
struct gw_metrics *gw_m_get(void);

/* Bounded labels for the hooks of metrics_ops.c: each kind interns in its own dimension
 * with its own cap and charset, NULL or "" is "none", anything refused is "other". MODEL
 * takes (provider, model); the static kinds ignore s. */
enum gw_m_label_kind {
    GW_ML_PROVIDER,
    GW_ML_MODEL,
    GW_ML_OUTCOME, /* short words: results, stages, reasons */
    GW_ML_KEY,     /* gateway key ids (256, then "other") */
    GW_ML_NAME,    /* guard names, store backends and operations (64, then "other") */
    GW_ML_INPUT,   /* "input" */
    GW_ML_OUTPUT,  /* "output" */
    /* aigw_tokens_total's kinds: + 0 prompt, 1 completion, 2 cached, 3 cache_write,
     * 4 reasoning (the order of struct aigw_usage). */
    GW_ML_TOKEN_KIND,
};
const struct gw_m_label *gw_m_label(struct gw_metrics *m, int kind, const char *s, const char *s2);
/* GW_ML_PROVIDER (memo value 0) or GW_ML_MODEL (value 1) of a target's pair, from its memo
 * when it holds this state's value; a value that is for good (an interned label naming exactly
 * that string, never "other") is kept there. memo NULL: gw_m_label. */
const struct gw_m_label *gw_m_pair_label(struct gw_metrics *m, int kind, const char *provider,
                                         const char *model, struct gw_memo *memo);
/* The pair block of memo, made on first use once both of the pair's labels are kept there;
 * NULL when memo is NULL, a label is not for good, or the state made its last block. */
struct gw_m_pair *gw_m_pair(struct gw_metrics *m, struct gw_memo *memo);
/* gw_m_add and gw_m_observe into series `which` (enum gw_m_pair_series) of pair block pb,
 * whose labels are lab: found by lab the first time, from the block after. pb NULL: by lab. */
void gw_m_pair_add(struct gw_metrics *m, struct gw_m_pair *pb, int which, int family,
                   const struct gw_m_label *const *lab, uint64_t v);
void gw_m_pair_observe(struct gw_metrics *m, struct gw_m_pair *pb, int which, int family,
                       const struct gw_m_label *const *lab, int64_t x);
void gw_m_add(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, uint64_t v);
void gw_m_observe(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, int64_t x);
/* Sets a gauge (shard 0 holds it; negative values are stored as 0). */
void gw_m_set(struct gw_metrics *m, int family, const struct gw_m_label *const *lab, int64_t v);

#endif
