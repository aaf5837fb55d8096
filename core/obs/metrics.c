/* metrics - label interning, the state's lifetime and the request hooks (see metrics.h).
 * The series table and the per-thread value shards are metrics_series.c's. */
#include "obs/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "lib/pages.h"
#include "lib/redact.h"
#include "obs/metrics_int.h"

enum gw_m_dim {
    DIM_STATIC,
    DIM_PROVIDER,
    DIM_MODEL,
    DIM_STATUS,
    DIM_OUTCOME,
    DIM_KEY,  /* gateway key ids */
    DIM_NAME, /* guard names, store backends and operations */
    DIM_COUNT
};
_Static_assert(DIM_COUNT <= 8, "metrics_int.h keeps dim_count[8]");

/* Distinct values per dimension before "other" (models: metrics.max_models, unknown ones). */
#define MAX_PROVIDERS 64
#define MAX_STATUSES 64
#define MAX_OUTCOMES 64
#define MAX_KEYS 256
#define MAX_NAMES 64
#define MAX_ALLOWED_MODELS 4096
#define MAX_SERIES_CAP (1u << 20)
/* Values of every possible histogram series (providers, "none", "other") and of the all-"other"
 * series that are always allowed past the series cap. */
#define HISTOGRAM_VALUES (2 * (MAX_PROVIDERS + 2) * GW_M_SERIES_VALUES_MAX)
/* Histograms by provider and model (time to first token, time per output token, token usage
 * by type: four series per pair) get values of their own, for this many pairs beyond
 * max_models: they must not eat the room of the counters. */
#define MODEL_HISTOGRAM_PAIRS 256
/* Histograms by store backend and operation. */
#define STORE_HISTOGRAM_VALUES (64 * GW_M_SERIES_VALUES_MAX)

#define STATIC_LABEL(str)                                                                          \
    {                                                                                              \
        0, DIM_STATIC, sizeof str - 1, str                                                         \
    }
/* Not static: the series table folds into it (metrics_series.c). */
const struct gw_m_label gw_m_other = STATIC_LABEL("other");
static const struct gw_m_label L_NONE = STATIC_LABEL("none");
static const struct gw_m_label L_FIRST = STATIC_LABEL("first");
static const struct gw_m_label L_RETRY = STATIC_LABEL("retry");
static const struct gw_m_label L_FALLBACK = STATIC_LABEL("fallback");
static const struct gw_m_label L_KIND[] = {STATIC_LABEL("prompt"), STATIC_LABEL("completion"),
                                           STATIC_LABEL("cached"), STATIC_LABEL("cache_write"),
                                           STATIC_LABEL("reasoning")};
/* gen_ai.token.type values. */
static const struct gw_m_label L_INPUT = STATIC_LABEL("input");
static const struct gw_m_label L_OUTPUT = STATIC_LABEL("output");
/* The routes a label may name; anything else is "other" (paths are client input). */
static const struct gw_m_label L_ROUTES[] = {
    STATIC_LABEL("/v1/chat/completions"), STATIC_LABEL("/v1/completions"),
    STATIC_LABEL("/v1/embeddings"),       STATIC_LABEL("/v1/images/generations"),
    STATIC_LABEL("/v1/images/edits"),     STATIC_LABEL("/v1/responses"),
    STATIC_LABEL("/v1/audio/speech"),     STATIC_LABEL("/v1/audio/transcriptions"),
    STATIC_LABEL("/v1/moderations"),      STATIC_LABEL("/v1/rerank"),
    STATIC_LABEL("/v1/models"),
};

static struct gw_metrics *_Atomic g_state;
static atomic_uint_least64_t g_states; /* states made so far: the next one's gen */

struct gw_metrics *gw_m_get(void)
{
    return atomic_load_explicit(&g_state, memory_order_acquire);
}

/* ---- hashing ------------------------------------------------------------------------------ */

static uint64_t str_hash(int dim, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)dim;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 64;
    while (p < n)
        p <<= 1;
    return p;
}

/* ---- label interning ---------------------------------------------------------------------- */

