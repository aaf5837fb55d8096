/*
 * metrics - Prometheus counters, gauges and histograms for operators. Updates come from the
 * request path (any thread) and must cost no lock contention worth measuring; rendering
 * happens on GET /metrics. Label values are bounded: a model name that is neither in the
 * catalog nor the config is folded into "other" past metrics.max_models distinct models, so
 * clients cannot grow memory by inventing model names. No label ever holds a secret or prompt
 * text: providers are vkeys, models are checked against the catalog and config.
 *
 * Threading: every function may be called from any thread.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdint.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/memo.h"

struct gw_gateway;
struct gw_catalog;

/* Called once at startup, before any other function. max_models: label cardinality cap. */
int gw_metrics_init(const struct gw_catalog *cat, int max_models);
void gw_metrics_free(void);

/* One client request finished. route: "/v1/chat/completions" etc; provider/model may be
 * NULL (no route was found); ttfb_ms < 0 when no byte was sent. */
void gw_metrics_request(const char *route, const char *provider, const char *model, int status,
                        int stream, int64_t duration_ms, int64_t ttfb_ms);
/* One upstream attempt ended. outcome: "ok", an HTTP status ("429"), or a transport reason
 * ("timeout", "connect_error", ...). retry: the attempt was a retry on the same target;
 * fallback: it was on another target than the first. */
void gw_metrics_attempt(const char *provider, const char *outcome, int retry, int fallback);
/* Usage and cost of one request (cost_usd < 0: unknown, not counted). */
void gw_metrics_usage(const char *provider, const char *model, const struct aigw_usage *u,
                      double cost_usd);
/* In-flight requests and held streams (delta +1 / -1). */
void gw_metrics_active(int delta);
void gw_metrics_streams(int delta);
/* Circuit-breaker state of a target: 0 closed, 1 half-open, 2 open. */
void gw_metrics_breaker(const char *provider, const char *model, int state);

/* A failed attempt on provider is followed by another one: on the same target (fallback 0,
 * aigw_retries_total) or on another target (fallback 1, aigw_fallbacks_total). reason: the
 * failed attempt's outcome, as for gw_metrics_attempt. */
void gw_metrics_retry(const char *provider, const char *reason, int fallback);

/* ---- timings, keys, limits, cache, guards, stores, logs, spans (metrics_ops.c) -------------
 * Names follow the OpenTelemetry GenAI metrics where one exists (gen_ai.server.time_to_first_token
 * -> gen_ai_server_time_to_first_token_seconds), aigw_* otherwise. Every label is bounded:
 * past its cap a value counts under "other"; NULL or "" is "none". */

/* A successful attempt's time to first token: from sending the upstream request to the first
 * content chunk, in microseconds (gen_ai_server_time_to_first_token_seconds). */
void gw_metrics_ttft(const char *provider, const char *model, int64_t us);
/* Time per output token after the first: (last_us - first_us) / (output_tokens - 1), times
 * from the same origin; nothing when output_tokens < 2 or a time is negative
 * (gen_ai_server_time_per_output_token_seconds). */
void gw_metrics_tpot(const char *provider, const char *model, int64_t first_us, int64_t last_us,
                     int64_t output_tokens);
/* Tokens (per kind, as aigw_tokens_total) and cost (< 0: unknown) by gateway key id. */
void gw_metrics_key_usage(const char *key_id, const struct aigw_usage *u, double cost_usd);
/* A request refused by a rate limit (limit: "requests", "tokens", ...) or an exhausted
 * budget; a degraded decision (Redis down: "ratelimit_local", "budget_fail_closed",
 * "budget_fail_open", ...). */
void gw_metrics_rate_limited(const char *key_id, const char *limit);
void gw_metrics_budget_exceeded(const char *key_id);
void gw_metrics_degraded(const char *decision);
/* A cache lookup's result ("hit", "miss", "bypass", "error"); n entries dropped, by reason
 * ("capacity": for room, "expired": past the TTL); the bytes the cache holds now. */
