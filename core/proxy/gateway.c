/* gateway - one client request, end to end (see gateway.h). */
#include "proxy/gateway.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "proxy/call.h"
#include "catalog/catalog.h"
#include "catalog/cost.h"
#include "proxy/errors.h"
#include "proxy/exchange.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "net/relay.h"
#include "front/respond.h"
#include "front/dialect.h"
#include "proxy/usage.h"
#include "net/upstream.h"

#define TICK_MS 250
#define TRIED_MAX 512

struct gw_req {
    struct gw_gateway *gw;
    struct MHD_Connection *conn;
    atomic_int refs;
    const struct gw_dialect *dialect;
    char method[8];
    char path[128];
    char request_id[129];
    char x_provider[65];
    struct gw_buf body;
    int too_big;
    int started;

    struct gw_parsed parsed;
    struct gw_route_result route;
    int target;   /* index into route.targets */
    int attempts; /* upstream attempts made */
    struct gw_call *call;
    struct gw_xfer *xfer; /* guarded by relay.lock */
    void *render; /* the dialect's renderer */
    struct aigw_usage usage;
    int have_usage;
    struct gw_relay relay;

    /* Guarded by relay.lock. */
    int committed;  /* stream bytes produced: no more retries, status 200 */
    int queued;     /* a response was queued with MHD */
    int status;
    int client_gone;
    int64_t retry_after_ms;
    int stream_held; /* counted in aigw_streams_active */

    int64_t start_ms;
    int64_t attempt_ms;
    int64_t first_byte_ms;
    char tried[TRIED_MAX];
    size_t tried_len;
    double cost;
    int cost_known;
};

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lifetime ------------------------------------------------------------------------ */

static void req_free(struct gw_req *r)
{
    struct gw_gateway *gw = r->gw;
    if (r->stream_held)
        gw_metrics_streams(-1);
    gw_metrics_active(-1);
    if (r->call) {
        gw_call_free(r->call);
        free(r->call);
    }
    gw_parsed_free(&r->parsed);
    if (r->render)
        r->dialect->render_free(r->render);
    gw_relay_free(&r->relay);
    gw_buf_free(&r->body);
    free(r);
    gw_gateway_leave(gw);
}

static void req_unref(struct gw_req *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        req_free(r);
}

struct gw_req *gw_req_new(struct gw_gateway *gw, struct MHD_Connection *conn,
                          const struct gw_dialect *dialect,
                          const char *method, const char *path, const char *request_id,
                          const char *x_provider)
{
    struct gw_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->gw = gw;
    r->conn = conn;
    atomic_init(&r->refs, 1); /* the MHD side; the upstream side takes one when it starts */
    r->dialect = dialect;
    r->parsed.dialect = dialect;
    gw_strlcpy(r->method, method, sizeof r->method);
    gw_strlcpy(r->path, path, sizeof r->path);
    gw_strlcpy(r->request_id, request_id, sizeof r->request_id);
    if (x_provider)
        gw_strlcpy(r->x_provider, x_provider, sizeof r->x_provider);
    gw_buf_init(&r->body, (size_t)gw->cfg->max_body_bytes);
    gw_relay_init(&r->relay, conn, (size_t)gw->cfg->stream_buffer_bytes);
    r->start_ms = gw_now_ms();
    r->retry_after_ms = -1;
    gw_usage_init(&r->usage);
    gw_gateway_enter(gw);
    gw_metrics_active(1);
    return r;
}

int gw_req_body(struct gw_req *r, const char *p, size_t n)
{
    if (r->too_big)
        return AIGW_ETOOBIG;
    int rc = gw_buf_append(&r->body, p, n);
    if (rc == AIGW_ETOOBIG) {
        r->too_big = 1;
        gw_buf_free(&r->body); /* nothing more is kept once the cap is hit */
    }
    return rc;
}

/* ---- the access log line of a routed request ------------------------------------------- */