static const struct gw_m_label *label_find(struct gw_metrics *m, int dim, const char *s, size_t n,
                                           uint64_t h)
{
    size_t mask = m->nlslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct gw_m_label *l = atomic_load_explicit(&m->lslots[i], memory_order_acquire);
        if (!l)
            return NULL;
        if (l->hash == h && l->dim == dim && l->len == n && memcmp(l->s, s, n) == 0)
            return l;
    }
}

/* Lock held. NULL when the table is at its load limit or out of memory. */
static const struct gw_m_label *label_insert(struct gw_metrics *m, int dim, const char *s, size_t n,
                                             uint64_t h)
{
    if (m->nlabels >= m->nlslots / 2)
        return NULL;
    struct gw_m_label *l = malloc(sizeof *l + n + 1);
    if (!l)
        return NULL;
    char *copy = (char *)(l + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    l->hash = h;
    l->dim = dim;
    l->len = n;
    l->s = copy;
    size_t mask = m->nlslots - 1, i = h & mask;
    while (atomic_load_explicit(&m->lslots[i], memory_order_relaxed))
        i = (i + 1) & mask;
    m->nlabels++;
    atomic_store_explicit(&m->lslots[i], l, memory_order_release);
    return l;
}

/* The words our own labels use must not come back as a second, different series. */
static const struct gw_m_label *reserved(const char *s, size_t n)
{
    if (n == 5 && memcmp(s, "other", 5) == 0)
        return &gw_m_other;
    if (n == 4 && memcmp(s, "none", 4) == 0)
        return &L_NONE;
    return NULL;
}

/* Interns s in dim, admitting at most cap distinct values there. */
static const struct gw_m_label *intern(struct gw_metrics *m, int dim, const char *s, size_t n,
                                       int cap)
{
    const struct gw_m_label *l = reserved(s, n);
    if (l)
        return l;
    uint64_t h = str_hash(dim, s, n);
    if ((l = label_find(m, dim, s, n, h)))
        return l;
    pthread_mutex_lock(&m->lock);
    if (!(l = label_find(m, dim, s, n, h)) && m->dim_count[dim] < cap &&
        !gw_redact_contains_secret(s, n) && (l = label_insert(m, dim, s, n, h)))
        m->dim_count[dim]++;
    pthread_mutex_unlock(&m->lock);
    return l ? l : &gw_m_other;
}

/* 1 when s (n bytes, n >= 1) only holds bytes of the set. */
static int only(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr(extra, c))))
            return 0;
    }
    return n > 0;
}

/* The vkey charset ([a-z0-9-]+, '_' and '.' tolerated). */
static int lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
              s[i] == '_' || s[i] == '.'))
            return 0;
    return n > 0;
}

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return n > 0;
}

static const struct gw_m_label *provider_label(struct gw_metrics *m, const char *p)
{
    if (!p || !*p)
        return &L_NONE;
    size_t n = strnlen(p, 65);
    if (n > 64 || !lower(p, n))
        return &gw_m_other;
    return intern(m, DIM_PROVIDER, p, n, MAX_PROVIDERS);
}

static const struct gw_m_label *route_label(const char *route)
{
    if (!route || !*route)
        return &L_NONE;
    for (size_t i = 0; i < sizeof L_ROUTES / sizeof L_ROUTES[0]; i++)
        if (strcmp(route, L_ROUTES[i].s) == 0)
            return &L_ROUTES[i];
    return &gw_m_other;
}

static const struct gw_m_label *status_label(struct gw_metrics *m, int status)
{
    if (status < 100 || status > 599)
        return &gw_m_other;
    const struct gw_m_label *l =
        atomic_load_explicit(&m->status_cache[status - 100], memory_order_acquire);
    if (l)
        return l;
    char s[8];
    int n = snprintf(s, sizeof s, "%d", status);
    l = intern(m, DIM_STATUS, s, (size_t)n, MAX_STATUSES);
    atomic_store_explicit(&m->status_cache[status - 100], l, memory_order_release);
    return l;
}

