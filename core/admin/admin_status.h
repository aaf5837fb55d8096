/*
 * admin_status - what the admin API shows of the running gateway, independent of the
 * transport:
 *
 *   GET /admin/providers   every loaded provider: active or not (and why), its targets'
 *                          circuit breakers (closed, open, half_open; time to the next probe;
 *                          consecutive failures) and median latency from the router, and
 *                          recent requests, error rate and p50/p95 latency from the request
 *                          log's rollups of today and yesterday (UTC).
 *   GET /admin/config      the effective configuration: every key's default, then the file,
 *                          then the command-line flags; every secret shown as "***" (keys,
 *                          tokens, passwords, headers, the password of any URL). Provider
 *                          credentials live in the environment and never appear.
 *
 * Threading: any thread. providers reads the router's atomics and, when a store is given,
 * blocks on it (never call it from a request's event loop).
 */
#ifndef GW_ADMIN_STATUS_H
#define GW_ADMIN_STATUS_H

#include <stdint.h>

#include "config.h"
#include "lib/buf.h"
#include "plugin/plugin_loader.h"
#include "route/route.h"
#include "store/store.h"

/* path: what follows "/admin/providers" (""); store may be NULL (no recent figures). */
int gw_admin_providers_handle(const struct gw_plugins *ps, struct gw_router *r, struct gw_store *s,
                              const char *method, const char *path, struct gw_buf *out,
                              int *status);
/* path: what follows "/admin/config" (""). */
int gw_admin_config_handle(const struct gw_config *c, const char *method, const char *path,
                           struct gw_buf *out, int *status);
/* The same for a reloadable process: now (the current snapshot's configuration) for what a
 * reload applies, running (the startup one) for restart_keys (NULL-terminated);
 * pending_keys ("a, b"; NULL: none) are listed under "needs_restart": the keys the last
 * reloaded file changed that wait for a restart. generation: the snapshot's (0: not shown). */
int gw_admin_config_view(const struct gw_config *running, const struct gw_config *now,
                         uint64_t generation, const char *const *restart_keys,
                         const char *pending_keys, const char *method, const char *path,
                         struct gw_buf *out, int *status);
/* Replaces every secret in doc by "***", in place (exposed for tests and the reload report). */
void gw_admin_mask_secrets(cJSON *doc);

#endif