static void tried_add(struct gw_req *r, const char *vkey, const char *outcome)
{
    /* "vkey:outcome", comma-separated; an entry that does not fit whole is left out. */
    size_t lv = strlen(vkey), lo = strlen(outcome), sep = r->tried_len ? 1 : 0;
    size_t need = sep + lv + 1 + lo;
    if (need >= sizeof r->tried - r->tried_len)
        return;
    char *p = r->tried + r->tried_len;
    if (sep)
        *p++ = ',';
    memcpy(p, vkey, lv);
    p[lv] = ':';
    memcpy(p + lv + 1, outcome, lo + 1);
    r->tried_len += need;
}

static void request_metrics(struct gw_req *r, int status)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const char *vkey = t ? t->plugin->desc.vkey : NULL;
    const char *model = t ? t->model : r->parsed.model;
    if (t && r->have_usage)
        gw_metrics_usage(vkey, model, &r->usage, r->cost_known ? r->cost : -1);
    int64_t now = gw_now_ms();
    gw_metrics_request(r->path, vkey, model, status, r->parsed.stream, now - r->start_ms,
                       r->first_byte_ms ? r->first_byte_ms - r->start_ms : -1);
}

static void access_log(struct gw_req *r, int status, const char *error_type)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const struct aigw_usage *u = &r->usage;
    if (!gw_log_access_on())
        return;
    struct gw_buf b;
    gw_buf_init(&b, 16384);
    gw_log_json_open(&b, r->request_id);
    gw_log_json_field(&b, "method", r->method);
    gw_log_json_field(&b, "path", r->path);
    gw_buf_printf(&b, ",\"status\":%d", status);
    gw_log_json_field(&b, "provider", t ? t->plugin->desc.vkey : NULL);
    gw_log_json_field(&b, "model", t ? t->model : (r->parsed.model ? r->parsed.model : NULL));
    gw_buf_printf(&b, ",\"stream\":%s,\"attempts\":%d", r->parsed.stream ? "true" : "false",
                  r->attempts);
    gw_log_json_field(&b, "tried", r->tried_len ? r->tried : NULL);
    if (r->route.label[0])
        gw_log_json_field(&b, "route_label", r->route.label);
    gw_buf_printf(&b, ",\"latency_ms\":%" PRId64, gw_now_ms() - r->start_ms);
    if (r->first_byte_ms)
        gw_buf_printf(&b, ",\"ttfb_ms\":%" PRId64, r->first_byte_ms - r->start_ms);
    else
        gw_buf_append_str(&b, ",\"ttfb_ms\":null");
    if (u->prompt_tokens >= 0)
        gw_buf_printf(&b, ",\"prompt_tokens\":%" PRId64, u->prompt_tokens);
    else
        gw_buf_append_str(&b, ",\"prompt_tokens\":null");
    if (u->completion_tokens >= 0)
        gw_buf_printf(&b, ",\"completion_tokens\":%" PRId64, u->completion_tokens);
    else
        gw_buf_append_str(&b, ",\"completion_tokens\":null");
    if (u->cached_tokens >= 0)
        gw_buf_printf(&b, ",\"cached_tokens\":%" PRId64, u->cached_tokens);
    if (u->reasoning_tokens >= 0)
        gw_buf_printf(&b, ",\"reasoning_tokens\":%" PRId64, u->reasoning_tokens);
    if (r->cost_known)
        gw_buf_printf(&b, ",\"cost_usd\":%.8f", r->cost);
    else
        gw_buf_append_str(&b, ",\"cost_usd\":null");
    if (error_type)
        gw_log_json_field(&b, "error", error_type);
    gw_buf_append_str(&b, "}");
    if (b.ptr)
        gw_log_access(b.ptr, b.len);
    gw_buf_free(&b);
}

static void compute_cost(struct gw_req *r)
{
    r->cost_known = 0;
    if (!r->route.n || !r->gw->catalog || !r->have_usage)
        return;
    const struct gw_target *t = &r->route.targets[r->target];
    const struct gw_model *m = gw_catalog_find(r->gw->catalog, t->plugin->desc.vkey, t->model);
    double usd = 0;
    if (m && gw_cost_usd(m, &r->usage, &usd) == 0) {
        r->cost = usd;
        r->cost_known = 1;
    }
}

