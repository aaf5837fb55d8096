/*
 * gemini_request.c - OpenAI chat request -> GenerateContentRequest.
 *
 * Gemini differs from OpenAI in ways a plain field copy gets wrong: roles must alternate
 * (consecutive same-role messages are merged), the system prompt lives outside the
 * conversation, tool results carry the function *name* (OpenAI's tool message only has the
 * call id, so the name is looked up in the assistant message that made the call), and tool
 * schemas must be cut down to Gemini's Schema subset (gemini_schema.c). generationConfig and
 * the tools are gemini_config.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gemini_xlate.h"

/* The reason becomes the client's error message instead of a generic one. */
int gem_inval(struct aigw_call *call, const char *why)
{
    call->host->log(call, AIGW_LOG_INFO, "request not translatable: %s", why);
    return call->host->fail(call, 400, NULL, "%s", why);
}

static int add_to_array(cJSON *arr, cJSON *item)
{
    if (!item)
        return AIGW_ENOMEM;
    cJSON_AddItemToArray(arr, item);
    return 0;
}

static cJSON *text_part(const char *text, size_t len)
{
    cJSON *p = cJSON_CreateObject();
    char *copy = malloc(len + 1);
    if (!p || !copy) {
        cJSON_Delete(p);
        free(copy);
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    cJSON *t = cJSON_AddStringToObject(p, "text", copy);
    free(copy);
    if (!t) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

/* {"inlineData":{...}} or {"fileData":{...}} with mimeType and data / fileUri. */
static cJSON *media_part(const char *kind, const char *mime, size_t mime_len, const char *key,
                         const char *val)
{
    char m[128];
    if (mime_len == 0 || mime_len >= sizeof m)
        return NULL;
    /* Gemini refuses image/jpg (OpenAI takes it) and upper case: the registered name. */
    for (size_t i = 0; i < mime_len; i++)
        m[i] = mime[i] >= 'A' && mime[i] <= 'Z' ? (char)(mime[i] - 'A' + 'a') : mime[i];
    m[mime_len] = 0;
    if (!strcmp(m, "image/jpg"))
        memcpy(m, "image/jpeg", sizeof "image/jpeg");
    cJSON *p = cJSON_CreateObject();
    cJSON *d = p ? cJSON_AddObjectToObject(p, kind) : NULL;
    if (!d || !cJSON_AddStringToObject(d, "mimeType", m) || !cJSON_AddStringToObject(d, key, val)) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

/* Gemini needs a mimeType for fileData; guess it from the URL's extension. */
static const char *mime_from_url(const char *url)
{
    static const char *const map[][2] = {
        {".png", "image/png"},   {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},   {".webp", "image/webp"},     {".heic", "image/heic"},
        {".heif", "image/heif"}, {".pdf", "application/pdf"}, {".mp3", "audio/mp3"},
        {".wav", "audio/wav"},   {".mp4", "video/mp4"},
    };
    size_t end = strcspn(url, "?#");
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i][0]);
        if (end > n && !strncasecmp(url + end - n, map[i][0], n))
            return map[i][1];
    }
    return "image/jpeg";
}

/* An image_url / file_data URL: data: URLs are inlined, remote URLs become fileData. */
static int url_part(struct aigw_call *call, const char *url, cJSON **out)
{
    *out = NULL;
    if (!strncmp(url, "data:", 5)) {
        const char *semi = strstr(url, ";base64,");
        if (!semi)
            return gem_inval(call, "data: URL is not base64");
        *out = media_part("inlineData", url + 5, (size_t)(semi - url - 5), "data", semi + 8);
        return *out ? 0 : gem_inval(call, "data: URL without a usable media type");
    }
    if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7) && strncmp(url, "gs://", 5))
        return gem_inval(call, "image URL scheme not supported");
    const char *mime = mime_from_url(url);
    *out = media_part("fileData", mime, strlen(mime), "fileUri", url);
    return *out ? 0 : AIGW_ENOMEM;
}

