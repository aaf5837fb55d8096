/*
 * anthropic_content - Anthropic system, messages and content blocks -> internal chat messages
 * (see anthropic.h). What chat cannot carry is dropped here and survives only on the native
 * path: cache_control, thinking and redacted thinking, server-tool blocks, citations. Every
 * text so dropped that the model would read is listed in cv->unseen, for the input guardrails:
 * a native target gets it, so they must see it.
 */
#include "front/anthropic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

/* Claude Code's first system block varies per conversation; to any other provider it is noise
 * that only defeats prefix caching. */
#define BILLING_PREFIX "x-anthropic-billing-header:"

static int bad(struct gw_anth_conv *cv, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct gw_anth_conv *cv, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cv->err->status = 400;
    cv->err->type = "invalid_request_error";
    cv->err->param = param;
    vsnprintf(cv->err->message, sizeof cv->err->message, fmt, ap);
    va_end(ap);
    return AIGW_EINVAL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

/* Attaches item (consumed) to parent: object member when key is set, else array element. */
static cJSON *put(struct gw_anth_conv *cv, cJSON *parent, const char *key, cJSON *item)
{
    int ok = item && parent &&
             (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item));
    if (!ok) {
        cJSON_Delete(item);
        cv->oom = 1;
        return NULL;
    }
    return item;
}

static void put_str(struct gw_anth_conv *cv, cJSON *parent, const char *key, const char *s)
{
    put(cv, parent, key, cJSON_CreateString(s));
}

/* Appends s to b, with sep first when b already holds something. */
static void join(struct gw_anth_conv *cv, struct gw_buf *b, const char *sep, const char *s)
{
    if (!s || !*s)
        return;
    if ((b->len && gw_buf_append_str(b, sep)) || gw_buf_append_str(b, s))
        cv->oom = 1;
}

/* ---- what only the native body carries ------------------------------------------------ */

/* A text dropped here that a native target still gets: kept for the input guardrails, by
 * reference (s lives in the client's tree, kept as the parsed request's native; copying every
 * thinking block of a long history cost every request, with or without guards). */
static void unseen_str(struct gw_anth_conv *cv, const char *s)
{
    if (!s || !*s)
        return;
    if (!cv->unseen && !(cv->unseen = cJSON_CreateArray())) {
        cv->oom = 1;
        return;
    }
    put(cv, cv->unseen, NULL, cJSON_CreateStringReference(s));
}

/* Members that never hold text the model reads as such: ids, opaque or encrypted blobs. */
static int opaque_member(const cJSON *parent, const char *k)
{
    static const char *const names[] = {"type",
                                        "id",
                                        "tool_use_id",
                                        "signature",
                                        "cache_control",
                                        "encrypted_content",
                                        "encrypted_index",
                                        "media_type",
                                        NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(k, names[i]))
            return 1;
    /* base64 payloads (images, PDFs) and redacted thinking: not text */
    return !strcmp(k, "data") &&
           (is(str(parent, "type"), "base64") || is(str(parent, "type"), "redacted_thinking"));
}

/* Every string in a block this code does not translate (thinking, server-tool blocks, MCP
 * results, block types newer than this code): the native path forwards it whole. */
static void unseen_block(struct gw_anth_conv *cv, const cJSON *v, int depth)
{
    const cJSON *c;
    if (cJSON_IsString(v)) {
        unseen_str(cv, v->valuestring);
        return;
    }
    if (depth > CJSON_NESTING_LIMIT) /* cJSON's parser stops there: never reached */
        return;
    cJSON_ArrayForEach(c, v)
    {
        if (!(c->string && cJSON_IsObject(v) && opaque_member(v, c->string)))
            unseen_block(cv, c, depth + 1);
    }
}

/* A text block's citations quote documents and name them (cited_text, document_title): chat
 * has no place for them, the native path replays them with the block. */
static const char *text_of(struct gw_anth_conv *cv, const cJSON *b)
{
    unseen_block(cv, cJSON_GetObjectItemCaseSensitive(b, "citations"), 0);
    return str(b, "text");
}

static cJSON *message(struct gw_anth_conv *cv, const char *role)
{
    cJSON *m = put(cv, cv->messages, NULL, cJSON_CreateObject());
    put_str(cv, m, "role", role);
    return m;
}

