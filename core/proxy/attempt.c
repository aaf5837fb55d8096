/*
 * attempt - one upstream call of a request through its target's plugin over the worker's
 * engine, and what follows its end: another step (AIGW_CONTINUE), a retry or a fallback to
 * the next target (only before the first byte reached the client, within the router's retry
 * budget and breakers), or the final outcome handed to deliver.
 */
#include "proxy/req_int.h"
#include "proxy/snapshot.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "front/render.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "plugin/errors.h"
#include "plugin/exchange.h"
#include "plugin/usage.h"
#include "proxy/cancel.h"
#include "proxy/driver.h"

/* A whole (not streamed) answer's first byte comes when the model has finished: a deadline
 * on it is a deadline on the generation, which timeouts.request_ms already is. A shorter one
 * cut every answer that took longer (a reasoning model's, a long one) and sent it again, so
 * the provider billed each attempt and the client got a 504. So whole answers have only
 * request_ms; a credential fetch, and a non-streamed request whose step streams, keep the
 * first-byte deadlines. */
static int whole_answer(const struct gw_req *r)
{
    const struct gw_call *c = r->call;
    return !r->parsed.stream && c && c->framing == AIGW_FRAMING_JSON && !c->credential_step;
}

/* The first-byte budget (timeouts.first_byte_total_ms) is the client's whole wait for its
 * answer to start, whatever the number of attempts: per-attempt deadlines alone let a stalled
 * upstream hold a client for first_byte_ms (or idle_ms) times every retry. It covers every
 * attempt, their backoff and a body that does not start after the headers; it ends once a
 * stream's first byte reached the client, or a plain answer's body began to arrive (cutting
 * a finished answer would waste it). Never a stream that already started; nor, with
 * stream.commit_ms, one whose upstream began: it commits when the budget runs out instead
 * (gw_deliver_commit_due, called ahead of each check here). */
static int fb_waiting(struct gw_req *r)
{
    if (!r->fb_deadline_ms || r->fb_spent)
        return 0;
    if (!r->parsed.stream && (r->fb_body || whole_answer(r)))
        return 0;
    return gw_relay_uncommitted(&r->relay);
}

static int fb_over(struct gw_req *r)
{
    return fb_waiting(r) && gw_now_ms() >= r->fb_deadline_ms;
}

/* The client's answer once the budget ran out: a 504 in its dialect's shape, not retried. */
static void fb_error(struct gw_req *r)
{
    struct gw_call *c = r->call;
    aigw_error_init(&c->error);
    c->has_error = 1;
    c->error_in_band = 0;
    c->error.status = 504;
    c->error.type = "timeout_error";
    c->error.code = "first_byte_total_timeout";
    c->error.message = "no upstream provider started an answer within the gateway's time "
                       "budget (timeouts.first_byte_total_ms)";
    c->error.retryable = 0;
    r->fb_spent = 1;
}

#define STREAM_RECV_BUFFER 2048L

/* The deadlines of each step: a stream (or anything not a plain JSON answer) has no total,
 * only connect, first-byte and idle deadlines, and heartbeats every tick. What is left of
 * the first-byte budget caps the connect and first-byte deadlines. */
