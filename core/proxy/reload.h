/*
 * reload - re-reads the config file while serving (SIGHUP, POST /admin/config/reload) and
 * swaps in what may change without a restart, all at once: routing and aliases, timeouts,
 * stream settings, the body cap, client keys (auth), limits.max_reserve_tokens, guardrails,
 * log.level, log.bodies and log.retention_days, shutdown.grace_ms. The file is validated as a
 * start would (every section, including those a reload does not apply); a bad file changes
 * nothing and the reason is returned. Keys a reload cannot apply (gw_reload_restart_keys)
 * are compared with what the process started with and reported as needing a restart.
 *
 * Threading: a normal thread, never a signal handler: main's signal loop (SIGHUP is taken
 * with sigwait, so no handler runs at all) or the worker answering the admin call. One
 * reload at a time (gw->reload_lock); requests never wait for it (proxy/snapshot.h).
 */
#ifndef GW_PROXY_RELOAD_H
#define GW_PROXY_RELOAD_H

#include <stddef.h>
#include <stdint.h>

struct gw_gateway;

struct gw_reload_result {
    int applied;         /* 1: a new snapshot is in effect */
    uint64_t generation; /* of the snapshot in effect after the call */
    char error[1024];    /* why nothing changed ("" when applied): "file: key: reason" */
    char restart[512];   /* changed keys that need a restart (not applied), ", "-separated */
};

/* 0 and res->applied, or AIGW_EINVAL (bad file, or no config file) with res->error. Logs one
 * line either way, and one warning naming the keys that need a restart. */
int gw_gateway_reload(struct gw_gateway *gw, struct gw_reload_result *res);

/* The keys (dotted, NULL-terminated) a reload reports as needing a restart when they change:
 * what the listeners, workers, store, cache, metrics, tracing and admin API were built from. */
const char *const *gw_reload_restart_keys(void);

#endif
