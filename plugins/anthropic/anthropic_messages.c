/*
 * anthropic_messages.c - OpenAI chat messages -> Anthropic Messages conversation: roles merged
 * into strict alternation, system text lifted out, images and documents as content blocks,
 * tool calls and tool results as tool_use / tool_result blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "anthropic_conv.h"

#define ANTH_MAX_MIME 100

/* The reason becomes the client's error message instead of a generic one. */
int anth_bad(struct aigw_call *call, const char *why)
{
    call->host->log(call, AIGW_LOG_WARN, "cannot translate request: %s", why);
    return call->host->fail(call, 400, NULL, "%s", why);
}

/* Clients key on error.code "unsupported"; fail_code returns the matching AIGW_ENOTSUP. */
int anth_unsupported(struct aigw_call *call, const char *why)
{
    call->host->log(call, AIGW_LOG_WARN, "not supported by Anthropic: %s", why);
    return call->host->fail_code(call, 400, "unsupported", NULL, "%s", why);
}

const char *anth_str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Attach item to parent (object when key is set, else array); consumes item. */
cJSON *anth_put(struct conv *cv, cJSON *parent, const char *key, cJSON *item)
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

void anth_put_str(struct conv *cv, cJSON *parent, const char *key, const char *s)
{
    anth_put(cv, parent, key, cJSON_CreateString(s));
}

cJSON *anth_typed(struct conv *cv, cJSON *parent, const char *key, const char *type)
{
    cJSON *o = anth_put(cv, parent, key, cJSON_CreateObject());
    anth_put_str(cv, o, "type", type);
    return o;
}

/* The content array of the message of `role`, opening a new message on a role change. */
static cJSON *content_of(struct conv *cv, const char *role)
{
    if (!cv->cur || strcmp(cv->cur_role, role) != 0) {
        cJSON *msg = anth_put(cv, cv->messages, NULL, cJSON_CreateObject());
        anth_put_str(cv, msg, "role", role);
        cv->cur = anth_put(cv, msg, "content", cJSON_CreateArray());
        cv->cur_role = role;
    }
    return cv->cur;
}

void anth_text_block(struct conv *cv, cJSON *dst, const char *text, const cJSON *part)
{
    cJSON *b = anth_typed(cv, dst, NULL, "text");
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(part, "cache_control");
    anth_put_str(cv, b, "text", text);
    /* Prompt caching: clients that know Anthropic mark their parts with cache_control. */
    if (cJSON_IsObject(cc))
        anth_put(cv, b, "cache_control", cJSON_Duplicate(cc, 1));
}

/* data:<mime>;base64,<b64> -> an image or PDF document block with a base64 source. */
static int data_url_block(struct conv *cv, cJSON *dst, const char *url)
{
    const char *p = url + 5, *semi = strchr(p, ';');
    char mime[ANTH_MAX_MIME];
    const char *kind;

    if (!semi || strncmp(semi, ";base64,", 8) != 0 || semi == p ||
        (size_t)(semi - p) >= sizeof mime)
        return anth_bad(cv->call, "a data URL must be data:<media type>;base64,<data>");
    memcpy(mime, p, (size_t)(semi - p));
    mime[semi - p] = '\0';
    if (!strcmp(mime, "image/jpeg") || !strcmp(mime, "image/png") || !strcmp(mime, "image/gif") ||
        !strcmp(mime, "image/webp"))
        kind = "image";
    else if (!strcmp(mime, "application/pdf"))
        kind = "document";
    else
        return anth_bad(cv->call, "media type must be image/jpeg, image/png, image/gif, image/webp "
                                  "or application/pdf");
    cJSON *src = anth_typed(cv, anth_typed(cv, dst, NULL, kind), "source", "base64");
    anth_put_str(cv, src, "media_type", mime);
    anth_put_str(cv, src, "data", semi + 8);
    return 0;
}

