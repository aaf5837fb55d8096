/*
 * anthropic_events - content blocks written out (see anthropic_render.h): named SSE events for
 * a stream (the event: name always equals the JSON type, which both SDKs dispatch on), or the
 * message object, built block by block the way the SDKs accumulate a stream.
 */
#include "front/anthropic_render.h"
#include "lib/jsonprint.h"

#include <stdlib.h>
#include <string.h>

/* Usage in Anthropic's terms: input_tokens excludes what was read from or written to the
 * cache; chat's prompt_tokens includes both. */
struct anth_counts {
    int64_t input, cache_read, cache_write, output;
};

static int64_t nonneg(int64_t v)
{
    return v > 0 ? v : 0;
}

/* A prompt of 0 tokens is a provider that does not count, not a real count. */
static int reported_input(const struct anth_render *r)
{
    return r->have_usage && r->usage.prompt_tokens > 0;
}

static struct anth_counts counts(const struct anth_render *r)
{
    struct anth_counts c = {0, 0, 0, 0};
    c.cache_read = nonneg(r->usage.cached_tokens);
    c.cache_write = nonneg(r->usage.cache_write_tokens);
    if (reported_input(r))
        c.input = nonneg(r->usage.prompt_tokens - c.cache_read - c.cache_write);
    else if (r->start_input >= 0)
        c.input = r->start_input;
    else
        c.input = r->ctx ? r->ctx->input_estimate : 0;
    if (r->have_usage && r->usage.completion_tokens >= 0)
        c.output = r->usage.completion_tokens;
    else /* no count from upstream: the same heuristic as for the input */
        c.output = (r->out_ascii + 3) / 4 + r->out_other;
    return c;
}

static int i64(struct gw_buf *out, const char *lead, int64_t v)
{
    int rc = gw_buf_append_str(out, lead);
    return rc ? rc : gw_buf_append_i64(out, v);
}

static int usage_obj(struct gw_buf *out, const struct anth_counts *c)
{
    int rc = i64(out, "{\"input_tokens\":", c->input);
    if (!rc)
        rc = i64(out, ",\"cache_creation_input_tokens\":", c->cache_write);
    if (!rc)
        rc = i64(out, ",\"cache_read_input_tokens\":", c->cache_read);
    if (!rc)
        rc = i64(out, ",\"output_tokens\":", c->output);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

/* event: <type>\ndata: {"type":"<type>" -- the caller writes the rest and ev_end. */
static int ev_begin(struct gw_buf *out, const char *type)
{
    return gw_buf_append_strs(out, "event: ", type, "\ndata: {\"type\":\"", type, "\"", NULL);
}

static int ev_end(struct gw_buf *out)
{
    return gw_buf_append_str(out, "}\n\n");
}

int anth_ev_message_start(struct anth_render *r, struct gw_buf *out)
{
    if (r->started)
        return 0;
    r->started = 1;
    /* Real input tokens from the first byte: the upstream's own when it reported them before
     * its content (Anthropic does), else the estimate made when the request was read. */
    struct anth_counts c = counts(r);
    if (!reported_input(r) && c.input <= 0)
        c.input = 1;
    r->start_input = c.input;
    if (!r->stream)
        return 0;
    c.output = r->have_usage && r->usage.completion_tokens > 0 ? r->usage.completion_tokens : 1;
    int rc = ev_begin(out, "message_start");
    if (!rc)
        rc = gw_buf_append_str(out, ",\"message\":{\"id\":");
    if (!rc)
        rc = gw_anth_json_str(out, r->id, strlen(r->id));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    if (!rc)
        rc = gw_anth_json_str(out, r->model, strlen(r->model));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"content\":[],\"stop_reason\":null,"
                                    "\"stop_sequence\":null,\"usage\":");
    if (!rc)
        rc = usage_obj(out, &c);
    if (!rc)
        rc = gw_buf_append(out, "}", 1);
    return rc ? rc : ev_end(out);
}

int anth_ev_open(struct anth_render *r, struct gw_buf *out, int kind, const cJSON *head)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(head, "type");
    r->open = kind;
    r->open_index = r->next_index++;
    r->raw_text = kind == ANTH_B_RAW && cJSON_IsString(type) && !strcmp(type->valuestring, "text");
    gw_buf_reset(&r->text);
    gw_buf_reset(&r->sig);
    if (!r->stream) {
        r->cur = cJSON_Duplicate(head, 1);
        if (!r->cur || !cJSON_AddItemToArray(r->content, r->cur)) {
            cJSON_Delete(r->cur);
            r->cur = NULL;
            return AIGW_ENOMEM;
        }
        return 0;
    }
    int rc = ev_begin(out, "content_block_start");
    if (!rc)
        rc = i64(out, ",\"index\":", r->open_index);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"content_block\":");
    if (!rc)
        rc = gw_json_print(out, head);
    return rc ? rc : ev_end(out);
}

