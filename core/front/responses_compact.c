/*
 * responses_compact - conversation compaction for targets that do not speak Responses
 * (see responses.h): POST /v1/responses/compact, and a compaction_trigger ending the input of
 * POST /v1/responses. The routed model is asked, in one more user turn, for a handoff summary;
 * the answer's text becomes a compaction item whose encrypted_content aigw reads back later
 * (gw_resp_compaction_decode) as a user message carrying the summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/render.h"
#include "front/responses.h"
#include "front/responses_int.h"
#include "lib/crypto.h"
#include "lib/jsonprint.h"
#include "lib/utf8.h"

/* The turn that asks for the summary (our own words): what a model with nothing but the note
 * and the user's messages needs to carry the work on. */
static const char summary_ask[] =
    "Pause the task: call no tools and do not continue the work. The conversation above is "
    "about to be replaced by a note you write now, and another model will carry on from that "
    "note and the user's own messages alone. Write the note as plain text covering: what the "
    "user asked for and any constraints or preferences they stated; the decisions taken and "
    "why; what has been done so far (files read, created or changed, commands run and what "
    "they showed); what is still open or was about to be done next; and every name, path, "
    "identifier or value needed to continue. Be specific and brief; leave out pleasantries.";

/* What the summary is introduced with when a compaction item is read back. */
static const char summary_preface[] =
    "The earlier part of this conversation was compacted. This is a summary of it, written "
    "for you to continue from:\n\n";

/* The user messages a compacted history keeps, newest first, up to this many bytes of
 * text: Codex's own (local) compaction keeps the most recent user messages up to 20,000
 * tokens (COMPACT_USER_MESSAGE_MAX_TOKENS), about 80 kB at four bytes a token. */
#define KEEP_USER_BYTES 80000
/* A summary longer than this is cut: it is meant to be a fraction of a context window. */
#define SUMMARY_MAX (256u << 10)

int gw_resp_compaction_encode(const char *summary, size_t n, struct gw_buf *out)
{
    size_t cap = gw_base64_encoded_size(n);
    char *b64 = malloc(cap);
    if (!b64)
        return AIGW_ENOMEM;
    size_t len = gw_base64_encode(summary, n, 0, b64);
    int rc = gw_buf_append(out, GW_RESP_COMPACTION_PREFIX, sizeof GW_RESP_COMPACTION_PREFIX - 1);
    if (!rc)
        rc = gw_buf_append(out, b64, len);
    free(b64);
    return rc;
}

int gw_resp_compaction_decode(const char *enc, size_t n, struct gw_buf *out)
{
    size_t plen = sizeof GW_RESP_COMPACTION_PREFIX - 1;
    if (n < plen || memcmp(enc, GW_RESP_COMPACTION_PREFIX, plen))
        return AIGW_ENOTSUP; /* not ours: OpenAI's own, or another gateway's */
    enc += plen;
    n -= plen;
    if (n / 4 * 3 > SUMMARY_MAX + 3)
        return AIGW_EINVAL;
    unsigned char *raw = malloc(n / 4 * 3 + 4);
    if (!raw)
        return AIGW_ENOMEM;
    size_t len = 0;
    int rc = gw_base64_decode(enc, n, raw, &len) ? AIGW_EINVAL : 0;
    if (!rc && (gw_utf8_invalid_at((const char *)raw, len) != (size_t)-1 || memchr(raw, 0, len)))
        rc = AIGW_EINVAL; /* it goes out as a JSON string: UTF-8, and no NUL to cut it */
    if (!rc)
        rc = gw_buf_append(out, raw, len);
    free(raw);
    return rc;
}

int gw_resp_compaction_message(const cJSON *item, cJSON **msg, struct gw_front_err *err)
{
    *msg = NULL;
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(item, "encrypted_content");
    if (!cJSON_IsString(enc))
        return gw_resp_fail(err, "input", NULL, "a compaction item needs 'encrypted_content'");
    struct gw_buf text;
    gw_buf_init(&text, 0);
    int rc = gw_buf_append_str(&text, summary_preface);
    if (!rc)
        rc = gw_resp_compaction_decode(enc->valuestring, strlen(enc->valuestring), &text);
    if (rc == AIGW_EINVAL)
        rc = gw_resp_fail(err, "input", NULL,
                          "a compaction item made by this gateway is damaged: its "
                          "'encrypted_content' does not decode");
    if (!rc) {
        *msg = cJSON_CreateObject();
        if (!*msg || !cJSON_AddStringToObject(*msg, "role", "user") ||
            !cJSON_AddStringToObject(*msg, "content", text.ptr)) {
            cJSON_Delete(*msg);
            *msg = NULL;
            rc = AIGW_ENOMEM;
        }
    }
    gw_buf_free(&text);
    return rc;
}