static const struct gw_m_label *outcome_label(struct gw_metrics *m, const char *o)
{
    if (!o || !*o)
        return &L_NONE;
    size_t n = strnlen(o, 49);
    if (n > 48 || !only(o, n, "_-."))
        return &gw_m_other;
    return intern(m, DIM_OUTCOME, o, n, MAX_OUTCOMES);
}

/* Known models (catalog, config) and admitted unknown ones share DIM_MODEL; only the unknown
 * ones count against max_models. A known model is labelled by its catalog id, never by the
 * client's spelling: "GPT-4o", "openai/gpt-4o" and every date suffix would otherwise each be
 * a new label that the catalog happily resolves. */
static const struct gw_m_label *model_label(struct gw_metrics *m, const char *provider,
                                            const char *model)
{
    if (!model || !*model)
        return &L_NONE;
    size_t n = strnlen(model, GW_M_LABEL_MAX + 1);
    const struct gw_m_label *l = reserved(model, n);
    if (l)
        return l;
    uint64_t h = 0;
    if (n <= GW_M_LABEL_MAX) {
        h = str_hash(DIM_MODEL, model, n);
        if ((l = label_find(m, DIM_MODEL, model, n, h)))
            return l;
    }
    const struct gw_catalog *cat = atomic_load_explicit(&m->cat, memory_order_acquire);
    const struct gw_model *e = cat && provider ? gw_catalog_find(cat, provider, model) : NULL;
    if (e) {
        size_t en = strnlen(e->id, GW_M_LABEL_MAX + 1);
        if (en > GW_M_LABEL_MAX || !printable(e->id, en) || reserved(e->id, en))
            return &gw_m_other;
        uint64_t eh = str_hash(DIM_MODEL, e->id, en);
        if ((l = label_find(m, DIM_MODEL, e->id, en, eh)))
            return l;
        pthread_mutex_lock(&m->lock);
        if (!(l = label_find(m, DIM_MODEL, e->id, en, eh)))
            l = label_insert(m, DIM_MODEL, e->id, en, eh);
        pthread_mutex_unlock(&m->lock);
        return l ? l : &gw_m_other;
    }
    /* Unknown: a model id charset keeps prompt-like text out, and a name that carries a
     * registered secret (a key pasted into "model") is never shown. */
    if (n > GW_M_LABEL_MAX || !only(model, n, "-_.:/@+") ||
        atomic_load_explicit(&m->unknown_models, memory_order_relaxed) >= m->max_models ||
        gw_redact_contains_secret(model, n))
        return &gw_m_other;
    pthread_mutex_lock(&m->lock);
    if (!(l = label_find(m, DIM_MODEL, model, n, h)) &&
        atomic_load_explicit(&m->unknown_models, memory_order_relaxed) < m->max_models &&
        (l = label_insert(m, DIM_MODEL, model, n, h)))
        atomic_fetch_add_explicit(&m->unknown_models, 1, memory_order_relaxed);
    pthread_mutex_unlock(&m->lock);
    return l ? l : &gw_m_other;
}

