/* breaker - per-target circuit breakers and latency windows (see breaker.h). */
#include "route/breaker.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/pages.h"

#define STATE_MASK 3u

struct gw_tstats {
    /* Page-backed and zero: a slot is initialised when it is taken, so the pages of slots
     * never used (most of the 512 in a typical config) stay out of RSS (712 kB). */
    struct gw_tstat *slots;
    size_t cap;  /* power of two */
    size_t used; /* guarded by insert_lock */
    size_t max_used;
    int window, min_samples;
    pthread_mutex_t insert_lock;
    atomic_int refs; /* routers sharing it: a reload's router keeps the health learnt so far */
};

int64_t gw_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the breaker ------------------------------------------------------------------------ */

static uint64_t pack(int state, int64_t deadline)
{
    return ((uint64_t)(deadline < 0 ? 0 : deadline) << 2) | (uint64_t)state;
}

static int state_of(uint64_t w)
{
    return (int)(w & STATE_MASK);
}

static int64_t deadline_of(uint64_t w)
{
    return (int64_t)(w >> 2);
}

void gw_breaker_init(struct gw_breaker *b)
{
    atomic_init(&b->word, pack(GW_BREAKER_CLOSED, 0));
    atomic_init(&b->fails, 0);
}

int gw_breaker_state(const struct gw_breaker *b)
{
    return state_of(atomic_load(&((struct gw_breaker *)b)->word));
}

int gw_breaker_allow(struct gw_breaker *b, const struct gw_breaker_cfg *c, int64_t now, int claim)
{
    if (c->threshold <= 0)
        return 1;
    uint64_t w = atomic_load(&b->word);
    for (;;) {
        if (state_of(w) == GW_BREAKER_CLOSED)
            return 1;
        /* OPEN past its cooldown, or HALF_OPEN whose probe's lease ran out: one more probe. */
        if (now < deadline_of(w))
            return 0;
        if (!claim)
            return 1;
        int64_t lease = c->cooldown_ms > 0 ? c->cooldown_ms : 1;
        if (atomic_compare_exchange_weak(&b->word, &w, pack(GW_BREAKER_HALF_OPEN, now + lease)))
            return 1;
    }
}

int gw_breaker_record(struct gw_breaker *b, const struct gw_breaker_cfg *c, int outcome,
                      int64_t now)
{
    if (c->threshold <= 0)
        return -1;
    uint64_t w = atomic_load(&b->word);
    if (outcome == GW_BREAKER_NEUTRAL) {
        /* A probe that proved nothing (its client left, or the request was the client's
         * error) gives its lease back: the next request probes, instead of every one being
         * refused for another whole cooldown. */
        if (state_of(w) == GW_BREAKER_HALF_OPEN && deadline_of(w) > now)
            atomic_compare_exchange_strong(&b->word, &w, pack(GW_BREAKER_HALF_OPEN, now));
        return -1;
    }
    if (outcome == GW_BREAKER_SUCCESS) {
        atomic_store(&b->fails, 0);
        while (state_of(w) != GW_BREAKER_CLOSED)
            if (atomic_compare_exchange_weak(&b->word, &w, pack(GW_BREAKER_CLOSED, 0)))
                return GW_BREAKER_CLOSED;
        return -1;
    }
    uint64_t open = pack(GW_BREAKER_OPEN, now + c->cooldown_ms);
    for (;;) {
        switch (state_of(w)) {
        case GW_BREAKER_HALF_OPEN:
            /* The probe (or a late attempt) failed: another full cooldown. */
            if (atomic_compare_exchange_weak(&b->word, &w, open)) {
                atomic_store(&b->fails, 0);
                return GW_BREAKER_OPEN;
            }
            continue;
        case GW_BREAKER_CLOSED:
            if (atomic_fetch_add(&b->fails, 1) + 1 < c->threshold)
                return -1;
            /* Only the caller whose CAS opens it reports the transition. */
            if (atomic_compare_exchange_strong(&b->word, &w, open)) {
                atomic_store(&b->fails, 0);
                return GW_BREAKER_OPEN;
            }
            return -1;
        default:
            /* Already open: late reports of attempts started before it opened. */
            return -1;
        }
    }
}