/* Non-streams: a citation joins the open block's citations. */
static int add_citation(struct anth_render *r, const cJSON *citation)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->cur, "citations");
    if (!cJSON_IsArray(arr)) {
        cJSON_DeleteItemFromObjectCaseSensitive(r->cur, "citations");
        arr = cJSON_AddArrayToObject(r->cur, "citations");
    }
    cJSON *c = cJSON_Duplicate(citation, 1);
    if (!arr || !c || !cJSON_AddItemToArray(arr, c)) {
        cJSON_Delete(c);
        return AIGW_ENOMEM;
    }
    return 0;
}

static int delta_doc(struct anth_render *r, const char *dtype, const char *p, size_t n,
                     const cJSON *raw)
{
    if (!r->cur)
        return 0;
    if (raw) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(raw, "type");
        const char *k = cJSON_IsString(t) ? t->valuestring : "";
        if (!strcmp(k, "citations_delta"))
            return add_citation(r, cJSON_GetObjectItemCaseSensitive(raw, "citation"));
        const char *field = !strcmp(k, "text_delta")         ? "text"
                            : !strcmp(k, "input_json_delta") ? "partial_json"
                            : !strcmp(k, "thinking_delta")   ? "thinking"
                            : !strcmp(k, "signature_delta")  ? "signature"
                                                             : NULL;
        const cJSON *v = field ? cJSON_GetObjectItemCaseSensitive(raw, field) : NULL;
        if (!cJSON_IsString(v))
            return 0;
        dtype = k;
        p = v->valuestring;
        n = strlen(p);
    }
    return gw_buf_append(!strcmp(dtype, "signature_delta") ? &r->sig : &r->text, p, n);
}

int anth_ev_delta(struct anth_render *r, struct gw_buf *out, const char *dtype, const char *field,
                  const char *p, size_t n, const cJSON *raw)
{
    if (!r->stream)
        return delta_doc(r, dtype, p, n, raw);
    if (raw) {
        int rc = ev_begin(out, "content_block_delta");
        if (!rc)
            rc = i64(out, ",\"index\":", r->open_index);
        if (!rc)
            rc = gw_buf_append_str(out, ",\"delta\":");
        if (!rc)
            rc = gw_json_print(out, raw);
        return rc ? rc : ev_end(out);
    }
    /* The bytes before the string are the same for every delta of a block and type: made
     * once, then copied (they were a dozen appends a delta). */
    if (!r->dhead_type || r->dhead_index != r->open_index || strcmp(r->dhead_type, dtype)) {
        struct gw_buf *h = &r->dhead;
        gw_buf_reset(h);
        r->dhead_type = NULL;
        int rc = ev_begin(h, "content_block_delta");
        if (!rc)
            rc = i64(h, ",\"index\":", r->open_index);
        if (!rc)
            rc = gw_buf_append_strs(h, ",\"delta\":{\"type\":\"", dtype, "\",\"", field,
                                    "\":", NULL);
        if (rc)
            return rc;
        r->dhead_index = r->open_index;
        r->dhead_type = dtype;
    }
    int rc = gw_buf_append(out, r->dhead.ptr, r->dhead.len);
    if (!rc)
        rc = gw_anth_json_str(out, p ? p : "", p ? n : 0);
    return rc ? rc : gw_buf_append(out, "}}\n\n", 4);
}

static int set_str(cJSON *o, const char *k, const struct gw_buf *b)
{
    cJSON *v = cJSON_CreateString(b->len ? b->ptr : "");
    if (!v)
        return AIGW_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(o, k))
        return cJSON_ReplaceItemInObjectCaseSensitive(o, k, v) ? 0 : AIGW_ENOMEM;
    return cJSON_AddItemToObject(o, k, v) ? 0 : (cJSON_Delete(v), AIGW_ENOMEM);
}