/* ---- attempts ----------------------------------------------------------------------- */

static const struct gw_xfer_ops xfer_ops;

static int sink(void *ud, const struct aigw_chunk *chunk)
{
    struct gw_req *r = ud;
    pthread_mutex_lock(&r->relay.lock);
    size_t before = r->relay.out.len;
    if (chunk->type == AIGW_CHUNK_USAGE && chunk->usage) {
        gw_usage_merge(&r->usage, chunk->usage);
        r->have_usage = 1;
    }
    int rc = r->dialect->render_chunk(r->render, chunk, &r->relay.out);
    if (r->relay.out.len > before) {
        if (!r->committed) {
            r->committed = 1;
            r->first_byte_ms = gw_now_ms();
        }
        r->relay.last_push_ms = gw_now_ms();
        gw_relay_wake_locked(&r->relay);
    }
    pthread_mutex_unlock(&r->relay.lock);
    return rc;
}

/* Sends the call's current request. Caller holds no lock. */
static int send_step(struct gw_req *r, int64_t delay_ms)
{
    struct gw_call *c = r->call;
    const struct gw_config *cfg = r->gw->cfg;
    struct gw_xfer_req xr = {
        .method = c->method,
        .url = c->url,
        .headers = c->headers,
        .body = c->body,
        .body_len = c->body_len,
        .delay_ms = delay_ms + c->delay_ms,
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .first_byte_timeout_ms = cfg->first_byte_timeout_ms,
        .idle_timeout_ms = cfg->idle_timeout_ms,
        .total_timeout_ms = r->parsed.stream ? 0 : cfg->request_timeout_ms,
        .idle_notify_ms = TICK_MS,
    };
    if (c->framing != AIGW_FRAMING_JSON && !c->credential_step)
        xr.total_timeout_ms = 0;
    struct gw_xfer *x = NULL;
    /* Locked from before the start: a fast upstream can finish the transfer (on_done takes
     * this lock) before r->xfer is set, and that reference would never be dropped. */
    pthread_mutex_lock(&r->relay.lock);
    int rc = gw_upstream_start(gw_upstream_here(r->gw->upstream), &xr, &xfer_ops, r, &x);
    if (rc < 0) {
        pthread_mutex_unlock(&r->relay.lock);
        return rc;
    }
    struct gw_xfer *old = r->xfer;
    r->xfer = x;
    int gone = r->client_gone;
    pthread_mutex_unlock(&r->relay.lock);
    gw_xfer_unref(old);
    if (gone)
        gw_upstream_cancel(r->gw->upstream, x);
    return 0;
}

/* Starts attempt number r->attempts+1 on r->target. Returns 0 or negative (nothing started). */
static int start_attempt(struct gw_req *r, int64_t delay_ms)
{
    const struct gw_target *t = &r->route.targets[r->target];
    if (r->call) {
        gw_call_free(r->call);
    } else {
        r->call = malloc(sizeof *r->call);
        if (!r->call)
            return AIGW_ENOMEM;
    }
    int rc = gw_call_init(r->call, t->plugin, r->parsed.op, r->parsed.body, t->model,
                          r->parsed.stream, r->parsed.include_usage);
    if (rc < 0)
        return rc;
    r->call->pub.inbound = r->dialect->name;
    r->call->pub.inbound_body = r->parsed.native;
    r->attempts++;
    r->attempt_ms = gw_now_ms() + delay_ms;
    r->call->pub.attempt = r->attempts;
    r->call->request_id = r->request_id;
    r->call->sink = sink;
    r->call->sink_ud = r;
    rc = gw_exchange_begin(r->call);
    if (rc < 0)
        return rc;
    return send_step(r, delay_ms);
}

