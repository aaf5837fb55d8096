/*
 * deliver - the relay phase: normalized chunks through the dialect's renderer into the
 * request's relay, the response queued on the client's connection once its status is known
 * (a stream at its first byte, anything else at its end), the final outcome rendered in the
 * dialect's shape, and errors answered before anything was sent.
 */
#include "proxy/req_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/cost.h"
#include "front/respond.h"
#include "obs/metrics.h"
#include "plugin/errors.h"
#include "plugin/usage.h"
#include "proxy/snapshot.h"

struct chunk_write {
    struct gw_req *r;
    const struct aigw_chunk *chunk;
};

void gw_log_keep_sent(struct gw_req *r, const struct gw_buf *out, size_t before)
{
    if (!r->log_bodies || out->len <= before || r->log_resp.len >= GW_LOG_BODY_TAKE)
        return;
    size_t n = out->len - before, room = GW_LOG_BODY_TAKE - r->log_resp.len;
    gw_buf_append(&r->log_resp, out->ptr + before, n < room ? n : room);
}

/* One upstream event, rendered, must fit in one relay write (net/relay.h). */
_Static_assert(GW_RELAY_WRITE_MAX >= 2 * GW_FRAMER_DEFAULT_CAP,
               "a relay write holds an upstream event rendered in any dialect");

/* The answer's own bytes in a chunk: what the provider bills as output when it is cut short. */
static size_t content_bytes(const struct aigw_chunk *c)
{
    switch (c->type) {
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REASONING:
    case AIGW_CHUNK_REFUSAL:
        return c->text.len;
    case AIGW_CHUNK_TOOL_CALL:
        return c->name.len + c->text.len;
    default:
        return 0;
    }
}

static int write_chunk(void *ud, struct gw_buf *out)
{
    struct chunk_write *w = ud;
    size_t before = out->len;
    int rc = w->r->dialect->render_chunk(w->r->render, w->chunk, out);
    if (rc < 0)
        return rc; /* the relay takes back what it appended */
    gw_log_keep_sent(w->r, out, before);
    if (!w->r->cache_hit)
        w->r->sent_bytes += (int64_t)content_bytes(w->chunk);
    return rc;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What the attempt's trace span and the timing histograms need from the chunks. */
static void note_for_trace(struct gw_req *r, const struct aigw_chunk *c)
{
    switch (c->type) {
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REASONING:
    case AIGW_CHUNK_TOOL_CALL:
    case AIGW_CHUNK_REFUSAL:
        r->attempt_last_us = now_us();
        if (c->type == AIGW_CHUNK_TEXT && c->choice == 0 && gw_otel_capturing(r->aspan))
            gw_buf_append(&r->trace_out, c->text.ptr, c->text.len); /* capped: the rest goes */
        if (!r->attempt_first_us) {
            r->attempt_first_us = r->attempt_last_us;
            const struct gw_target *t = &r->route.targets[r->target];
            gw_metrics_ttft_memo(gw_target_memo(t), t->plugin->desc.vkey, t->model,
                                 r->attempt_first_us - r->attempt_ms * 1000);
            gw_otel_attempt_first_token(r->aspan);
        }
        break;
    case AIGW_CHUNK_META:
        if (c->id.len && c->id.len < sizeof r->resp_id) {
            memcpy(r->resp_id, c->id.ptr, c->id.len);
            r->resp_id[c->id.len] = '\0';
        }
        if (c->name.len && c->name.len < sizeof r->resp_model) {
            memcpy(r->resp_model, c->name.ptr, c->name.len);
            r->resp_model[c->name.len] = '\0';
        }
        break;
    case AIGW_CHUNK_FINISH:
        if (c->choice == 0)
            r->finish = c->finish;
        break;
    default:
        break;
    }
}

/* A chunk the output guards let through (or every chunk, without guards): recorded for the
 * cache only now, so the cache never keeps what a guard redacted or refused. */
int gw_deliver_emit(void *ud, const struct aigw_chunk *chunk)
{
    struct gw_req *r = ud;
    if (r->cache_rec)
        gw_cache_record_chunk(r, chunk); /* the response cache keeps the answer as it goes */
    if (!r->cache_hit)
        note_for_trace(r, chunk); /* a replay has no target nor upstream timing */
    if (chunk->type == AIGW_CHUNK_USAGE && chunk->usage) {
        gw_usage_merge(&r->usage, chunk->usage);
        r->have_usage = 1;
    }
    struct chunk_write w = {r, chunk};
    return gw_relay_produce(&r->relay, write_chunk, &w);
}

/* Everything of obj but its "model" member. */
static void keep_only_model(cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return;
    for (cJSON *m = obj->child, *next; m; m = next) {
        next = m->next;
        if (!m->string || strcmp(m->string, "model") != 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, m));
    }
}

