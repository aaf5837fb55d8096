/*
 * replicate_parse.c - prediction objects and stream events -> chunks (notes B §11, §14.2).
 *
 * Every JSON answer (create or poll) is a prediction. Terminal: succeeded -> output;
 * failed / canceled / aborted -> an ERROR chunk. Otherwise the call continues: a stream goes
 * to urls.stream (SSE), anything else polls urls.get after REPLICATE_POLL_INTERVAL_MS, until
 * REPLICATE_POLL_TIMEOUT_MS has passed since the create (then a 504 ERROR).
 */
#include <stdlib.h>
#include <string.h>

#include "replicate.h"

static int is(const cJSON *v, const char *s)
{
    return cJSON_IsString(v) && !strcmp(v->valuestring, s);
}

/* A status after which the prediction runs no more (aborted: past its deadline unstarted). */
static int is_final(const cJSON *status)
{
    return is(status, "succeeded") || is(status, "failed") || is(status, "canceled") ||
           is(status, "aborted");
}

int64_t replicate_env_ms(struct aigw_call *call, const char *name, int64_t dflt)
{
    const char *v = call->host->env(name);
    char *end;
    long long n = v ? strtoll(v, &end, 10) : -1;
    return v && !*end && n >= 0 ? (int64_t)n : dflt;
}

static int emit_error(struct aigw_call *call, int status, const char *type, const char *code,
                      const char *message)
{
    struct aigw_error e;
    aigw_error_init(&e);
    e.status = status;
    e.type = type;
    e.code = code;
    e.message = message;
    return aigw_emit_error(call, &e);
}

/* "2024-10-04T18:07:33.396Z" -> unix seconds (0 when unparsable; the host then chooses). */
static int64_t parse_time(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return 0;
    const char *s = v->valuestring;
    int f[6] = {0};
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < width[i]; k++, s++) {
            if (*s < '0' || *s > '9')
                return 0;
            f[i] = f[i] * 10 + (*s - '0');
        }
        if (sep[i] && *s++ != sep[i])
            return 0;
    }
    int64_t y = f[0], m = f[1], d = f[2];
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    /* days from civil (H. Hinnant) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
}

static int emit_meta(struct aigw_call *call, const cJSON *pred)
{
    const cJSON *id = aigw_json_get(pred, "id");
    return aigw_emit_meta(call, cJSON_IsString(id) ? id->valuestring : NULL, call->model,
                          parse_time(aigw_json_get(pred, "created_at")));
}

/* metrics.input_token_count / output_token_count, when the prediction has them. */
static int emit_metrics(struct aigw_call *call, const cJSON *metrics)
{
    const cJSON *in_tok = aigw_json_get(metrics, "input_token_count");
    const cJSON *out_tok = aigw_json_get(metrics, "output_token_count");
    if (!cJSON_IsNumber(in_tok) && !cJSON_IsNumber(out_tok))
        return 0;
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = cJSON_IsNumber(in_tok) ? (int64_t)in_tok->valuedouble : 0;
    u.completion_tokens = cJSON_IsNumber(out_tok) ? (int64_t)out_tok->valuedouble : 0;
    return aigw_emit_usage(call, &u);
}

/* Language-model output: an array of token strings (joined) or one string. */
static int emit_text_output(struct aigw_call *call, const cJSON *pred)
{
    struct replicate_state *st = call->state;
    const cJSON *out = aigw_json_get(pred, "output"), *x;
    const cJSON *metrics = aigw_json_get(pred, "metrics");
    const cJSON *out_tok = aigw_json_get(metrics, "output_token_count");
    int rc = 0;

    if ((rc = emit_meta(call, pred)) != 0)
        return rc;
    if (cJSON_IsString(out) && *out->valuestring) {
        rc = aigw_emit_text(call, 0, out->valuestring, strlen(out->valuestring));
    } else if (cJSON_IsArray(out)) {
        size_t total = 0;
        cJSON_ArrayForEach(x, out)
        {
            if (cJSON_IsString(x))
                total += strlen(x->valuestring);
        }
        char *text = call->host->alloc(call, total + 1);
        size_t o = 0;
        if (!text)
            return AIGW_ENOMEM;
        cJSON_ArrayForEach(x, out)
        {
            if (cJSON_IsString(x)) {
                size_t n = strlen(x->valuestring);
                memcpy(text + o, x->valuestring, n);
                o += n;
            }
        }
        text[o] = '\0';
        rc = o ? aigw_emit_text(call, 0, text, o) : 0;
    }
    if (rc)
        return rc;
    int length = st->max_tokens > 0 && cJSON_IsNumber(out_tok) &&
                 out_tok->valuedouble >= (double)st->max_tokens;
    if ((rc = aigw_emit_finish(call, 0, length ? AIGW_FINISH_LENGTH : AIGW_FINISH_STOP)) != 0)
        return rc;
    return emit_metrics(call, metrics);
}