/* Content (string, array of parts or null) -> parts appended to `parts`. */
static int content_parts(struct aigw_call *call, const cJSON *content, cJSON *parts)
{
    const cJSON *p;
    int rc;
    if (cJSON_IsString(content)) {
        if (!content->valuestring[0])
            return 0;
        return add_to_array(parts, text_part(content->valuestring, strlen(content->valuestring)));
    }
    if (!content || cJSON_IsNull(content))
        return 0;
    if (!cJSON_IsArray(content))
        return gem_inval(call, "message content is neither a string nor an array");
    cJSON_ArrayForEach(p, content)
    {
        const char *type = aigw_json_str(p, "type");
        cJSON *part = NULL;
        if (!type)
            return gem_inval(call, "content part without a type");
        if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
            const char *t = aigw_json_str(p, type);
            if (!t)
                return gem_inval(call, "text part without text");
            if (!t[0])
                continue;
            part = text_part(t, strlen(t));
            if (!part)
                return AIGW_ENOMEM;
        } else if (!strcmp(type, "image_url")) {
            const cJSON *iu = aigw_json_get(p, "image_url");
            const char *url = cJSON_IsString(iu) ? iu->valuestring : aigw_json_str(iu, "url");
            if (!url)
                return gem_inval(call, "image_url part without url");
            if ((rc = url_part(call, url, &part)) != 0)
                return rc;
        } else if (!strcmp(type, "input_audio")) {
            const cJSON *a = aigw_json_get(p, "input_audio");
            const char *data = aigw_json_str(a, "data"), *fmt = aigw_json_str(a, "format");
            char mime[64];
            if (!data || !fmt || strlen(fmt) > 32)
                return gem_inval(call, "input_audio part without data or format");
            int n = snprintf(mime, sizeof mime, "audio/%s", fmt);
            part = media_part("inlineData", mime, (size_t)n, "data", data);
            if (!part)
                return AIGW_ENOMEM;
        } else if (!strcmp(type, "file")) {
            const char *fd = aigw_json_str(aigw_json_get(p, "file"), "file_data");
            if (!fd || strncmp(fd, "data:", 5))
                return AIGW_ENOTSUP; /* file_id refers to OpenAI's file store */
            if ((rc = url_part(call, fd, &part)) != 0)
                return rc;
        } else {
            call->host->log(call, AIGW_LOG_INFO, "content part type not supported by Gemini");
            return AIGW_ENOTSUP;
        }
        cJSON_AddItemToArray(parts, part);
    }
    return 0;
}

/* Content flattened to text (tool results, system prompts given as part arrays). */
static const char *content_text(struct aigw_call *call, const cJSON *content)
{
    const cJSON *p;
    if (cJSON_IsString(content))
        return content->valuestring;
    if (!cJSON_IsArray(content))
        return "";
    char *s = call->host->strf(call, "%s", "");
    cJSON_ArrayForEach(p, content)
    {
        const char *t = aigw_json_str(p, "text");
        if (t && s)
            s = call->host->strf(call, "%s%s", s, t);
    }
    return s;
}

/* Append a turn, merging it into the previous one when the role repeats: Gemini requires
 * user and model turns to alternate. `parts` is consumed. */
