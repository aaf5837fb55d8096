/* responses_doc - the response object and its output items (see responses_int.h). */
#include <stdlib.h>
#include <string.h>

#include "front/render.h"
#include "front/responses_int.h"
#include "lib/jsonprint.h"
#include "lib/redact.h"

static int str_member(struct gw_buf *out, const char *lead, const char *p, size_t n)
{
    int rc = gw_buf_append_str(out, lead);
    return rc ? rc : gw_json_escape(out, p ? p : "", p ? n : 0);
}

static int cstr_member(struct gw_buf *out, const char *lead, const char *s)
{
    return str_member(out, lead, s, s ? strlen(s) : 0);
}

static int i64_member(struct gw_buf *out, const char *lead, int64_t v)
{
    int rc = gw_buf_append_str(out, lead);
    return rc ? rc : gw_buf_append_i64(out, v);
}

/* An item a failure cut off before it closed is incomplete. */
static const char *item_status(const struct gw_resp_item *it, int final)
{
    return !final ? "in_progress" : it->closed ? "completed" : "incomplete";
}

static int write_parts(const struct gw_resp_item *it, struct gw_buf *out)
{
    int rc = gw_buf_append_str(out, ",\"content\":[");
    for (int i = 0; i < it->nparts && !rc; i++) {
        const struct gw_resp_part *p = &it->parts[i];
        if (i)
            rc = gw_buf_append(out, ",", 1);
        if (!rc && p->refusal)
            rc = str_member(out, "{\"type\":\"refusal\",\"refusal\":", p->text.ptr, p->text.len);
        else if (!rc)
            rc = str_member(out,
                            "{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],"
                            "\"text\":",
                            p->text.ptr, p->text.len);
        if (!rc)
            rc = gw_buf_append(out, "}", 1);
    }
    return rc ? rc : gw_buf_append(out, "]", 1);
}

int gw_resp_write_item(const struct gw_resp_render *r, const struct gw_resp_item *it,
                       struct gw_buf *out, int final)
{
    if (it->kind == GW_RESP_COMPACTION) /* made whole at the end: one state only */
        return gw_resp_write_compaction_item(r, it->id, out);
    int rc = cstr_member(out, "{\"id\":", it->id);
    switch (it->kind) {
    case GW_RESP_MESSAGE:
        if (!rc)
            rc = gw_buf_append_strs(out, ",\"type\":\"message\",\"status\":\"",
                                    item_status(it, final), "\"", NULL);
        if (!rc && final)
            rc = write_parts(it, out);
        else if (!rc)
            rc = gw_buf_append_str(out, ",\"content\":[]");
        if (!rc)
            rc = gw_buf_append_str(out, ",\"role\":\"assistant\"");
        break;
    case GW_RESP_REASONING:
        if (!rc)
            rc = gw_buf_append_str(out, ",\"type\":\"reasoning\",\"summary\":[");
        if (!rc && final && it->nparts && it->parts[0].text.len)
            rc = str_member(out, "{\"type\":\"summary_text\",\"text\":", it->parts[0].text.ptr,
                            it->parts[0].text.len);
        if (!rc && final && it->nparts && it->parts[0].text.len)
            rc = gw_buf_append(out, "}", 1);
        if (!rc)
            rc = gw_buf_append(out, "]", 1);
        if (!rc && r->ctx->want_encrypted && final && it->enc.len)
            rc = str_member(out, ",\"encrypted_content\":", it->enc.ptr, it->enc.len);
        else if (!rc && r->ctx->want_encrypted)
            rc = gw_buf_append_str(out, ",\"encrypted_content\":null");
        break;
    case GW_RESP_FUNCTION:
    case GW_RESP_CUSTOM:
        if (!rc)
            rc = gw_buf_append_strs(out, ",\"type\":\"",
                                    it->kind == GW_RESP_CUSTOM ? "custom_tool_call"
                                                               : "function_call",
                                    "\",\"status\":\"", item_status(it, final), "\"", NULL);
        if (!rc && it->kind == GW_RESP_FUNCTION)
            rc = str_member(out, ",\"arguments\":", final ? it->args.ptr : "",
                            final ? it->args.len : 0);
        if (!rc)
            rc = cstr_member(out, ",\"call_id\":", it->call_id);
        if (!rc && it->kind == GW_RESP_CUSTOM) {
            char *in = final ? gw_resp_custom_input(it->args.ptr, it->args.len) : NULL;
            if (final && !in)
                return AIGW_ENOMEM;
            rc = cstr_member(out, ",\"input\":", in ? in : "");
            free(in);
        }
        if (!rc)
            rc = cstr_member(out, ",\"name\":", it->name);
        if (!rc && it->ns)
            rc = cstr_member(out, ",\"namespace\":", it->ns);
        break;
    default:
        break;
    }
    return rc ? rc : gw_buf_append(out, "}", 1);
}

