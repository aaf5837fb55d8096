/*
 * responses_render - chunks -> the Responses stream's events or its response object.
 *
 * Items open lazily in arrival order, each announced at output_index = the number announced
 * before it, and each closed fully (its .done events, then output_item.done) before the next
 * opens: clients check that outputs only append. A tool call that begins while another is
 * open waits, buffered, until the open one has clearly ended (a fragment of the new call
 * arrives, or anything else), so upstreams that interleave two calls' fragments still give
 * whole, ordered items. response.completed waits for render_end: the usage comes after the
 * finish with OpenAI-wire upstreams.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/render.h"
#include "plugin/usage.h"
#include "front/responses_int.h"
#include "lib/crypto.h"
#include "lib/redact.h"
#include "plugin/errors.h"

/* ---- items ---------------------------------------------------------------------------- */

static const char *kind_prefix(int kind)
{
    switch (kind) {
    case GW_RESP_MESSAGE:
        return "msg_";
    case GW_RESP_REASONING:
        return "rs_";
    case GW_RESP_CUSTOM:
        return "ctc_";
    case GW_RESP_COMPACTION:
        return "cmp_";
    default:
        return "fc_";
    }
}

static struct gw_resp_item *item_new(struct gw_resp_render *r, int kind)
{
    if (r->nitems >= GW_RESP_MAX_OUTPUT)
        return NULL;
    struct gw_resp_item *items = realloc(r->items, sizeof *items * (size_t)(r->nitems + 1));
    if (!items)
        return NULL;
    r->items = items;
    struct gw_resp_item *it = &items[r->nitems];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->tool_index = -1;
    it->output_index = -1;
    /* The response's 48 digits, then 4 of index (GW_RESP_MAX_OUTPUT): an item_reference
     * finds the response by its item's id (responses_refs.c). */
    snprintf(it->id, sizeof it->id, "%s%.48s%04x", kind_prefix(kind), r->ctx->id + 5,
             (unsigned)r->nitems);
    for (int i = 0; i < GW_RESP_MAX_PARTS; i++)
        gw_buf_init(&it->parts[i].text, 0);
    gw_buf_init(&it->args, 0);
    gw_buf_init(&it->enc, 0);
    r->nitems++;
    return it;
}

static void item_free(struct gw_resp_item *it)
{
    free(it->name);
    free(it->ns);
    for (int i = 0; i < GW_RESP_MAX_PARTS; i++)
        gw_buf_free(&it->parts[i].text);
    gw_buf_free(&it->args);
    gw_buf_free(&it->enc);
}

static int idx_of(const struct gw_resp_render *r, const struct gw_resp_item *it)
{
    return (int)(it - r->items);
}

/* Announces an item (stream): output_item.added, and what it holds already. */
static int announce(struct gw_resp_render *r, struct gw_resp_item *it, struct gw_buf *out)
{
    it->output_index = r->noutput++;
    if (!r->stream)
        return 0;
    int rc = gw_resp_ev_item_state(r, out, it, 0);
    if (!rc && it->kind == GW_RESP_FUNCTION && it->args.len)
        rc = gw_resp_ev_args(r, out, it, it->args.ptr, it->args.len, 0);
    return rc;
}

static int close_item(struct gw_resp_render *r, struct gw_resp_item *it, struct gw_buf *out)
{
    if (it->closed)
        return 0;
    int rc = it->output_index < 0 ? announce(r, it, out) : 0;
    it->closed = 1;
    if (rc || !r->stream)
        return rc;
    if (it->part_open) {
        int last = it->nparts - 1;
        rc = gw_resp_ev_part_text(r, out, it, last, NULL, 0);
        if (!rc)
            rc = gw_resp_ev_part(r, out, it, last, 1);
        it->part_open = 0;
    }
    if (!rc && it->kind == GW_RESP_FUNCTION)
        rc = gw_resp_ev_args(r, out, it, it->args.ptr, it->args.len, 1);
    if (!rc && it->kind == GW_RESP_CUSTOM) {
        char *in = gw_resp_custom_input(it->args.ptr, it->args.len);
        if (!in)
            return AIGW_ENOMEM;
        if (*in)
            rc = gw_resp_ev_args(r, out, it, in, strlen(in), 0);
        if (!rc)
            rc = gw_resp_ev_args(r, out, it, in, strlen(in), 1);
        free(in);
    }
    return rc ? rc : gw_resp_ev_item_state(r, out, it, 1);
}