static void transport_error(struct gw_call *c, int result)
{
    aigw_error_init(&c->error);
    c->has_error = 1;
    c->error.retryable = 1;
    switch (result) {
    case GW_XFER_ETIMEOUT_CONNECT:
    case GW_XFER_ETIMEOUT_FIRST:
    case GW_XFER_ETIMEOUT_IDLE:
    case GW_XFER_ETIMEOUT_TOTAL:
        c->error.status = 504;
        c->error.type = "timeout_error";
        c->error.code = gw_xfer_result_name(result);
        c->error.message = result == GW_XFER_ETIMEOUT_IDLE
                               ? "the upstream provider stopped sending data (idle timeout)"
                               : "the upstream provider did not answer in time";
        break;
    case GW_XFER_ECANCELLED:
        c->error.status = 503;
        c->error.type = "service_unavailable_error";
        c->error.code = "cancelled";
        c->error.message = "the request was cancelled (client gone or gateway shutting down)";
        c->error.retryable = 0;
        break;
    default:
        c->error.status = 502;
        c->error.type = "upstream_error";
        c->error.code = gw_xfer_result_name(result);
        c->error.message = result == GW_XFER_ECONNECT
                               ? "the gateway could not connect to the upstream provider"
                               : "the connection to the upstream provider broke";
        break;
    }
}

static int64_t backoff_delay(struct gw_req *r, const struct aigw_error *e)
{
    return gw_route_backoff_ms(&r->gw->router, r->attempts, e ? e->retry_after_ms : -1);
}

/* The final outcome into the relay: the dialect's ending, its in-stream error after the first
 * byte, or its error document. Relay lock held. */
static int render_outcome(struct gw_req *r, int rc, size_t bytes_sent, int *status)
{
    struct gw_call *c = r->call;
    struct aigw_error err;
    aigw_error_init(&err);
    int failed = 0;
    if (rc < 0 && c && c->has_error) {
        err = c->error; /* the plugin explained its refusal (host->fail) */
        failed = 1;
    } else if (rc < 0) {
        err.status = gw_status_for_code(rc);
        err.type = gw_error_type_for_status(err.status);
        err.message = gw_message_for_code(rc);
        err.code = rc == AIGW_ENOTSUP ? "unsupported" : NULL;
        failed = 1;
    } else if (c && c->has_error) {
        err = c->error;
        failed = 1;
    }
    struct gw_buf *out = &r->relay.out;
    if (!failed) {
        *status = 200;
        return r->dialect->render_end(r->render, out);
    }
    if (r->parsed.stream && bytes_sent > 0) {
        *status = 200;
        return r->dialect->render_stream_error(r->render, &err, out);
    }
    *status = gw_error_status(&err);
    return gw_error_document(r->dialect->error_body, out, *status, err.type, err.code,
                             err.param, err.message);
}

/* Completes the client response with the final outcome. From an engine callback or an MHD
 * callback. */
static void finalize(struct gw_req *r, int rc)
{
    compute_cost(r);
    pthread_mutex_lock(&r->relay.lock);
    int status = 200;
    size_t sent = (size_t)r->relay.total_out;
    if (r->call && r->call->has_error && r->call->error.retry_after_ms >= 0)
        r->retry_after_ms = r->call->error.retry_after_ms;
    render_outcome(r, rc, sent + r->relay.out.len, &status);
    if (!r->committed)
        r->status = status;
    r->relay.finished = 1;
    gw_relay_wake_locked(&r->relay);
    int final_status = r->committed ? 200 : r->status;
    pthread_mutex_unlock(&r->relay.lock);
    const char *etype = NULL;
    if (rc < 0)
        etype = gw_error_type_for_status(gw_status_for_code(rc));
    else if (r->call && r->call->has_error)
        etype = r->call->error.type;
    request_metrics(r, final_status);
    access_log(r, final_status, etype);
}