char *gw_resp_custom_input(const char *args, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(args ? args : "", len);
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
    if (!cJSON_IsString(in) && cJSON_IsObject(j) && cJSON_GetArraySize(j) == 1 &&
        cJSON_IsString(j->child))
        in = j->child; /* the model named the one argument differently */
    char *s = cJSON_IsString(in) ? strdup(in->valuestring) : strndup(args ? args : "", len);
    cJSON_Delete(j);
    return s;
}

int gw_resp_write_usage(const struct gw_resp_render *r, struct gw_buf *out)
{
    const struct aigw_usage *u = &r->usage;
    int64_t in = u->prompt_tokens > 0 ? u->prompt_tokens : 0;
    int64_t o = u->completion_tokens > 0 ? u->completion_tokens : 0;
    int rc = i64_member(out, ",\"usage\":{\"input_tokens\":", in);
    if (!rc)
        rc = i64_member(out, ",\"input_tokens_details\":{\"cached_tokens\":",
                        u->cached_tokens > 0 ? u->cached_tokens : 0);
    if (!rc)
        rc = i64_member(out, "},\"output_tokens\":", o);
    if (!rc)
        rc = i64_member(out, ",\"output_tokens_details\":{\"reasoning_tokens\":",
                        u->reasoning_tokens > 0 ? u->reasoning_tokens : 0);
    if (!rc)
        rc = i64_member(out, "},\"total_tokens\":", in + o);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

static int error_write(struct gw_buf *out, const struct aigw_error *e)
{
    char clean[2048];
    const char *m = e && e->message ? e->message : "the upstream provider failed";
    gw_redact(m, strlen(m), clean, sizeof clean);
    const char *code = e && e->code ? e->code : "server_error";
    int rc = cstr_member(out, ",\"error\":{\"code\":", code);
    if (!rc)
        rc = cstr_member(out, ",\"message\":", clean);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

int gw_resp_write_response(const struct gw_resp_render *r, struct gw_buf *out, const char *status,
                           const struct aigw_error *error)
{
    const struct gw_resp_ctx *ctx = r->ctx;
    int progress = !strcmp(status, "in_progress");
    int rc = cstr_member(out, "{\"id\":", ctx->id);
    if (!rc)
        rc = i64_member(out, ",\"object\":\"response\",\"created_at\":", ctx->created_at);
    if (!rc)
        rc = gw_buf_append_strs(out, ",\"status\":\"", status, "\",\"background\":false", NULL);
    if (!rc && !strcmp(status, "failed"))
        rc = error_write(out, error);
    else if (!rc)
        rc = gw_buf_append_str(out, ",\"error\":null");
    if (!rc && !strcmp(status, "incomplete"))
        rc = gw_buf_append_strs(out, ",\"incomplete_details\":{\"reason\":\"",
                                r->finish == AIGW_FINISH_CONTENT_FILTER ? "content_filter"
                                                                        : "max_output_tokens",
                                "\"}", NULL);
    else if (!rc)
        rc = gw_buf_append_str(out, ",\"incomplete_details\":null");
    if (!rc)
        rc = gw_buf_append(out, r->ctx->echo, r->ctx->echo_mid);
    if (!rc)
        rc = cstr_member(out, ",\"model\":", r->model);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"output\":[");
    /* output in the order the items were announced (for a document: created) */
    int n = 0;
    for (int pos = 0; !progress && !rc && pos < r->nitems; pos++) {
        for (int i = 0; i < r->nitems && !rc; i++) {
            const struct gw_resp_item *it = &r->items[i];
            if (it->output_index != pos)
                continue;
            if (n++)
                rc = gw_buf_append(out, ",", 1);
            if (!rc)
                rc = gw_resp_write_item(r, it, out, 1);
        }
    }
    if (!rc)
        rc = gw_buf_append(out, "]", 1);
    if (!rc)
        rc = gw_buf_append(out, r->ctx->echo + r->ctx->echo_mid,
                           r->ctx->echo_tail - r->ctx->echo_mid);
    if (!rc && progress)
        rc = gw_buf_append_str(out, ",\"usage\":null");
    else if (!rc)
        rc = gw_resp_write_usage(r, out);
    if (!rc)
        rc = gw_buf_append(out, r->ctx->echo + r->ctx->echo_tail,
                           r->ctx->echo_len - r->ctx->echo_tail);
    return rc ? rc : gw_buf_append(out, "}", 1);
}