/* Closes the open item, then every tool call still waiting that began before `upto` (all
 * when upto is NULL), in the order they began. */
static int close_upto(struct gw_resp_render *r, const struct gw_resp_item *upto, struct gw_buf *out)
{
    int rc = 0;
    if (r->open >= 0)
        rc = close_item(r, &r->items[r->open], out);
    r->open = -1;
    int end = upto ? idx_of(r, upto) : r->nitems;
    for (int i = 0; i < end && !rc; i++)
        rc = close_item(r, &r->items[i], out);
    return rc;
}

static int close_all(struct gw_resp_render *r, struct gw_buf *out)
{
    return close_upto(r, NULL, out);
}

/* Makes it the open item (closing what was open and what waited before it), announced. */
static int open_item(struct gw_resp_render *r, struct gw_resp_item *it, struct gw_buf *out)
{
    int rc = close_upto(r, it, out);
    it->waiting = 0;
    if (!rc)
        rc = announce(r, it, out);
    r->open = idx_of(r, it);
    return rc;
}

/* Text, refusal or reasoning summary text into the open item of that kind. */
static int add_text(struct gw_resp_render *r, int kind, int refusal, const char *p, size_t n,
                    struct gw_buf *out)
{
    struct gw_resp_item *it = r->open >= 0 ? &r->items[r->open] : NULL;
    int rc = 0;
    if (!it || it->kind != kind) {
        if (!(it = item_new(r, kind)))
            return AIGW_ETOOBIG;
        if ((rc = open_item(r, it, out)))
            return rc;
    }
    if (!it->nparts || it->parts[it->nparts - 1].refusal != refusal) {
        if (it->part_open) {
            rc = gw_resp_ev_part_text(r, out, it, it->nparts - 1, NULL, 0);
            if (!rc)
                rc = gw_resp_ev_part(r, out, it, it->nparts - 1, 1);
            it->part_open = 0;
        }
        if (!rc && it->nparts < GW_RESP_MAX_PARTS) {
            it->parts[it->nparts++].refusal = refusal;
            if (r->stream)
                rc = gw_resp_ev_part(r, out, it, it->nparts - 1, 0);
            it->part_open = r->stream;
        }
        if (rc)
            return rc;
    }
    int last = it->nparts - 1;
    rc = gw_buf_append(&it->parts[last].text, p, n);
    if (!rc && r->stream)
        rc = gw_resp_ev_part_text(r, out, it, last, p, n);
    return rc;
}

/* The reasoning item that an encrypted piece belongs to: the open one, else a new one. */
static int add_encrypted(struct gw_resp_render *r, const struct aigw_chunk *c, int whole,
                         struct gw_buf *out)
{
    struct gw_resp_item *it = r->open >= 0 ? &r->items[r->open] : NULL;
    if (!r->ctx->want_encrypted || !c->text.len)
        return 0;
    if (!it || it->kind != GW_RESP_REASONING || whole) {
        int rc;
        if (!(it = item_new(r, GW_RESP_REASONING)))
            return AIGW_ETOOBIG;
        if ((rc = open_item(r, it, out)))
            return rc;
    }
    return gw_buf_append(&it->enc, c->text.ptr, c->text.len);
}