int gw_anth_system(struct gw_anth_conv *cv, const cJSON *system)
{
    struct gw_buf text;
    const cJSON *b;
    if (!system || cJSON_IsNull(system))
        return 0;
    gw_buf_init(&text, 0);
    if (cJSON_IsString(system)) {
        join(cv, &text, "\n", system->valuestring);
    } else if (cJSON_IsArray(system)) {
        cJSON_ArrayForEach(b, system)
        {
            const char *t = is(str(b, "type"), "text") ? text_of(cv, b) : NULL;
            if (!t) {
                gw_buf_free(&text);
                return bad(cv, "system", "system: every block must be a text block with text");
            }
            if (strncmp(t, BILLING_PREFIX, strlen(BILLING_PREFIX)) != 0)
                join(cv, &text, "\n", t);
            else
                unseen_str(cv, t); /* a client can write anything after the prefix */
        }
    } else {
        return bad(cv, "system", "system: must be a string or an array of text blocks");
    }
    if (text.len)
        put_str(cv, message(cv, "system"), "content", text.ptr);
    gw_buf_free(&text);
    return 0;
}

/* {"type":"image_url","image_url":{"url":...}} */
static void image_url_part(struct gw_anth_conv *cv, cJSON *parts, const char *url)
{
    cJSON *p = put(cv, parts, NULL, cJSON_CreateObject());
    put_str(cv, p, "type", "image_url");
    put_str(cv, put(cv, p, "image_url", cJSON_CreateObject()), "url", url);
}

static void text_part(struct gw_anth_conv *cv, cJSON *parts, const char *text)
{
    if (!text || !*text)
        return;
    cJSON *p = put(cv, parts, NULL, cJSON_CreateObject());
    put_str(cv, p, "type", "text");
    put_str(cv, p, "text", text);
}

static char *data_url(const char *mime, const char *data)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    if (gw_buf_append_strs(&b, "data:", mime, ";base64,", data, NULL)) {
        gw_buf_free(&b);
        return NULL;
    }
    return gw_buf_steal(&b, NULL);
}

/* {"type":"file","file":{...}} with file_id, or filename + file_data. */
static void file_part(struct gw_anth_conv *cv, cJSON *parts, const char *file_id,
                      const char *filename, const char *file_data)
{
    cJSON *p = put(cv, parts, NULL, cJSON_CreateObject());
    put_str(cv, p, "type", "file");
    cJSON *f = put(cv, p, "file", cJSON_CreateObject());
    if (file_id) {
        put_str(cv, f, "file_id", file_id);
        return;
    }
    put_str(cv, f, "filename", filename);
    put_str(cv, f, "file_data", file_data);
}

/* An image block -> a part (unknown source types are Anthropic's alone: left out). */
static void image_block(struct gw_anth_conv *cv, cJSON *parts, const cJSON *block)
{
    const cJSON *src = get(block, "source");
    const char *type = str(src, "type");
    if (is(type, "base64") && str(src, "media_type") && str(src, "data")) {
        char *url = data_url(str(src, "media_type"), str(src, "data"));
        if (!url)
            cv->oom = 1;
        else
            image_url_part(cv, parts, url);
        free(url);
    } else if (is(type, "url") && str(src, "url")) {
        image_url_part(cv, parts, str(src, "url"));
    } else if (is(type, "file") && str(src, "file_id")) {
        file_part(cv, parts, str(src, "file_id"), NULL, NULL);
    }
}

static void content_texts(struct gw_anth_conv *cv, cJSON *parts, const cJSON *content);

