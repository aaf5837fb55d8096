/*
 * render_doc - the OpenAI shapes that close a response: the chat.completion and
 * text_completion documents, embeddings and images lists, a stream's last chunks (finishes,
 * usage, [DONE]) and its in-stream error event.
 */
#include "front/render.h"
#include "front/render_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jsonprint.h"
#include "lib/redact.h"
#include "plugin/errors.h"

/* The usage object, written straight into out (no cJSON tree: the final document of every
 * non-streaming response passes here, and building then printing a tree was 6% of the CPU). */
static int usage_write(const struct gw_render *r, struct gw_buf *out)
{
    const struct aigw_usage *u = &r->usage;
    int64_t p = u->prompt_tokens > 0 ? u->prompt_tokens : 0;
    int64_t c = u->completion_tokens > 0 ? u->completion_tokens : 0;
    int rc = gw_render_member_i64(out, "{\"prompt_tokens\":", p);
    if (!rc && (r->op == AIGW_OP_CHAT || r->op == AIGW_OP_IMAGES))
        rc = gw_render_member_i64(out, ",\"completion_tokens\":", c);
    if (!rc)
        rc = gw_render_member_i64(out, ",\"total_tokens\":", p + c);
    if (!rc && (u->cached_tokens >= 0 || u->cache_write_tokens >= 0)) {
        rc = gw_render_member_i64(out, ",\"prompt_tokens_details\":{\"cached_tokens\":",
                                  u->cached_tokens > 0 ? u->cached_tokens : 0);
        if (!rc && u->cache_write_tokens >= 0)
            rc = gw_render_member_i64(out, ",\"cache_write_tokens\":", u->cache_write_tokens);
        if (!rc)
            rc = gw_buf_append(out, "}", 1);
    }
    if (!rc && u->reasoning_tokens >= 0) {
        rc = gw_render_member_i64(
            out, ",\"completion_tokens_details\":{\"reasoning_tokens\":", u->reasoning_tokens);
        if (!rc)
            rc = gw_buf_append(out, "}", 1);
    }
    if (!rc)
        rc = gw_buf_append(out, "}", 1);
    return rc;
}

/* ,"key":<value> for a cJSON value (items and plugin extras, which are trees already). */
static int member_json(struct gw_buf *out, const char *key, const cJSON *v)
{
    int rc = gw_buf_append(out, ",", 1);
    if (!rc)
        rc = gw_json_escape(out, key, strlen(key));
    if (!rc)
        rc = gw_buf_append(out, ":", 1);
    if (!rc)
        rc = gw_json_print(out, v);
    return rc;
}

static int member_str(struct gw_buf *out, const char *key, const char *p, size_t n)
{
    int rc = gw_buf_append_strs(out, ",\"", key, "\":", NULL);
    return rc ? rc : gw_json_escape(out, p ? p : "", p ? n : 0);
}

static int message_write(const struct gw_render_choice *ch, struct gw_buf *out)
{
    int rc = gw_buf_append_str(out, "\"message\":{\"role\":\"assistant\"");
    if (!rc && (ch->text.len || !ch->ntools))
        rc = member_str(out, "content", ch->text.ptr, ch->text.len);
    else if (!rc)
        rc = gw_buf_append_str(out, ",\"content\":null");
    if (!rc && ch->reasoning.len)
        rc = member_str(out, "reasoning_content", ch->reasoning.ptr, ch->reasoning.len);
    if (!rc && ch->refusal.len)
        rc = member_str(out, "refusal", ch->refusal.ptr, ch->refusal.len);
    else if (!rc)
        rc = gw_buf_append_str(out, ",\"refusal\":null");
    if (!rc && ch->ntools) {
        rc = gw_buf_append_str(out, ",\"tool_calls\":[");
        int first = 1;
        for (int t = 0; t < ch->ntools && !rc; t++) {
            const struct gw_render_tool *tl = &ch->tools[t];
            if (!tl->id)
                continue;
            rc = gw_buf_append_str(out, first ? "{\"id\":" : ",{\"id\":");
            first = 0;
            if (!rc)
                rc = gw_json_escape(out, tl->id, strlen(tl->id));
            if (!rc)
                rc = gw_buf_append_str(out, ",\"type\":\"function\",\"function\":{\"name\":");
            if (!rc)
                rc = gw_json_escape(out, tl->name ? tl->name : "", tl->name ? strlen(tl->name) : 0);
            if (!rc)
                rc = member_str(out, "arguments", tl->args.ptr, tl->args.len);
            if (!rc)
                rc = gw_buf_append_str(out, "}}");
        }
        if (!rc)
            rc = gw_buf_append(out, "]", 1);
    }
    if (!rc)
        rc = gw_buf_append(out, "}", 1);
    return rc;
}

static int extras_write(const struct gw_render *r, struct gw_buf *out)
{
    int rc = 0;
    for (const cJSON *e = ((const cJSON *)r->extras)->child; e && !rc; e = e->next)
        rc = member_json(out, e->string, e);
    return rc;
}