static int media_part(struct conv *cv, cJSON *dst, const char *type, const cJSON *part)
{
    if (!strcmp(type, "image_url")) {
        const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
        const char *url = cJSON_IsString(iu) ? iu->valuestring : anth_str_of(iu, "url");
        if (!url)
            return anth_bad(cv->call, "image_url part without a url");
        if (!strncmp(url, "data:", 5))
            return data_url_block(cv, dst, url);
        if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
            return anth_bad(cv->call, "image_url must be an http(s) URL or a base64 data URL");
        anth_put_str(cv, anth_typed(cv, anth_typed(cv, dst, NULL, "image"), "source", "url"), "url",
                     url);
        return 0;
    }
    /* OpenAI file part {"file":{"file_data":"data:application/pdf;base64,..."}} */
    const char *data = anth_str_of(cJSON_GetObjectItemCaseSensitive(part, "file"), "file_data");
    if (!data)
        return anth_unsupported(cv->call, "file parts without file_data (file ids are OpenAI's)");
    if (!strncmp(data, "data:", 5))
        return data_url_block(cv, dst, data);
    cJSON *src = anth_typed(cv, anth_typed(cv, dst, NULL, "document"), "source", "base64");
    anth_put_str(cv, src, "media_type", "application/pdf");
    anth_put_str(cv, src, "data", data);
    return 0;
}

/* OpenAI content (string or parts) -> blocks appended to dst (NULL: the message of `role`).
 * Empty text is skipped: Anthropic rejects empty text blocks. */
static int add_content(struct conv *cv, cJSON *dst, const char *role, const cJSON *content,
                       int media)
{
    const cJSON *part;
    int rc;

    if (!content || cJSON_IsNull(content))
        return 0;
    if (cJSON_IsString(content)) {
        if (content->valuestring[0])
            anth_text_block(cv, dst ? dst : content_of(cv, role), content->valuestring, NULL);
        return 0;
    }
    if (!cJSON_IsArray(content))
        return anth_bad(cv->call, "message content must be a string or an array of parts");
    cJSON_ArrayForEach(part, content)
    {
        const char *type = anth_str_of(part, "type"), *text = anth_str_of(part, "text");
        if (!type)
            return anth_bad(cv->call, "content part without a type");
        if (!strcmp(type, "text")) {
            if (!text)
                return anth_bad(cv->call, "text part without text");
            if (text[0])
                anth_text_block(cv, dst ? dst : content_of(cv, role), text, part);
        } else if (media && (!strcmp(type, "image_url") || !strcmp(type, "file"))) {
            if ((rc = media_part(cv, dst ? dst : content_of(cv, role), type, part)) != 0)
                return rc;
        } else if (!strcmp(type, "input_audio")) {
            return anth_unsupported(cv->call, "audio input");
        } else if (strcmp(type, "refusal") != 0) { /* a past refusal is not content to send */
            return anth_bad(cv->call, "unknown or misplaced content part type");
        }
    }
    return 0;
}

static int add_tool_calls(struct conv *cv, const cJSON *calls)
{
    const cJSON *tc;

    if (!calls || cJSON_IsNull(calls))
        return 0;
    if (!cJSON_IsArray(calls))
        return anth_bad(cv->call, "assistant tool_calls must be an array");
    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const char *id = anth_str_of(tc, "id"), *name = anth_str_of(fn, "name");
        const char *args = anth_str_of(fn, "arguments");
        cJSON *input;

        if (!id || !name)
            return anth_bad(cv->call, "an assistant tool_calls entry needs id and function.name");
        if (!args || !args[strspn(args, " \t\r\n")]) {
            input = cJSON_CreateObject();
        } else if (!(input = cJSON_ParseWithLength(args, strlen(args))) || !cJSON_IsObject(input)) {
            cJSON_Delete(input);
            cv->call->host->log(cv->call, AIGW_LOG_WARN,
                                "cannot translate request: tool call %s (%s): "
                                "function.arguments is not a JSON object",
                                id, name);
            return AIGW_EINVAL;
        }
        cJSON *b = anth_typed(cv, content_of(cv, "assistant"), NULL, "tool_use");
        anth_put_str(cv, b, "id", id);
        anth_put_str(cv, b, "name", name);
        anth_put(cv, b, "input", input);
    }
    return 0;
}

