/*
 * gateway - one client request's lifetime, as named phases in the order it meets them:
 *
 *   accept        accept.c         the front door: endpoint, request id, framing checks
 *   authenticate  authenticate.c   who is calling (on the headers, before any body)
 *   parse         the dialect      the body -> the internal request (front/)
 *   admit         admit.c          limits and budgets
 *   guard         guard_phase.c    the input guardrails (allow, deny, rewrite)
 *   cache lookup  cache_lookup.c   an exact answer kept earlier
 *   route         route_phase.c    the ordered targets
 *   attempt       attempt.c        upstream calls, retries and fallbacks
 *   relay         deliver.c        chunks rendered into the relay, the response queued
 *                 deliver_guard.c  (through the output guardrails first)
 *   account       account.c        usage, cost, metrics, access log
 *
 * This file only sequences them and owns the request object's life (see gateway.h).
 */
#include "proxy/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "obs/metrics.h"
#include "proxy/cache_phase.h"
#include "proxy/encoding.h"
#include "proxy/req_int.h"
#include "proxy/snapshot.h"
#include "plugin/usage.h"
#include "store/store.h"

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lifetime ------------------------------------------------------------------------ */

/* Frees the raw body and gives back what it counted against max_body_bytes_total. */
static void body_release(struct gw_req *r)
{
    gw_buf_free(&r->body);
    if (r->body_held)
        atomic_fetch_sub(&r->gw->body_bytes, (long long)r->body_held);
    r->body_held = 0;
}

static void req_free(struct gw_req *r)
{
    struct gw_gateway *gw = r->gw;
    gw_parse_off_drop(r);
    if (r->stream_held)
        gw_metrics_streams(-1);
    gw_metrics_active(-1);
    if (r->driver_ready)
        gw_driver_free(&r->driver);
    if (r->call) {
        gw_call_free(r->call);
        free(r->call);
    }
    gw_otel_abandon(r->aspan);
    gw_otel_abandon(r->span);
    gw_buf_free(&r->trace_out);
    gw_cache_req_free(r);
    gw_guard_req_free(r);
    gw_account_release(r);
    gw_snap_release(r->snap);
    if (r->key)
        gw_key_unref(r->key);
    gw_parsed_free(&r->parsed);
    if (r->render)
        r->dialect->render_free(r->render);
    gw_relay_free(&r->relay);
    body_release(r);
    gw_buf_free(&r->log_req);
    gw_buf_free(&r->log_resp);
    free(r);
    gw_gateway_leave(gw);
}

void gw_req_unref(struct gw_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        req_free(r);
}

struct gw_req *gw_req_new(struct gw_gateway *gw, struct MHD_Connection *conn,
                          const struct gw_dialect *dialect,
                          const char *method, const char *path, const char *request_id,
                          const char *x_provider, struct gw_key *key)
{
    struct gw_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->gw = gw;
    /* Its configuration for good: a reload from now on concerns the requests after it. */
    r->snap = gw_snap_acquire(gw);
    r->key = key;
    r->conn = conn;
    atomic_init(&r->refs, 1); /* the MHD side; the upstream side takes one when it starts */
    r->dialect = dialect;
    r->parsed.dialect = dialect;
    gw_strlcpy(r->method, method, sizeof r->method);
    gw_strlcpy(r->path, path, sizeof r->path);
    gw_strlcpy(r->request_id, request_id, sizeof r->request_id);
    if (x_provider)
        gw_strlcpy(r->x_provider, x_provider, sizeof r->x_provider);
    gw_buf_init(&r->body, (size_t)r->snap->cfg.max_body_bytes);
    gw_relay_init(&r->relay, conn, (size_t)r->snap->cfg.stream_buffer_bytes);
    r->log_bodies = r->snap->cfg.log_bodies && r->snap->cfg.log_requests && gw->store;
    gw_buf_init(&r->log_req, GW_LOG_BODY_TAKE);
    gw_buf_init(&r->log_resp, GW_LOG_BODY_TAKE);
    r->start_ms = gw_now_ms();
    r->retry_after_ms = -1;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    r->body_expect = cl ? strtoll(cl, NULL, 10) : -1;
    gw_usage_init(&r->usage);
    gw_usage_init(&r->guard_usage);
    if (gw_otel_on()) {
        /* The client's trace context, continued (W3C trace context). */
        size_t tpl = 0, tsl = 0;
        const char *tp = NULL, *ts = NULL;
        if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, "traceparent",
                                          strlen("traceparent"), &tp, &tpl) != MHD_YES)
            tp = NULL;
        if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, "tracestate",
                                          strlen("tracestate"), &ts, &tsl) != MHD_YES)
            ts = NULL;
        r->span = gw_otel_request_begin(tp, tpl, ts, tsl, method, path, path, strlen(path),
                                        request_id);
    }
    gw_gateway_enter(gw);
    gw_metrics_active(1);
    return r;
}