static int should_retry(struct gw_req *r, int rc)
{
    struct gw_call *c = r->call;
    int retryable = (rc == 0 && c->has_error && c->error.retryable);
    /* An error event before anything reached the client is as good as a failed status:
     * another target may answer, unless the event names a client error. */
    if (rc == 0 && c->has_error && c->error_in_band &&
        (c->error.status == 0 || gw_status_retryable(c->error.status)))
        retryable = 1;
    if (!retryable || atomic_load(&r->gw->shutting_down))
        return 0;
    pthread_mutex_lock(&r->relay.lock);
    int ok = !r->committed && !r->client_gone;
    pthread_mutex_unlock(&r->relay.lock);
    return ok && r->attempts < r->gw->router.max_attempts &&
           gw_route_retry_allowed(&r->gw->router);
}

static void on_done(void *ud, int result)
{
    struct gw_req *r = ud;
    struct gw_call *c = r->call;
    int rc = 0;
    if (result == GW_XFER_OK) {
        rc = gw_exchange_end(c);
        if (rc == AIGW_CONTINUE) {
            rc = send_step(r, 0);
            if (rc == 0)
                return;
        }
    } else {
        if (result == GW_XFER_EABORT && c->has_error) {
            /* An in-band error stopped the transfer: keep the plugin's error. */
        } else {
            transport_error(c, result);
        }
    }
    const struct gw_target *t = &r->route.targets[r->target];
    char outcome[48];
    int status; /* for the router: enum gw_route_outcome or the upstream's HTTP status */
    if (rc < 0) {
        snprintf(outcome, sizeof outcome, "protocol_error");
        status = GW_ROUTE_EPROTO;
    } else if (c->has_error) {
        /* The log says why: the HTTP status, the transport failure, or an error event. */
        if (result == GW_XFER_ECANCELLED) {
            status = GW_ROUTE_CANCELLED;
            snprintf(outcome, sizeof outcome, "%s", gw_xfer_result_name(result));
        } else if (result != GW_XFER_OK && !(result == GW_XFER_EABORT && c->error_in_band)) {
            status = GW_ROUTE_ETRANSPORT;
            snprintf(outcome, sizeof outcome, "%s", gw_xfer_result_name(result));
        } else if (c->error_in_band) {
            status = c->error.status >= 400 ? c->error.status : GW_ROUTE_EPROTO;
            snprintf(outcome, sizeof outcome, "error_event");
        } else {
            status = c->error.status >= 400 ? c->error.status : GW_ROUTE_EPROTO;
            snprintf(outcome, sizeof outcome, "%d", c->error.status ? c->error.status : 502);
        }
    } else {
        snprintf(outcome, sizeof outcome, "ok");
        status = GW_ROUTE_OK;
    }
    tried_add(r, t->plugin->desc.vkey, outcome);
    gw_metrics_attempt(t->plugin->desc.vkey, outcome, r->attempts > 1 && r->target == 0,
                       r->target != 0);
    /* Streams: time to the first byte (their length is the prompt's doing, not the target's). */
    pthread_mutex_lock(&r->relay.lock);
    int64_t end = r->parsed.stream && r->first_byte_ms ? r->first_byte_ms : gw_now_ms();
    pthread_mutex_unlock(&r->relay.lock);
    gw_route_report_status(&r->gw->router, t, status, end - r->attempt_ms);
    if (rc == 0 && c->has_error)
        gw_logf(AIGW_LOG_INFO, "aigw", r->request_id, "attempt %d on %s failed: %s", r->attempts,
                t->plugin->desc.vkey, c->error.message ? c->error.message : "error");
    if (should_retry(r, rc)) {
        /* The next target whose circuit breaker lets a call through; backing off only when
         * a target is tried again. None left: the last error is the answer. */
        int next = gw_route_next(&r->gw->router, &r->route, r->target);
        struct aigw_error saved = c->error;
        if (next >= 0) {
            int64_t delay = next <= r->target ? backoff_delay(r, &c->error) : 0;
            gw_metrics_retry(t->plugin->desc.vkey, outcome, next != r->target);
            r->target = next;
            if (start_attempt(r, delay) == 0)
                return;
        }
        /* Could not start another attempt: report the last upstream error. */
        c = r->call;
        if (c) {
            c->has_error = 1;
            c->error = saved;
        }
    }
    finalize(r, rc);
    pthread_mutex_lock(&r->relay.lock);
    struct gw_xfer *x = r->xfer;
    r->xfer = NULL;
    pthread_mutex_unlock(&r->relay.lock);
    gw_xfer_unref(x);
    req_unref(r); /* the upstream side is done */
}