static void call_id_of(struct gw_resp_render *r, struct gw_resp_item *it,
                       const struct aigw_chunk *c)
{
    if (c->id.len && c->id.len < sizeof it->call_id) {
        memcpy(it->call_id, c->id.ptr, c->id.len);
        it->call_id[c->id.len] = '\0';
        return;
    }
    if (c->id.len) { /* OpenAI refuses call ids past 64 bytes: a stable short form */
        unsigned char h[32];
        char hex[65];
        gw_sha256(c->id.ptr, c->id.len, h);
        gw_hex(h, 16, hex);
        snprintf(it->call_id, sizeof it->call_id, "call_%.32s", hex);
        return;
    }
    snprintf(it->call_id, sizeof it->call_id, "call_%.40s%04x", r->ctx->id + 5,
             (unsigned)r->nitems);
}

static int tool_begin(struct gw_resp_render *r, const struct aigw_chunk *c,
                      struct gw_resp_item **out_it)
{
    char *flat = strndup(c->name.ptr ? c->name.ptr : "", c->name.len);
    if (!flat)
        return AIGW_ENOMEM;
    const struct gw_resp_tool *t = gw_resp_tool_by_flat(r->ctx, flat);
    struct gw_resp_item *it =
        item_new(r, t && t->kind == GW_RESP_TOOL_CUSTOM ? GW_RESP_CUSTOM : GW_RESP_FUNCTION);
    if (!it) {
        free(flat);
        return AIGW_ETOOBIG;
    }
    it->tool_index = c->tool_index;
    it->name = t ? strdup(t->name) : flat;
    it->ns = t && t->ns ? strdup(t->ns) : NULL;
    if (t)
        free(flat);
    call_id_of(r, it, c);
    *out_it = it;
    return it->name && (!t || !t->ns || it->ns) ? 0 : AIGW_ENOMEM;
}

static int is_tool(const struct gw_resp_item *it)
{
    return it && (it->kind == GW_RESP_FUNCTION || it->kind == GW_RESP_CUSTOM);
}

static int add_tool(struct gw_resp_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    struct gw_resp_item *it = NULL;
    for (int i = 0; i < r->nitems && !it; i++)
        if (is_tool(&r->items[i]) && r->items[i].tool_index == c->tool_index)
            it = &r->items[i];
    int rc, fresh = !it;
    if (fresh && (rc = tool_begin(r, c, &it)))
        return rc;
    if (it->closed)
        return 0; /* a piece after its call was closed: nothing can carry it any more */
    const char *p = c->text.ptr ? c->text.ptr : "";
    struct gw_resp_item *open = r->open >= 0 ? &r->items[r->open] : NULL;
    if (open == it) {
        rc = gw_buf_append(&it->args, p, c->text.len);
        if (!rc && r->stream && it->kind == GW_RESP_FUNCTION && c->text.len)
            rc = gw_resp_ev_args(r, out, it, p, c->text.len, 0);
        return rc;
    }
    rc = gw_buf_append(&it->args, p, c->text.len);
    if (rc)
        return rc;
    if (fresh && is_tool(open)) {
        it->waiting = 1; /* the open call may not have ended: wait for a second sign */
        return 0;
    }
    /* A further piece of a waiting call (or a call after text): the open item has ended. */
    return open_item(r, it, out);
}

/* ---- the dialect's renderer ----------------------------------------------------------- */

void *gw_responses_render_new(const struct gw_parsed *p, const char *model, const char *request_id)
{
    (void)request_id; /* the response id was minted at parse: storage uses it too */
    struct gw_resp_render *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ctx = p->ctx;
    /* What a guard matched is never stored (as in the request log): the answer says store
     * false, so the client knows it cannot be continued. */
    if (r->ctx && p->guard_rewrote && gw_resp_echo_unstore(r->ctx)) {
        free(r);
        return NULL;
    }
    r->stream = p->stream;
    r->open = -1;
    r->model = strdup(model ? model : p->model ? p->model : "");
    gw_buf_init(&r->summary, 0);
    aigw_usage_init(&r->usage);
    if (!r->ctx || !r->model) {
        gw_responses_render_free(r);
        return NULL;
    }
    return r;
}

void gw_responses_render_free(void *p)
{
    struct gw_resp_render *r = p;
    if (!r)
        return;
    for (int i = 0; i < r->nitems; i++)
        item_free(&r->items[i]);
    free(r->items);
    free(r->model);
    gw_buf_free(&r->dhead);
    gw_buf_free(&r->summary);
    free(r);
}

