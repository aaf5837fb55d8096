/* retry_budget - a sliding-window bound on retries (see retry_budget.h). */
#include "route/retry_budget.h"

void gw_retry_budget_init(struct gw_retry_budget *b, double ratio, int64_t min_per_s)
{
    b->ratio = ratio;
    b->min_per_s = min_per_s < 0 ? 0 : min_per_s;
    for (int i = 0; i < GW_RETRY_BUDGET_SLOTS; i++) {
        atomic_init(&b->sec[i], -1);
        atomic_init(&b->requests[i], 0);
        atomic_init(&b->retries[i], 0);
    }
}

/* The bucket of second s, emptied first when it still counts an older second. */
static int bucket(struct gw_retry_budget *b, int64_t s)
{
    int i = (int)(s % GW_RETRY_BUDGET_SLOTS);
    long long old = atomic_load(&b->sec[i]);
    if (old != s && old < s && atomic_compare_exchange_strong(&b->sec[i], &old, s)) {
        atomic_store(&b->requests[i], 0);
        atomic_store(&b->retries[i], 0);
    }
    return i;
}

void gw_retry_budget_note(struct gw_retry_budget *b, int64_t now_ms)
{
    if (b->ratio < 0)
        return;
    atomic_fetch_add(&b->requests[bucket(b, now_ms / 1000)], 1);
}

int gw_retry_budget_take(struct gw_retry_budget *b, int64_t now_ms)
{
    if (b->ratio < 0)
        return 1;
    int64_t s = now_ms / 1000;
    int mine = bucket(b, s);
    /* Count first, then check: two racing callers cannot both squeeze past the bound. */
    atomic_fetch_add(&b->retries[mine], 1);
    long long req = 0, ret = 0;
    for (int i = 0; i < GW_RETRY_BUDGET_SLOTS; i++) {
        long long sec = atomic_load(&b->sec[i]);
        if (sec > s - GW_RETRY_BUDGET_SLOTS && sec <= s) {
            req += atomic_load(&b->requests[i]);
            ret += atomic_load(&b->retries[i]);
        }
    }
    double allowed = b->ratio * (double)req + (double)(b->min_per_s * GW_RETRY_BUDGET_SLOTS);
    if ((double)ret <= allowed)
        return 1;
    atomic_fetch_sub(&b->retries[mine], 1);
    return 0;
}