int gw_metrics_allow_model(const char *model)
{
    struct gw_metrics *m = gw_m_get();
    if (!m || !model)
        return AIGW_EINVAL;
    size_t n = strnlen(model, GW_M_LABEL_MAX + 1);
    if (n > GW_M_LABEL_MAX || !printable(model, n) || gw_redact_contains_secret(model, n))
        return AIGW_EINVAL;
    if (reserved(model, n))
        return 0;
    uint64_t h = str_hash(DIM_MODEL, model, n);
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    if (!label_find(m, DIM_MODEL, model, n, h)) {
        if (m->allowed_models >= MAX_ALLOWED_MODELS || !label_insert(m, DIM_MODEL, model, n, h))
            rc = AIGW_ETOOBIG;
        else
            m->allowed_models++;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static void state_free(struct gw_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->lslots && i < m->nlslots; i++)
        free(atomic_load_explicit(&m->lslots[i], memory_order_relaxed));
    size_t n = atomic_load_explicit(&m->nlist, memory_order_relaxed);
    for (size_t i = 0; m->list && i < n; i++)
        free(m->list[i]);
    while (m->pairs) {
        struct gw_m_pair *next = m->pairs->next;
        free(m->pairs);
        m->pairs = next;
    }
    free(m->lslots);
    free(m->sslots);
    gw_pages_free(m->list, (m->max_series + GW_MF_COUNT) * sizeof m->list[0]);
    for (int k = 0; k < GW_M_SHARDS; k++)
        gw_pages_free(m->shard[k], (m->max_values + GW_M_RESERVE) * sizeof(uint64_t));
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int gw_metrics_init(const struct gw_catalog *cat, int max_models)
{
    gw_metrics_free();
    if (max_models < 0)
        max_models = 0;
    struct gw_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return AIGW_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    m->gen = atomic_fetch_add(&g_states, 1) + 1;
    atomic_init(&m->cat, cat);
    m->max_models = max_models;
    atomic_init(&m->unknown_models, 0);
    atomic_init(&m->nlist, 0);
    /* Room for every catalog id, the config's models and the unknown ones at half load; a
     * catalog swapped in later that is bigger folds its extra models into "other". */
    size_t labels = (cat ? gw_catalog_size(cat) : 0) + MAX_ALLOWED_MODELS + (size_t)max_models +
                    MAX_PROVIDERS + MAX_STATUSES + MAX_OUTCOMES + MAX_KEYS + MAX_NAMES;
    m->nlslots = pow2_at_least(2 * labels);
    m->max_series = 8192 + 16 * (size_t)max_models;
    if (m->max_series > MAX_SERIES_CAP)
        m->max_series = MAX_SERIES_CAP;
    m->nsslots = pow2_at_least(2 * (m->max_series + GW_MF_COUNT));
    m->lslots = calloc(m->nlslots, sizeof m->lslots[0]);
    m->sslots = calloc(m->nsslots, sizeof m->sslots[0]);
    /* Filled from the front as series appear: page-backed, only those pages are resident (a
     * calloc from reused heap zeroes, hence commits, all 90 kB). The series stay reachable
     * for leak checkers through sslots. */
    m->list = gw_pages_alloc((m->max_series + GW_MF_COUNT) * sizeof m->list[0]);
    /* Histograms by provider only: their buckets are a small fixed extra; those by provider
     * and model have a budget that grows with max_models. */
    m->max_values = GW_M_OFF_FIRST + m->max_series + HISTOGRAM_VALUES + STORE_HISTOGRAM_VALUES +
                    4 * ((size_t)max_models + MODEL_HISTOGRAM_PAIRS) * GW_M_SERIES_VALUES_MAX;
    m->nvalues = GW_M_OFF_FIRST;
    int ok = m->lslots && m->sslots && m->list;
    for (int k = 0; k < GW_M_SHARDS; k++)
        ok =
            (m->shard[k] = gw_pages_alloc((m->max_values + GW_M_RESERVE) * sizeof(uint64_t))) && ok;
    if (!ok) {
        state_free(m);
        return AIGW_ENOMEM;
    }
    /* The slot tables, like the shards, rely on calloc's zero bytes being NULL atomics: an
     * init loop would commit every page of a table sized for a large max_models. */
    atomic_store_explicit(&g_state, m, memory_order_release);
    return 0;
}

void gw_metrics_free(void)
{
    state_free(atomic_exchange_explicit(&g_state, NULL, memory_order_acq_rel));
}

void gw_metrics_set_catalog(const struct gw_catalog *cat)
{
    struct gw_metrics *m = gw_m_get();
    if (m)
        atomic_store_explicit(&m->cat, cat, memory_order_release);
}

/* ---- the hooks ---------------------------------------------------------------------------- */

void gw_metrics_request(const char *route, const char *provider, const char *model, int status,
                        int stream, int64_t duration_ms, int64_t ttfb_ms)
{
    gw_metrics_request_memo(route, NULL, provider, model, status, stream, duration_ms, ttfb_ms);
}

void gw_metrics_request_memo(const char *route, struct gw_memo *memo, const char *provider,
                             const char *model, int status, int stream, int64_t duration_ms,
                             int64_t ttfb_ms)
{
    (void)stream; /* a stream's duration is its length: TTFB is the latency to watch there */
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *p = gw_m_pair_label(m, GW_ML_PROVIDER, provider, model, memo);
    const struct gw_m_label *lab[4] = {route_label(route), p,
                                       gw_m_pair_label(m, GW_ML_MODEL, provider, model, memo),
                                       status_label(m, status)};
    gw_m_add(m, GW_MF_REQUESTS, lab, 1);
    struct gw_m_pair *pb = gw_m_pair(m, memo);
    gw_m_pair_observe(m, pb, GW_MPS_DURATION, GW_MF_DURATION, &p, duration_ms);
    if (ttfb_ms >= 0)
        gw_m_pair_observe(m, pb, GW_MPS_TTFB, GW_MF_TTFB, &p, ttfb_ms);
}

void gw_metrics_attempt(const char *provider, const char *outcome, int retry, int fallback)
{
    gw_metrics_attempt_memo(NULL, provider, outcome, retry, fallback);
}

void gw_metrics_attempt_memo(struct gw_memo *memo, const char *provider, const char *outcome,
                             int retry, int fallback)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[3] = {gw_m_pair_label(m, GW_ML_PROVIDER, provider, NULL, memo),
                                       outcome_label(m, outcome),
                                       fallback ? &L_FALLBACK
                                       : retry  ? &L_RETRY
                                                : &L_FIRST};
    gw_m_add(m, GW_MF_ATTEMPTS, lab, 1);
}

void gw_metrics_retry(const char *provider, const char *reason, int fallback)
{
    gw_metrics_retry_memo(NULL, provider, reason, fallback);
}

void gw_metrics_retry_memo(struct gw_memo *memo, const char *provider, const char *reason,
                           int fallback)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[2] = {gw_m_pair_label(m, GW_ML_PROVIDER, provider, NULL, memo),
                                       outcome_label(m, reason)};
    gw_m_add(m, fallback ? GW_MF_FALLBACKS : GW_MF_RETRIES, lab, 1);
}