static int emit_image(struct aigw_call *call, int index, const char *s)
{
    struct replicate_state *st = call->state;
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_IMAGE, index);
    const char *comma = strchr(s, ',');
    /* A data: URI can be handed over as b64_json as is; an https URL cannot (no I/O here),
     * so a client asking for b64_json of a URL output gets the URL. */
    if (st->b64 && !strncmp(s, "data:", 5) && comma && comma - s >= 12 &&
        !strncmp(comma - 7, ";base64", 7)) {
        c.text = aigw_bytes_of(comma + 1);
        c.is_b64 = 1;
    } else {
        c.text = aigw_bytes_of(s);
    }
    return call->host->emit(call, &c);
}

static int emit_image_output(struct aigw_call *call, const cJSON *pred)
{
    const cJSON *out = aigw_json_get(pred, "output"), *x;
    int rc, i = 0;
    if ((rc = emit_meta(call, pred)) != 0)
        return rc;
    if (cJSON_IsString(out))
        return emit_image(call, 0, out->valuestring);
    if (!cJSON_IsArray(out) || cJSON_GetArraySize(out) == 0)
        return emit_error(call, 502, "server_error", "no_output",
                          "the prediction succeeded without an image");
    cJSON_ArrayForEach(x, out)
    {
        if (!cJSON_IsString(x))
            return AIGW_EPROTO;
        if ((rc = emit_image(call, i++, x->valuestring)) != 0)
            return rc;
    }
    return 0;
}

/* The prediction's id when it has the documented shape (lowercase base32), else NULL. */
static const char *pred_id(const cJSON *pred)
{
    const cJSON *id = aigw_json_get(pred, "id");
    if (!cJSON_IsString(id) || !*id->valuestring ||
        strspn(id->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(id->valuestring))
        return NULL;
    return id->valuestring;
}

/* urls.<which> when it is on the configured origin, else the same path (the id and `suffix`)
 * on that origin, so a configured mock or proxy also serves it (and the token goes nowhere
 * else). */
static const char *pred_url(struct aigw_call *call, const cJSON *pred, const char *which,
                            const char *suffix)
{
    const cJSON *u = aigw_json_get(aigw_json_get(pred, "urls"), which);
    const char *id = pred_id(pred);
    if (cJSON_IsString(u) && replicate_same_origin(call, u->valuestring))
        return u->valuestring;
    const char *base = id ? replicate_base(call) : NULL;
    return base ? call->host->strf(call, "%s/v1/predictions/%s%s", base, id, suffix) : NULL;
}

/* The poll URL, in call memory like everything kept across steps. */
static const char *poll_url(struct aigw_call *call, const cJSON *pred)
{
    return pred_url(call, pred, "get", "");
}

/* A prediction still running: what stops it if the call ends first. Its strings outlive the
 * parsed tree (call memory). */
static void remember_job(struct aigw_call *call, const cJSON *pred)
{
    struct replicate_state *st = call->state;
    const char *id = pred_id(pred), *url = pred_url(call, pred, "cancel", "/cancel");
    if (!id || !url || st->cancel_url)
        return;
    st->job_id = call->host->strndup(call, id, strlen(id));
    st->cancel_url = call->host->strndup(call, url, strlen(url));
}

int replicate_cancel_build(struct aigw_call *call, const char **job_id)
{
    const struct aigw_host *h = call->host;
    struct replicate_state *st = call->state;
    int rc;
    if (!st->cancel_url || st->finished)
        return 1;
    *job_id = st->job_id;
    if ((rc = h->set_method(call, "POST")) != 0 || (rc = h->set_url(call, st->cancel_url)) != 0)
        return rc;
    return replicate_auth(call);
}

static int follow(struct aigw_call *call, const char *url, int framing)
{
    const struct aigw_host *h = call->host;
    int rc;
    if ((rc = h->set_method(call, "GET")) != 0 || (rc = h->set_url(call, url)) != 0 ||
        (rc = replicate_auth(call)) != 0 || (rc = h->set_framing(call, framing)) != 0)
        return rc;
    if (framing == AIGW_FRAMING_SSE &&
        ((rc = h->add_header(call, "Accept", "text/event-stream", 0)) != 0 ||
         (rc = h->add_header(call, "Cache-Control", "no-cache", 0)) != 0))
        return rc;
    return AIGW_CONTINUE;
}

static int handle_prediction(struct aigw_call *call, struct aigw_bytes body,
                             int (*emit_output)(struct aigw_call *, const cJSON *))
{
    struct replicate_state *st = call->state;
    const cJSON *pred = call->host->json_parse(call, body);
    const cJSON *status = aigw_json_get(pred, "status");
    if (!cJSON_IsObject(pred) || !cJSON_IsString(status))
        return AIGW_EPROTO;
    st->finished = is_final(status);
    if (!st->finished)
        remember_job(call, pred);

    if (is(status, "succeeded"))
        return emit_output(call, pred);
    if (is(status, "failed") || is(status, "canceled") || is(status, "aborted")) {
        const cJSON *err = aigw_json_get(pred, "error");
        const char *msg = cJSON_IsString(err) && *err->valuestring ? err->valuestring
                          : is(status, "failed")                   ? "the prediction failed"
                                                                   : "the prediction was canceled";
        return emit_error(call, 502, "server_error",
                          is(status, "failed") ? "prediction_failed" : "prediction_canceled", msg);
    }
    if (!is(status, "starting") && !is(status, "processing"))
        return AIGW_EPROTO;

    const cJSON *su = aigw_json_get(aigw_json_get(pred, "urls"), "stream");
    if (call->stream && call->op == AIGW_OP_CHAT && cJSON_IsString(su) &&
        replicate_url_trusted(call, su->valuestring)) {
        st->get_url = poll_url(call, pred);
        return follow(call, su->valuestring, AIGW_FRAMING_SSE);
    }

    int64_t timeout = replicate_env_ms(call, "REPLICATE_POLL_TIMEOUT_MS", 300000);
    if (call->host->now_ms() - st->start_ms >= timeout)
        return emit_error(call, 504, "timeout", "timeout",
                          "the prediction did not finish within REPLICATE_POLL_TIMEOUT_MS");
    const char *url = poll_url(call, pred);
    if (!url)
        return AIGW_EPROTO;
    int rc =
        call->host->set_delay_ms(call, replicate_env_ms(call, "REPLICATE_POLL_INTERVAL_MS", 1000));
    return rc ? rc : follow(call, url, AIGW_FRAMING_JSON);
}

/* The prediction's final state after its stream: only its token counts are new. One still
 * finishing is asked again a few times; without counts the answer stands as streamed. */
#define USAGE_POLLS 3

static int usage_from_prediction(struct aigw_call *call, struct aigw_bytes body)
{
    struct replicate_state *st = call->state;
    const cJSON *pred = call->host->json_parse(call, body);
    const cJSON *status = aigw_json_get(pred, "status");
    if (is_final(status))
        st->finished = 1;
    if (is(status, "succeeded"))
        return emit_metrics(call, aigw_json_get(pred, "metrics"));
    if ((is(status, "starting") || is(status, "processing")) && st->usage_polls < USAGE_POLLS) {
        st->usage_polls++;
        int rc = call->host->set_delay_ms(
            call, replicate_env_ms(call, "REPLICATE_POLL_INTERVAL_MS", 1000));
        return rc ? rc : follow(call, st->get_url, AIGW_FRAMING_JSON);
    }
    call->host->log(call, AIGW_LOG_INFO, "replicate: no token counts for the stream's usage");
    return 0;
}

int replicate_parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    struct replicate_state *st = call->state;
    if (st->usage_fetch)
        return usage_from_prediction(call, body);
    return handle_prediction(call, body, emit_text_output);
}