int gw_req_body(struct gw_req *r, const char *p, size_t n)
{
    r->body_seen += (int64_t)n;
    if (r->too_big || r->too_busy)
        return AIGW_ETOOBIG;
    /* Each body has its cap, and all of them together theirs: thousands of connections
     * each sending max_body_bytes slowly would otherwise hold what the machine has. */
    int64_t held = atomic_fetch_add(&r->gw->body_bytes, (long long)n) + (int64_t)n;
    r->body_held += (int64_t)n;
    if (held > r->snap->cfg.max_body_bytes_total) {
        r->too_busy = 1;
        body_release(r);
        return AIGW_ETOOBIG;
    }
    int rc = gw_buf_append(&r->body, p, n);
    if (rc == AIGW_ETOOBIG) {
        r->too_big = 1;
        body_release(r); /* nothing more is kept once the cap is hit */
    }
    return rc;
}

int gw_req_body_short(const struct gw_req *r)
{
    return r->body_expect > r->body_seen;
}

/* ---- the phases, in order ------------------------------------------------------------- */

static const char *request_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static enum MHD_Result after_admit(struct gw_req *r);
static enum MHD_Result after_guards(struct gw_req *r);
static enum MHD_Result proceed(struct gw_req *r);

/* The body's Content-Encoding undone, so that everything after reads the plain JSON. The
 * decoded copy is held like any body: its cap is max_body_bytes, lowered to what
 * max_body_bytes_total leaves, and it is counted there once made (while it grows, only the
 * one decode this worker runs at a time is uncounted, at most that cap). 0 to go on, or -1
 * with the refusal answered into *answer. */
static int decode_body(struct gw_req *r, enum MHD_Result *answer)
{
    struct gw_codings c;
    struct gw_decode_fail f;
    memset(&f, 0, sizeof f);
    int rc = gw_encoding_read(r->conn, &c, &f);
    if (rc == 0 && c.n == 0)
        return 0;
    struct gw_buf plain;
    gw_buf_init(&plain, 0);
    if (rc == 0) {
        size_t cap = (size_t)r->snap->cfg.max_body_bytes;
        int64_t room = r->snap->cfg.max_body_bytes_total - atomic_load(&r->gw->body_bytes);
        int is_total = room < (int64_t)cap;
        if (is_total)
            cap = room > 0 ? (size_t)room : 0;
        rc = gw_encoding_decode(&c, r->body.ptr ? r->body.ptr : "", r->body.len, cap, is_total,
                                &plain, &f);
    }
    if (rc < 0) {
        body_release(r);
        if (f.status == 503)
            r->retry_after_ms = 1000;
        *answer = gw_deliver_fail(r, f.status, f.type, f.code, NULL, f.message);
        return -1;
    }
    body_release(r); /* the compressed bytes: the plain ones replace them */
    r->body = plain;
    r->body_held = (int64_t)plain.len;
    atomic_fetch_add(&r->gw->body_bytes, (long long)plain.len);
    return 0;
}

/* What the dialect's parse reads of the request. */
static void inbound(struct gw_req *r, struct gw_inbound *in)
{
    *in = (struct gw_inbound){
        .body = r->body.ptr ? r->body.ptr : "",
        .len = r->body.len,
        .path = r->path,
        .query = NULL,
        .header = request_header,
        .header_ud = r->conn,
        .key_id = r->key ? r->key->id : NULL,
    };
}

static enum MHD_Result parsed(struct gw_req *r, int prc, struct gw_front_err *ferr);
static enum MHD_Result parse_taken(struct gw_req *r);