/* The block's arguments as its input: an object, or {} when they are not one. */
static int set_input(cJSON *o, const struct gw_buf *b)
{
    cJSON *v = b->len ? cJSON_ParseWithLength(b->ptr, b->len) : NULL;
    if (!cJSON_IsObject(v)) {
        cJSON_Delete(v);
        v = cJSON_CreateObject();
    }
    if (!v)
        return AIGW_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(o, "input"))
        return cJSON_ReplaceItemInObjectCaseSensitive(o, "input", v) ? 0 : AIGW_ENOMEM;
    return cJSON_AddItemToObject(o, "input", v) ? 0 : (cJSON_Delete(v), AIGW_ENOMEM);
}

static int close_doc(struct anth_render *r)
{
    cJSON *b = r->cur;
    int rc = 0;
    if (!b)
        return 0;
    if (r->open == ANTH_B_TEXT || (r->open == ANTH_B_RAW && r->raw_text)) {
        if (r->open == ANTH_B_RAW) { /* the block may have come with text of its own */
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
            struct gw_buf all;
            gw_buf_init(&all, 0);
            rc = gw_buf_append_strs(&all, cJSON_IsString(t) ? t->valuestring : "",
                                    r->text.len ? r->text.ptr : "", NULL);
            if (!rc)
                rc = set_str(b, "text", &all);
            gw_buf_free(&all);
        } else {
            rc = set_str(b, "text", &r->text);
        }
    } else if (r->open == ANTH_B_THINKING) {
        rc = set_str(b, "thinking", &r->text);
        if (!rc)
            rc = set_str(b, "signature", &r->sig);
    } else if (r->open == ANTH_B_TOOL || (r->open == ANTH_B_RAW && r->text.len &&
                                          cJSON_GetObjectItemCaseSensitive(b, "input"))) {
        rc = set_input(b, &r->text);
    }
    return rc;
}

int anth_ev_close(struct anth_render *r, struct gw_buf *out)
{
    int rc;
    if (r->open == ANTH_B_NONE)
        return 0;
    if (!r->stream) {
        rc = close_doc(r);
    } else {
        rc = ev_begin(out, "content_block_stop");
        if (!rc)
            rc = i64(out, ",\"index\":", r->open_index);
        if (!rc)
            rc = ev_end(out);
    }
    r->open = ANTH_B_NONE;
    r->raw_text = 0;
    r->cur = NULL;
    gw_buf_reset(&r->text);
    gw_buf_reset(&r->sig);
    return rc;
}

static int stop_fields(struct anth_render *r, struct gw_buf *out, const char *stop_reason)
{
    int rc =
        gw_buf_append_strs(out, "\"stop_reason\":\"", stop_reason, "\",\"stop_sequence\":", NULL);
    if (!rc && r->stop_sequence)
        rc = gw_anth_json_str(out, r->stop_sequence, strlen(r->stop_sequence));
    else if (!rc)
        rc = gw_buf_append_str(out, "null");
    return rc;
}

int anth_ev_finish(struct anth_render *r, struct gw_buf *out, const char *stop_reason)
{
    struct anth_counts c = counts(r);
    int rc;
    if (r->stream) {
        /* Cumulative totals; input_tokens again, now the upstream's own when it reported
         * them (the SDKs take message_delta's input_tokens over message_start's). */
        rc = ev_begin(out, "message_delta");
        if (!rc)
            rc = gw_buf_append_str(out, ",\"delta\":{");
        if (!rc)
            rc = stop_fields(r, out, stop_reason);
        if (!rc)
            rc = gw_buf_append_str(out, "},\"usage\":");
        if (!rc)
            rc = usage_obj(out, &c);
        if (!rc)
            rc = ev_end(out);
        if (!rc)
            rc = ev_begin(out, "message_stop");
        return rc ? rc : ev_end(out);
    }
    rc = gw_buf_append_str(out, "{\"id\":");
    if (!rc)
        rc = gw_anth_json_str(out, r->id, strlen(r->id));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    if (!rc)
        rc = gw_anth_json_str(out, r->model, strlen(r->model));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"content\":");
    if (!rc)
        rc = gw_json_print(out, r->content);
    if (!rc)
        rc = gw_buf_append(out, ",", 1);
    if (!rc)
        rc = stop_fields(r, out, stop_reason);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"usage\":");
    if (!rc)
        rc = usage_obj(out, &c);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

int anth_ev_count(struct anth_render *r, struct gw_buf *out)
{
    int64_t n = reported_input(r) ? r->usage.prompt_tokens : (r->ctx ? r->ctx->input_estimate : 0);
    int rc = i64(out, "{\"input_tokens\":", n);
    return rc ? rc : gw_buf_append(out, "}", 1);
}