static int limits(void *ud, struct gw_xfer_req *xr)
{
    struct gw_req *r = ud;
    const struct gw_config *cfg = &r->snap->cfg;
    const struct gw_call *c = r->call;
    xr->connect_timeout_ms = cfg->connect_timeout_ms;
    xr->first_byte_timeout_ms = cfg->first_byte_timeout_ms;
    xr->idle_timeout_ms = cfg->idle_timeout_ms;
    r->fb_body = 0;
    if (fb_waiting(r)) {
        int64_t left = r->fb_deadline_ms - gw_now_ms() - (xr->delay_ms > 0 ? xr->delay_ms : 0);
        if (left <= 0) {
            r->fb_spent = 1;
            return GW_XFER_ETIMEOUT_FIRST;
        }
        if (xr->connect_timeout_ms > left)
            xr->connect_timeout_ms = left;
        if (xr->first_byte_timeout_ms > left)
            xr->first_byte_timeout_ms = left;
    }
    xr->total_timeout_ms = r->parsed.stream ? 0 : cfg->request_timeout_ms;
    if (c->framing != AIGW_FRAMING_JSON && !c->credential_step) {
        xr->total_timeout_ms = 0;
        /* A stream's events come a few hundred bytes at a time, and its transfer may be held
         * for minutes: 2 KiB (not 16) of receive buffer per held stream. */
        xr->recv_buffer = STREAM_RECV_BUFFER;
    }
    if (whole_answer(r))
        xr->first_byte_timeout_ms = 0; /* request_ms bounds it (whole_answer says why) */
    if (xr->total_timeout_ms && r->total_deadline_ms) {
        /* What the attempts before this one left of the request's whole time. */
        int64_t left = r->total_deadline_ms - gw_now_ms() - (xr->delay_ms > 0 ? xr->delay_ms : 0);
        if (left <= 0)
            return GW_XFER_ETIMEOUT_TOTAL;
        if (xr->total_timeout_ms > left)
            xr->total_timeout_ms = left;
    }
    xr->idle_notify_ms = TICK_MS;
    /* The attempt span's trace context rides ahead of the plugin's own headers (never on a
     * credential fetch, which is not the model call). */
    if (r->aspan && !c->credential_step && gw_otel_traceparent(r->aspan, r->tp_value) == 0) {
        gw_otel_attempt_url(r->aspan, xr->url); /* the model call's host, not the token's */
        r->tp_header.name = (char *)"traceparent";
        r->tp_header.value = r->tp_value;
        r->tp_header.flags = 0;
        r->tp_header.next = c->headers;
        size_t tsl = 0;
        const char *ts = gw_otel_tracestate(r->aspan, &tsl);
        if (ts && tsl) {
            r->ts_header.name = (char *)"tracestate";
            r->ts_header.value = (char *)ts;
            r->ts_header.flags = 0;
            r->ts_header.next = c->headers;
            r->tp_header.next = &r->ts_header;
        }
        xr->headers = &r->tp_header;
    }
    return 0;
}

static const struct gw_driver_ops driver_ops;

static const char *operation_name(int op)
{
    switch (op) {
    case AIGW_OP_EMBEDDINGS:
        return "embeddings";
    case AIGW_OP_IMAGES:
        return "generate_content";
    default:
        return "chat";
    }
}

static double number_or_nan(const cJSON *body, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Message content, only when the operator asked for it (otel.capture_content): what the
 * internal (OpenAI chat) request holds, and the answer's text as an assistant message. The
 * span redacts and caps both. */
#define CAPTURE_MAX (1u << 20) /* otel.content_max_bytes' own limit */

static void capture_input(struct gw_req *r)
{
    gw_buf_free(&r->trace_out);
    gw_buf_init(&r->trace_out, CAPTURE_MAX);
    const cJSON *body = r->parsed.body, *m = cJSON_GetObjectItemCaseSensitive(body, "messages");
    if (!m) /* embeddings' input, images' prompt */
        m = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (!m)
        m = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    char *json = m ? cJSON_PrintUnformatted(m) : NULL;
    if (json)
        gw_otel_content(r->aspan, 0, json, strlen(json));
    free(json);
}

static void capture_output(struct gw_req *r, const char *finish)
{
    cJSON *arr = cJSON_CreateArray(), *msg = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, msg);
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "content", r->trace_out.ptr ? r->trace_out.ptr : "");
    if (finish)
        cJSON_AddStringToObject(msg, "finish_reason", finish);
    char *json = cJSON_PrintUnformatted(arr);
    if (json)
        gw_otel_content(r->aspan, 1, json, strlen(json));
    free(json);
    cJSON_Delete(arr);
}