/* A held stream kept the whole parsed request for its life: with a realistic prompt (115 KB
 * of chat messages) that and its parse were most of the 304 KiB a held stream cost, and an
 * Anthropic request, parsed and translated, 432 KiB. Once the client has bytes of the answer
 * nothing reads the trees again: no retry or fallback follows (gateway.c), the renderers and
 * the Responses store keep copies of what they echo, and the plugin has parsed the events it
 * had. The "model" member stays: the log row, the metrics, the targets and the renderer may
 * point into its string. Not with guards, whose final hooks may read the request. */
void gw_deliver_release_request(struct gw_req *r)
{
    if (r->request_released || !r->parsed.stream || r->guard || !r->relay.committed)
        return;
    r->request_released = 1;
    /* What a cut answer's prompt is charged at when the provider never says (account.c):
     * admission estimated it for a limited key, nobody yet for any other. */
    if (r->resv_prompt <= 0)
        r->resv_prompt = gw_admit_prompt_estimate(r->parsed.body);
    keep_only_model(r->parsed.body);
    keep_only_model(r->parsed.native);
    cJSON_Delete(r->parsed.native_only); /* references into what native just lost */
    r->parsed.native_only = NULL;
}

/* stream.commit_ms. A stream's start is held while it has no content, so that a failed
 * attempt can still fall back unseen; but a reasoning model may think for minutes after its
 * first event, and a client without even the headers is cut by the proxies in front of aigw
 * (60 s idle) or by the first-byte budget's 504, its paid-for answer thrown away. So once the
 * upstream began (a 2xx stream, an event of it parsed: a role chunk, a ping, a messageStart)
 * and commit_ms passed with nothing rendered, or the first-byte budget ran out first, the
 * stream commits: its headers and the dialect's start go out, the heartbeat keeps it alive,
 * and a later failure ends it in-band, as for any stream. Only the start: what the output
 * guards hold stays held; the cache, usage and cost never see it. */
static int write_start(void *ud, struct gw_buf *out)
{
    struct gw_req *r = ud;
    const struct gw_dialect *d = r->dialect;
    size_t before = out->len;
    int rc =
        d->render_start ? d->render_start(r->render, out) : d->render_heartbeat(r->render, out);
    if (rc >= 0)
        gw_log_keep_sent(r, out, before); /* the request log keeps the answer as sent */
    return rc;
}

void gw_deliver_commit_due(struct gw_req *r)
{
    const struct gw_call *c = r->call;
    int64_t wait = r->snap->cfg.commit_ms;
    /* Called for every chunk: a stream whose content went out (the relay's committed is
     * written on this thread only, as gw_deliver_release_request reads it) costs no clock. */
    if (!r->parsed.stream || wait <= 0 || r->start_sent || r->relay.committed || !c || r->cache_hit)
        return;
    int64_t now = gw_now_ms();
    if (!r->begun_ms) {
        if (!c->streaming || !c->framed || c->credential_step)
            return;
        r->begun_ms = now;
    }
    if (c->has_error || c->done || r->guard_stop || r->fb_spent)
        return; /* its outcome decides: a failure may still fall back unseen */
    int budget_over = r->fb_deadline_ms && now >= r->fb_deadline_ms;
    if (now - r->begun_ms < wait && !budget_over)
        return;
    r->start_sent = 1;
    gw_relay_commit(&r->relay, write_start, r);
}

int gw_deliver_chunk(void *ud, const struct aigw_chunk *chunk)
{
    struct gw_req *r = ud;
    return r->guard ? gw_deliver_guard_chunk(r, chunk) : gw_deliver_emit(r, chunk);
}

/* The final outcome into the relay: the dialect's ending, its in-stream error after the first
 * byte, or its error document. *whole: the answer's ending went out as a success (what the
 * cache may keep). Relay lock held. */