static int on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct gw_req *r = ud;
    return gw_call_add_resp_header(r->call, name, nlen, value, vlen);
}

static int on_status(void *ud, int status)
{
    struct gw_req *r = ud;
    return gw_exchange_headers(r->call, status);
}

static int on_data(void *ud, const char *p, size_t n)
{
    struct gw_req *r = ud;
    pthread_mutex_lock(&r->relay.lock);
    if (r->client_gone) {
        pthread_mutex_unlock(&r->relay.lock);
        return -1;
    }
    if (gw_relay_full_locked(&r->relay)) {
        r->relay.producer_paused = 1;
        pthread_mutex_unlock(&r->relay.lock);
        return 1;
    }
    pthread_mutex_unlock(&r->relay.lock);
    int rc = gw_exchange_data(r->call, p, n);
    if (rc < 0)
        return rc;
    /* An in-band error or the provider's end marker: stop reading. */
    if (r->call->has_error || r->call->done)
        return r->call->has_error ? -1 : 0;
    return 0;
}

static void on_idle(void *ud)
{
    struct gw_req *r = ud;
    int cancel = 0;
    pthread_mutex_lock(&r->relay.lock);
    if (!r->client_gone && gw_relay_client_closed_locked(&r->relay)) {
        r->client_gone = 1;
        r->relay.failed = 1;
        gw_relay_wake_locked(&r->relay);
        cancel = 1;
    } else if (r->committed && r->parsed.stream && r->gw->cfg->heartbeat_ms > 0 &&
               gw_now_ms() - r->relay.last_push_ms >= r->gw->cfg->heartbeat_ms) {
        /* A comment line keeps proxies and clients from timing out a quiet stream, and the
         * write lets us notice a client that left. */
        r->dialect->render_heartbeat(r->render, &r->relay.out);
        r->relay.last_push_ms = gw_now_ms();
        gw_relay_wake_locked(&r->relay);
    }
    struct gw_xfer *x = cancel ? r->xfer : NULL;
    if (x)
        gw_upstream_cancel(r->gw->upstream, x);
    pthread_mutex_unlock(&r->relay.lock);
}

static const struct gw_xfer_ops xfer_ops = {
    .on_header = on_header,
    .on_status = on_status,
    .on_data = on_data,
    .on_idle = on_idle,
    .on_done = on_done,
};

/* ---- the MHD side ----------------------------------------------------------------------- */

static ssize_t content_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct gw_req *r = cls;
    int unpause = 0;
    ssize_t n = gw_relay_read(&r->relay, buf, max, &unpause);
    if (unpause) {
        pthread_mutex_lock(&r->relay.lock);
        if (r->xfer)
            gw_upstream_unpause(r->gw->upstream, r->xfer);
        pthread_mutex_unlock(&r->relay.lock);
    }
    if (n == -1)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == -2)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void add_gateway_headers(struct gw_req *r, struct MHD_Response *resp)
{
    char v[64];
    gw_add_common_headers(resp, r->request_id);
    if (r->route.n) {
        const struct gw_target *t = &r->route.targets[r->target];
        MHD_add_response_header(resp, "X-Gateway-Provider", t->plugin->desc.vkey);
        MHD_add_response_header(resp, "X-Gateway-Model", t->model);
        gw_fmt_i64(v, sizeof v, r->attempts);
        MHD_add_response_header(resp, "X-Gateway-Attempts", v);
    }
    if (r->parsed.dropped_tools[0])
        MHD_add_response_header(resp, "X-Gateway-Dropped-Tools", r->parsed.dropped_tools);
}

