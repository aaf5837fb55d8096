/*
 * cost - what a request cost in USD: usage times the catalog price. The one place that does
 * this arithmetic, for the access log, the metrics and the X-Gateway-Cost header alike.
 *
 * Usage is the core's normalized struct aigw_usage, which follows OpenAI: prompt_tokens
 * INCLUDES cached_tokens and cache_write_tokens, completion_tokens INCLUDES reasoning_tokens,
 * and -1 means "not reported". Plugins convert their provider's counts into that convention
 * (Anthropic and Bedrock report input without the cached part; xAI reports completion without
 * reasoning), so every token is counted exactly once here:
 *
 *   uncached  = prompt - cached - cache_write (never below 0)       at `in`
 *   cached                                                          at `cache_read` (else `in`)
 *   cache_write                                                     at `cache_write` (else `in`)
 *   completion - reasoning                                          at `out`
 *   reasoning                                                       at `reasoning` (else `out`)
 *
 * with the tier prices (in, out, cache_read, cache_write) of the highest tier whose `above` is
 * below prompt_tokens; a price the tier leaves out keeps its base value. Everything is per 1M
 * tokens. An unknown price, or unknown token counts, make the cost unknown: the functions then
 * return a negative code and the cost must be left out - never reported as 0.
 *
 * A usage whose cost_usd is above 0 (ABI 1.5: the provider stated what the request cost,
 * search fees and all) costs exactly that, with or without a catalog entry: the statement is
 * the invoice, and the counts are not priced on top of it.
 *
 * Threading: pure functions; any thread.
 */
#ifndef GW_COST_H
#define GW_COST_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/plugin.h"
#include "catalog/catalog.h"

/* Returned when a price the request needs is unknown. Bad or missing token counts give
 * AIGW_EINVAL. Either way: no cost. */
#define GW_COST_UNKNOWN AIGW_ENOTSUP

/* Token cost of one request with the model's own prices (or the provider's stated cost; m may
 * then be NULL). 0 and *out set, or negative. An input-only model (embedding, rerank,
 * moderation) may have completion_tokens -1. */
int gw_cost_usd(const struct gw_model *m, const struct aigw_usage *u, double *out);
/* The same with a region's prices when the model has them (Azure data zone, AWS region). */
int gw_cost_usd_region(const struct gw_model *m, const char *region, const struct aigw_usage *u,
                       double *out);

/* count units (GW_UNIT_SECOND, _CHARACTER, ...) at the model's per-unit price. */
int gw_cost_units_usd(const struct gw_model *m, int unit, double count, double *out);

/* n generated images. The price is looked up as "<quality>/<size>", then "<size>", then
 * "<quality>" among the model's image variants (quality and size may be NULL; size as the
 * OpenAI API spells it, "1024x1792"), then the model's per-image price, then per-pixel times
 * the size's pixels. */
int gw_cost_images_usd(const struct gw_model *m, const char *quality, const char *size, int64_t n,
                       double *out);

/* Formats a cost the same way everywhere (header, log, metrics): plain decimal, up to 10
 * decimals, no trailing zeros ("0.0042", "1.5", "0"). Returns the length, or -1 when it does
 * not fit. */
int gw_cost_format(double usd, char *buf, size_t len);
/* v as snprintf's "%.<digits>f" writes it, byte for byte (digits 0..10), without printf's
 * cost for the usual small non-negative value; the length, or -1 if it does not fit. */
int gw_fixed_format(double v, int digits, char *buf, size_t len);

#endif
