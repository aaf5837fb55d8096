/*
 * snapshot - the reloadable configuration as one immutable, reference-counted object: the
 * config file's settings, the router built from them (strategy, targets, aliases, retries)
 * and the guardrail chain. The gateway publishes the current snapshot through one atomic
 * pointer; a request takes a reference when it starts and keeps that snapshot to its last
 * byte, so a reload (proxy/reload.c) never changes a request half way and never waits for
 * one: the old snapshot goes when its last request ends.
 *
 * What a snapshot does not hold is not reloaded: gw->cfg (the startup configuration) keeps
 * what needs a restart (listen address, threads, plugin and state directories, store, cache,
 * metrics, tracing, Redis, admin settings).
 *
 * Threading: gw_snap_acquire and gw_snap_release on any thread, lock-free and wait-free for
 * the reader but for a retry when a publish happens in its window of three atomic operations.
 * gw_snap_publish on one thread at a time (the reload lock); it waits, without a lock, only
 * for readers inside that window. A published snapshot is never written again, except for
 * its reference count.
 */
#ifndef GW_PROXY_SNAPSHOT_H
#define GW_PROXY_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "route/route.h"

struct gw_gateway;
struct gw_guards;
struct gw_catalog;
struct gw_plugins;

struct gw_snap {
    atomic_long refs;
    uint64_t generation;  /* 1 at startup, +1 per applied reload */
    struct gw_config cfg; /* its own copy (owns the parsed file) */
    struct gw_router router;
    /* A reference on the gateway's guardrail chain of this configuration (NULL: no guards):
     * a request takes its own from here (proxy/guard_phase.c), so a reload swaps guards with
     * routing, atomically. Chains are freed by the gateway on one thread (libltdl), never by
     * the last release, which may be a worker's. */
    struct gw_guards *guards;
    /* Keys the file changed that only a restart applies ("a, b"; "" none), as the reload
     * that built this snapshot reported them (GET /admin/config lists them). */
    char needs_restart[512];
};

/* Builds a snapshot from cfg (copied) and its router (sharing prev's breaker and latency
 * table when prev is given); guards: a reference (gw_gateway_guards) that moves to the
 * snapshot, even when this fails. The caller holds the one reference. 0, or a negative
 * AIGW_E* code with the reason ("routing.x: ...") in err. */
int gw_snap_new(struct gw_snap **out, const struct gw_config *cfg, const struct gw_plugins *ps,
                const struct gw_catalog *cat, const struct gw_snap *prev, struct gw_guards *guards,
                char *err, size_t errsize);

/* The current snapshot, with a reference the caller gives back with gw_snap_release. gw is
 * const for callers that only read the gateway: the reader counters it touches are atomics. */
struct gw_snap *gw_snap_acquire(const struct gw_gateway *gw);
/* Gives a reference back; the last one frees the snapshot (config, router, guards). NULL is
 * ignored. */
void gw_snap_release(struct gw_snap *s);

/* Makes s (the caller's reference moves to the gateway) current for every acquire from now
 * on, and drops the gateway's reference on the one it replaces. NULL s at shutdown: none. */
void gw_snap_publish(struct gw_gateway *gw, struct gw_snap *s);

#endif