static int add_tool_result(struct conv *cv, const cJSON *msg)
{
    const char *id = anth_str_of(msg, "tool_call_id");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(msg, "is_error");

    if (!id)
        return anth_bad(cv->call, "tool message without tool_call_id");
    /* Tool results are user content: consecutive ones (and a user message after them) share
     * one user message, as Anthropic requires. */
    cJSON *b = anth_typed(cv, content_of(cv, "user"), NULL, "tool_result");
    anth_put_str(cv, b, "tool_use_id", id);
    if (cJSON_IsString(content) && content->valuestring[0]) {
        anth_put_str(cv, b, "content", content->valuestring);
    } else if (cJSON_IsArray(content) && cJSON_GetArraySize(content) > 0) {
        int rc =
            add_content(cv, anth_put(cv, b, "content", cJSON_CreateArray()), "user", content, 1);
        if (rc)
            return rc;
    }
    if (cJSON_IsBool(is_error))
        anth_put(cv, b, "is_error", cJSON_CreateBool(cJSON_IsTrue(is_error)));
    return 0;
}

int anth_add_messages(struct conv *cv, const cJSON *msgs)
{
    const cJSON *m;
    int rc = 0;

    if (!cJSON_IsArray(msgs))
        return anth_bad(cv->call, "messages must be an array");
    cJSON_ArrayForEach(m, msgs)
    {
        const char *role = anth_str_of(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!role)
            return anth_bad(cv->call, "message without a role");
        if (!strcmp(role, "system") || !strcmp(role, "developer")) {
            rc = add_content(cv, cv->system, NULL, content, 0);
        } else if (!strcmp(role, "user")) {
            rc = add_content(cv, NULL, "user", content, 1);
        } else if (!strcmp(role, "assistant")) {
            rc = add_content(cv, NULL, "assistant", content, 0);
            if (!rc)
                rc = add_tool_calls(cv, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"));
        } else if (!strcmp(role, "tool")) {
            rc = add_tool_result(cv, m);
        } else if (!strcmp(role, "function")) {
            rc = anth_unsupported(cv->call, "legacy function-role messages (use tools)");
        } else {
            rc = anth_bad(cv->call, "unknown message role");
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Shape the assembled messages the way Anthropic accepts them. */
int anth_finish_messages(struct conv *cv)
{
    cJSON *last = cJSON_GetArrayItem(cv->messages, cJSON_GetArraySize(cv->messages) - 1);

    /* A final assistant turn is a prefill, which Anthropic rejects with trailing whitespace. */
    if (last && !strcmp(anth_str_of(last, "role"), "assistant")) {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(last, "content");
        cJSON *text = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(content, cJSON_GetArraySize(content) - 1), "text");
        if (cJSON_IsString(text)) {
            size_t len = strlen(text->valuestring);
            while (len > 0 && strchr(" \t\r\n", text->valuestring[len - 1]))
                len--;
            text->valuestring[len] = '\0';
            if (len == 0)
                cJSON_DeleteItemFromArray(content, cJSON_GetArraySize(content) - 1);
            if (cJSON_GetArraySize(content) == 0)
                cJSON_DeleteItemFromArray(cv->messages, cJSON_GetArraySize(cv->messages) - 1);
        }
    }
    if (cJSON_GetArraySize(cv->messages) == 0)
        return anth_bad(cv->call, "no user or assistant message with content");
    /* The conversation must open with a user turn; one opening with the assistant gets a
     * minimal user turn in front rather than a rejection. */
    if (!strcmp(anth_str_of(cJSON_GetArrayItem(cv->messages, 0), "role"), "assistant")) {
        cJSON *u = cJSON_CreateObject();
        anth_put_str(cv, u, "role", "user");
        anth_put_str(cv, u, "content", ".");
        if (!u || !cJSON_InsertItemInArray(cv->messages, 0, u)) {
            cJSON_Delete(u);
            cv->oom = 1;
        }
    }
    return 0;
}