int64_t gw_breaker_wait_ms(const struct gw_breaker *b, int64_t now)
{
    uint64_t w = atomic_load(&((struct gw_breaker *)b)->word);
    if (state_of(w) == GW_BREAKER_CLOSED || now >= deadline_of(w))
        return 0;
    return deadline_of(w) - now;
}

/* ---- the slot table --------------------------------------------------------------------- */

static uint32_t hash_key(const void *plugin, const char *model)
{
    uint32_t h = 2166136261u;
    uintptr_t p = (uintptr_t)plugin;
    for (size_t i = 0; i < sizeof p; i++) {
        h ^= (uint32_t)((p >> (8 * i)) & 0xffu);
        h *= 16777619u;
    }
    for (const unsigned char *s = (const unsigned char *)model; *s; s++) {
        h ^= *s;
        h *= 16777619u;
    }
    return h;
}

int gw_tstats_new(struct gw_tstats **out, size_t cap, int window, int min_samples)
{
    struct gw_tstats *t = calloc(1, sizeof *t);
    if (!t)
        return AIGW_ENOMEM;
    size_t c = 16;
    while (c < cap)
        c <<= 1;
    t->slots = gw_pages_alloc(c * sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return AIGW_ENOMEM;
    }
    t->cap = c;
    t->max_used = c - c / 4; /* keeps probe chains short */
    t->window = window < 1 ? 1 : window > GW_LAT_WINDOW_MAX ? GW_LAT_WINDOW_MAX : window;
    t->min_samples = min_samples < 1 ? 1 : min_samples > t->window ? t->window : min_samples;
    pthread_mutex_init(&t->insert_lock, NULL);
    atomic_init(&t->refs, 1);
    *out = t;
    return 0;
}

struct gw_tstats *gw_tstats_ref(struct gw_tstats *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

int gw_tstats_fits(const struct gw_tstats *t, int window, int min_samples)
{
    int w = window < 1 ? 1 : window > GW_LAT_WINDOW_MAX ? GW_LAT_WINDOW_MAX : window;
    int m = min_samples < 1 ? 1 : min_samples > w ? w : min_samples;
    return t->window == w && t->min_samples == m;
}

void gw_tstats_free(struct gw_tstats *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    for (size_t i = 0; i < t->cap; i++)
        if (atomic_load_explicit(&t->slots[i].ready, memory_order_relaxed))
            pthread_mutex_destroy(&t->slots[i].lat_lock);
    pthread_mutex_destroy(&t->insert_lock);
    gw_pages_free(t->slots, t->cap * sizeof *t->slots);
    free(t);
}

/* Walks the chain of (plugin, model): the slot, or NULL with *free_at the first empty slot
 * (or NULL when the chain covers the whole table). */
static struct gw_tstat *probe(struct gw_tstats *t, uint32_t h, const void *plugin,
                              const char *model, struct gw_tstat **free_at)
{
    size_t mask = t->cap - 1;
    *free_at = NULL;
    for (size_t n = 0, i = h & mask; n < t->cap; n++, i = (i + 1) & mask) {
        struct gw_tstat *s = &t->slots[i];
        if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
            *free_at = s;
            return NULL;
        }
        if (s->hash == h && s->plugin == plugin && !strcmp(s->model, model))
            return s;
    }
    return NULL;
}

