/*
 * openai - the OpenAI API as dialects: chat completions, legacy completions, embeddings and
 * images. The internal request already is OpenAI's chat shape, so parsing is validation
 * (request.c) and rendering is render.c; this file only puts them behind the seam.
 */
#include "front/openai.h"

#include <stdlib.h>
#include <string.h>

#include "front/render.h"
#include "front/request.h"
#include "plugin/errors.h"

static int parse_kind(int kind, const struct gw_inbound *in, struct gw_parsed *out,
                      struct gw_front_err *err)
{
    struct gw_request_err e;
    memset(&e, 0, sizeof e);
    if (gw_request_parse(kind, in->body ? in->body : "", in->len, out, &e) == 0) {
        out->legacy = kind == GW_ROUTE_COMPLETIONS;
        return 0;
    }
    err->status = e.status;
    err->type = NULL;
    err->code = e.code;
    err->param = e.param;
    memcpy(err->message, e.message, sizeof err->message);
    return AIGW_EINVAL;
}

static int parse_chat(const struct gw_inbound *in, struct gw_parsed *out,
                      struct gw_front_err *err)
{
    return parse_kind(GW_ROUTE_CHAT, in, out, err);
}

static int parse_completions(const struct gw_inbound *in, struct gw_parsed *out,
                             struct gw_front_err *err)
{
    return parse_kind(GW_ROUTE_COMPLETIONS, in, out, err);
}

static int parse_embeddings(const struct gw_inbound *in, struct gw_parsed *out,
                            struct gw_front_err *err)
{
    return parse_kind(GW_ROUTE_EMBEDDINGS, in, out, err);
}

static int parse_images(const struct gw_inbound *in, struct gw_parsed *out,
                        struct gw_front_err *err)
{
    return parse_kind(GW_ROUTE_IMAGES, in, out, err);
}

static void *render_new(const struct gw_parsed *p, const char *model, const char *request_id)
{
    struct gw_render *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    if (gw_render_init(r, p->op, p->stream, p->include_usage, p->legacy, model, request_id) < 0) {
        gw_render_free(r);
        free(r);
        return NULL;
    }
    return r;
}

static void render_free(void *r)
{
    if (!r)
        return;
    gw_render_free(r);
    free(r);
}

static int render_chunk(void *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    return gw_render_chunk(r, c, out);
}

static int render_end(void *r, struct gw_buf *out)
{
    return gw_render_end(r, out);
}

static int render_stream_error(void *r, const struct aigw_error *e, struct gw_buf *out)
{
    return gw_render_stream_error(r, e, out);
}

static int render_heartbeat(void *r, struct gw_buf *out)
{
    (void)r;
    /* A comment line: clients ignore it, proxies and the client's socket see traffic. */
    return gw_buf_append_str(out, ": keep-alive\n\n");
}

static int render_start(void *r, struct gw_buf *out)
{
    return gw_render_start(r, out);
}

int gw_openai_error_body(struct gw_buf *out, int status, const char *type, const char *code,
                         const char *param, const char *message)
{
    return gw_error_json(out, type ? type : gw_error_type_for_status(status), code, param,
                         message);
}

#define OPENAI_DIALECT(pfx, parser)                                                            \
    const struct gw_dialect pfx = {                                                            \
        .name = "openai",                                                                      \
        .parse = parser,                                                                       \
        .render_new = render_new,                                                              \
        .render_free = render_free,                                                            \
        .render_chunk = render_chunk,                                                          \
        .render_end = render_end,                                                              \
        .render_stream_error = render_stream_error,                                            \
        .render_heartbeat = render_heartbeat,                                                  \
        .render_start = render_start,                                                          \
        .error_body = gw_openai_error_body,                                                    \
    }

OPENAI_DIALECT(gw_dialect_openai_chat, parse_chat);
OPENAI_DIALECT(gw_dialect_openai_completions, parse_completions);
OPENAI_DIALECT(gw_dialect_openai_embeddings, parse_embeddings);
OPENAI_DIALECT(gw_dialect_openai_images, parse_images);