void gw_metrics_cache(const char *result);
void gw_metrics_cache_evictions(const char *reason, int64_t n);
void gw_metrics_cache_bytes(int64_t bytes);
/* A guard's outcome: stage "request" or "response"; outcome "allow", "deny", "rewrite",
 * "error", "fail_open". */
void gw_metrics_guard(const char *guard, const char *stage, const char *outcome);
/* One store or Redis operation: backend "sqlite", "postgres", "redis"; op a short name
 * ("key_lookup", "ledger_write", "admit", ...); error NULL on success, else a reason
 * ("timeout", "error", ...) counted in aigw_store_errors_total. */
void gw_metrics_store(const char *backend, const char *op, int64_t us, const char *error);
/* Rows or lines dropped because a log's queue was full (log: "request_log", "access_log"). */
void gw_metrics_log_dropped(const char *log, int64_t n);
/* Spans dropped (reason: "queue_full", "export_failed") and exported. */
void gw_metrics_spans_dropped(const char *reason, int64_t n);
void gw_metrics_spans_exported(int64_t n);
/* The counters' budget leases (store/counters.h): live now, and the totals since start of
 * renewals that found their reservation gone and of reservations never renewed. Set, not
 * added: the counters keep the totals. */
void gw_metrics_leases(int64_t live, uint64_t lost, uint64_t untracked);
/* A cancel request for an upstream job that was left unfinished (proxy/cancel.h): outcome
 * "ok" (2xx), "rejected" (another 4xx: the job had ended), "failed" (5xx or transport, after
 * its one retry), "dropped" (too many in flight, or it could not start). */
void gw_metrics_upstream_cancel(const char *provider, const char *outcome);

/* Model names from the config (aliases, targets) that get a label of their own without
 * counting against max_models. Printable ASCII, at most 128 bytes, no registered secret:
 * else AIGW_EINVAL; AIGW_ETOOBIG past 4096 names. Call after gw_metrics_init. */
int gw_metrics_allow_model(const char *model);
/* A reloaded catalog. The old one must stay valid until every thread that may be inside a
 * gw_metrics_* call has left it (the same rule as for requests). */
void gw_metrics_set_catalog(const struct gw_catalog *cat);

/* ---- a target's hooks -------------------------------------------------------------------
 * The same as the hooks above for a request's target, with its pair's memo: the router's
 * health slot of exactly (provider, model) keeps one (route/breaker.h). The label values are
 * found once per metrics state and kept there instead of hashing the two strings on every
 * call; values that may still change ("other" past a cap) are found every time. memo NULL:
 * the plain hook. A memo must never be handed a pair other than its own. */
void gw_metrics_request_memo(const char *route, struct gw_memo *memo, const char *provider,
                             const char *model, int status, int stream, int64_t duration_ms,
                             int64_t ttfb_ms);
void gw_metrics_attempt_memo(struct gw_memo *memo, const char *provider, const char *outcome,
                             int retry, int fallback);
void gw_metrics_retry_memo(struct gw_memo *memo, const char *provider, const char *reason,
                           int fallback);
void gw_metrics_usage_memo(struct gw_memo *memo, const char *provider, const char *model,
                           const struct aigw_usage *u, double cost_usd);
void gw_metrics_ttft_memo(struct gw_memo *memo, const char *provider, const char *model,
                          int64_t us);
void gw_metrics_tpot_memo(struct gw_memo *memo, const char *provider, const char *model,
                          int64_t first_us, int64_t last_us, int64_t output_tokens);

/* Appends s (n bytes, at most the first 128 used) escaped as an exposition-format label value:
 * backslash, double quote and newline escaped, other control and non-ASCII bytes as '?'. */
int gw_metrics_label_value(struct gw_buf *out, const char *s, size_t n);

/* The exposition text (format 0.0.4), including plugin status per vkey, build info and the
 * upstream transfers in flight, read from gw. */
int gw_metrics_render(const struct gw_gateway *gw, struct gw_buf *out);

#endif
