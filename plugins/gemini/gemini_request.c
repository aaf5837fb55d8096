/*
 * gemini_request.c - OpenAI chat request -> GenerateContentRequest.
 *
 * Gemini differs from OpenAI in ways a plain field copy gets wrong: roles must alternate
 * (consecutive same-role messages are merged), the system prompt lives outside the
 * conversation, tool results carry the function *name* (OpenAI's tool message only has the
 * call id, so the name is looked up in the assistant message that made the call), and tool
 * schemas must be cut down to Gemini's Schema subset (gemini_schema.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gemini_xlate.h"

/* The reason becomes the client's error message instead of a generic one. */
static int inval(struct aigw_call *call, const char *why)
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
            return inval(call, "data: URL is not base64");
        *out = media_part("inlineData", url + 5, (size_t)(semi - url - 5), "data", semi + 8);
        return *out ? 0 : inval(call, "data: URL without a usable media type");
    }
    if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7) && strncmp(url, "gs://", 5))
        return inval(call, "image URL scheme not supported");
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
        return inval(call, "message content is neither a string nor an array");
    cJSON_ArrayForEach(p, content)
    {
        const char *type = aigw_json_str(p, "type");
        cJSON *part = NULL;
        if (!type)
            return inval(call, "content part without a type");
        if (!strcmp(type, "text") || !strcmp(type, "refusal")) {
            const char *t = aigw_json_str(p, type);
            if (!t)
                return inval(call, "text part without text");
            if (!t[0])
                continue;
            part = text_part(t, strlen(t));
            if (!part)
                return AIGW_ENOMEM;
        } else if (!strcmp(type, "image_url")) {
            const cJSON *iu = aigw_json_get(p, "image_url");
            const char *url = cJSON_IsString(iu) ? iu->valuestring : aigw_json_str(iu, "url");
            if (!url)
                return inval(call, "image_url part without url");
            if ((rc = url_part(call, url, &part)) != 0)
                return rc;
        } else if (!strcmp(type, "input_audio")) {
            const cJSON *a = aigw_json_get(p, "input_audio");
            const char *data = aigw_json_str(a, "data"), *fmt = aigw_json_str(a, "format");
            char mime[64];
            if (!data || !fmt || strlen(fmt) > 32)
                return inval(call, "input_audio part without data or format");
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
        return inval(call, "assistant tool call without a function name");
    /* Some clients replay the arguments as the object itself rather than its JSON text. */
    cJSON *a = cJSON_IsObject(obj)                     ? cJSON_Duplicate(obj, 1)
               : args && args[strspn(args, " \t\r\n")] ? cJSON_Parse(args)
                                                       : cJSON_CreateObject();
    if (!cJSON_IsObject(a)) {
        cJSON_Delete(a);
        return inval(call, "assistant tool call arguments are not a JSON object");
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
        return inval(call, "message without a role");
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
                  : inval(call, "tool message whose tool_call_id matches no earlier tool call");
        role = "user";
    } else {
        rc = inval(call, "unknown message role");
    }
    if (rc != 0) {
        cJSON_Delete(parts);
        return rc;
    }
    return append_turn(contents, role, parts);
}

/* Attach item (consumed) under key; *rc keeps the first failure so the callers can chain. */
static void put(cJSON *o, const char *key, cJSON *item, int *rc)
{
    if (*rc == 0 && item && cJSON_AddItemToObject(o, key, item))
        return;
    cJSON_Delete(item);
    if (*rc == 0)
        *rc = AIGW_ENOMEM;
}

/* v (a field of the client body) as dst_key, when it is a number. */
static void put_num(cJSON *gen, const char *dst_key, const cJSON *v, int *rc)
{
    if (cJSON_IsNumber(v))
        put(gen, dst_key, cJSON_CreateNumber(v->valuedouble), rc);
}

/* reasoning_effort only means something to thinking models; elsewhere Gemini would reject
 * thinkingConfig, so it is dropped there. Budgets follow common gateway practice. none and
 * minimal lower thinking as far as the model allows (2.5 Pro's floor is a budget of 128,
 * Gemini 3 Pro's the level low): left out, the model would think at its dynamic default. */
static void thinking_config(struct aigw_call *call, cJSON *gen, int *rc)
{
    const char *effort = aigw_json_str(call->body, "reasoning_effort");
    const char *model = call->model ? call->model : "";
    if (!effort)
        return;
    int off = !strcmp(effort, "none") || !strcmp(effort, "minimal");
    int low = !strcmp(effort, "low"), high = !strcmp(effort, "high") || !strcmp(effort, "xhigh");
    int gen3 = strstr(model, "gemini-3") != NULL;
    if (!gen3 && !strstr(model, "gemini-2.5"))
        return;
    cJSON *tc = cJSON_CreateObject();
    if (!off)
        put(tc, "includeThoughts", cJSON_CreateTrue(), rc);
    if (gen3)
        put(tc, "thinkingLevel", cJSON_CreateString(off || low ? "low" : "high"), rc);
    else if (off)
        put(tc, "thinkingBudget", cJSON_CreateNumber(strstr(model, "-pro") ? 128 : 0), rc);
    else
        put(tc, "thinkingBudget", cJSON_CreateNumber(low ? 1024 : high ? 24576 : 8192), rc);
    put(gen, "thinkingConfig", tc, rc);
}

/* Gemini writes a responseSchema's properties in alphabetical order unless propertyOrdering
 * names one; OpenAI writes them in the schema's order, which clients rely on (a "reasoning"
 * field meant to come before the "answer"). Walks the cleaned schema: properties, items and
 * anyOf only, whose depth gem_schema_clean has capped. */
static int order_properties(cJSON *s)
{
    cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"), *c;
    int rc;
    if (!cJSON_IsObject(s))
        return 0;
    if (cJSON_IsObject(props) && props->child &&
        !cJSON_GetObjectItemCaseSensitive(s, "propertyOrdering")) {
        cJSON *order = cJSON_AddArrayToObject(s, "propertyOrdering");
        if (!order)
            return AIGW_ENOMEM;
        cJSON_ArrayForEach(c, props)
        {
            if (!cJSON_AddItemToArray(order, cJSON_CreateString(c->string)))
                return AIGW_ENOMEM;
        }
    }
    for (c = cJSON_IsObject(props) ? props->child : NULL; c; c = c->next)
        if ((rc = order_properties(c)) != 0)
            return rc;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "anyOf"))
    {
        if ((rc = order_properties(c)) != 0)
            return rc;
    }
    return order_properties(cJSON_GetObjectItemCaseSensitive(s, "items"));
}

