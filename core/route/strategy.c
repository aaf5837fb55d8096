/* strategy - ordering a request's candidates, and per-thread randomness (see strategy.h). */
#include "route/strategy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"

/* ---- randomness ------------------------------------------------------------------------- */

static _Thread_local uint64_t rng_state;
static atomic_uint_least64_t rng_streams;

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void gw_route_rand_seed(uint64_t seed)
{
    rng_state = splitmix64(seed);
    if (!rng_state)
        rng_state = 0x2545f4914f6cdd1dull;
}

uint64_t gw_route_rand(void)
{
    if (!rng_state) {
        /* Time, this thread's state address and a process-wide counter: two threads started
         * in the same nanosecond still get different sequences. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t s = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        s ^= (uint64_t)(uintptr_t)&rng_state;
        s ^= splitmix64(atomic_fetch_add(&rng_streams, 1) + 1);
        gw_route_rand_seed(s);
    }
    /* xorshift64* */
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dull;
}

double gw_route_rand_unit(void)
{
    return (double)(gw_route_rand() >> 11) * 0x1.0p-53;
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *const names[] = {
    [GW_STRATEGY_SINGLE] = "single",           [GW_STRATEGY_FALLBACK] = "fallback",
    [GW_STRATEGY_LOADBALANCE] = "loadbalance", [GW_STRATEGY_LEAST_LATENCY] = "least-latency",
    [GW_STRATEGY_COST] = "cost-optimized",     [GW_STRATEGY_CONDITIONAL] = "conditional",
    [GW_STRATEGY_CONTENT] = "content-based",   [GW_STRATEGY_AB_TEST] = "ab-test",
};

int gw_strategy_from_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (name && !strcmp(name, names[i]))
            return i;
    return -1;
}

const char *gw_strategy_name(int strategy)
{
    if (strategy < 0 || strategy >= (int)(sizeof names / sizeof names[0]))
        return "?";
    return names[strategy];
}

/* ---- ordering --------------------------------------------------------------------------- */

int gw_weighted_pick(const double *weight, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += weight[i] > 0 ? weight[i] : 0;
    if (total <= 0)
        return -1;
    double x = gw_route_rand_unit() * total;
    int last = -1;
    for (int i = 0; i < n; i++) {
        if (weight[i] <= 0)
            continue;
        last = i;
        if (x < weight[i])
            return i;
        x -= weight[i];
    }
    return last; /* rounding left x a hair above the sum */
}

/* Weighted order without replacement: the first target carries the load split; the others
 * follow in a weighted order too, so fallback traffic spreads the same way. */
static int order_loadbalance(struct gw_cand *c, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (c[i].weight > 0)
            c[m++] = c[i]; /* weight 0 drains: no new requests at all */
    for (int pos = 0; pos < m - 1; pos++) {
        double w[GW_ROUTE_MAX_CANDIDATES];
        for (int i = pos; i < m; i++)
            w[i - pos] = c[i].weight;
        int k = gw_weighted_pick(w, m - pos);
        if (k > 0) {
            struct gw_cand t = c[pos];
            c[pos] = c[pos + k];
            c[pos + k] = t;
        }
    }
    return m;
}

/* Stable insertion sort (n <= GW_ROUTE_MAX_CANDIDATES) by a key; ties keep config order. */
static void sort_by(struct gw_cand *c, int n, double (*key)(const struct gw_cand *))
{
    for (int i = 1; i < n; i++) {
        struct gw_cand t = c[i];
        double k = key(&t);
        int j = i - 1;
        while (j >= 0 && key(&c[j]) > k) {
            c[j + 1] = c[j];
            j--;
        }
        c[j + 1] = t;
    }
}

static double latency_key(const struct gw_cand *c)
{
    /* Cold targets first: measuring them is the only way to learn they are fast. */
    return c->latency < 0 ? -1.0 : (double)c->latency;
}

static int order_least_latency(const struct gw_router *r, struct gw_cand *c, int n)
{
    for (int i = 0; i < n; i++)
        c[i].latency = gw_tstat_p50(c[i].stat);
    sort_by(c, n, latency_key);
    if (n > 1 && r->explore_ratio > 0 && gw_route_rand_unit() < r->explore_ratio) {
        /* Exploration keeps the medians of slower targets fresh: one of them goes first. */
        int k = 1 + (int)(gw_route_rand() % (uint64_t)(n - 1));
        struct gw_cand t = c[k];
        memmove(&c[1], &c[0], (size_t)k * sizeof c[0]);
        c[0] = t;
    }
    return n;
}

static double price_key(const struct gw_cand *c)
{
    return c->price < 0 ? 1e300 : c->price;
}

/* The blended price: 3 input to 1 output token, the usual mix of chat traffic. */
static double blended_price(const struct gw_catalog *cat, const struct gw_cand *c)
{
    const struct gw_model *m = gw_pair_entry(c->stat, c->plugin, c->model, cat);
    if (!m || m->price.in < 0 || m->price.out < 0)
        return -1;
    return (3 * m->price.in + m->price.out) / 4;
}

static int order_cost(const struct gw_router *r, struct gw_cand *c, int n)
{
    for (int i = 0; i < n; i++)
        c[i].price = blended_price(r->catalog, &c[i]);
    sort_by(c, n, price_key);
    if (!r->cost_exclude_unpriced)
        return n;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (c[i].price >= 0)
            c[m++] = c[i];
    return m;
}

int gw_strategy_order(const struct gw_router *r, struct gw_cand *c, int n)
{
    switch (r->strategy) {
    case GW_STRATEGY_SINGLE:
        return n > 1 ? 1 : n;
    case GW_STRATEGY_LOADBALANCE:
        return order_loadbalance(c, n);
    case GW_STRATEGY_LEAST_LATENCY:
        return order_least_latency(r, c, n);
    case GW_STRATEGY_COST:
        return order_cost(r, c, n);
    default:
        /* fallback, and the rule / variant strategies: the configured order. */
        return n;
    }
}
