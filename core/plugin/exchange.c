/* exchange - one upstream attempt through its plugin (see exchange.h). */
#include "plugin/exchange.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "plugin/errors.h"
#include "plugin/host.h"
#include "plugin/oai_compat.h"
#include "plugin/payload.h"
#include "plugin/plugin_loader.h"

int gw_status_retryable(int status)
{
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

static int build_main(struct gw_call *c)
{
    const struct aigw_provider *d = &c->plugin->desc;
    int (*fn)(struct aigw_call *) = NULL;
    switch (c->pub.op) {
    case AIGW_OP_CHAT:
        fn = d->build_request;
        break;
    case AIGW_OP_EMBEDDINGS:
        fn = (d->capabilities & AIGW_CAP_EMBEDDINGS) ? d->embeddings_build : NULL;
        break;
    case AIGW_OP_IMAGES:
        fn = (d->capabilities & AIGW_CAP_IMAGES) ? d->images_build : NULL;
        break;
    case AIGW_OP_MODELS:
        fn = (d->capabilities & AIGW_CAP_MODELS) ? d->models_build : NULL;
        break;
    case AIGW_OP_COUNT_TOKENS:
        fn = (d->capabilities & AIGW_CAP_COUNT_TOKENS) ? d->build_request : NULL;
        break;
    default:
        break;
    }
    if (!fn)
        return AIGW_ENOTSUP;
    gw_call_clear_request(c);
    int rc = fn(&c->pub);
    if (rc < 0)
        return rc;
    if (!c->framing_set)
        c->framing =
            (c->pub.stream && c->pub.op == AIGW_OP_CHAT) ? d->stream_framing : AIGW_FRAMING_JSON;
    return c->url ? 0 : AIGW_ECONFIG;
}

static int credential_valid(struct gw_call *c)
{
    struct gw_plugin *p = c->plugin;
    pthread_mutex_lock(&p->cred_lock);
    int ok = p->cred_token && p->cred_expires_ms > gw_host()->now_ms();
    pthread_mutex_unlock(&p->cred_lock);
    return ok;
}

static int begin(struct gw_call *c)
{
    const struct aigw_provider *d = &c->plugin->desc;
    gw_call_clear_response(c);
    if (d->credentials_build && d->credentials_parse && !credential_valid(c)) {
        gw_call_clear_request(c);
        int rc = d->credentials_build(&c->pub);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (!c->url)
                return AIGW_ECONFIG;
            c->credential_step = 1;
            c->framing = AIGW_FRAMING_JSON;
            return 0;
        }
        /* rc == 1: a ready credential is configured; no fetch. */
    }
    return build_main(c);
}

static int is_json_content_type(struct gw_call *c)
{
    const char *ct = gw_call_find_header(c->resp_headers, "content-type");
    return ct && strncasecmp(ct, "application/json", 16) == 0;
}

int gw_exchange_headers(struct gw_call *c, int status)
{
    c->status = status;
    c->pub.status = status;
    int ok = status >= 200 && status < 300;
    /* A streaming upstream that answers plain JSON (some do, for errors or short answers) is
     * parsed whole; the renderer still streams it to the client. */
    if (ok && c->framing != AIGW_FRAMING_JSON && !c->credential_step &&
        !(c->framing == AIGW_FRAMING_SSE && is_json_content_type(c))) {
        gw_framer_init(&c->framer, c->framing, 0);
        c->streaming = 1;
    }
    return 0;
}

static int on_frame(void *ud, const struct aigw_frame *f)
{
    struct gw_call *c = ud;
    c->framed = 1;
    struct gw_json_mark mark = gw_call_json_mark(c);
    int rc = c->plugin->desc.stream_event(&c->pub, f);
    gw_call_json_release(c, mark);
    if (rc == AIGW_DONE) {
        c->done = 1;
        return 1;
    }
    if (rc < 0)
        return rc;
    return c->has_error ? 1 : 0;
}