void gw_metrics_usage(const char *provider, const char *model, const struct aigw_usage *u,
                      double cost_usd)
{
    gw_metrics_usage_memo(NULL, provider, model, u, cost_usd);
}

void gw_metrics_usage_memo(struct gw_memo *memo, const char *provider, const char *model,
                           const struct aigw_usage *u, double cost_usd)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[3] = {gw_m_pair_label(m, GW_ML_PROVIDER, provider, model, memo),
                                       gw_m_pair_label(m, GW_ML_MODEL, provider, model, memo),
                                       NULL};
    struct gw_m_pair *pb = gw_m_pair(m, memo);
    if (u && u->prompt_tokens >= 0) {
        lab[2] = &L_INPUT;
        gw_m_pair_observe(m, pb, GW_MPS_USAGE_IN, GW_MF_TOKEN_USAGE, lab, u->prompt_tokens);
    }
    if (u && u->completion_tokens >= 0) {
        lab[2] = &L_OUTPUT;
        gw_m_pair_observe(m, pb, GW_MPS_USAGE_OUT, GW_MF_TOKEN_USAGE, lab, u->completion_tokens);
    }
    if (u) {
        const int64_t counts[] = {u->prompt_tokens, u->completion_tokens, u->cached_tokens,
                                  u->cache_write_tokens, u->reasoning_tokens};
        for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
            if (counts[i] < 0)
                continue;
            lab[2] = &L_KIND[i];
            gw_m_pair_add(m, pb, GW_MPS_TOKENS + (int)i, GW_MF_TOKENS, lab, (uint64_t)counts[i]);
        }
    }
    /* A billion dollars for one request is no price but garbage, and would wrap the sum. */
    if (cost_usd >= 0 && cost_usd < 1e9)
        gw_m_pair_add(m, pb, GW_MPS_COST, GW_MF_COST, lab, (uint64_t)llround(cost_usd * 1e9));
}

