/* responses_events - the Responses stream's events, one writer each (see responses_int.h). */
#include <string.h>

#include "front/render.h"
#include "front/responses_int.h"

/* ---- events --------------------------------------------------------------------------- */

/* event: <type>\ndata: {"type":"<type>", then the caller's members, then the sequence number */
int gw_resp_ev_open(struct gw_resp_render *r, struct gw_buf *out, const char *type)
{
    (void)r;
    return gw_buf_append_strs(out, "event: ", type, "\ndata: {\"type\":\"", type, "\"", NULL);
}

int gw_resp_ev_close(struct gw_resp_render *r, struct gw_buf *out)
{
    int rc = gw_buf_append_str(out, ",\"sequence_number\":");
    if (!rc)
        rc = gw_buf_append_i64(out, r->seq++);
    return rc ? rc : gw_buf_append_str(out, "}\n\n");
}

/* ,"item_id":..,"output_index":N */
int gw_resp_ev_item(struct gw_buf *out, const struct gw_resp_item *it)
{
    int rc = gw_buf_append_str(out, ",\"item_id\":");
    if (!rc)
        rc = gw_json_escape(out, it->id, strlen(it->id));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"output_index\":");
    return rc ? rc : gw_buf_append_i64(out, it->output_index);
}

int gw_resp_ev_index(struct gw_buf *out, const char *key, int v)
{
    int rc = gw_buf_append_strs(out, ",\"", key, "\":", NULL);
    return rc ? rc : gw_buf_append_i64(out, v);
}

int gw_resp_ev_text(struct gw_buf *out, const char *key, const char *p, size_t n)
{
    int rc = gw_buf_append_strs(out, ",\"", key, "\":", NULL);
    return rc ? rc : gw_json_escape(out, p ? p : "", p ? n : 0);
}

int gw_resp_ev_response(struct gw_resp_render *r, struct gw_buf *out, const char *type,
                        const char *status, const struct aigw_error *e)
{
    int rc = gw_resp_ev_open(r, out, type);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"response\":");
    if (!rc)
        rc = gw_resp_write_response(r, out, status, e);
    return rc ? rc : gw_resp_ev_close(r, out);
}

int gw_resp_ev_start(struct gw_resp_render *r, struct gw_buf *out)
{
    if (r->started)
        return 0;
    r->started = 1;
    int rc = gw_resp_ev_response(r, out, "response.created", "in_progress", NULL);
    return rc ? rc : gw_resp_ev_response(r, out, "response.in_progress", "in_progress", NULL);
}

/* output_item.added or .done */
int gw_resp_ev_item_state(struct gw_resp_render *r, struct gw_buf *out,
                          const struct gw_resp_item *it, int final)
{
    int rc =
        gw_resp_ev_open(r, out, final ? "response.output_item.done" : "response.output_item.added");
    if (!rc)
        rc = gw_resp_ev_index(out, "output_index", it->output_index);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"item\":");
    if (!rc)
        rc = gw_resp_write_item(r, it, out, final);
    return rc ? rc : gw_resp_ev_close(r, out);
}

/* content_part.added/.done (message) or reasoning_summary_part.added/.done (reasoning) */
int gw_resp_ev_part(struct gw_resp_render *r, struct gw_buf *out, const struct gw_resp_item *it,
                    int idx, int final)
{
    const struct gw_resp_part *p = &it->parts[idx];
    int reasoning = it->kind == GW_RESP_REASONING;
    const char *type = reasoning
                           ? (final ? "response.reasoning_summary_part.done"
                                    : "response.reasoning_summary_part.added")
                           : (final ? "response.content_part.done" : "response.content_part.added");
    int rc = gw_resp_ev_open(r, out, type);
    if (!rc)
        rc = gw_resp_ev_item(out, it);
    if (!rc)
        rc = gw_resp_ev_index(out, reasoning ? "summary_index" : "content_index", idx);
    if (!rc && reasoning)
        rc = gw_buf_append_str(out, ",\"part\":{\"type\":\"summary_text\"");
    else if (!rc && p->refusal)
        rc = gw_buf_append_str(out, ",\"part\":{\"type\":\"refusal\"");
    else if (!rc)
        rc = gw_buf_append_str(out, ",\"part\":{\"type\":\"output_text\",\"annotations\":[],"
                                    "\"logprobs\":[]");
    if (!rc)
        rc = gw_resp_ev_text(out, p->refusal ? "refusal" : "text", final ? p->text.ptr : "",
                             final ? p->text.len : 0);
    if (!rc)
        rc = gw_buf_append(out, "}", 1);
    return rc ? rc : gw_resp_ev_close(r, out);
}