/* A dialect's render_end answers AIGW_EPROTO when the answer lacks what the client asked for
 * (a compaction without a summary): the client gets a 502, not a 200 without it. 1. */
static int empty_answer(struct aigw_error *err)
{
    aigw_error_init(err);
    err->status = 502;
    err->type = "upstream_error";
    err->code = "empty_answer";
    err->message = "the model answered without the text this request needs (a compaction's "
                   "summary); nothing was changed, try again";
    return 1;
}

static int render_outcome(struct gw_req *r, int rc, size_t bytes_sent, int *status, int *whole)
{
    struct aigw_error err;
    int failed = gw_deliver_guard_error(r, &err); /* a guard stopped the answer */
    if (!failed && (failed = gw_outcome_error(r->call, rc, &err)) && r->guard)
        gw_guard_on_error(r->guard, &err); /* output guards may redact its message */
    struct gw_buf *out = &r->relay.out;
    if (!failed && r->parsed.stream) {
        *status = 200;
        int wrc = r->dialect->render_end(r->render, out);
        if (wrc != AIGW_EPROTO) {
            *whole = wrc == 0;
            return wrc;
        }
        failed = empty_answer(&err);
    }
    if (!failed) {
        /* A whole answer is written at once, and may be larger than the stream buffer's cap
         * (an embeddings batch, a long answer): it may take what the upstream's answer may
         * (GW_RESPONSE_BODY_CAP) twice over, plus what it echoes of the request. Past that,
         * an error, never a 200 with a cut document. */
        size_t before = out->len, cap = out->cap;
        out->cap = 2 * (size_t)GW_RESPONSE_BODY_CAP + (size_t)r->snap->cfg.max_body_bytes;
        int wrc = r->dialect->render_end(r->render, out);
        out->cap = cap;
        if (wrc != AIGW_ETOOBIG && wrc != AIGW_EPROTO) {
            *status = 200;
            *whole = wrc == 0;
            return wrc;
        }
        out->len = before;
        if (wrc == AIGW_EPROTO) {
            empty_answer(&err);
        } else {
            aigw_error_init(&err);
            err.status = 502;
            err.type = "upstream_error";
            err.code = "response_too_large";
            err.message = "the provider's answer is larger than the gateway can relay";
        }
    }
    if (r->parsed.stream && bytes_sent > 0) {
        *status = 200;
        return r->dialect->render_stream_error(r->render, &err, out);
    }
    *status = gw_error_status(&err);
    return gw_error_document(r->dialect->error_body, out, *status, err.type, err.code, err.param,
                             err.message);
}

struct outcome_write {
    struct gw_req *r;
    int rc;
    int final_status;
    int whole; /* the answer ended as a success, with a client to read it */
};

/* The error type the log and the metrics give the outcome (NULL: none). */
static const char *outcome_type(struct gw_req *r, int rc)
{
    struct aigw_error gerr;
    if (gw_deliver_guard_error(r, &gerr))
        return gerr.type; /* as a refusal before the answer logs it (gw_deliver_fail) */
    if (rc < 0)
        return gw_error_type_for_status(gw_status_for_code(rc));
    return r->call && r->call->has_error ? r->call->error.type : NULL;
}

/* Under the relay's lock: the outcome rendered, the status the client will see, and the
 * request's ledger and log rows queued before the end of the answer can leave. */
static int write_outcome(void *ud, struct gw_buf *out, int64_t sent, int committed)
{
    struct outcome_write *w = ud;
    struct gw_req *r = w->r;
    int status = 200;
    size_t before = out->len;
    int whole = 0;
    int rc = render_outcome(r, w->rc, (size_t)sent, &status, &whole);
    w->whole = whole && rc == 0 && !r->relay.client_gone;
    gw_log_keep_sent(r, out, before);
    if (!committed)
        r->status = status;
    w->final_status = committed ? 200 : r->status;
    gw_account_record(r, w->final_status, outcome_type(r, w->rc), r->relay.first_byte_ms);
    return rc;
}

/* Completes the client response with the final outcome. From an engine callback or an MHD
 * callback. */
