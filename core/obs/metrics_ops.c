/* metrics_ops - the hooks for timings, keys, limits, cache, guards, stores, logs and spans
 * (see metrics.h). Storage and labels are metrics.c's; this file only picks families and
 * label sets. */
#include <math.h>

#include "obs/metrics.h"
#include "obs/metrics_int.h"

/* The label set of a family without labels (never read; memcpy wants a pointer). */
static const struct gw_m_label *const NO_LABELS[1] = {NULL};

void gw_metrics_ttft(const char *provider, const char *model, int64_t us)
{
    gw_metrics_ttft_memo(NULL, provider, model, us);
}

void gw_metrics_ttft_memo(struct gw_memo *memo, const char *provider, const char *model, int64_t us)
{
    struct gw_metrics *m = gw_m_get();
    if (!m || us < 0)
        return;
    const struct gw_m_label *lab[2] = {gw_m_pair_label(m, GW_ML_PROVIDER, provider, model, memo),
                                       gw_m_pair_label(m, GW_ML_MODEL, provider, model, memo)};
    gw_m_pair_observe(m, gw_m_pair(m, memo), GW_MPS_TTFT, GW_MF_TTFT, lab, us);
}

void gw_metrics_tpot(const char *provider, const char *model, int64_t first_us, int64_t last_us,
                     int64_t output_tokens)
{
    gw_metrics_tpot_memo(NULL, provider, model, first_us, last_us, output_tokens);
}

void gw_metrics_tpot_memo(struct gw_memo *memo, const char *provider, const char *model,
                          int64_t first_us, int64_t last_us, int64_t output_tokens)
{
    struct gw_metrics *m = gw_m_get();
    if (!m || output_tokens < 2 || first_us < 0 || last_us < first_us)
        return;
    const struct gw_m_label *lab[2] = {gw_m_pair_label(m, GW_ML_PROVIDER, provider, model, memo),
                                       gw_m_pair_label(m, GW_ML_MODEL, provider, model, memo)};
    gw_m_pair_observe(m, gw_m_pair(m, memo), GW_MPS_TPOT, GW_MF_TPOT, lab,
                      (last_us - first_us) / (output_tokens - 1));
}

void gw_metrics_key_usage(const char *key_id, const struct aigw_usage *u, double cost_usd)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[2] = {gw_m_label(m, GW_ML_KEY, key_id, NULL), NULL};
    if (u) {
        const int64_t counts[] = {u->prompt_tokens, u->completion_tokens, u->cached_tokens,
                                  u->cache_write_tokens, u->reasoning_tokens};
        for (int i = 0; i < (int)(sizeof counts / sizeof counts[0]); i++) {
            if (counts[i] < 0)
                continue;
            lab[1] = gw_m_label(m, GW_ML_TOKEN_KIND + i, NULL, NULL);
            gw_m_add(m, GW_MF_KEY_TOKENS, lab, (uint64_t)counts[i]);
        }
    }
    if (cost_usd >= 0 && cost_usd < 1e9)
        gw_m_add(m, GW_MF_KEY_COST, lab, (uint64_t)llround(cost_usd * 1e9));
}

void gw_metrics_rate_limited(const char *key_id, const char *limit)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[2] = {gw_m_label(m, GW_ML_KEY, key_id, NULL),
                                       gw_m_label(m, GW_ML_OUTCOME, limit, NULL)};
    gw_m_add(m, GW_MF_RATE_LIMITED, lab, 1);
}

void gw_metrics_budget_exceeded(const char *key_id)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[1] = {gw_m_label(m, GW_ML_KEY, key_id, NULL)};
    gw_m_add(m, GW_MF_BUDGET, lab, 1);
}

/* A family with one outcome-like label. */
static void count1(int family, const char *v, int64_t n)
{
    struct gw_metrics *m = gw_m_get();
    if (!m || n <= 0)
        return;
    const struct gw_m_label *lab[1] = {gw_m_label(m, GW_ML_OUTCOME, v, NULL)};
    gw_m_add(m, family, lab, (uint64_t)n);
}

void gw_metrics_degraded(const char *decision)
{
    count1(GW_MF_DEGRADED, decision, 1);
}

void gw_metrics_cache(const char *result)
{
    count1(GW_MF_CACHE, result, 1);
}

void gw_metrics_cache_evictions(const char *reason, int64_t n)
{
    count1(GW_MF_CACHE_EVICTIONS, reason, n);
}

void gw_metrics_cache_bytes(int64_t bytes)
{
    struct gw_metrics *m = gw_m_get();
    if (m)
        gw_m_set(m, GW_MF_CACHE_BYTES, NO_LABELS, bytes);
}

void gw_metrics_guard(const char *guard, const char *stage, const char *outcome)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[3] = {gw_m_label(m, GW_ML_NAME, guard, NULL),
                                       gw_m_label(m, GW_ML_OUTCOME, stage, NULL),
                                       gw_m_label(m, GW_ML_OUTCOME, outcome, NULL)};
    gw_m_add(m, GW_MF_GUARD, lab, 1);
}

void gw_metrics_store(const char *backend, const char *op, int64_t us, const char *error)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[3] = {gw_m_label(m, GW_ML_NAME, backend, NULL),
                                       gw_m_label(m, GW_ML_NAME, op, NULL), NULL};
    if (us >= 0)
        gw_m_observe(m, GW_MF_STORE_DURATION, lab, us);
    if (error) {
        lab[2] = gw_m_label(m, GW_ML_OUTCOME, error, NULL);
        gw_m_add(m, GW_MF_STORE_ERRORS, lab, 1);
    }
}

void gw_metrics_log_dropped(const char *log, int64_t n)
{
    count1(GW_MF_LOG_DROPPED, log, n);
}

void gw_metrics_spans_dropped(const char *reason, int64_t n)
{
    count1(GW_MF_SPANS_DROPPED, reason, n);
}

void gw_metrics_spans_exported(int64_t n)
{
    struct gw_metrics *m = gw_m_get();
    if (m && n > 0)
        gw_m_add(m, GW_MF_SPANS_EXPORTED, NO_LABELS, (uint64_t)n);
}

void gw_metrics_leases(int64_t live, uint64_t lost, uint64_t untracked)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    gw_m_set(m, GW_MF_LEASES, NO_LABELS, live);
    /* Counters set to a total: it only grows, and it lives in shard 0 alone like a gauge. */
    gw_m_set(m, GW_MF_LEASES_LOST, NO_LABELS, lost > INT64_MAX ? INT64_MAX : (int64_t)lost);
    gw_m_set(m, GW_MF_LEASES_UNTRACKED, NO_LABELS,
             untracked > INT64_MAX ? INT64_MAX : (int64_t)untracked);
}

void gw_metrics_upstream_cancel(const char *provider, const char *outcome)
{
    struct gw_metrics *m = gw_m_get();
    if (!m)
        return;
    const struct gw_m_label *lab[2] = {gw_m_label(m, GW_ML_PROVIDER, provider, NULL),
                                       gw_m_label(m, GW_ML_OUTCOME, outcome, NULL)};
    gw_m_add(m, GW_MF_UPSTREAM_CANCELS, lab, 1);
}