/* A document block: PDFs become file parts, text and content sources text parts. */
static void document_block(struct gw_anth_conv *cv, cJSON *parts, const cJSON *block)
{
    const cJSON *src = get(block, "source");
    const char *type = str(src, "type"), *title = str(block, "title");
    unseen_str(cv, str(block, "context")); /* the model reads it; chat has no place for it */
    if (is(type, "base64") || is(type, "file"))
        unseen_str(cv, title); /* so is the title; a file part has no place for it either */
    if (is(type, "base64") && str(src, "data")) {
        const char *mime = str(src, "media_type") ? str(src, "media_type") : "application/pdf";
        char *url = data_url(mime, str(src, "data"));
        if (!url)
            cv->oom = 1;
        else
            file_part(cv, parts, NULL, title ? title : "document.pdf", url);
        free(url);
    } else if (is(type, "text") && str(src, "data")) {
        text_part(cv, parts, title);
        text_part(cv, parts, str(src, "data"));
    } else if (is(type, "content")) {
        text_part(cv, parts, title);
        content_texts(cv, parts, get(src, "content"));
    } else if (is(type, "url") && str(src, "url")) {
        /* Chat has no document-by-URL part: the model at least learns where it is. */
        struct gw_buf b;
        gw_buf_init(&b, 0);
        if (gw_buf_append_strs(&b, "Document", title ? " \"" : "", title ? title : "",
                               title ? "\"" : "", ": ", str(src, "url"), NULL))
            cv->oom = 1;
        else
            text_part(cv, parts, b.ptr);
        gw_buf_free(&b);
    } else if (is(type, "file") && str(src, "file_id")) {
        file_part(cv, parts, str(src, "file_id"), NULL, NULL);
    } else if (!is(type, "base64") && !is(type, "text") && !is(type, "url") && !is(type, "file")) {
        unseen_block(cv, block, 0); /* a source newer than this code: native only */
    }
}

/* search_result: its title, source and text content as text. */
static void search_result_block(struct gw_anth_conv *cv, cJSON *parts, const cJSON *block)
{
    text_part(cv, parts, str(block, "title"));
    text_part(cv, parts, str(block, "source"));
    content_texts(cv, parts, get(block, "content"));
}

/* Nested content (a document's content source, a search result): text and images. */
static void content_texts(struct gw_anth_conv *cv, cJSON *parts, const cJSON *content)
{
    const cJSON *b;
    if (cJSON_IsString(content)) {
        text_part(cv, parts, content->valuestring);
        return;
    }
    cJSON_ArrayForEach(b, (cJSON_IsArray(content) ? content : NULL))
    {
        const char *type = str(b, "type");
        if (is(type, "text"))
            text_part(cv, parts, text_of(cv, b));
        else if (is(type, "image"))
            image_block(cv, parts, b);
        else
            unseen_block(cv, b, 0);
    }
}

static int check_block(struct gw_anth_conv *cv, const cJSON *b)
{
    if (!cJSON_IsObject(b) || !str(b, "type"))
        return bad(cv, "messages.content",
                   "messages: every content block must be an object with a string type");
    if (is(str(b, "type"), "text") && !str(b, "text"))
        return bad(cv, "messages.content", "messages: a text block needs a string text");
    return 0;
}

/* One tool_result -> a role "tool" message; images it returned go to `later` (chat tool
 * messages are text only), behind a line naming the call. */
static int tool_result(struct gw_anth_conv *cv, const cJSON *b, cJSON *later)
{
    const char *use_id = str(b, "tool_use_id");
    const cJSON *content = get(b, "content"), *x;
    char id[GW_ANTH_NAME_MAX + 1];
    struct gw_buf text;
    int images = 0;
    if (!use_id)
        return bad(cv, "messages.content.tool_use_id",
                   "messages: a tool_result block needs a string tool_use_id");
    gw_anth_tool_id(use_id, strlen(use_id), NULL, 0, id);
    gw_buf_init(&text, 0);
    if (cJSON_IsTrue(get(b, "is_error")))
        join(cv, &text, "", "Error:");
    if (cJSON_IsString(content))
        join(cv, &text, " ", content->valuestring);
    cJSON_ArrayForEach(x, (cJSON_IsArray(content) ? content : NULL))
    {
        const char *type = str(x, "type");
        if (is(type, "text")) {
            join(cv, &text, "\n", text_of(cv, x));
        } else if (is(type, "image")) {
            if (!images++) {
                char line[128];
                snprintf(line, sizeof line, "Images returned by tool call %s:", id);
                text_part(cv, later, line);
            }
            image_block(cv, later, x);
        } else if (is(type, "document") || is(type, "search_result")) {
            cJSON *tmp = cJSON_CreateArray();
            const cJSON *t;
            if (!tmp) {
                cv->oom = 1;
                continue;
            }
            if (is(type, "document"))
                document_block(cv, tmp, x);
            else
                search_result_block(cv, tmp, x);
            cJSON_ArrayForEach(t, tmp) join(cv, &text, "\n", str(t, "text"));
            cJSON_Delete(tmp);
        } else {
            unseen_block(cv, x, 0);
        }
    }
    cJSON *m = message(cv, "tool");
    put_str(cv, m, "tool_call_id", id);
    put_str(cv, m, "content", text.ptr ? text.ptr : "");
    gw_buf_free(&text);
    return 0;
}