/* The attempt's client span, and the traceparent its upstream request carries. */
static void trace_attempt_begin(struct gw_req *r, const struct gw_target *t)
{
    r->attempt_first_us = r->attempt_last_us = 0;
    r->resp_id[0] = r->resp_model[0] = '\0';
    r->finish = 0;
    if (!r->span)
        return;
    const cJSON *body = r->parsed.body;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(body, "max_tokens");
    if (!cJSON_IsNumber(mt))
        mt = cJSON_GetObjectItemCaseSensitive(body, "max_completion_tokens");
    struct gw_otel_attempt a = {
        .operation = r->parsed.legacy ? "text_completion" : operation_name(r->parsed.op),
        .provider = t->plugin->desc.vkey,
        .model = t->model,
        .url = r->call->credential_step ? NULL : r->call->url,
        .attempt = r->attempts,
        .stream = r->parsed.stream,
        .max_tokens = cJSON_IsNumber(mt) && mt->valuedouble >= 0 && mt->valuedouble < 1e15
                          ? (int64_t)mt->valuedouble
                          : -1,
        .temperature = number_or_nan(body, "temperature"),
        .top_p = number_or_nan(body, "top_p"),
    };
    r->aspan = gw_otel_attempt_begin(r->span, &a);
    if (gw_otel_capturing(r->aspan))
        capture_input(r);
}

/* The attempt's span ends with what its upstream said. Before a retry starts another. */
static void trace_attempt_end(struct gw_req *r, const char *outcome)
{
    const struct gw_target *t = &r->route.targets[r->target];
    const struct gw_call *c = r->call;
    int ok = !strcmp(outcome, "ok");
    if (ok && r->attempt_first_us && r->usage.completion_tokens > 0)
        gw_metrics_tpot_memo(gw_target_memo(t), t->plugin->desc.vkey, t->model, r->attempt_first_us,
                             r->attempt_last_us, r->usage.completion_tokens);
    if (!r->aspan)
        return;
    const char *fin = r->finish ? gw_finish_name(r->finish) : NULL;
    /* The answer's price: account prices it again at the end, the same way. */
    if (ok && r->have_usage)
        gw_account_cost(r);
    if (ok && gw_otel_capturing(r->aspan))
        capture_output(r, fin);
    struct gw_otel_attempt_end e = {
        .http_status = c ? c->status : 0,
        .failure_class = ok ? NULL : outcome,
        .response_model = r->resp_model[0] ? r->resp_model : NULL,
        .response_id = r->resp_id[0] ? r->resp_id : NULL,
        .finish_reasons = fin ? &fin : NULL,
        .nfinish = fin ? 1 : 0,
        .usage = ok && r->have_usage ? &r->usage : NULL,
        .cost_usd = ok && r->have_usage && r->cost_known ? r->cost : -1,
    };
    gw_otel_attempt_end(r->aspan, &e);
    r->aspan = NULL;
}

/* Another attempt answers afresh: what a failed one reported (a message_start's cache
 * writes, say) and what its renderer saw are not the answer the client gets, and the ledger
 * prices that answer alone. Usage merges field by field, so a target that leaves a field out
 * would otherwise keep the failed attempt's. Only while nothing went out: once a byte was
 * produced no other attempt follows (should_retry), and the renderer is the stream's. */
static int fresh_answer(struct gw_req *r)
{
    const struct gw_target *t = &r->route.targets[r->target];
    void *render = r->dialect->render_new(&r->parsed, t->model, r->request_id);
    if (!render)
        return AIGW_ENOMEM;
    void *old = render;
    pthread_mutex_lock(&r->relay.lock);
    if (!r->relay.committed) {
        old = r->render;
        r->render = render;
    }
    pthread_mutex_unlock(&r->relay.lock);
    r->dialect->render_free(old);
    if (old == render)
        return 0;
    /* Text the output guards held back (a card number still growing, a tool call held
     * whole) belongs to the failed answer as well: it must not go out ahead of this one. */
    int rc = gw_deliver_guard_fresh(r);
    if (rc < 0)
        return rc;
    gw_usage_init(&r->usage);
    r->have_usage = 0;
    r->sent_bytes = 0;
    r->cost_known = 0;
    return 0;
}