static struct gw_tstat *insert(struct gw_tstats *t, uint32_t h, const void *plugin,
                               const char *model)
{
    pthread_mutex_lock(&t->insert_lock);
    struct gw_tstat *free_at;
    struct gw_tstat *s = probe(t, h, plugin, model, &free_at);
    if (!s && free_at && t->used < t->max_used) {
        s = free_at;
        /* Readers look at nothing but `ready` until the release store below. */
        gw_breaker_init(&s->breaker);
        pthread_mutex_init(&s->lat_lock, NULL);
        atomic_init(&s->p50, -1);
        atomic_init(&s->samples, 0);
        s->hash = h;
        s->plugin = plugin;
        /* Longer ids than any provider uses share the truncated key; harmless. */
        size_t n = strlen(model);
        if (n >= sizeof s->model)
            n = sizeof s->model - 1;
        memcpy(s->model, model, n);
        s->model[n] = '\0';
        t->used++;
        atomic_store_explicit(&s->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&t->insert_lock);
    return s;
}

struct gw_tstat *gw_tstats_get(struct gw_tstats *t, const void *plugin, const char *model,
                               int insert_new)
{
    if (!t || !plugin)
        return NULL;
    char key[GW_TSTAT_MODEL_MAX];
    size_t n = strlen(model ? model : "");
    if (n >= sizeof key)
        n = sizeof key - 1;
    memcpy(key, model ? model : "", n);
    key[n] = '\0';
    uint32_t h = hash_key(plugin, key);
    struct gw_tstat *free_at;
    struct gw_tstat *s = probe(t, h, plugin, key, &free_at);
    if (!s && insert_new)
        s = insert(t, h, plugin, key);
    if (s || !key[0])
        return s;
    /* Unknown or untracked pair: the provider's own slot. */
    h = hash_key(plugin, "");
    s = probe(t, h, plugin, "", &free_at);
    return s ? s : insert(t, h, plugin, "");
}

size_t gw_tstats_count(const struct gw_tstats *t)
{
    size_t n = 0;
    for (size_t i = 0; t && i < t->cap; i++)
        n += atomic_load(&((struct gw_tstats *)t)->slots[i].ready) ? 1 : 0;
    return n;
}

void gw_tstats_each(struct gw_tstats *t, void (*fn)(void *ud, struct gw_tstat *s), void *ud)
{
    for (size_t i = 0; t && i < t->cap; i++)
        if (atomic_load_explicit(&t->slots[i].ready, memory_order_acquire))
            fn(ud, &t->slots[i]);
}

/* ---- latency ---------------------------------------------------------------------------- */

/* The first index of v[0..n) (ascending) whose value is >= x (upper: > x). */
static int bound(const int32_t *v, int n, int32_t x, int upper)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (v[mid] < x || (upper && v[mid] == x))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The window is kept twice: in arrival order (which value leaves next) and sorted (the median
 * is one read). Moving one value in and one out of the sorted copy is two binary searches and
 * two short memmoves; a quickselect over a copy of the window cost ~850 instructions a
 * request. */
void gw_tstat_add_latency(struct gw_tstats *t, struct gw_tstat *s, int64_t ms)
{
    if (!t || !s)
        return;
    if (ms < 0)
        ms = 0;
    if (ms > INT32_MAX)
        ms = INT32_MAX;
    int32_t x = (int32_t)ms;
    pthread_mutex_lock(&s->lat_lock);
    int n = s->lat_n;
    if (n == t->window) {
        int i = bound(s->lat_sorted, n, s->lat[s->lat_pos], 0);
        n--;
        memmove(&s->lat_sorted[i], &s->lat_sorted[i + 1], (size_t)(n - i) * sizeof x);
    }
    s->lat[s->lat_pos] = x;
    s->lat_pos = (s->lat_pos + 1) % t->window;
    int j = bound(s->lat_sorted, n, x, 1);
    memmove(&s->lat_sorted[j + 1], &s->lat_sorted[j], (size_t)(n - j) * sizeof x);
    s->lat_sorted[j] = x;
    s->lat_n = ++n;
    int64_t p50 = n >= t->min_samples ? s->lat_sorted[(n - 1) / 2] : -1;
    atomic_store(&s->p50, p50);
    pthread_mutex_unlock(&s->lat_lock);
    atomic_fetch_add(&s->samples, 1);
}

int64_t gw_tstat_p50(const struct gw_tstat *s)
{
    return s ? atomic_load(&((struct gw_tstat *)s)->p50) : -1;
}