/* parts -> the message's content: one string when all parts are text (every chat provider
 * takes that; not all take arrays), else the array (consumed). */
static void set_content(struct gw_anth_conv *cv, cJSON *m, cJSON *parts, const char *sep)
{
    const cJSON *p;
    int all_text = 1;
    cJSON_ArrayForEach(p, parts) all_text &= is(str(p, "type"), "text");
    if (!all_text) {
        put(cv, m, "content", parts);
        return;
    }
    struct gw_buf b;
    gw_buf_init(&b, 0);
    cJSON_ArrayForEach(p, parts) join(cv, &b, sep, str(p, "text"));
    put_str(cv, m, "content", b.ptr ? b.ptr : "");
    gw_buf_free(&b);
    cJSON_Delete(parts);
}

static int user_message(struct gw_anth_conv *cv, const cJSON *content)
{
    const cJSON *b;
    int rc;
    cJSON *parts = cJSON_CreateArray(), *later = cJSON_CreateArray();
    if (!parts || !later) {
        cJSON_Delete(parts);
        cJSON_Delete(later);
        return AIGW_ENOMEM;
    }
    /* Chat wants the tool messages right after the assistant's tool_calls: they go first,
     * the user's own content (and the images tools returned) after them. */
    cJSON_ArrayForEach(b, content)
    {
        const char *type = str(b, "type");
        if ((rc = check_block(cv, b)) != 0 ||
            (is(type, "tool_result") && (rc = tool_result(cv, b, later)) != 0)) {
            cJSON_Delete(parts);
            cJSON_Delete(later);
            return rc;
        }
        if (is(type, "text"))
            text_part(cv, parts, text_of(cv, b));
        else if (is(type, "image"))
            image_block(cv, parts, b);
        else if (is(type, "document"))
            document_block(cv, parts, b);
        else if (is(type, "search_result"))
            search_result_block(cv, parts, b);
        else if (!is(type, "tool_result"))
            unseen_block(cv, b, 0); /* server-tool results and newer blocks: native only */
    }
    while (cJSON_GetArraySize(later) > 0)
        put(cv, parts, NULL, cJSON_DetachItemFromArray(later, 0));
    cJSON_Delete(later);
    if (cJSON_GetArraySize(parts) == 0) {
        cJSON_Delete(parts);
        return 0;
    }
    set_content(cv, message(cv, "user"), parts, "\n");
    return 0;
}

static int tool_use(struct gw_anth_conv *cv, const cJSON *b, cJSON **calls)
{
    const char *id = str(b, "id"), *name = str(b, "name");
    const cJSON *input = get(b, "input");
    char mid[GW_ANTH_NAME_MAX + 1], mname[GW_ANTH_NAME_MAX + 1];
    if (!id || !name)
        return bad(cv, "messages.content", "messages: a tool_use block needs id and name");
    if (input && !cJSON_IsObject(input))
        return bad(cv, "messages.content.input", "messages: tool_use input must be an object");
    gw_anth_tool_id(id, strlen(id), NULL, 0, mid);
    gw_anth_tool_name(name, mname);
    char *args = input ? cJSON_PrintUnformatted(input) : NULL;
    if (input && !args)
        return AIGW_ENOMEM;
    if (!*calls && !(*calls = cJSON_CreateArray())) {
        free(args);
        return AIGW_ENOMEM;
    }
    cJSON *tc = put(cv, *calls, NULL, cJSON_CreateObject());
    put_str(cv, tc, "id", mid);
    put_str(cv, tc, "type", "function");
    cJSON *fn = put(cv, tc, "function", cJSON_CreateObject());
    put_str(cv, fn, "name", mname);
    put_str(cv, fn, "arguments", args ? args : "{}");
    free(args);
    return 0;
}