/* Starts attempt number r->attempts+1 on r->target. Returns 0 or negative (nothing started). */
int gw_attempt_start(struct gw_req *r, int64_t delay_ms)
{
    const struct gw_target *t = &r->route.targets[r->target];
    int rc = gw_admit_fit(r); /* before the last call is freed: its error may still answer */
    if (rc < 0)
        return rc;
    if (r->call) {
        gw_call_free(r->call);
    } else {
        r->call = malloc(sizeof *r->call);
        if (!r->call)
            return AIGW_ENOMEM;
    }
    if (!r->driver_ready) {
        /* One driver for the request's life: a cancel reaches every later attempt too. */
        gw_driver_init(&r->driver, r->call, gw_upstream_here(r->gw->upstream), &driver_ops, r);
        r->driver_ready = 1;
    }
    rc = gw_call_init(r->call, t->plugin, r->parsed.op, r->parsed.body, t->model, r->parsed.stream,
                      r->parsed.include_usage);
    if (rc < 0)
        return rc;
    r->call->pub.inbound = r->dialect->name;
    /* A request a guard rewrote goes as the guards left it: never the client's own body. */
    r->call->pub.inbound_body = r->guard_no_native ? NULL : r->parsed.native;
    if (r->attempts == 0 && r->snap->cfg.first_byte_total_ms > 0)
        r->fb_deadline_ms = gw_now_ms() + r->snap->cfg.first_byte_total_ms;
    if (r->attempts == 0 && !r->parsed.stream && r->snap->cfg.request_timeout_ms > 0)
        r->total_deadline_ms = gw_now_ms() + r->snap->cfg.request_timeout_ms;
    r->attempts++;
    r->attempt_ms = gw_now_ms() + delay_ms;
    r->begun_ms = 0; /* this attempt's stream has not begun */
    r->call->pub.attempt = r->attempts;
    r->call->request_id = r->request_id;
    r->call->sink = gw_deliver_chunk;
    r->call->sink_ud = r;
    rc = gw_exchange_begin(r->call);
    if (rc == 0 && r->attempts > 1)
        rc = fresh_answer(r);
    if (rc < 0)
        return rc;
    trace_attempt_begin(r, t);
    return gw_driver_send(&r->driver, delay_ms);
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

/* The wait before asking target next again. A target's own Retry-After (capped) holds for
 * it alone: one that asked for 20 s is not called back sooner because the others failed too,
 * and another target's is no reason to keep this one waiting. Without one, a target tried
 * again (the retries wrapped around) backs off; the next one in the list is asked at once. */
static int64_t backoff_delay(struct gw_req *r, const struct aigw_error *e, int next)
{
    const struct gw_router *rt = &r->snap->router;
    int64_t now = gw_now_ms();
    if (r->target < GW_ROUTE_MAX_TARGETS) /* its latest answer's word, or none */
        r->retry_at_ms[r->target] =
            e && e->retry_after_ms >= 0
                ? now + gw_route_backoff_ms(rt, r->attempts, e->retry_after_ms)
                : 0;
    if (next < GW_ROUTE_MAX_TARGETS && r->retry_at_ms[next])
        return r->retry_at_ms[next] > now ? r->retry_at_ms[next] - now : 0;
    return next <= r->target ? gw_route_backoff_ms(rt, r->attempts, -1) : 0;
}

_Static_assert(GW_ROUTE_MAX_TARGETS <= 32, "a request's targets fit gw_req.not_again's bits");

static int should_retry(struct gw_req *r, int rc)
{
    struct gw_call *c = r->call;
    if (r->guard_stop)
        return 0; /* a guardrail refused the answer: another target's would be judged alike */
    int retryable = (rc == 0 && c->has_error && c->error.retryable);
    /* An error event before anything reached the client is as good as a failed status:
     * another target may answer, unless the event names a client error (by its status, or
     * by its type when it has none: the status the client will get). */
    if (rc == 0 && c->has_error && c->error_in_band &&
        gw_status_retryable(gw_error_status(&c->error)))
        retryable = 1;
    /* x-should-retry: false (which the plugin may have made a not-retryable error) is about
     * asking this target again: another target may still answer what fails over by status.
     * on_done keeps this one out of the rest of the request. */
    if (rc == 0 && c->has_error && c->no_retry_here &&
        gw_status_retryable(gw_error_status(&c->error)))
        retryable = 1;
    if (!retryable || r->fb_spent || atomic_load(&r->gw->shutting_down))
        return 0;
    return gw_relay_uncommitted(&r->relay) && r->attempts < r->snap->router.max_attempts &&
           gw_route_retry_allowed(&r->snap->router);
}

/* The attempt ended without a complete answer: a job its steps started upstream (a
 * prediction) may still be running, billed, for nobody. The plugin says how to stop it. */
static void cancel_job(struct gw_req *r, const struct gw_target *t)
{
    const char *job = NULL;
    if (gw_exchange_cancel(r->call, &job) == 0)
        gw_cancel_send(gw_upstream_here(r->gw->upstream), t->plugin->desc.vkey, r->request_id, job,
                       r->call);
}

static void on_done(void *ud, int result, int rc)
{
    struct gw_req *r = ud;
    struct gw_call *c = r->call;
    /* The budget cut this attempt (a cancel, a refused body) or was what its capped deadline
     * ran into: the upstream is as late as a first-byte timeout says, for the router too. */
    if (r->fb_spent && (result == GW_XFER_ECANCELLED || result == GW_XFER_EABORT))
        result = GW_XFER_ETIMEOUT_FIRST;
    else if (result != GW_XFER_OK && result != GW_XFER_ECANCELLED && fb_over(r))
        r->fb_spent = 1;
    if (result == GW_XFER_EABORT && !c->has_error && r->driver.data_rc < 0) {
        /* The exchange refused the body (an event that is not JSON, a line past the framer's
         * cap): the upstream's protocol error, not a broken connection, and not retried. */
        result = GW_XFER_OK;
        rc = r->driver.data_rc;
    }
    if (result != GW_XFER_OK) {
        if (result == GW_XFER_EABORT && c->has_error) {
            /* An in-band error stopped the transfer: keep the plugin's error. */
        } else {
            transport_error(c, result);
        }
    }
    const struct gw_target *t = &r->route.targets[r->target];
    char outcome[48];
    int status; /* for the router: enum gw_route_outcome or the upstream's HTTP status */
    if (r->guard_stop) {
        /* A guardrail stopped the answer: the target did nothing wrong. */
        snprintf(outcome, sizeof outcome, "guardrail");
        status = GW_ROUTE_OK;
    } else if (rc < 0) {
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
    gw_account_tried(r, t->plugin->desc.vkey, outcome);
    trace_attempt_end(r, outcome);
    gw_metrics_attempt_memo(gw_target_memo(t), t->plugin->desc.vkey, outcome,
                            r->attempts > 1 && r->target == 0, r->target != 0);
    /* Streams: time to the first byte (their length is the prompt's doing, not the target's). */
    int64_t first = gw_relay_first_byte_ms(&r->relay);
    int64_t end = r->parsed.stream && first ? first : gw_now_ms();
    gw_route_report_status(&r->snap->router, t, status, end - r->attempt_ms);
    if (rc == 0 && c->has_error)
        gw_logf(AIGW_LOG_INFO, "aigw", r->request_id, "attempt %d on %s failed: %s", r->attempts,
                t->plugin->desc.vkey, c->error.message ? c->error.message : "error");
    if (rc == 0 && c->has_error && c->no_retry_here)
        r->not_again |= 1u << r->target;
    if (result != GW_XFER_OK || rc != 0 || c->has_error || r->guard_stop)
        cancel_job(r, t);
    if (should_retry(r, rc)) {
        /* The next target whose circuit breaker lets a call through; backing off only when
         * a target is tried again. None left: the last error is the answer. */
        int next = gw_route_next_but(&r->snap->router, &r->route, r->target, r->not_again);
        int claimed = next; /* its half-open probe, when it has one, is this request's */
        struct aigw_error saved = c->error;
        int64_t delay = next >= 0 ? backoff_delay(r, &c->error, next) : 0;
        if (next >= 0 && fb_waiting(r) && gw_now_ms() + delay >= r->fb_deadline_ms) {
            next = -1; /* the budget ends before the next attempt would start */
            r->fb_spent = 1;
        }
        if (next >= 0 && r->total_deadline_ms && gw_now_ms() + delay >= r->total_deadline_ms)
            next = -1; /* timeouts.request_ms would end it before it starts */
        if (next >= 0) {
            gw_metrics_retry_memo(gw_target_memo(t), t->plugin->desc.vkey, outcome,
                                  next != r->target);
            int prev = r->target;
            r->target = next;
            if (gw_attempt_start(r, delay) == 0)
                return;
            r->target = prev; /* the answer is this attempt's: its rows name its target */
        }
        /* Dropped (a deadline, the first-byte budget, the key's grant, a build that failed):
         * a probe nobody sends would keep the target waiting a whole lease. */
        if (claimed >= 0)
            gw_route_unclaim(&r->snap->router, &r->route.targets[claimed]);
        /* Could not start another attempt: report the last upstream error. */
        c = r->call;
        if (c) {
            c->has_error = 1;
            c->error = saved;
        }
    }
    if (r->fb_spent && r->call)
        fb_error(r);
    gw_deliver_finish(r, rc);
    gw_req_unref(r); /* the upstream side is done */
}

/* Back-pressure and a client that left, before the plugin sees more of the body. */
static int gate(void *ud)
{
    struct gw_req *r = ud;
    if (r->gfetch)
        return 1; /* a guard's call is out: the answer waits (the call's end unpauses) */
    int g = gw_relay_gate(&r->relay);
    if (g != 0 || r->call->credential_step)
        return g;
    gw_deliver_commit_due(r); /* a begun stream commits rather than run out of budget */
    if (fb_over(r)) {
        r->fb_spent = 1;
        return -1;
    }
    r->fb_body = 1;
    return 0;
}

static int beat(void *ud, struct gw_buf *out)
{
    struct gw_req *r = ud;
    return r->dialect->render_heartbeat(r->render, out);
}

static void on_idle(void *ud)
{
    struct gw_req *r = ud;
    gw_deliver_commit_due(r); /* before the budget: a begun stream commits instead */
    if (fb_over(r)) { /* headers came, the answer does not: the budget ends the wait */
        r->fb_spent = 1;
        gw_driver_cancel(&r->driver);
        return;
    }
    int64_t hb = r->parsed.stream ? r->snap->cfg.heartbeat_ms : 0;
    if (gw_relay_tick(&r->relay, hb, beat, r))
        gw_driver_cancel(&r->driver);
}

static void after_data(void *ud)
{
    gw_deliver_commit_due(ud); /* events that render nothing, faster than the idle tick */
    gw_deliver_release_request(ud);
}

static const struct gw_driver_ops driver_ops = {
    .limits = limits,
    .gate = gate,
    .idle = on_idle,
    .after_data = after_data,
    .done = on_done,
};