static int generation_config(struct aigw_call *call, cJSON *req)
{
    const cJSON *b = call->body, *v;
    cJSON *gen = cJSON_CreateObject();
    int rc = 0;
    if (!gen)
        return AIGW_ENOMEM;
    put_num(gen, "temperature", aigw_json_get(b, "temperature"), &rc);
    put_num(gen, "topP", aigw_json_get(b, "top_p"), &rc);
    put_num(gen, "topK", aigw_json_get(b, "top_k"), &rc); /* not OpenAI's, but clients send it */
    v = aigw_json_get(b, "max_completion_tokens");
    put_num(gen, "maxOutputTokens", cJSON_IsNumber(v) ? v : aigw_json_get(b, "max_tokens"), &rc);
    v = aigw_json_get(b, "stop");
    if (cJSON_IsString(v))
        put(gen, "stopSequences", cJSON_CreateStringArray((const char *[]){v->valuestring}, 1),
            &rc);
    else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0)
        put(gen, "stopSequences", cJSON_Duplicate(v, 1), &rc);
    /* n == 1 is Gemini's default; leaving it out spares models that refuse candidateCount. */
    if (cJSON_IsNumber(v = aigw_json_get(b, "n")) && v->valuedouble > 1)
        put_num(gen, "candidateCount", v, &rc);
    put_num(gen, "seed", aigw_json_get(b, "seed"), &rc);
    /* Zero is OpenAI's default and some Gemini models refuse penalties outright. */
    if (cJSON_IsNumber(v = aigw_json_get(b, "presence_penalty")) && v->valuedouble != 0)
        put_num(gen, "presencePenalty", v, &rc);
    if (cJSON_IsNumber(v = aigw_json_get(b, "frequency_penalty")) && v->valuedouble != 0)
        put_num(gen, "frequencyPenalty", v, &rc);
    const cJSON *rf = aigw_json_get(b, "response_format");
    const char *rft = aigw_json_str(rf, "type");
    if (rft && (!strcmp(rft, "json_object") || !strcmp(rft, "json_schema")))
        put(gen, "responseMimeType", cJSON_CreateString("application/json"), &rc);
    const cJSON *schema = NULL;
    if (rft && !strcmp(rft, "json_schema"))
        schema = aigw_json_get(aigw_json_get(rf, "json_schema"), "schema");
    if (rc == 0 && cJSON_IsObject(schema)) {
        cJSON *clean = NULL;
        if ((rc = gem_schema_clean(call, schema, &clean)) == 0 &&
            (rc = order_properties(clean)) != 0) {
            cJSON_Delete(clean);
            clean = NULL;
        }
        if (rc == 0)
            put(gen, "responseSchema", clean, &rc);
    }
    thinking_config(call, gen, &rc);
    if (rc != 0 || !gen->child) {
        cJSON_Delete(gen);
        return rc;
    }
    cJSON_AddItemToObject(req, "generationConfig", gen);
    return 0;
}