static int data(struct gw_call *c, const char *p, size_t n)
{
    if (c->done || (c->has_error && c->error_in_band))
        return 0;
    if (!c->streaming)
        return gw_buf_append(&c->resp_body, p, n);
    if (!c->plugin->desc.stream_event)
        return AIGW_ENOTSUP;
    int rc = gw_framer_feed(&c->framer, p, n, on_frame, c);
    return rc > 0 ? 0 : rc;
}

/* "false" with any case and surrounding blanks. */
static int is_false(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == 5 && strncasecmp(v, "false", 5) == 0;
}

/* Fills what the plugin left unset. `mapped`: the plugin's map_error succeeded, so its
 * retryable verdict stands (a quota 429, x-should-retry: false, ...); no_retry_here keeps
 * the last of these to the target that said it. */
static void fill_error_defaults(struct gw_call *c, int mapped)
{
    struct aigw_error *e = &c->error;
    int http = c->status >= 400 && !c->error_in_band;
    if (!e->status && http)
        e->status = c->status;
    if (!e->type)
        e->type = e->status ? gw_error_type_for_status(e->status) : "server_error";
    if (!e->message || !*e->message)
        e->message = http ? gw_arena_printf(&c->keep, "upstream returned HTTP %d", c->status)
                          : "the upstream provider reported an error during the response";
    if (http && !mapped && gw_status_retryable(c->status))
        e->retryable = 1;
    /* Whatever the plugin made of it (oai_map_error and Anthropic's clear retryable): the
     * header is about this target alone, and the lifetime keeps it to that. */
    const char *should = gw_call_find_header(c->resp_headers, "x-should-retry");
    c->no_retry_here = should && is_false(should);
    gw_error_scrub(c);
}

static int parse_json_step(struct gw_call *c)
{
    const struct aigw_provider *d = &c->plugin->desc;
    struct aigw_bytes body = {c->resp_body.ptr ? c->resp_body.ptr : "", c->resp_body.len};
    int (*fn)(struct aigw_call *, struct aigw_bytes) = NULL;
    switch (c->pub.op) {
    case AIGW_OP_CHAT:
        fn = d->parse_response;
        break;
    case AIGW_OP_EMBEDDINGS:
        fn = d->embeddings_parse;
        break;
    case AIGW_OP_IMAGES:
        fn = d->images_parse;
        break;
    case AIGW_OP_MODELS:
        fn = d->models_parse;
        break;
    case AIGW_OP_COUNT_TOKENS:
        fn = (d->capabilities & AIGW_CAP_COUNT_TOKENS) ? d->parse_response : NULL;
        break;
    default:
        break;
    }
    if (!fn)
        return AIGW_ENOTSUP;
    gw_call_clear_request(c);
    int rc = fn(&c->pub, body);
    if (rc == AIGW_CONTINUE) {
        if (!c->url)
            return AIGW_EPROTO;
        if (!c->framing_set)
            c->framing = AIGW_FRAMING_JSON;
        c->pub.step++;
        c->repeats = 0;
        gw_call_clear_response(c);
        return AIGW_CONTINUE;
    }
    return rc < 0 ? rc : 0;
}

static int credential_step_end(struct gw_call *c)
{
    struct gw_plugin *p = c->plugin;
    struct aigw_credential *cred = calloc(1, sizeof *cred);
    if (!cred)
        return AIGW_ENOMEM;
    struct aigw_bytes body = {c->resp_body.ptr ? c->resp_body.ptr : "", c->resp_body.len};
    int rc = p->desc.credentials_parse(&c->pub, body, cred);
    cred->token[sizeof cred->token - 1] = '\0';
    if (rc >= 0 && !cred->token[0])
        rc = AIGW_EPROTO;
    if (rc >= 0) {
        char *tok = strdup(cred->token);
        if (!tok) {
            rc = AIGW_ENOMEM;
        } else {
            int64_t ttl = cred->expires_in > 0 ? cred->expires_in : 300;
            /* Refresh a minute early so a token never expires in flight. */
            int64_t margin = ttl > 120 ? 60 : ttl / 2;
            pthread_mutex_lock(&p->cred_lock);
            free(p->cred_token);
            p->cred_token = tok;
            p->cred_expires_ms = gw_host()->now_ms() + (ttl - margin) * 1000;
            pthread_mutex_unlock(&p->cred_lock);
        }
    }
    memset(cred, 0, sizeof *cred);
    free(cred);
    if (rc < 0)
        return rc;
    gw_call_clear_response(c);
    rc = build_main(c);
    if (rc < 0)
        return rc;
    c->pub.step++;
    return AIGW_CONTINUE;
}

