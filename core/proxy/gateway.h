/*
 * gateway - one client request from validated body to last byte: route, attempts (retries and
 * fallback before the first byte reached the client), the upstream callbacks that feed the
 * exchange, rendering into the relay, usage and cost, and the access log line.
 *
 * Threading: a request is created and answered by an HTTP worker, and its upstream callbacks
 * run on the same worker's engine (core/http.c); a request started off a worker uses the
 * shared engine's thread. The relay lock guards everything both sides touch (uncontended on a
 * worker); a reference count (MHD side + upstream side) decides who frees it.
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"
#include "plugin/plugin_loader.h"
#include "route/route.h"

struct gw_cache_gw;
struct gw_catalog;
struct gw_upstream;
struct gw_req;
struct gw_store;
struct gw_counters_shared;
struct gw_counters_loop;
struct gw_snap;
struct gw_guards;

struct gw_gateway {
    /* The startup configuration: what a reload does not change (the listen address, threads,
     * directories, store, cache, metrics). Everything a reload swaps is read from a request's
     * snapshot instead (proxy/snapshot.h: config, router, guardrails). */
    struct gw_config *cfg;
    struct gw_plugins *plugins;
    struct gw_catalog *catalog;
    _Atomic(struct gw_snap *) snap; /* the current snapshot: gw_snap_acquire, never directly */
    atomic_uint snap_epoch;
    atomic_long snap_readers[2];
    /* Reloads (proxy/reload.h): one at a time; what they re-read and re-apply. */
    pthread_mutex_t reload_lock;
    char config_path[1024]; /* "" when aigw runs without a config file */
    char plugin_dir[1024];  /* in effect (flag, environment, config or default) */
    int cli_log_level;      /* --log-level, which wins over the file's; -1: not given */
    struct gw_upstream *upstream;
    struct gw_cache_gw *cache; /* the response cache (proxy/cache_phase.h); NULL when off */
    atomic_llong inflight;
    /* Bytes of request bodies held, arriving or not yet parsed (max_body_bytes_total). */
    atomic_llong body_bytes;
    atomic_int shutting_down;
    pthread_mutex_t drain_lock;
    pthread_cond_t drain_cond;
    int64_t started_unix;
    /* Governance (set by main before the front starts; NULL: none). The store holds the
     * gateway keys and takes ledger and log rows; the counters admit against key limits
     * (each worker drives its own gw_counters of them, see accept.c). */
    struct gw_store *store;
    struct gw_counters_shared *counters;
    struct gw_counters_loop *counters_loops; /* counters_loop.c: one per worker */
    /* The guardrail chain in force (proxy/guard_phase.c), and the retired ones still held.
     * Each snapshot holds a reference on the chain of its configuration, and a request takes
     * one from its snapshot and keeps that chain to its end, so a reload swaps guards with
     * routing, atomically. guards_lock guards the pointer only. NULL: no guards. */
    struct gw_guards *guards;
    pthread_mutex_t guards_lock;
    int freed; /* gw_gateway_free ran: its locks are gone */
};

/* Builds the first snapshot from cfg; guard_dir: where the config's guardrails are loaded
 * from (gw_guard_dir()); a guard that cannot be loaded as configured is an error, like any
 * other config error. */
int gw_gateway_init(struct gw_gateway *gw, struct gw_config *cfg, struct gw_plugins *ps,
                    struct gw_catalog *cat, const char *guard_dir, char *err, size_t errsize);
struct gw_guard_chain;
/* Installs chain (owned from now on; NULL: no guards) as the gateway's current one; the one
 * it replaces is freed once nothing holds it (at a later swap or gw_gateway_free). Requests
 * take their chain from their snapshot, so a reload swaps, then publishes a snapshot holding
 * the new chain (proxy/reload.c). One thread at a time: main, or a reload under reload_lock
 * (libltdl, which loads and frees the guard modules, is not thread-safe). */
void gw_gateway_swap_guards(struct gw_gateway *gw, struct gw_guard_chain *chain);
/* The chain in force now, with a reference for the caller (a request takes one when it
 * starts), or NULL when there are no guards; gw_guards_release gives it back (any thread). */
struct gw_guards *gw_gateway_guards(struct gw_gateway *gw);
void gw_guards_release(struct gw_guards *g);
/* Another reference on g (a request taking its snapshot's chain); NULL for NULL. */
struct gw_guards *gw_guards_ref(struct gw_guards *g);
const struct gw_guard_chain *gw_guards_chain(const struct gw_guards *g);
void gw_gateway_free(struct gw_gateway *gw);
/* Waits until no request is in flight or deadline_ms passes; returns the count left. */
int64_t gw_gateway_drain(struct gw_gateway *gw, int64_t deadline_ms);

/* A request (proxied, or local and waited for) begins / ends: a graceful stop drains them. */
void gw_gateway_enter(struct gw_gateway *gw);
void gw_gateway_leave(struct gw_gateway *gw);

struct gw_dialect;
struct gw_key;
/* The front door's entry points for proxied routes: the endpoint's dialect parses the body
 * and renders the answer. key: the gateway key the caller presented (the request takes the
 * reference), or NULL. */
struct gw_req *gw_req_new(struct gw_gateway *gw, struct MHD_Connection *conn,
                          const struct gw_dialect *dialect,
                          const char *method, const char *path, const char *request_id,
                          const char *x_provider, struct gw_key *key);
/* Appends body bytes; 0, or AIGW_ETOOBIG once the body passes the cap. */
int gw_req_body(struct gw_req *r, const char *p, size_t n);
/* 1 while fewer body bytes arrived than Content-Length announced. */
int gw_req_body_short(const struct gw_req *r);
/* The final access-handler call(s): starts the request, later queues the response. */
enum MHD_Result gw_req_run(struct gw_req *r);
/* MHD_OPTION_NOTIFY_COMPLETED. */
void gw_req_completed(struct gw_req *r, int client_aborted);

int64_t gw_now_ms(void);

#endif