void gw_metrics_breaker(const char *provider, const char *model, int state)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[2] = {provider_label(m, provider),
                                       model_label(m, provider, model)};
    gw_m_set(m, GW_MF_BREAKER, lab, state);
}

/* ---- for metrics_ops.c -------------------------------------------------------------------- */

/* Key ids are ids, never secrets, but they come from a store: a charset and a cap keep
 * anything else out, and one that carries a registered secret is never shown. */
static const struct gw_m_label *key_label(struct gw_metrics *m, const char *k)
{
    if (!k || !*k)
        return &L_NONE;
    size_t n = strnlen(k, 65);
    if (n > 64 || !only(k, n, "-_.:"))
        return &gw_m_other;
    return intern(m, DIM_KEY, k, n, MAX_KEYS);
}

static const struct gw_m_label *name_label(struct gw_metrics *m, const char *s)
{
    if (!s || !*s)
        return &L_NONE;
    size_t n = strnlen(s, 65);
    if (n > 64 || !only(s, n, "-_.:/"))
        return &gw_m_other;
    return intern(m, DIM_NAME, s, n, MAX_NAMES);
}

const struct gw_m_label *gw_m_label(struct gw_metrics *m, int kind, const char *s, const char *s2)
{
    switch (kind) {
    case GW_ML_PROVIDER:
        return provider_label(m, s);
    case GW_ML_MODEL:
        return model_label(m, s, s2);
    case GW_ML_OUTCOME:
        return outcome_label(m, s);
    case GW_ML_KEY:
        return key_label(m, s);
    case GW_ML_NAME:
        return name_label(m, s);
    case GW_ML_INPUT:
        return &L_INPUT;
    case GW_ML_OUTPUT:
        return &L_OUTPUT;
    default:
        if (kind >= GW_ML_TOKEN_KIND &&
            kind < GW_ML_TOKEN_KIND + (int)(sizeof L_KIND / sizeof L_KIND[0]))
            return &L_KIND[kind - GW_ML_TOKEN_KIND];
        return &gw_m_other;
    }
}

const struct gw_m_label *gw_m_pair_label(struct gw_metrics *m, int kind, const char *provider,
                                         const char *model, struct gw_memo *memo)
{
    int i = kind == GW_ML_MODEL;
    const struct gw_m_label *l = memo ? gw_memo_get(memo, i, m->gen) : NULL;
    if (l)
        return l;
    const char *s = i ? model : provider;
    l = i ? model_label(m, provider, model) : provider_label(m, provider);
    /* Interned labels stay till the state goes, and the first look for exactly this string
     * finds them: the value is for good. "other" and "none" are not (a cap, a later config). */
    if (memo && l->dim == (i ? DIM_MODEL : DIM_PROVIDER) && s && !strcmp(l->s, s))
        gw_memo_put(memo, i, m->gen, l);
    return l;
}

/* Pair blocks a state makes at most: one per (provider, model) slot of the routers' health
 * tables, which a reload that changes the latency settings makes anew. */
#define MAX_PAIRS 4096

struct gw_m_pair *gw_m_pair(struct gw_metrics *m, struct gw_memo *memo)
{
    if (!memo)
        return NULL;
    struct gw_m_pair *pb = (struct gw_m_pair *)gw_memo_get(memo, 2, m->gen);
    /* Only labels kept for good make a block: its series are found once by them. */
    if (pb || !gw_memo_get(memo, 0, m->gen) || !gw_memo_get(memo, 1, m->gen))
        return pb;
    pthread_mutex_lock(&m->lock);
    pb = (struct gw_m_pair *)gw_memo_get(memo, 2, m->gen);
    if (!pb && m->npairs < MAX_PAIRS && (pb = calloc(1, sizeof *pb))) {
        pb->next = m->pairs;
        m->pairs = pb;
        m->npairs++;
        gw_memo_put(memo, 2, m->gen, pb);
    }
    pthread_mutex_unlock(&m->lock);
    return pb;
}