/* The phases from parse to admit, run once the whole body is in. */
static enum MHD_Result start(struct gw_req *r)
{
    r->started = 1;
    if (r->too_busy) {
        r->retry_after_ms = 1000;
        return gw_deliver_fail(r, 503, "service_unavailable_error", "server_busy", NULL,
                               "the gateway holds as many request bodies as it may "
                               "(max_body_bytes_total); retry");
    }
    if (r->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %lld bytes",
                 (long long)r->snap->cfg.max_body_bytes);
        return gw_deliver_fail(r, 413, "invalid_request_error", "request_too_large", NULL, msg);
    }
    enum MHD_Result answer;
    if (decode_body(r, &answer) < 0)
        return answer;
    if (r->log_bodies && r->body.len) /* before the parse frees it; the store redacts it */
        gw_buf_append(&r->log_req, r->body.ptr,
                      r->body.len < GW_LOG_BODY_TAKE ? r->body.len : GW_LOG_BODY_TAKE);
    struct gw_front_err ferr;
    memset(&ferr, 0, sizeof ferr);
    struct gw_inbound in;
    inbound(r, &in);
    in.defer_store = 1;
    int prc = r->dialect->parse(&in, &r->parsed, &ferr);
    if (prc == GW_PARSE_STORE) {
        /* Its conversation is read from the store: parsed again, off the worker. */
        gw_parsed_free(&r->parsed);
        memset(&r->parsed, 0, sizeof r->parsed);
        r->parsed.dialect = r->dialect;
        in.defer_store = 0;
        if (gw_parse_off(r, &in) > 0)
            return MHD_YES; /* asleep: gw_req_run goes on from parse_taken when it is back */
        return parse_taken(r);
    }
    return parsed(r, prc, &ferr);
}

/* The parse done off the worker (or here, when it could not be), then the rest. */
static enum MHD_Result parse_taken(struct gw_req *r)
{
    struct gw_front_err ferr;
    memset(&ferr, 0, sizeof ferr);
    int taken;
    int prc = gw_parse_off_take(r, &ferr, &taken);
    if (!taken) {
        struct gw_inbound in;
        inbound(r, &in);
        prc = r->dialect->parse(&in, &r->parsed, &ferr);
    }
    return parsed(r, prc, &ferr);
}

/* The parse phase's end, then admission. */
static enum MHD_Result parsed(struct gw_req *r, int prc, struct gw_front_err *ferr)
{
    if (prc < 0 || gw_parsed_check_embedded(&r->parsed, ferr) < 0)
        return gw_deliver_fail(r, ferr->status ? ferr->status : 400, ferr->type, ferr->code,
                               ferr->param, ferr->message);
    body_release(r); /* parsed: the raw bytes are not needed any more */
    int admit = gw_phase_admit(r);
    if (admit < 0)
        return r->answer;
    if (admit > 0)
        return MHD_YES; /* the counters answer later: gw_req_run goes on then */
    return after_admit(r);
}

/* The input guards: once admitted, at once or when the counters answered (in the access
 * handler either way, where MHD lets a response be queued). Before the cache: a rewritten
 * request is what the cache keys and the upstream sees. */
static enum MHD_Result after_admit(struct gw_req *r)
{
    int g = gw_phase_guard(r);
    if (g < 0)
        return r->answer;
    if (g > 0)
        return MHD_YES; /* a guard's service call answers later: gw_req_run goes on then */
    return after_guards(r);
}

/* The cache lookup, once the guards let the request through. */
static enum MHD_Result after_guards(struct gw_req *r)
{
    int cached = gw_phase_cache_lookup(r);
    if (cached < 0)
        return r->answer;
    if (cached > 0)
        return MHD_YES; /* the shared cache answers later: gw_req_run goes on then */
    return proceed(r);
}

/* From route to the first attempt: after a cache miss, at once or once the shared cache
 * answered. */
