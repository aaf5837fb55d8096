/*
 * cancel - the cleanup request that stops an upstream job a call left unfinished (a
 * Replicate prediction whose client left, say), built by the plugin (exchange.h
 * gw_exchange_cancel) and sent here on its own, fire-and-forget: copied out of the call (which
 * may be freed at once), sent on an engine with short deadlines, sent once more at most (a
 * transport failure, a 429 or a 5xx), its answer read for its status only. A bounded number is
 * in flight at once; past it a cancel is dropped (counted). Each ends with one info log line
 * (request id, provider, job id, outcome: never a URL or header, which may hold the key) and
 * aigw_upstream_cancels_total{provider,outcome}.
 *
 * Threading: gw_cancel_send from any thread that may start transfers on `engine`; its
 * callbacks run on that engine's thread. gw_cancel_drain from the main thread at shutdown.
 */
#ifndef GW_PROXY_CANCEL_H
#define GW_PROXY_CANCEL_H

#include <stdint.h>

#include "net/upstream.h"
#include "plugin/call.h"

#define GW_CANCEL_MAX_INFLIGHT 128
#define GW_CANCEL_CONNECT_MS 3000
#define GW_CANCEL_TOTAL_MS 10000
#define GW_CANCEL_RETRY_DELAY_MS 500

/* Sends the request the call holds now (method, URL, headers, body: what cancel_build set).
 * provider must outlive the send (a plugin's vkey: plugins are unloaded last). Never fails
 * the caller: a cancel that cannot start is counted "dropped". */
void gw_cancel_send(struct gw_upstream *engine, const char *provider, const char *request_id,
                    const char *job_id, const struct gw_call *c);
/* Cancels still in flight (every engine). */
int gw_cancel_inflight(void);
/* Waits until no cancel is in flight or deadline_ms (gw_now_ms clock) passes; returns how
 * many are left. Shutdown: the engines must still run. */
int gw_cancel_drain(int64_t deadline_ms);

#endif