/* The plugin's map_error, handing a plugin built for 1.0/1.1 the error layout it knows. */
static int map_error(struct gw_call *c, struct aigw_bytes body)
{
    const struct aigw_provider *d = &c->plugin->desc;
    aigw_error_init(&c->error);
    if (!d->map_error)
        return gw_oai_map_error(&c->pub, body, &c->error);
    if (!gw_payload_is_v1_1(d->abi_version))
        return d->map_error(&c->pub, body, &c->error);
    struct gw_error_v1_1 old;
    gw_payload_error_to_v1_1(&c->error, &old);
    int rc = d->map_error(&c->pub, body, (struct aigw_error *)(void *)&old);
    gw_payload_error_from_v1_1(&old, &c->error);
    return rc;
}

/* A later step that only reads (a GET after the first step: a poll of the job that step
 * started, or its result's stream) and has handed nothing to the plugin yet. Sent again as it
 * is, it asks the same question; a new attempt would start the job, and bill it, twice. */
static int follow_up(const struct gw_call *c)
{
    return c->pub.step > 0 && !c->credential_step && !c->framed && c->method &&
           !strcmp(c->method, "GET");
}

/* A later step that is not a GET (a workflow's next image, a batch's next embedding: each
 * one more billed job), failed before the plugin saw any of it. Sent again it may run twice
 * (the failure may have come after the work was done), and a new attempt would run the steps
 * before it again too: it ends the attempt, never retried. */
static int later_job(const struct gw_call *c)
{
    return c->pub.step > 0 && !c->credential_step && !c->framed && !c->epilogue && !follow_up(c);
}

/* The same follow-up again after a growing pause (the request's deadlines still cap it, in
 * the driver's limits), with this failure forgotten. */
static int repeat_step(struct gw_call *c)
{
    int64_t pause = (int64_t)GW_FOLLOW_UP_PAUSE_MS << c->repeats;
    c->repeats++;
    if (c->delay_ms < pause)
        c->delay_ms = pause;
    aigw_error_init(&c->error);
    c->has_error = 0;
    c->error_in_band = 0;
    gw_call_clear_response(c);
    return AIGW_CONTINUE;
}

/* A follow-up failed for good. An epilogue (a request stream_end set up, after a whole
 * answer: usage) is dropped and the answer stands; anything else ends the attempt with an
 * error that is not retried, since a retry would start the job again. */
static int follow_up_failed(struct gw_call *c)
{
    if (c->epilogue) {
        gw_logf(AIGW_LOG_INFO, c->plugin->desc.vkey, c->request_id,
                "the request after the stream failed (%s); the answer stands without it",
                c->error.message ? c->error.message : "error");
        aigw_error_init(&c->error);
        c->has_error = 0;
        return 0;
    }
    c->error.retryable = 0;
    c->error.code = "follow_up_failed";
    c->error.message = gw_arena_printf(&c->keep,
                                       "the provider accepted the request, but its result could "
                                       "not be fetched (%s); not retried, so that it does not run "
                                       "twice",
                                       c->error.message ? c->error.message : "error");
    if (!c->error.message)
        c->error.message = "the provider accepted the request, but its result could not be fetched";
    return 0;
}

/* After a failed follow-up: repeat it while retryable and repeats are left. */
static int follow_up_end(struct gw_call *c)
{
    if (c->error.retryable && c->repeats < GW_FOLLOW_UP_REPEATS)
        return repeat_step(c);
    return follow_up_failed(c);
}