static enum MHD_Result proceed(struct gw_req *r)
{
    if (gw_phase_route(r) < 0)
        return r->answer;
    /* From here, every way out without an upstream call gives back the half-open probe the
     * route claimed on the first target: nobody would send it for a whole lease. */
    struct gw_router *rt = &r->snap->router;
    r->render = r->dialect->render_new(&r->parsed, r->route.targets[0].model, r->request_id);
    if (!r->render) {
        gw_route_unclaim(rt, &r->route.targets[0]);
        return gw_deliver_fail(r, 500, NULL, NULL, NULL, "out of memory");
    }
    if (r->parsed.op == AIGW_OP_COUNT_TOKENS &&
        !(r->route.targets[0].plugin->desc.capabilities & AIGW_CAP_COUNT_TOKENS)) {
        /* A target that cannot count: the dialect's estimate answers, no upstream call. */
        gw_route_unclaim(rt, &r->route.targets[0]);
        gw_account_tried(r, r->route.targets[0].plugin->desc.vkey, "estimated");
        gw_deliver_finish(r, 0);
        return MHD_YES;
    }
    atomic_fetch_add(&r->refs, 1); /* the upstream side */
    int rc = gw_attempt_start(r, 0);
    if (rc < 0) {
        /* Nothing was sent: the plugin refused to build (bad input for this provider) or we
         * are out of memory. */
        const struct gw_target *t = &r->route.targets[r->target];
        gw_route_unclaim(rt, t);
        gw_account_tried(r, t->plugin->desc.vkey, "build_failed");
        gw_deliver_finish(r, rc);
        atomic_fetch_sub(&r->refs, 1);
    }
    return MHD_YES;
}

enum MHD_Result gw_req_run(struct gw_req *r)
{
    pthread_mutex_lock(&r->relay.lock);
    int admitted = r->admit_wait == 2; /* resumed by the counters' answer */
    if (admitted)
        r->admit_wait = 0;
    int looked_up = r->cache_wait == 2; /* resumed by the shared cache's answer */
    int guarded = r->guard_wait == 2;   /* resumed by a guard's service call */
    pthread_mutex_unlock(&r->relay.lock);
    int reparsed = gw_parse_off_back(r); /* back from the offload thread's parse */
    if (!r->started || reparsed || admitted || looked_up || guarded) {
        enum MHD_Result rc;
        int g = 0;
        if (!r->started)
            rc = start(r);
        else if (reparsed)
            rc = parse_taken(r);
        else if (admitted)
            rc = after_admit(r);
        else if (guarded && (g = gw_phase_guard_resume(r)) != 0)
            rc = g < 0 ? r->answer : MHD_YES; /* answered, or waits for another call */
        else if (guarded)
            rc = after_guards(r);
        else
            rc = gw_phase_cache_resume(r) < 0 ? r->answer : proceed(r);
        if (r->pwait)
            return rc; /* asleep for its parse (suspended already): nothing else to do */
        pthread_mutex_lock(&r->relay.lock);
        int queued = r->queued;
        pthread_mutex_unlock(&r->relay.lock);
        if (rc != MHD_YES || queued)
            return rc;
    }
    /* A hit an output guard sent back (cache_lookup.c): routed as a miss, here where MHD
     * lets a response be queued, whether the guard ran inside the lookup or later. */
    pthread_mutex_lock(&r->relay.lock);
    int upstream_due = r->cache_upstream_due;
    r->cache_upstream_due = 0;
    pthread_mutex_unlock(&r->relay.lock);
    if (upstream_due) {
        enum MHD_Result rc = proceed(r);
        pthread_mutex_lock(&r->relay.lock);
        int queued = r->queued;
        pthread_mutex_unlock(&r->relay.lock);
        if (rc != MHD_YES || queued)
            return rc;
    }
    pthread_mutex_lock(&r->relay.lock);
    enum MHD_Result rc = MHD_YES;
    if (r->queued) {
        /* Already answered; MHD calls again only in corner cases. */
    } else if (r->relay.client_gone) {
        rc = MHD_NO;
    } else if (r->relay.finished || (r->relay.committed && r->parsed.stream)) {
        rc = gw_deliver_queue_locked(r);
    } else {
        gw_relay_sleep_locked(&r->relay);
    }
    pthread_mutex_unlock(&r->relay.lock);
    return rc;
}

void gw_req_completed(struct gw_req *r, int client_aborted)
{
    gw_parse_off_drop(r);
    gw_admit_abandon(r);
    int running = gw_relay_abandon(&r->relay, client_aborted);
    if (running && r->driver_ready)
        gw_driver_cancel(&r->driver);
    /* A cached answer paused for a client that left: only the client's reads resume it, so
     * it is stepped once more here and ends as a client gone, logged and settled as an
     * upstream answer whose client left is. */
    gw_cache_replay_resume(r);
    gw_req_unref(r);
}

/* ---- the gateway object ------------------------------------------------------------------ */