static int assistant_message(struct gw_anth_conv *cv, const cJSON *content)
{
    const cJSON *b;
    cJSON *calls = NULL;
    struct gw_buf text;
    int rc = 0;
    gw_buf_init(&text, 0);
    cJSON_ArrayForEach(b, content)
    {
        const char *type = str(b, "type");
        if ((rc = check_block(cv, b)) != 0)
            break;
        if (is(type, "text"))
            join(cv, &text, "", text_of(cv, b)); /* split only where citations were */
        else if (is(type, "tool_use") && (rc = tool_use(cv, b, &calls)) != 0)
            break;
        else if (!is(type, "text") && !is(type, "tool_use"))
            unseen_block(cv, b, 0); /* thinking, server tools: the native path replays them */
    }
    if (!rc && (text.len || calls)) {
        cJSON *m = message(cv, "assistant");
        if (text.len)
            put_str(cv, m, "content", text.ptr);
        else
            put(cv, m, "content", cJSON_CreateNull());
        if (calls)
            put(cv, m, "tool_calls", calls);
        calls = NULL;
    }
    cJSON_Delete(calls);
    gw_buf_free(&text);
    return rc;
}

int gw_anth_messages(struct gw_anth_conv *cv, const cJSON *messages)
{
    const cJSON *m;
    int rc = 0;
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0)
        return bad(cv, "messages", "messages: must be a non-empty array of messages");
    cJSON_ArrayForEach(m, messages)
    {
        const char *role = str(m, "role");
        const cJSON *content = get(m, "content");
        if (!cJSON_IsObject(m) ||
            !(is(role, "user") || is(role, "assistant") || is(role, "system")))
            return bad(cv, "messages.role",
                       "messages: every message needs a role of user or assistant");
        if (!cJSON_IsString(content) && !cJSON_IsArray(content))
            return bad(cv, "messages.content",
                       "messages: content must be a string or an array of content blocks");
        if (cJSON_IsString(content)) {
            if (content->valuestring[0])
                put_str(cv, message(cv, role), "content", content->valuestring);
            continue;
        }
        if (is(role, "assistant")) {
            rc = assistant_message(cv, content);
        } else if (is(role, "user")) {
            rc = user_message(cv, content);
        } else { /* a system turn in the conversation: its text, in place */
            const cJSON *b;
            struct gw_buf t;
            gw_buf_init(&t, 0);
            cJSON_ArrayForEach(b, content)
            {
                if ((rc = check_block(cv, b)) != 0)
                    break;
                if (is(str(b, "type"), "text"))
                    join(cv, &t, "\n", text_of(cv, b));
                else
                    unseen_block(cv, b, 0);
            }
            if (!rc && t.len)
                put_str(cv, message(cv, "system"), "content", t.ptr);
            gw_buf_free(&t);
        }
        if (rc)
            return rc;
    }
    return cv->oom ? AIGW_ENOMEM : 0;
}

static int aigw_signed(const cJSON *b)
{
    const char *sig = str(b, "signature");
    return is(str(b, "type"), "thinking") && sig &&
           !strncmp(sig, GW_ANTH_SIG_PREFIX, strlen(GW_ANTH_SIG_PREFIX));
}

void gw_anth_native_clean(cJSON *native)
{
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(native, "messages"), *m, *next;
    cJSON *last_assistant = NULL;
    int stripped_last = 0;
    cJSON_ArrayForEach(m, msgs)
    {
        if (is(str(m, "role"), "assistant"))
            last_assistant = m;
    }
    for (m = msgs ? msgs->child : NULL; m; m = next) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content"), *b, *bn;
        int stripped = 0;
        next = m->next;
        if (!is(str(m, "role"), "assistant") || !cJSON_IsArray(content))
            continue;
        for (b = content->child; b; b = bn) {
            bn = b->next;
            if (aigw_signed(b)) {
                cJSON_Delete(cJSON_DetachItemViaPointer(content, b));
                stripped = 1;
            }
        }
        if (stripped && m == last_assistant)
            stripped_last = 1;
        if (stripped && cJSON_GetArraySize(content) == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(msgs, m));
    }
    /* With thinking on, Anthropic wants the last assistant turn to open with a thinking block
     * it signed; without one, answering without thinking beats a 400. */
    if (stripped_last)
        cJSON_DeleteItemFromObjectCaseSensitive(native, "thinking");
}