/* The stream reports no usage: the prediction's metrics have it once it is done. */
int replicate_stream_end(struct aigw_call *call)
{
    struct replicate_state *st = call->state;
    if (!st->get_url || st->usage_fetch || call->op != AIGW_OP_CHAT)
        return 0;
    st->usage_fetch = 1;
    return follow(call, st->get_url, AIGW_FRAMING_JSON);
}

int replicate_images_parse(struct aigw_call *call, struct aigw_bytes body)
{
    return handle_prediction(call, body, emit_image_output);
}

static int frame_is(const struct aigw_frame *f, const char *name)
{
    size_t n = strlen(name);
    return f->event.len == n && !memcmp(f->event.ptr, name, n);
}

/* Error text of an `error` event: {"detail": ...} per the docs, plain text per the SDKs. */
static const char *event_error_text(struct aigw_call *call, struct aigw_bytes data)
{
    const cJSON *j = data.len ? call->host->json_parse(call, data) : NULL;
    const cJSON *d = aigw_json_get(j, "detail");
    if (cJSON_IsString(d))
        return d->valuestring;
    if (!j && data.len)
        return call->host->strndup(call, data.ptr, data.len < 4096 ? data.len : 4096);
    return "the prediction failed";
}

int replicate_stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct replicate_state *st = call->state;
    int rc;
    if (frame_is(frame, "output"))
        return frame->data.len ? aigw_emit_text(call, 0, frame->data.ptr, frame->data.len) : 0;
    /* Both end the prediction: nothing is left to cancel. */
    if (frame_is(frame, "error") || frame_is(frame, "done"))
        st->finished = 1;
    if (frame_is(frame, "error")) {
        rc = emit_error(call, 502, "server_error", "prediction_failed",
                        event_error_text(call, frame->data));
        return rc ? rc : AIGW_DONE;
    }
    if (frame_is(frame, "done")) {
        const cJSON *d = frame->data.len ? call->host->json_parse(call, frame->data) : NULL;
        const cJSON *reason = aigw_json_get(d, "reason");
        if (is(reason, "canceled"))
            rc = emit_error(call, 502, "server_error", "prediction_canceled",
                            "the prediction was canceled");
        else if (is(reason, "error"))
            rc =
                emit_error(call, 502, "server_error", "prediction_failed", "the prediction failed");
        else
            rc = aigw_emit_finish(call, 0, AIGW_FINISH_STOP);
        return rc ? rc : AIGW_DONE;
    }
    return 0; /* logs, comments, future events */
}