int gw_gateway_init(struct gw_gateway *gw, struct gw_config *cfg, struct gw_plugins *ps,
                    struct gw_catalog *cat, const char *guard_dir, char *err, size_t errsize)
{
    memset(gw, 0, sizeof *gw);
    gw->cfg = cfg;
    gw->plugins = ps;
    gw->catalog = cat;
    gw->started_unix = (int64_t)time(NULL);
    gw->cli_log_level = -1;
    atomic_init(&gw->inflight, 0);
    atomic_init(&gw->body_bytes, 0);
    atomic_init(&gw->shutting_down, 0);
    atomic_init(&gw->snap, NULL);
    atomic_init(&gw->snap_epoch, 0);
    atomic_init(&gw->snap_readers[0], 0);
    atomic_init(&gw->snap_readers[1], 0);
    pthread_mutex_init(&gw->drain_lock, NULL);
    pthread_cond_init(&gw->drain_cond, NULL);
    pthread_mutex_init(&gw->reload_lock, NULL);
    pthread_mutex_init(&gw->guards_lock, NULL);
    /* Guardrails are security controls: one that cannot be loaded as configured stops the
     * start, like any other config error. */
    struct gw_guard_chain *chain = NULL;
    int rc = gw_guard_chain_load(&chain, cfg->guardrails, guard_dir, err, errsize);
    if (rc < 0)
        goto fail;
    if (chain) {
        GW_INFO("guardrails: %zu entries from %s", gw_guard_chain_size(chain), guard_dir);
        gw_gateway_swap_guards(gw, chain);
    }
    struct gw_snap *snap = NULL;
    rc = gw_snap_new(&snap, cfg, ps, cat, NULL, gw_gateway_guards(gw), err, errsize);
    if (rc < 0) {
        gw_gateway_guards_free(gw);
        goto fail;
    }
    gw_snap_publish(gw, snap);
    rc = gw_upstream_init(&gw->upstream);
    if (rc < 0)
        snprintf(err, errsize, "cannot start the shared upstream engine");
    if (rc == 0 && (rc = gw_cache_gw_new(gw, err, errsize)) < 0) {
        gw_upstream_free(gw->upstream);
        gw->upstream = NULL;
    }
    if (rc == 0)
        return 0;
    gw_snap_publish(gw, NULL);
    gw_gateway_guards_free(gw);
fail:
    pthread_mutex_destroy(&gw->guards_lock);
    pthread_mutex_destroy(&gw->reload_lock);
    pthread_mutex_destroy(&gw->drain_lock);
    pthread_cond_destroy(&gw->drain_cond);
    return rc;
}

void gw_gateway_free(struct gw_gateway *gw)
{
    gw_cache_gw_free(gw);
    gw_upstream_free(gw->upstream);
    gw->upstream = NULL;
    gw_snap_publish(gw, NULL); /* every request has let go of it: this frees it */
    gw_gateway_guards_free(gw);    /* then every chain, on this (the main) thread */
    pthread_mutex_destroy(&gw->guards_lock);
    pthread_mutex_destroy(&gw->reload_lock);
    pthread_mutex_destroy(&gw->drain_lock);
    pthread_cond_destroy(&gw->drain_cond);
    gw->freed = 1;
}

void gw_gateway_enter(struct gw_gateway *gw)
{
    atomic_fetch_add(&gw->inflight, 1);
}

void gw_gateway_leave(struct gw_gateway *gw)
{
    if (gw->freed) {
        GW_ERROR("a request ended after the gateway was freed: fix the stop order in main.c");
        abort();
    }
    if (atomic_fetch_sub(&gw->inflight, 1) == 1) {
        pthread_mutex_lock(&gw->drain_lock);
        pthread_cond_broadcast(&gw->drain_cond);
        pthread_mutex_unlock(&gw->drain_lock);
    }
}

int64_t gw_gateway_drain(struct gw_gateway *gw, int64_t deadline_ms)
{
    /* Locking a destroyed mutex is undefined (glibc happens to allow it): a stop sequence that
     * drains after freeing is a bug, and every shutdown test would now end in this abort. */
    if (gw->freed) {
        GW_ERROR("gateway drained after it was freed: fix the stop order in main.c");
        abort();
    }
    pthread_mutex_lock(&gw->drain_lock);
    while (atomic_load(&gw->inflight) > 0 && gw_now_ms() < deadline_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&gw->drain_cond, &gw->drain_lock, &ts);
    }
    pthread_mutex_unlock(&gw->drain_lock);
    return atomic_load(&gw->inflight);
}