static void merge_usage(struct gw_resp_render *r, const struct aigw_usage *u)
{
    if (!u)
        return;
    gw_usage_merge(&r->usage, u);
    r->have_usage = 1;
}

/* A compacting request's answer: its text is the summary, sent only inside the compaction
 * item at the end; tool calls and reasoning have no place in it. */
static int compact_chunk(struct gw_resp_render *r, const struct aigw_chunk *c)
{
    if (c->type == AIGW_CHUNK_TEXT)
        return gw_resp_compact_text(r, c->text.ptr, c->text.len);
    if (c->type == AIGW_CHUNK_FINISH && !r->finish)
        r->finish = c->finish ? c->finish : AIGW_FINISH_STOP;
    return 0;
}

int gw_responses_render_chunk(void *p, const struct aigw_chunk *c, struct gw_buf *out)
{
    struct gw_resp_render *r = p;
    if (r->ended)
        return 0;
    if (c->type == AIGW_CHUNK_META) {
        if (!r->started && c->name.len) {
            char *m = strndup(c->name.ptr, c->name.len);
            if (!m)
                return AIGW_ENOMEM;
            free(r->model);
            r->model = m;
        }
        return 0;
    }
    if (c->type == AIGW_CHUNK_USAGE) {
        merge_usage(r, c->usage);
        return 0;
    }
    if (c->choice != 0 || c->type == AIGW_CHUNK_ERROR)
        return 0; /* one choice in this API; errors end the response through the lifetime */
    int rc = r->stream ? gw_resp_ev_start(r, out) : 0;
    if (rc)
        return rc;
    if (r->finish && c->type != AIGW_CHUNK_FINISH)
        return 0; /* nothing after the finish */
    if (r->ctx->compact)
        return compact_chunk(r, c);
    switch (c->type) {
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REFUSAL:
        return c->text.len ? add_text(r, GW_RESP_MESSAGE, c->type == AIGW_CHUNK_REFUSAL,
                                      c->text.ptr, c->text.len, out)
                           : 0;
    case AIGW_CHUNK_REASONING:
        return c->text.len ? add_text(r, GW_RESP_REASONING, 0, c->text.ptr, c->text.len, out) : 0;
    case AIGW_CHUNK_REASONING_SIGNATURE:
    case AIGW_CHUNK_REASONING_REDACTED:
        return add_encrypted(r, c, c->type == AIGW_CHUNK_REASONING_REDACTED, out);
    case AIGW_CHUNK_TOOL_CALL:
        return add_tool(r, c, out);
    case AIGW_CHUNK_FINISH:
        if (r->finish)
            return 0;
        r->finish = c->finish ? c->finish : AIGW_FINISH_STOP;
        return close_all(r, out);
    default:
        return 0; /* newer chunk types are ignored */
    }
}

/* The one output item of a compaction_trigger's answer (stream: announced and closed now). */
static int compact_end(struct gw_resp_render *r, struct gw_buf *out)
{
    if (r->ctx->compact == GW_RESP_COMPACT_ENDPOINT)
        return 0;
    struct gw_resp_item *it = item_new(r, GW_RESP_COMPACTION);
    return it ? open_item(r, it, out) : AIGW_ENOMEM;
}

static const char *final_status(const struct gw_resp_render *r)
{
    return r->finish == AIGW_FINISH_LENGTH || r->finish == AIGW_FINISH_CONTENT_FILTER ? "incomplete"
                                                                                      : "completed";
}