/* Queues the response once the outcome (or the first stream byte) is known. Lock held. */
static enum MHD_Result queue_locked(struct gw_req *r)
{
    struct MHD_Response *resp;
    int status = 200;
    int stream = r->committed && r->parsed.stream;
    /* A stream that ended before its headers went out (a fast or local upstream) is sent as
     * one body with a length: MHD writes headers and a buffer together, where a chunked
     * callback response costs three sends (headers, data, the last chunk), each waking the
     * client. SSE needs no chunking. */
    int whole = stream && r->relay.finished && !r->relay.failed;
    if (stream && !whole) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, content_reader, r,
                                                 NULL);
        if (!resp)
            return MHD_NO;
        if (!r->stream_held) {
            r->stream_held = 1;
            gw_metrics_streams(1);
        }
    } else {
        resp = MHD_create_response_from_buffer(r->relay.out.len,
                                               r->relay.out.ptr ? r->relay.out.ptr : (char *)"",
                                               MHD_RESPMEM_MUST_COPY);
        if (!resp)
            return MHD_NO;
        r->relay.total_out += (int64_t)r->relay.out.len;
        gw_buf_reset(&r->relay.out);
    }
    if (stream) {
        MHD_add_response_header(resp, "Content-Type", "text/event-stream");
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    } else {
        MHD_add_response_header(resp, "Content-Type", "application/json");
        status = r->status ? r->status : 500;
        if (status == 200 && r->cost_known) {
            char v[64];
            snprintf(v, sizeof v, "%.8f", r->cost);
            MHD_add_response_header(resp, "X-Gateway-Cost", v);
        }
        if (status == 429 || status == 503) {
            char v[32];
            int64_t s = r->retry_after_ms >= 0 ? (r->retry_after_ms + 999) / 1000 : 1;
            snprintf(v, sizeof v, "%" PRId64, s > 0 ? s : 1);
            MHD_add_response_header(resp, "Retry-After", v);
        }
    }
    add_gateway_headers(r, resp);
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    return rc;
}

static enum MHD_Result fail_now(struct gw_req *r, int status, const char *type, const char *code,
                                const char *param, const char *message)
{
    r->started = 1;
    pthread_mutex_lock(&r->relay.lock);
    r->queued = 1;
    pthread_mutex_unlock(&r->relay.lock);
    request_metrics(r, status);
    access_log(r, status, type ? type : gw_error_type_for_status(status));
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_error_document(r->dialect->error_body, &b, status, type, code, param, message);
    enum MHD_Result rc = gw_respond_json(r->conn, status, b.ptr ? b.ptr : "{}", b.len,
                                         r->request_id);
    gw_buf_free(&b);
    return rc;
}

static const char *request_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static enum MHD_Result start(struct gw_req *r)
{
    r->started = 1;
    if (r->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %lld bytes",
                 (long long)r->gw->cfg->max_body_bytes);
        return fail_now(r, 413, "invalid_request_error", "request_too_large", NULL, msg);
    }
    struct gw_front_err ferr;
    memset(&ferr, 0, sizeof ferr);
    const char *q = strchr(r->path, '?');
    struct gw_inbound in = {
        .body = r->body.ptr ? r->body.ptr : "",
        .len = r->body.len,
        .path = r->path,
        .query = q ? q + 1 : NULL,
        .header = request_header,
        .header_ud = r->conn,
    };
    if (r->dialect->parse(&in, &r->parsed, &ferr) < 0)
        return fail_now(r, ferr.status ? ferr.status : 400, ferr.type, ferr.code, ferr.param,
                        ferr.message);
    struct gw_request_err err;
    gw_buf_free(&r->body); /* parsed: the raw bytes are not needed any more */
    struct gw_route_ctx rctx = {
        .op = r->parsed.op,
        .model = r->parsed.model,
        .x_provider = r->x_provider[0] ? r->x_provider : NULL,
        .body = r->parsed.body,
        .header = request_header,
        .header_ud = r->conn,
    };
    gw_route_note_request(&r->gw->router);
    if (gw_route(&r->gw->router, &rctx, &r->route, &err) < 0)
        return fail_now(r, err.status, NULL, err.code, err.param, err.message);
    r->render = r->dialect->render_new(&r->parsed, r->route.targets[0].model, r->request_id);
    if (!r->render)
        return fail_now(r, 500, NULL, NULL, NULL, "out of memory");
    atomic_fetch_add(&r->refs, 1); /* the upstream side */
    int rc = start_attempt(r, 0);
    if (rc < 0) {
        /* Nothing was sent: the plugin refused to build (bad input for this provider) or we
         * are out of memory. */
        const struct gw_target *t = &r->route.targets[r->target];
        tried_add(r, t->plugin->desc.vkey, "build_failed");
        finalize(r, rc);
        atomic_fetch_sub(&r->refs, 1);
    }
    return MHD_YES;
}