static int end(struct gw_call *c)
{
    const struct aigw_provider *d = &c->plugin->desc;
    if (c->status < 200 || c->status >= 300) {
        struct aigw_bytes body = {c->resp_body.ptr ? c->resp_body.ptr : "", c->resp_body.len};
        int rc = map_error(c, body);
        if (rc < 0)
            aigw_error_init(&c->error);
        c->has_error = 1;
        c->error_in_band = 0;
        fill_error_defaults(c, rc >= 0);
        if (follow_up(c))
            return follow_up_end(c);
        return c->epilogue || later_job(c) ? follow_up_failed(c) : 0;
    }
    if (c->credential_step)
        return credential_step_end(c);
    if (!c->streaming)
        return parse_json_step(c);
    int rc = 0;
    if (!c->done && !c->has_error)
        rc = gw_framer_finish(&c->framer, on_frame, c);
    if (rc > 0)
        rc = 0;
    if (rc == 0 && d->stream_end && !c->has_error) {
        struct gw_json_mark mark = gw_call_json_mark(c);
        int framing = c->framing;
        gw_call_clear_request(c);
        rc = d->stream_end(&c->pub);
        gw_call_json_release(c, mark);
        /* One more request after the answer (the final usage of a job): an epilogue. */
        if (rc == AIGW_CONTINUE && c->url && !c->epilogue) {
            if (!c->framing_set)
                c->framing = AIGW_FRAMING_JSON;
            c->epilogue = 1;
            c->repeats = 0;
            c->pub.step++;
            gw_call_clear_response(c);
            return AIGW_CONTINUE;
        }
        c->framing = framing;
        if (rc > 0)
            rc = 0;
    }
    /* A 2xx stream without a single event, or an OpenAI-wire stream that ended with neither
     * a finish_reason nor [DONE], was cut off (a proxy's timeout, a server gone): never a
     * whole answer, whatever the plugin made of it. */
    if (rc == 0 && !c->has_error && (!c->framed || (c->oai_stream && !c->oai_ended)))
        rc = AIGW_EPROTO;
    if (c->has_error)
        fill_error_defaults(c, 1);
    return rc;
}

/* Every plugin callback runs with its plugin current on this thread, which is what scopes
 * host->env (it has no call argument) to the plugin's own table. */
int gw_exchange_begin(struct gw_call *c)
{
    struct gw_plugin *prev = gw_host_enter(c->plugin);
    int rc = begin(c);
    gw_host_set_current(prev);
    return rc;
}

int gw_exchange_data(struct gw_call *c, const char *p, size_t n)
{
    struct gw_plugin *prev = gw_host_enter(c->plugin);
    int rc = data(c, p, n);
    gw_host_set_current(prev);
    return rc;
}

int gw_exchange_end(struct gw_call *c)
{
    struct gw_plugin *prev = gw_host_enter(c->plugin);
    int rc = end(c);
    gw_host_set_current(prev);
    return rc;
}

int gw_exchange_failed(struct gw_call *c, const char *why)
{
    if (!follow_up(c) && !c->epilogue && !later_job(c))
        return -1;
    aigw_error_init(&c->error);
    c->has_error = 1;
    c->error_in_band = 0;
    c->error.status = 502;
    c->error.type = "upstream_error";
    c->error.message = why;
    c->error.retryable = 1;
    struct gw_plugin *prev = gw_host_enter(c->plugin);
    int rc = follow_up(c) ? follow_up_end(c) : follow_up_failed(c);
    gw_host_set_current(prev);
    return rc;
}

/* The plugin's cleanup request for a job the call left unfinished, built where the steps are
 * (method, URL, headers, body of the call). Never after a complete answer: the caller asks
 * only when the attempt ended without one. */
int gw_exchange_cancel(struct gw_call *c, const char **job_id)
{
    const struct aigw_provider *d = &c->plugin->desc;
    *job_id = NULL;
    if (AIGW_ABI_MINOR_OF(d->abi_version) < 6 || !d->cancel_build)
        return 1;
    struct gw_plugin *prev = gw_host_enter(c->plugin);
    gw_call_clear_request(c);
    c->delay_ms = 0;
    int rc = d->cancel_build(&c->pub, job_id);
    gw_host_set_current(prev);
    if (rc == 0 && (!c->url || !c->method))
        rc = AIGW_ECONFIG;
    if (rc != 0)
        *job_id = NULL;
    return rc;
}
