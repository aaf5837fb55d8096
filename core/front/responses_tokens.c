/*
 * responses_tokens - POST /v1/responses/input_tokens (see responses.h): the input of a
 * Responses request counted. The request is parsed as /v1/responses parses it (chain and
 * references expanded) with op AIGW_OP_COUNT_TOKENS; the lifetime asks a target that can
 * count (AIGW_CAP_COUNT_TOKENS) and answers any other with the parse's local estimate
 * (gateway.c), so the renderer only needs the one number: the upstream's prompt_tokens when
 * it reported them, else the estimate.
 *
 * Admission and accounting are Anthropic's count_tokens' (the precedent, same op): a count
 * takes one request of the key's RPM and its prompt estimate of TPM, with no output. A cheap
 * local answer is still a request a client can loop on, and a native count is an upstream
 * call, so both are limited. It writes the request log row any request does (outcome
 * "estimated" when answered locally), so a key's counts show where its RPM went.
 */
#include <stdlib.h>

#include "front/responses.h"
#include "plugin/usage.h"

struct count_render {
    const struct gw_resp_ctx *ctx;
    struct aigw_usage usage;
    int have_usage;
};

static void *count_render_new(const struct gw_parsed *p, const char *model, const char *request_id)
{
    (void)model;
    (void)request_id;
    struct count_render *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ctx = p->ctx;
    aigw_usage_init(&r->usage);
    return r;
}

static void count_render_free(void *r)
{
    free(r);
}

/* Only the usage counts: a counting upstream answers with nothing else. */
static int count_render_chunk(void *p, const struct aigw_chunk *c, struct gw_buf *out)
{
    struct count_render *r = p;
    (void)out;
    if (c->type == AIGW_CHUNK_USAGE && c->usage) {
        gw_usage_merge(&r->usage, c->usage);
        r->have_usage = 1;
    }
    return 0;
}

static int count_render_end(void *p, struct gw_buf *out)
{
    struct count_render *r = p;
    int64_t n = r->have_usage && r->usage.prompt_tokens > 0 ? r->usage.prompt_tokens
                : r->ctx                                    ? r->ctx->input_estimate
                                                            : 0;
    int rc = gw_buf_append_str(out, "{\"object\":\"response.input_tokens\",\"input_tokens\":");
    if (!rc)
        rc = gw_buf_append_i64(out, n);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

/* Never streamed; a failure is the Responses error document. */
static int count_render_stream_error(void *p, const struct aigw_error *e, struct gw_buf *out)
{
    (void)p;
    return gw_responses_error_body(out, e ? e->status : 500, e ? e->type : NULL, NULL, NULL,
                                   e && e->message ? e->message : "upstream error");
}

static int count_render_heartbeat(void *p, struct gw_buf *out)
{
    (void)p;
    (void)out;
    return 0;
}

/* Named "responses" like /v1/responses: its limits, guard handling and log column (a count is
 * never cached: the cache keys chat operations only). */
const struct gw_dialect gw_responses_input_tokens_dialect = {
    .name = "responses",
    .parse = gw_responses_parse_count,
    .ctx_free = gw_responses_ctx_free,
    .render_new = count_render_new,
    .render_free = count_render_free,
    .render_chunk = count_render_chunk,
    .render_end = count_render_end,
    .render_stream_error = count_render_stream_error,
    .render_heartbeat = count_render_heartbeat,
    .error_body = gw_responses_error_body,
};