int gw_responses_render_end(void *p, struct gw_buf *out)
{
    struct gw_resp_render *r = p;
    if (r->ended)
        return 0;
    /* A compaction without a summary would replace the client's history with nothing (a
     * reasoning model that spent its whole budget thinking answers no text): an error, so
     * the client keeps its history and can try again. */
    if (r->ctx->compact && !r->summary.len)
        return AIGW_EPROTO;
    int rc = r->stream ? gw_resp_ev_start(r, out) : 0;
    if (!rc && r->ctx->compact)
        rc = compact_end(r, out);
    if (!rc)
        rc = close_all(r, out);
    r->ended = 1;
    if (rc)
        return rc;
    if (r->ctx->compact == GW_RESP_COMPACT_ENDPOINT)
        return gw_resp_write_compacted(r, out);
    const char *status = final_status(r);
    struct gw_buf doc;
    gw_buf_init(&doc, 0);
    rc = gw_resp_write_response(r, &doc, status, NULL);
    if (!rc && gw_resp_keep(r, doc.ptr, doc.len) < 0 && gw_resp_echo_unstore(r->ctx) == 0) {
        /* Not kept (over the store's 16 MiB, or its write queue full): the final document
         * says "store": false, rather than hand out an id that GET, input_items,
         * previous_response_id and item_reference would not find. */
        gw_buf_reset(&doc);
        rc = gw_resp_write_response(r, &doc, status, NULL);
    }
    if (!rc && r->stream) {
        const char *type =
            !strcmp(status, "completed") ? "response.completed" : "response.incomplete";
        rc = gw_resp_ev_open(r, out, type);
        if (!rc)
            rc = gw_buf_append_str(out, ",\"response\":");
        if (!rc)
            rc = gw_buf_append(out, doc.ptr, doc.len);
        if (!rc)
            rc = gw_resp_ev_close(r, out);
    } else if (!rc) {
        rc = gw_buf_append(out, doc.ptr, doc.len);
    }
    gw_buf_free(&doc);
    return rc;
}

int gw_responses_render_stream_error(void *p, const struct aigw_error *e, struct gw_buf *out)
{
    struct gw_resp_render *r = p;
    if (r->ended)
        return 0;
    int rc = gw_resp_ev_start(r, out);
    r->ended = 1;
    if (rc)
        return rc;
    /* The SDKs throw on the error event; Codex acts on response.failed: send both, the
     * failed response last as the one terminal event. Open items are left as they were. */
    char clean[2048];
    const char *m = e && e->message ? e->message : "the upstream provider failed";
    gw_redact(m, strlen(m), clean, sizeof clean);
    rc = gw_resp_ev_open(r, out, "error");
    if (!rc)
        rc = gw_resp_ev_text(out, "code", e && e->code ? e->code : "server_error",
                             strlen(e && e->code ? e->code : "server_error"));
    if (!rc)
        rc = gw_resp_ev_text(out, "message", clean, strlen(clean));
    if (!rc && e && e->param)
        rc = gw_resp_ev_text(out, "param", e->param, strlen(e->param));
    else if (!rc)
        rc = gw_buf_append_str(out, ",\"param\":null");
    if (!rc)
        rc = gw_resp_ev_close(r, out);
    return rc ? rc : gw_resp_ev_response(r, out, "response.failed", "failed", e);
}

int gw_responses_render_heartbeat(void *p, struct gw_buf *out)
{
    (void)p;
    return gw_buf_append_str(out, ": keepalive\n\n");
}

int gw_responses_render_start(void *p, struct gw_buf *out)
{
    struct gw_resp_render *r = p;
    if (!r->stream || r->ended)
        return 0;
    return gw_resp_ev_start(r, out); /* once: the first content finds it started */
}

int gw_responses_error_body(struct gw_buf *out, int status, const char *type, const char *code,
                            const char *param, const char *message)
{
    return gw_error_json(out, type ? type : gw_error_type_for_status(status), code, param, message);
}

const struct gw_dialect gw_responses_dialect = {
    .name = "responses",
    .parse = gw_responses_parse,
    .ctx_free = gw_responses_ctx_free,
    .render_new = gw_responses_render_new,
    .render_free = gw_responses_render_free,
    .render_chunk = gw_responses_render_chunk,
    .render_end = gw_responses_render_end,
    .render_stream_error = gw_responses_render_stream_error,
    .render_heartbeat = gw_responses_render_heartbeat,
    .render_start = gw_responses_render_start,
    .error_body = gw_responses_error_body,
};