void gw_deliver_finish(struct gw_req *r, int rc)
{
    if (r->guard && gw_deliver_guard_end(r, &rc) > 0)
        return; /* a final hook waits for a call, or a retry went upstream */
    gw_cache_hit_final(r);
    gw_account_cost(r);
    gw_account_charge_sent(r, outcome_type(r, rc) != NULL);
    if (r->call && r->call->has_error && r->call->error.retry_after_ms >= 0)
        r->retry_after_ms = r->call->error.retry_after_ms;
    struct outcome_write w = {r, rc, 200, 0};
    gw_relay_close(&r->relay, write_outcome, &w);
    /* Kept only when the client was given the whole answer: not one the relay refused (a
     * document too large to relay is a 502, whatever its chunks were). */
    if (r->cache_rec)
        gw_cache_record_finish(r, w.whole ? rc : AIGW_EINTERNAL);
    gw_account_close(r, w.final_status, outcome_type(r, rc));
}

/* Bytes MHD reads from the relay at once for an unchunked stream; see below. */
#define STREAM_BLOCK 1024

static ssize_t content_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct gw_req *r = cls;
    int unpause = 0;
    ssize_t n = gw_relay_read(&r->relay, buf, max, &unpause);
    if (unpause && r->driver_ready)
        gw_driver_unpause(&r->driver);
    else if (unpause && r->cache_hit)
        gw_cache_replay_resume(r); /* a cached stream longer than the relay goes on */
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
    if (r->cache_status)
        MHD_add_response_header(resp, "X-Gateway-Cache", r->cache_status);
    gw_admit_headers(r, resp); /* X-Gateway-Key-Id, x-ratelimit-* */
}

/* Retry-After in whole seconds, at least 1 (ms < 0: not known). */
static void add_retry_after(struct MHD_Response *resp, int64_t ms)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, ms > 0 ? (ms + 999) / 1000 : (int64_t)1);
    MHD_add_response_header(resp, "Retry-After", v);
}

/* Queues the response once the outcome (or the first stream byte) is known. Lock held. */
enum MHD_Result gw_deliver_queue_locked(struct gw_req *r)
{
    struct MHD_Response *resp;
    int status = 200;
    int stream = r->relay.committed && r->parsed.stream;
    /* A stream that ended before its headers went out (a fast or local upstream) is sent as
     * one body with a length: MHD writes headers and a buffer together, where a chunked
     * callback response costs three sends (headers, data, the last chunk), each waking the
     * client. SSE needs no chunking. */
    int whole = stream && r->relay.finished && !r->relay.failed;
    if (stream && !whole) {
        /* MHD callocs block_size bytes with the response and uses them only for an
         * unchunked body (an HTTP/1.0 client); a chunked stream is read straight into the
         * connection's pool. 8 KiB here was 15 % of a held stream's memory. */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, content_reader, r,
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
            if (gw_fixed_format(r->cost, 8, v, sizeof v) < 0)
                snprintf(v, sizeof v, "%.8f", r->cost); /* too large: cut, as it always was */
            MHD_add_response_header(resp, "X-Gateway-Cost", v);
        }
        if (status == 429 || status == 503)
            add_retry_after(resp, r->retry_after_ms);
    }
    add_gateway_headers(r, resp);
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    return rc;
}

enum MHD_Result gw_deliver_fail(struct gw_req *r, int status, const char *type, const char *code,
                                const char *param, const char *message)
{
    r->started = 1;
    pthread_mutex_lock(&r->relay.lock);
    r->queued = 1;
    pthread_mutex_unlock(&r->relay.lock);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_error_document(r->dialect->error_body, &b, status, type, code, param, message);
    gw_log_keep_sent(r, &b, 0); /* the row written now holds the answer too */
    gw_account_close(r, status, type ? type : gw_error_type_for_status(status));
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        b.ptr ? b.len : 2, b.ptr ? b.ptr : (char *)"{}", MHD_RESPMEM_MUST_COPY);
    gw_buf_free(&b);
    enum MHD_Result rc = MHD_NO;
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", "application/json");
        if ((status == 429 || status == 503) && r->retry_after_ms >= 0)
            add_retry_after(resp, r->retry_after_ms);
        add_gateway_headers(r, resp); /* a keyed request's answer names its key */
        rc = MHD_queue_response(r->conn, (unsigned)status, resp);
        MHD_destroy_response(resp);
    }
    r->answer = rc;
    return rc;
}