/* The same message as an input item, for the client's own body. */
static cJSON *as_input_item(const cJSON *msg)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "content");
    cJSON *it = cJSON_CreateObject();
    cJSON *part = cJSON_CreateObject();
    if (!it || !part || !cJSON_IsString(text)) {
        cJSON_Delete(it);
        cJSON_Delete(part);
        return NULL;
    }
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "role", "user");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(it, "content"), part);
    cJSON_AddStringToObject(part, "type", "input_text");
    cJSON_AddStringToObject(part, "text", text->valuestring);
    return it;
}

int gw_resp_compaction_native(cJSON *native, struct gw_front_err *err)
{
    cJSON *input = cJSON_GetObjectItemCaseSensitive(native, "input"), *it;
    if (!cJSON_IsArray(input))
        return 0; /* a string input holds no item */
    cJSON_ArrayForEach(it, input)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "compaction"))
            continue;
        cJSON *m, *item;
        int rc = gw_resp_compaction_message(it, &m, err);
        if (rc == AIGW_ENOTSUP)
            continue; /* OpenAI's own: for OpenAI to read */
        if (rc)
            return rc;
        item = as_input_item(m);
        cJSON_Delete(m);
        if (!item)
            return AIGW_ENOMEM;
        cJSON_ReplaceItemViaPointer(input, it, item);
        it = item;
    }
    return 0;
}

/* ---- the request: the summary turn -------------------------------------------------------- */

int gw_resp_compact_prepare(struct gw_parsed *p, struct gw_front_err *err)
{
    struct gw_resp_ctx *ctx = p->ctx;
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(p->body, "messages");
    if (!cJSON_IsArray(msgs))
        return gw_resp_fail(err, "input", NULL, "'input' is required");
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", "user") ||
        !cJSON_AddStringToObject(m, "content", summary_ask)) {
        cJSON_Delete(m);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToArray(msgs, m);
    /* The answer is the note's text: no tool call, no JSON format. The tools stay defined:
     * some providers refuse a history with tool calls when no tool is. */
    cJSON_DeleteItemFromObjectCaseSensitive(p->body, "response_format");
    cJSON_DeleteItemFromObjectCaseSensitive(p->body, "tool_choice");
    cJSON_DeleteItemFromObjectCaseSensitive(p->body, "parallel_tool_calls");
    if (cJSON_GetObjectItemCaseSensitive(p->body, "tools") &&
        !cJSON_AddStringToObject(p->body, "tool_choice", "none"))
        return AIGW_ENOMEM;
    if (ctx->compact == GW_RESP_COMPACT_ENDPOINT) {
        /* /v1/responses/compact answers one document and keeps nothing (the API has neither
         * stream nor store for it). */
        p->stream = 0;
        p->include_usage = 0;
        cJSON_DeleteItemFromObjectCaseSensitive(p->body, "stream");
        cJSON_DeleteItemFromObjectCaseSensitive(p->body, "stream_options");
        int rc = gw_resp_echo_unstore(ctx);
        if (rc)
            return rc;
    }
    /* The client's own body is no request for the summary: nothing may forward it. */
    cJSON_Delete(p->native);
    p->native = NULL;
    return 0;
}

/* ---- the answer --------------------------------------------------------------------------- */

int gw_resp_compact_text(struct gw_resp_render *r, const char *p, size_t n)
{
    size_t room = SUMMARY_MAX > r->summary.len ? SUMMARY_MAX - r->summary.len : 0;
    if (n > room)
        n = gw_utf8_cut(p, n, room);
    return n ? gw_buf_append(&r->summary, p, n) : 0;
}