/* Function parameters must be an OBJECT schema; a tool without parameters gets an empty one
 * (Gemini refuses a declaration without parameters under mode ANY). */
static int tool_params(struct aigw_call *call, const cJSON *params, cJSON **out)
{
    int rc;
    *out = NULL;
    if (cJSON_IsObject(params) && (rc = gem_schema_clean(call, params, out)) != 0)
        return rc;
    if (!*out && !(*out = cJSON_CreateObject()))
        return AIGW_ENOMEM;
    if (!cJSON_GetObjectItemCaseSensitive(*out, "type") &&
        !cJSON_GetObjectItemCaseSensitive(*out, "anyOf") &&
        !cJSON_AddStringToObject(*out, "type", "OBJECT"))
        return AIGW_ENOMEM;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(*out, "type");
    if (cJSON_IsString(t) && !strcmp(t->valuestring, "OBJECT") &&
        !cJSON_GetObjectItemCaseSensitive(*out, "properties") &&
        !cJSON_AddObjectToObject(*out, "properties"))
        return AIGW_ENOMEM;
    return 0;
}

static int tools(struct aigw_call *call, cJSON *req)
{
    const cJSON *tl = aigw_json_get(call->body, "tools"), *t;
    int rc;
    if (!cJSON_IsArray(tl) || cJSON_GetArraySize(tl) == 0)
        return 0;
    cJSON *arr = cJSON_AddArrayToObject(req, "tools");
    cJSON *wrap = arr ? cJSON_CreateObject() : NULL;
    if (!wrap)
        return AIGW_ENOMEM;
    cJSON_AddItemToArray(arr, wrap);
    cJSON *decls = cJSON_AddArrayToObject(wrap, "functionDeclarations");
    if (!decls)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(t, tl)
    {
        const char *type = aigw_json_str(t, "type");
        const cJSON *fn = aigw_json_get(t, "function");
        const char *name = aigw_json_str(fn, "name"), *desc = aigw_json_str(fn, "description");
        if (type && strcmp(type, "function")) {
            call->host->log(call, AIGW_LOG_INFO, "tool type not supported by Gemini");
            return AIGW_ENOTSUP;
        }
        if (!name)
            return inval(call, "tool without a function name");
        cJSON *d = cJSON_CreateObject();
        if (!d)
            return AIGW_ENOMEM;
        cJSON_AddItemToArray(decls, d);
        if (!cJSON_AddStringToObject(d, "name", name) ||
            (desc && !cJSON_AddStringToObject(d, "description", desc)))
            return AIGW_ENOMEM;
        cJSON *params = NULL;
        if ((rc = tool_params(call, aigw_json_get(fn, "parameters"), &params)) != 0) {
            cJSON_Delete(params);
            return rc;
        }
        cJSON_AddItemToObject(d, "parameters", params);
    }

    const cJSON *tc = aigw_json_get(call->body, "tool_choice");
    const char *mode = NULL, *only = NULL;
    if (cJSON_IsString(tc)) {
        mode = !strcmp(tc->valuestring, "none")       ? "NONE"
               : !strcmp(tc->valuestring, "required") ? "ANY"
               : !strcmp(tc->valuestring, "auto")     ? "AUTO"
                                                      : NULL;
        if (!mode)
            return inval(call, "unknown tool_choice");
    } else if (cJSON_IsObject(tc)) {
        only = aigw_json_str(aigw_json_get(tc, "function"), "name");
        if (!only)
            return inval(call, "tool_choice object without a function name");
        mode = "ANY";
    }
    if (!mode)
        return 0;
    cJSON *cfg = cJSON_AddObjectToObject(req, "toolConfig");
    cJSON *fcc = cfg ? cJSON_AddObjectToObject(cfg, "functionCallingConfig") : NULL;
    if (!fcc || !cJSON_AddStringToObject(fcc, "mode", mode))
        return AIGW_ENOMEM;
    if (only) {
        cJSON *names = cJSON_CreateStringArray(&only, 1);
        if (!names)
            return AIGW_ENOMEM;
        cJSON_AddItemToObject(fcc, "allowedFunctionNames", names);
    }
    return 0;
}

int gem_build_body(struct aigw_call *call, cJSON **out)
{
    const cJSON *messages = aigw_json_get(call->body, "messages");
    int rc = 0, n = cJSON_GetArraySize(messages);
    *out = NULL;
    if (!cJSON_IsArray(messages) || n == 0)
        return inval(call, "no messages");
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
            rc = inval(call, "no message with content");
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
    if ((rc = tools(call, req)) != 0 || (rc = generation_config(call, req)) != 0)
        goto fail;
    cJSON_Delete(sys);
    *out = req;
    return 0;
fail:
    cJSON_Delete(sys);
    cJSON_Delete(req);
    return rc;
}