static int end_chat_document(struct gw_render *r, struct gw_buf *out)
{
    if (!r->nchoices && !gw_render_choice(r, 0))
        return AIGW_ENOMEM;
    int rc = gw_render_doc_head(r, out, "", r->legacy ? "text_completion" : "chat.completion");
    if (!rc)
        rc = gw_buf_append_str(out, ",\"choices\":[");
    for (int i = 0; i < r->nchoices && !rc; i++) {
        struct gw_render_choice *ch = &r->choices[i];
        int fin = ch->finished ? ch->finish : gw_render_default_finish(ch);
        rc = gw_render_member_i64(out, i ? ",{\"index\":" : "{\"index\":", i);
        if (!rc)
            rc = gw_buf_append(out, ",", 1);
        if (!rc && r->legacy)
            rc = gw_buf_append_str(out, "\"text\":");
        if (!rc && r->legacy)
            rc = gw_json_escape(out, ch->text.ptr ? ch->text.ptr : "", ch->text.len);
        else if (!rc)
            rc = message_write(ch, out);
        if (!rc)
            rc = gw_buf_append_strs(out, ",\"logprobs\":null,\"finish_reason\":\"",
                                    gw_finish_name(fin), "\"}", NULL);
    }
    if (!rc)
        rc = gw_buf_append_str(out, "],\"usage\":");
    if (!rc)
        rc = usage_write(r, out);
    if (!rc)
        rc = extras_write(r, out);
    if (!rc)
        rc = gw_buf_append(out, "}", 1);
    return rc;
}

static int end_stream(struct gw_render *r, struct gw_buf *out)
{
    int rc = 0;
    if (r->nchoices == 0 && !gw_render_choice(r, 0))
        return AIGW_ENOMEM;
    for (int i = 0; i < r->nchoices && !rc; i++) {
        struct gw_render_choice *ch = &r->choices[i];
        if (ch->finished)
            continue;
        /* Choices the upstream skipped (a hole in the indexes) stay silent. */
        if (!ch->started && i > 0)
            continue;
        ch->finish = gw_render_default_finish(ch);
        rc = gw_render_finish_event(r, out, i);
    }
    if (!rc && r->include_usage) {
        rc = gw_render_open_event(r, out, -1);
        if (!rc)
            rc = gw_buf_append_str(out, ",\"choices\":[],\"usage\":");
        if (!rc)
            rc = usage_write(r, out);
        if (!rc)
            rc = gw_buf_append_str(out, "}\n\n");
    }
    if (!rc)
        rc = gw_buf_append_str(out, "data: [DONE]\n\n");
    r->bytes_out = (int64_t)out->len;
    return rc;
}

int gw_render_end(struct gw_render *r, struct gw_buf *out)
{
    if (r->ended)
        return 0;
    r->ended = 1;
    if (r->op == AIGW_OP_CHAT)
        return r->stream ? end_stream(r, out) : end_chat_document(r, out);
    int rc;
    if (r->op == AIGW_OP_EMBEDDINGS) {
        rc = gw_buf_append_str(out, "{\"object\":\"list\"");
        if (!rc)
            rc = member_json(out, "data", r->items);
        if (!rc)
            rc = member_str(out, "model", r->model, strlen(r->model));
        if (!rc)
            rc = gw_buf_append_str(out, ",\"usage\":");
        if (!rc)
            rc = usage_write(r, out);
    } else if (r->op == AIGW_OP_IMAGES) {
        rc = gw_render_member_i64(out, "{\"created\":", r->created);
        if (!rc)
            rc = member_json(out, "data", r->items);
        if (!rc && r->have_usage)
            rc = gw_buf_append_str(out, ",\"usage\":");
        if (!rc && r->have_usage)
            rc = usage_write(r, out);
    } else {
        rc = gw_buf_append_str(out, "{\"object\":\"list\"");
        if (!rc)
            rc = member_json(out, "data", r->items);
    }
    if (!rc)
        rc = gw_buf_append(out, "}", 1);
    return rc;
}

int gw_render_stream_error(struct gw_render *r, const struct aigw_error *err, struct gw_buf *out)
{
    r->ended = 1;
    int rc = gw_buf_append_str(out, "data: ");
    if (!rc)
        rc = gw_error_json(out, err->type ? err->type : gw_error_type_for_status(err->status),
                           err->code, err->param, err->message);
    if (!rc)
        rc = gw_buf_append_str(out, "\n\ndata: [DONE]\n\n");
    return rc;
}

int gw_render_outcome(struct gw_render *r, const struct gw_call *c, int rc, size_t bytes_sent,
                      struct gw_buf *out, int *status)
{
    struct aigw_error err;
    if (!gw_outcome_error(c, rc, &err)) {
        *status = 200;
        return gw_render_end(r, out);
    }
    if (r->stream && (bytes_sent > 0 || out->len > 0)) {
        *status = 200;
        return gw_render_stream_error(r, &err, out);
    }
    *status = gw_error_status(&err);
    r->ended = 1;
    return gw_error_json(out, err.type ? err.type : gw_error_type_for_status(*status), err.code,
                         err.param, err.message);
}