/* An output_text / refusal / reasoning_summary_text event's opening bytes, up to ,"<key>": */
static int part_text_head(struct gw_resp_render *r, struct gw_buf *out,
                          const struct gw_resp_item *it, int idx, int done)
{
    const struct gw_resp_part *pt = &it->parts[idx];
    int reasoning = it->kind == GW_RESP_REASONING;
    const char *type = reasoning ? (done ? "response.reasoning_summary_text.done"
                                         : "response.reasoning_summary_text.delta")
                       : pt->refusal
                           ? (done ? "response.refusal.done" : "response.refusal.delta")
                           : (done ? "response.output_text.done" : "response.output_text.delta");
    int rc = gw_resp_ev_open(r, out, type);
    if (!rc)
        rc = gw_resp_ev_item(out, it);
    if (!rc)
        rc = gw_resp_ev_index(out, reasoning ? "summary_index" : "content_index", idx);
    const char *key = !done ? "delta" : pt->refusal && !reasoning ? "refusal" : "text";
    return rc ? rc : gw_buf_append_strs(out, ",\"", key, "\":", NULL);
}

/* output_text / refusal / reasoning_summary_text .delta (p, n) or .done (the whole part). A
 * delta's opening bytes are made once per part and copied after (a dozen appends each). */
int gw_resp_ev_part_text(struct gw_resp_render *r, struct gw_buf *out,
                         const struct gw_resp_item *it, int idx, const char *p, size_t n)
{
    const struct gw_resp_part *pt = &it->parts[idx];
    int reasoning = it->kind == GW_RESP_REASONING, done = p == NULL;
    int rc = 0, item = (int)(it - r->items) + 1;
    if (done) {
        rc = part_text_head(r, out, it, idx, 1);
        if (!rc)
            rc = gw_json_escape(out, pt->text.ptr ? pt->text.ptr : "", pt->text.len);
    } else {
        if (r->dhead_item != item || r->dhead_part != idx) {
            gw_buf_reset(&r->dhead);
            r->dhead_item = 0;
            if ((rc = part_text_head(r, &r->dhead, it, idx, 0)))
                return rc;
            r->dhead_item = item;
            r->dhead_part = idx;
        }
        rc = gw_buf_append(out, r->dhead.ptr, r->dhead.len);
        if (!rc)
            rc = gw_json_escape(out, p, n);
    }
    if (!rc && !reasoning && !pt->refusal)
        rc = gw_buf_append_str(out, ",\"logprobs\":[]");
    return rc ? rc : gw_resp_ev_close(r, out);
}

/* function_call_arguments / custom_tool_call_input .delta (p, n) or .done */
int gw_resp_ev_args(struct gw_resp_render *r, struct gw_buf *out, const struct gw_resp_item *it,
                    const char *p, size_t n, int done)
{
    int custom = it->kind == GW_RESP_CUSTOM;
    const char *type = custom ? (done ? "response.custom_tool_call_input.done"
                                      : "response.custom_tool_call_input.delta")
                              : (done ? "response.function_call_arguments.done"
                                      : "response.function_call_arguments.delta");
    int rc = gw_resp_ev_open(r, out, type);
    if (!rc)
        rc = gw_resp_ev_item(out, it);
    if (!rc)
        rc = gw_resp_ev_text(out, done ? (custom ? "input" : "arguments") : "delta", p, n);
    if (!rc && done && !custom)
        rc = gw_resp_ev_text(out, "name", it->name, strlen(it->name));
    return rc ? rc : gw_resp_ev_close(r, out);
}