enum MHD_Result gw_req_run(struct gw_req *r)
{
    if (!r->started) {
        enum MHD_Result rc = start(r);
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
    } else if (r->client_gone) {
        rc = MHD_NO;
    } else if (r->relay.finished || (r->committed && r->parsed.stream)) {
        rc = queue_locked(r);
    } else {
        gw_relay_sleep_locked(&r->relay);
    }
    pthread_mutex_unlock(&r->relay.lock);
    return rc;
}

void gw_req_completed(struct gw_req *r, int client_aborted)
{
    pthread_mutex_lock(&r->relay.lock);
    if (!r->relay.finished || client_aborted) {
        r->client_gone = 1;
        r->relay.failed = 1;
    }
    if (r->xfer && !r->relay.finished)
        gw_upstream_cancel(r->gw->upstream, r->xfer);
    /* MHD is done with the connection: never touch it again. */
    r->relay.conn = NULL;
    r->relay.suspended = 0;
    pthread_mutex_unlock(&r->relay.lock);
    req_unref(r);
}

/* ---- the gateway object ------------------------------------------------------------------ */

int gw_gateway_init(struct gw_gateway *gw, struct gw_config *cfg, struct gw_plugins *ps,
                    struct gw_catalog *cat, char *err, size_t errsize)
{
    memset(gw, 0, sizeof *gw);
    gw->cfg = cfg;
    gw->plugins = ps;
    gw->catalog = cat;
    gw->started_unix = (int64_t)time(NULL);
    atomic_init(&gw->inflight, 0);
    atomic_init(&gw->shutting_down, 0);
    pthread_mutex_init(&gw->drain_lock, NULL);
    pthread_cond_init(&gw->drain_cond, NULL);
    int rc = gw_router_init(&gw->router, cfg->routing, ps, cat, err, errsize);
    if (rc < 0)
        return rc;
    rc = gw_upstream_init(&gw->upstream);
    if (rc < 0)
        snprintf(err, errsize, "cannot start the shared upstream engine");
    return rc;
}

void gw_gateway_free(struct gw_gateway *gw)
{
    gw_upstream_free(gw->upstream);
    gw->upstream = NULL;
    gw_router_free(&gw->router);
    pthread_mutex_destroy(&gw->drain_lock);
    pthread_cond_destroy(&gw->drain_cond);
}

void gw_gateway_enter(struct gw_gateway *gw)
{
    atomic_fetch_add(&gw->inflight, 1);
}

void gw_gateway_leave(struct gw_gateway *gw)
{
    if (atomic_fetch_sub(&gw->inflight, 1) == 1) {
        pthread_mutex_lock(&gw->drain_lock);
        pthread_cond_broadcast(&gw->drain_cond);
        pthread_mutex_unlock(&gw->drain_lock);
    }
}

int64_t gw_gateway_drain(struct gw_gateway *gw, int64_t deadline_ms)
{
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
