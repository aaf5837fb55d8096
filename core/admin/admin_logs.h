/*
 * admin_logs - the request log and usage operations of the admin API, independent of the
 * transport (the /admin/ router on the main listener calls them; tests call them directly).
 *
 *   GET /admin/logs[?key=&model=&provider=&status=&since=&until=&cursor=&limit=]
 *       {"object":"list","data":[row...],"has_more","next_cursor"}, newest first. status is
 *       one code ("429"), a class ("4xx", "5xx"), "error" (>= 400) or "ok" (< 400); limit
 *       1..1000 (100 by default); cursor is the previous page's next_cursor.
 *   GET /admin/logs/{request_id}
 *       one row, with its bodies when log.bodies kept them.
 *   GET /admin/usage?group_by=key|model|provider|day[&since=&until=&key=]
 *       {"object":"usage","group_by","data":[...],"total":{...}}: requests, errors,
 *       error_rate, tokens, cost_usd, cache_hits, latency and TTFB p50/p95 (null: no sample),
 *       from the daily rollups (day granularity).
 *
 * since/until: unix seconds or ms, or an ISO date/time in UTC (admin_util.h). Every string in a
 * row came from a client or a provider: the answer is JSON-escaped, and the console shows it
 * as text.
 *
 * Threading: any thread; blocks on the store (never call it from a request's event loop).
 */
#ifndef GW_ADMIN_LOGS_H
#define GW_ADMIN_LOGS_H

#include "lib/buf.h"
#include "store/store.h"

/* path: what follows "/admin/logs" ("", "/{request_id}"), with an optional "?query". Writes
 * the JSON answer into out and its status into *status; 0, or AIGW_ENOMEM. */
int gw_admin_logs_handle(struct gw_store *s, const char *method, const char *path,
                         struct gw_buf *out, int *status);
/* path: what follows "/admin/usage" ("" with an optional "?query"). */
int gw_admin_usage_handle(struct gw_store *s, const char *method, const char *path,
                          struct gw_buf *out, int *status);

#endif