/* A user message of the input as the compacted history keeps it: content as parts. */
static cJSON *kept_message(const cJSON *it)
{
    cJSON *m = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
    if (!m)
        return NULL;
    if (cJSON_IsString(id))
        cJSON_AddStringToObject(m, "id", id->valuestring);
    cJSON_AddStringToObject(m, "type", "message");
    cJSON_AddStringToObject(m, "status", "completed");
    cJSON_AddStringToObject(m, "role", "user");
    if (cJSON_IsString(content)) {
        cJSON *parts = cJSON_AddArrayToObject(m, "content");
        cJSON *part = cJSON_CreateObject();
        cJSON_AddItemToArray(parts, part);
        cJSON_AddStringToObject(part, "type", "input_text");
        cJSON_AddStringToObject(part, "text", content->valuestring);
    } else {
        cJSON_AddItemToObject(m, "content", cJSON_Duplicate(content, 1));
    }
    return m;
}

static size_t text_bytes(const cJSON *content)
{
    if (cJSON_IsString(content))
        return strlen(content->valuestring);
    size_t n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "text");
        n += cJSON_IsString(t) ? strlen(t->valuestring) : 0;
    }
    return n;
}

static int is_user_message(const cJSON *it)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
    return cJSON_IsString(type) && !strcmp(type->valuestring, "message") && cJSON_IsString(role) &&
           !strcmp(role->valuestring, "user");
}

/* The input's user messages, the most recent up to KEEP_USER_BYTES of text (the last one
 * always), in order: the oldest are left out until the rest fits. */
static int write_user_messages(const struct gw_resp_ctx *ctx, struct gw_buf *out, int *n)
{
    const cJSON *it;
    size_t total = 0, last = 0;
    cJSON_ArrayForEach(it, ctx->input_items)
    {
        if (is_user_message(it))
            total += last = text_bytes(cJSON_GetObjectItemCaseSensitive(it, "content"));
    }
    int rc = 0;
    cJSON_ArrayForEach(it, ctx->input_items)
    {
        if (!is_user_message(it))
            continue;
        size_t b = text_bytes(cJSON_GetObjectItemCaseSensitive(it, "content"));
        if (total > KEEP_USER_BYTES && total > last) {
            total -= b;
            continue;
        }
        cJSON *m = kept_message(it);
        if (!m)
            return AIGW_ENOMEM;
        if ((*n)++)
            rc = gw_buf_append(out, ",", 1);
        if (!rc)
            rc = gw_json_print(out, m);
        cJSON_Delete(m);
        if (rc)
            return rc;
    }
    return 0;
}

int gw_resp_write_compaction_item(const struct gw_resp_render *r, const char *id,
                                  struct gw_buf *out)
{
    int rc = gw_buf_append_str(out, "{\"id\":");
    if (!rc)
        rc = gw_json_escape(out, id, strlen(id));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"type\":\"compaction\",\"encrypted_content\":\"");
    if (!rc)
        rc = gw_resp_compaction_encode(r->summary.ptr ? r->summary.ptr : "", r->summary.len, out);
    return rc ? rc : gw_buf_append_str(out, "\"}");
}

int gw_resp_write_compacted(const struct gw_resp_render *r, struct gw_buf *out)
{
    const struct gw_resp_ctx *ctx = r->ctx;
    char id[GW_RESP_ID_MAX];
    snprintf(id, sizeof id, "cmp_%.48s0000", ctx->id + 5);
    int rc = gw_buf_append_str(out, "{\"id\":");
    if (!rc)
        rc = gw_json_escape(out, ctx->id, strlen(ctx->id));
    if (!rc)
        rc = gw_buf_append_str(out, ",\"object\":\"response.compaction\",\"created_at\":");
    if (!rc)
        rc = gw_buf_append_i64(out, ctx->created_at);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"output\":[");
    int n = 0;
    if (!rc)
        rc = write_user_messages(ctx, out, &n);
    if (!rc && n)
        rc = gw_buf_append(out, ",", 1);
    if (!rc)
        rc = gw_resp_write_compaction_item(r, id, out);
    if (!rc)
        rc = gw_buf_append(out, "]", 1);
    if (!rc)
        rc = gw_resp_write_usage(r, out);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

/* ---- the dialect of POST /v1/responses/compact -------------------------------------------- */

static int compact_parse(const struct gw_inbound *in, struct gw_parsed *out,
                         struct gw_front_err *err)
{
    return gw_responses_parse_as(in, out, err, GW_RESP_COMPACT_ENDPOINT);
}

/* Named "responses" like /v1/responses: the same limits, cache namespace, guard handling and
 * log column; only the parse and the document differ. */
const struct gw_dialect gw_responses_compact_dialect = {
    .name = "responses",
    .parse = compact_parse,
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
