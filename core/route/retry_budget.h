/*
 * retry_budget - bounds the extra upstream calls that retries and fallbacks make, so a failing
 * provider cannot turn a traffic spike into a retry storm. Over a sliding window of ten
 * one-second buckets, retries may number at most ratio x requests, plus min_per_s every second
 * so that light traffic can still retry at all.
 *
 * Threading: any thread. Counters are atomics; a bucket whose second has passed is reset by
 * whoever notices first, and a count that lands in it during the reset may be lost. The budget
 * is a bound, not an audit, so that slack is fine.
 */
#ifndef GW_RETRY_BUDGET_H
#define GW_RETRY_BUDGET_H

#include <stdatomic.h>
#include <stdint.h>

#define GW_RETRY_BUDGET_SLOTS 10

struct gw_retry_budget {
    double ratio;      /* retries allowed per request; < 0: no budget (always allowed) */
    int64_t min_per_s; /* retries always allowed per second */
    atomic_llong sec[GW_RETRY_BUDGET_SLOTS]; /* which second each bucket counts */
    atomic_llong requests[GW_RETRY_BUDGET_SLOTS];
    atomic_llong retries[GW_RETRY_BUDGET_SLOTS];
};

void gw_retry_budget_init(struct gw_retry_budget *b, double ratio, int64_t min_per_s);
/* One client request at now_ms (monotonic). */
void gw_retry_budget_note(struct gw_retry_budget *b, int64_t now_ms);
/* 1 and the retry counted when one more fits; 0 otherwise. */
int gw_retry_budget_take(struct gw_retry_budget *b, int64_t now_ms);

#endif