static int append_turn(cJSON *contents, const char *role, cJSON *parts)
{
    cJSON *last = cJSON_GetArrayItem(contents, cJSON_GetArraySize(contents) - 1);
    if (cJSON_GetArraySize(parts) == 0) {
        cJSON_Delete(parts);
        return 0;
    }
    if (last && !strcmp(aigw_json_str(last, "role"), role)) {
        cJSON *lp = cJSON_GetObjectItemCaseSensitive(last, "parts");
        cJSON *p;
        while ((p = parts->child) != NULL)
            cJSON_AddItemToArray(lp, cJSON_DetachItemViaPointer(parts, p));
        cJSON_Delete(parts);
        return 0;
    }
    cJSON *turn = cJSON_CreateObject();
    if (!turn || !cJSON_AddStringToObject(turn, "role", role)) {
        cJSON_Delete(turn);
        cJSON_Delete(parts);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(turn, "parts", parts);
    cJSON_AddItemToArray(contents, turn);
    return 0;
}

/* Gemini 3 refuses a replayed functionCall without the thoughtSignature it was answered with,
 * and chat messages cannot carry that signature back; Google documents this sentinel for
 * calls whose signature is not available (gemini-cli sends it). */
#define GEM_NO_SIGNATURE "skip_thought_signature_validator"

/* {"functionCall":{"name","args"}} from an OpenAI function {name, arguments:"<json>"}. */
static int call_part(struct aigw_call *call, const cJSON *fn, cJSON *parts)
{
    const char *name = aigw_json_str(fn, "name");
    const char *args = aigw_json_str(fn, "arguments");
    const cJSON *obj = aigw_json_get(fn, "arguments");
    if (!name)
        return gem_inval(call, "assistant tool call without a function name");
    /* Some clients replay the arguments as the object itself rather than its JSON text. */
    cJSON *a = cJSON_IsObject(obj)                     ? cJSON_Duplicate(obj, 1)
               : args && args[strspn(args, " \t\r\n")] ? cJSON_Parse(args)
                                                       : cJSON_CreateObject();
    if (!cJSON_IsObject(a)) {
        cJSON_Delete(a);
        return gem_inval(call, "assistant tool call arguments are not a JSON object");
    }
    cJSON *p = cJSON_CreateObject();
    cJSON *fc = p ? cJSON_AddObjectToObject(p, "functionCall") : NULL;
    if (!fc || !cJSON_AddStringToObject(fc, "name", name)) {
        cJSON_Delete(p);
        cJSON_Delete(a);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(fc, "args", a);
    cJSON_AddItemToArray(parts, p);
    if (call->model && strstr(call->model, "gemini-3") &&
        !cJSON_AddStringToObject(p, "thoughtSignature", GEM_NO_SIGNATURE))
        return AIGW_ENOMEM;
    return 0;
}

/* The function name of tool_call_id: the nearest earlier assistant message that made the
 * call (ids may repeat across turns, so search backwards from the tool message). */
static const char *tool_name_for(const cJSON *messages, int upto, const char *id)
{
    for (int i = upto - 1; i >= 0; i--) {
        const cJSON *m = cJSON_GetArrayItem(messages, i);
        const char *role = aigw_json_str(m, "role");
        const cJSON *tc;
        if (!role || strcmp(role, "assistant"))
            continue;
        cJSON_ArrayForEach(tc, aigw_json_get(m, "tool_calls"))
        {
            const char *tid = aigw_json_str(tc, "id");
            if (tid && !strcmp(tid, id))
                return aigw_json_str(aigw_json_get(tc, "function"), "name");
        }
    }
    return NULL;
}

/* {"functionResponse":{"name","response":{...}}}: response must be an object, so a result
 * that is not a JSON object is wrapped as {"content": <text>}. */
static int response_part(struct aigw_call *call, const char *name, const cJSON *content,
                         cJSON *parts)
{
    const char *text = content_text(call, content);
    if (!text)
        return AIGW_ENOMEM;
    cJSON *resp = cJSON_Parse(text);
    if (!cJSON_IsObject(resp)) {
        cJSON_Delete(resp);
        resp = cJSON_CreateObject();
        if (!resp || !cJSON_AddStringToObject(resp, "content", text)) {
            cJSON_Delete(resp);
            return AIGW_ENOMEM;
        }
    }
    cJSON *p = cJSON_CreateObject();
    cJSON *fr = p ? cJSON_AddObjectToObject(p, "functionResponse") : NULL;
    if (!fr || !cJSON_AddStringToObject(fr, "name", name)) {
        cJSON_Delete(p);
        cJSON_Delete(resp);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(fr, "response", resp);
    cJSON_AddItemToArray(parts, p);
    return 0;
}

static int message_turn(struct aigw_call *call, const cJSON *messages, int idx, cJSON *contents,
                        cJSON *sys)
{
    const cJSON *m = cJSON_GetArrayItem(messages, idx);
    const char *role = aigw_json_str(m, "role");
    const cJSON *content = aigw_json_get(m, "content");
    const cJSON *tc;
    int rc = 0;
    if (!role)
        return gem_inval(call, "message without a role");
    if (!strcmp(role, "system") || !strcmp(role, "developer")) {
        const char *t = content_text(call, content);
        if (!t)
            return AIGW_ENOMEM;
        return t[0] ? add_to_array(sys, text_part(t, strlen(t))) : 0;
    }
    cJSON *parts = cJSON_CreateArray();
    if (!parts)
        return AIGW_ENOMEM;
    if (!strcmp(role, "user")) {
        rc = content_parts(call, content, parts);
        role = "user";
    } else if (!strcmp(role, "assistant")) {
        rc = content_parts(call, content, parts);
        cJSON_ArrayForEach(tc, aigw_json_get(m, "tool_calls"))
        {
            if (rc == 0)
                rc = call_part(call, aigw_json_get(tc, "function"), parts);
        }
        if (rc == 0 && cJSON_IsObject(aigw_json_get(m, "function_call")))
            rc = call_part(call, aigw_json_get(m, "function_call"), parts);
        role = "model";
    } else if (!strcmp(role, "tool") || !strcmp(role, "function")) {
        const char *id = aigw_json_str(m, "tool_call_id");
        const char *name = aigw_json_str(m, "name");
        if (!name && id)
            name = tool_name_for(messages, idx, id);
        rc = name ? response_part(call, name, content, parts)
                  : gem_inval(call, "tool message whose tool_call_id matches no earlier tool call");
        role = "user";
    } else {
        rc = gem_inval(call, "unknown message role");
    }
    if (rc != 0) {
        cJSON_Delete(parts);
        return rc;
    }
    return append_turn(contents, role, parts);
}

/* Attach item (consumed) under key; *rc keeps the first failure so the callers can chain. */
int gem_build_body(struct aigw_call *call, cJSON **out)
{
    const cJSON *messages = aigw_json_get(call->body, "messages");
    int rc = 0, n = cJSON_GetArraySize(messages);
    *out = NULL;
    if (!cJSON_IsArray(messages) || n == 0)
        return gem_inval(call, "no messages");
    cJSON *req = cJSON_CreateObject();
    cJSON *contents = req ? cJSON_AddArrayToObject(req, "contents") : NULL;
    cJSON *sys = cJSON_CreateArray();
    if (!contents || !sys) {
        rc = AIGW_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < n && rc == 0; i++)
        rc = message_turn(call, messages, i, contents, sys);
    if (rc != 0)
        goto fail;
    if (cJSON_GetArraySize(contents) == 0) {
        /* Only a system prompt: Gemini needs a user turn, so the prompt becomes one. */
        if (cJSON_GetArraySize(sys) == 0) {
            rc = gem_inval(call, "no message with content");
            goto fail;
        }
        rc = append_turn(contents, "user", sys);
        sys = NULL;
        if (rc != 0)
            goto fail;
    } else if (cJSON_GetArraySize(sys) > 0) {
        cJSON *si = cJSON_AddObjectToObject(req, "systemInstruction");
        if (!si) {
            rc = AIGW_ENOMEM;
            goto fail;
        }
        cJSON_AddItemToObject(si, "parts", sys);
        sys = NULL;
    }
    if ((rc = gem_tools(call, req)) != 0 || (rc = gem_generation_config(call, req)) != 0)
        goto fail;
    cJSON_Delete(sys);
    *out = req;
    return 0;
fail:
    cJSON_Delete(sys);
    cJSON_Delete(req);
    return rc;
}
