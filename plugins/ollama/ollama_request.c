/*
 * ollama_request - OpenAI chat request -> native POST /api/chat body (providers-B §10.1).
 *
 * Sampling knobs move under "options" with Ollama's names (max tokens -> num_predict). Ollama
 * extensions a client may put in its request body, all optional:
 *   options        object of native options (num_ctx, min_p, mirostat, ...), sent as given;
 *                  the OpenAI fields below override keys they share with it
 *   num_ctx, top_k, min_p, repeat_penalty, repeat_last_n
 *                  top-level shorthands for the same options
 *   keep_alive     passed through ("5m", 0, -1)
 *   think          passed through (true/false/"low"/"medium"/"high"); otherwise derived from
 *                  reasoning_effort (none -> false, minimal -> "low", xhigh -> "max")
 * Dropped: tool_choice (Ollama has none; "none" drops the tools instead), n, user, logit_bias,
 * parallel_tool_calls, stream_options, logprobs.
 */
#include <string.h>

#include "ollama.h"

/* Adds a deep copy of `v` under `name`, replacing an existing key. */
static int put_copy(cJSON *dst, const char *name, const cJSON *v)
{
    cJSON *d = cJSON_Duplicate(v, 1);

    if (!d)
        return AIGW_ENOMEM;
    cJSON_DeleteItemFromObjectCaseSensitive(dst, name);
    if (!cJSON_AddItemToObject(dst, name, d)) {
        cJSON_Delete(d);
        return AIGW_ENOMEM;
    }
    return 0;
}

/* The base64 payload of a data:image/...;base64, URL, or NULL. */
static const char *data_url_b64(const char *url)
{
    const char *comma = strchr(url, ',');
    size_t n;

    if (strncmp(url, "data:image/", 11) != 0 || !comma || !comma[1])
        return NULL;
    n = (size_t)(comma - url);
    if (n < 7 || memcmp(comma - 7, ";base64", 7) != 0)
        return NULL;
    return comma + 1;
}

static int image_part(struct aigw_call *call, const cJSON *part, cJSON *msg)
{
    const cJSON *iu = aigw_json_get(part, "image_url");
    const char *url = cJSON_IsString(iu) ? iu->valuestring : aigw_json_str(iu, "url");
    const char *b64;
    cJSON *images, *s;

    if (!url)
        return ollama_reject(call, AIGW_EINVAL, "image_url part without a url");
    b64 = data_url_b64(url);
    if (!b64) {
        if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
            return ollama_reject(call, AIGW_EINVAL,
                                 "Ollama needs the image bytes: send images as "
                                 "data:image/...;base64 URLs, http(s) image URLs are not "
                                 "supported");
        return ollama_reject(call, AIGW_EINVAL,
                             "image_url must be a data:image/...;base64 URL for Ollama");
    }
    images = cJSON_GetObjectItemCaseSensitive(msg, "images");
    if (!images && !(images = cJSON_AddArrayToObject(msg, "images")))
        return AIGW_ENOMEM;
    s = cJSON_CreateString(b64);
    if (!s || !cJSON_AddItemToArray(images, s)) {
        cJSON_Delete(s);
        return AIGW_ENOMEM;
    }
    return 0;
}

/* Native messages carry one content string plus an images array: text parts are joined (as
 * the notes prescribe) and image parts move to images[]. */
static int content_of(struct aigw_call *call, const cJSON *content, cJSON *msg)
{
    const cJSON *p;
    size_t total = 0, off = 0;
    char *buf;
    int rc;

    if (!content || cJSON_IsNull(content))
        return cJSON_AddStringToObject(msg, "content", "") ? 0 : AIGW_ENOMEM;
    if (cJSON_IsString(content))
        return cJSON_AddStringToObject(msg, "content", content->valuestring) ? 0 : AIGW_ENOMEM;
    if (!cJSON_IsArray(content))
        return ollama_reject(call, AIGW_EINVAL, "message content must be a string or an array");
    cJSON_ArrayForEach(p, content)
    {
        const char *type = aigw_json_str(p, "type");
        if (type && strcmp(type, "text") == 0 && aigw_json_str(p, "text"))
            total += strlen(aigw_json_str(p, "text"));
        else if (type && strcmp(type, "image_url") == 0) {
            if ((rc = image_part(call, p, msg)) < 0)
                return rc;
        } else if (!type || strcmp(type, "refusal") != 0)
            return ollama_reject(call, AIGW_ENOTSUP,
                                 "Ollama accepts only text and image_url content parts");
    }
    buf = call->host->alloc(call, total + 1);
    if (!buf)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(p, content)
    {
        const char *type = aigw_json_str(p, "type"), *t = aigw_json_str(p, "text");
        size_t n;
        if (!t || strcmp(type, "text") != 0)
            continue;
        n = strlen(t);
        memcpy(buf + off, t, n);
        off += n;
    }
    buf[off] = '\0';
    return cJSON_AddStringToObject(msg, "content", buf) ? 0 : AIGW_ENOMEM;
}

/* OpenAI sends arguments as a JSON string; native Ollama wants the object itself. */
static int tool_calls_of(struct aigw_call *call, const cJSON *calls, cJSON *msg)
{
    const cJSON *tc;
    cJSON *arr = cJSON_AddArrayToObject(msg, "tool_calls");

    if (!arr)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *fn = aigw_json_get(tc, "function");
        const cJSON *args = aigw_json_get(fn, "arguments");
        const char *name = aigw_json_str(fn, "name");
        const cJSON *obj = NULL;
        cJSON *o, *f, *a;
        if (!name)
            return ollama_reject(call, AIGW_EINVAL, "assistant tool call without a name");
        if (cJSON_IsString(args) && args->valuestring[0]) {
            obj = call->host->json_parse(call, aigw_bytes_of(args->valuestring));
            if (!cJSON_IsObject(obj))
                return ollama_reject(call, AIGW_EINVAL,
                                     "tool call arguments must be a JSON object");
        } else if (cJSON_IsObject(args)) {
            obj = args;
        }
        a = obj ? cJSON_Duplicate(obj, 1) : cJSON_CreateObject();
        o = cJSON_CreateObject();
        if (!a || !o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(a);
            cJSON_Delete(o);
            return AIGW_ENOMEM;
        }
        if (!(f = cJSON_AddObjectToObject(o, "function")) ||
            !cJSON_AddStringToObject(f, "name", name) || !cJSON_AddItemToObject(f, "arguments", a))
            return AIGW_ENOMEM;
    }
    return 0;
}

/* Native tool results name the function, not the call: find the call id in the nearest
 * earlier assistant message (searching backwards, so reused ids resolve to the latest turn). */
static const char *tool_name_for(const cJSON *msgs, const cJSON *upto, const char *id)
{
    const cJSON *m, *found = NULL;

    for (m = msgs->child; m && m != upto; m = m->next) {
        const cJSON *tc;
        cJSON_ArrayForEach(tc, aigw_json_get(m, "tool_calls"))
        {
            const char *tid = aigw_json_str(tc, "id");
            if (tid && strcmp(tid, id) == 0)
                found = tc;
        }
    }
    return found ? aigw_json_str(aigw_json_get(found, "function"), "name") : NULL;
}

static int one_message(struct aigw_call *call, const cJSON *msgs, const cJSON *m, cJSON *out)
{
    const char *role = aigw_json_str(m, "role");
    const char *nrole;
    cJSON *msg;
    int rc;

    if (!role)
        return ollama_reject(call, AIGW_EINVAL, "message without a role");
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
        nrole = "system";
    else if (strcmp(role, "user") == 0 || strcmp(role, "assistant") == 0 ||
             strcmp(role, "tool") == 0)
        nrole = role;
    else if (strcmp(role, "function") == 0)
        nrole = "tool";
    else
        return ollama_reject(call, AIGW_EINVAL, "unknown message role");
    msg = cJSON_CreateObject();
    if (!msg || !cJSON_AddItemToArray(out, msg)) {
        cJSON_Delete(msg);
        return AIGW_ENOMEM;
    }
    if (!cJSON_AddStringToObject(msg, "role", nrole))
        return AIGW_ENOMEM;
    if ((rc = content_of(call, aigw_json_get(m, "content"), msg)) < 0)
        return rc;
    if (strcmp(role, "assistant") == 0) {
        const cJSON *calls = aigw_json_get(m, "tool_calls");
        const char *thinking = aigw_json_str(m, "reasoning_content");
        if (thinking && thinking[0] && !cJSON_AddStringToObject(msg, "thinking", thinking))
            return AIGW_ENOMEM;
        if (cJSON_IsArray(calls) && cJSON_GetArraySize(calls) > 0)
            return tool_calls_of(call, calls, msg);
    } else if (strcmp(role, "tool") == 0) {
        const char *id = aigw_json_str(m, "tool_call_id");
        const char *name = id ? tool_name_for(msgs, m, id) : NULL;
        if (name && !cJSON_AddStringToObject(msg, "tool_name", name))
            return AIGW_ENOMEM;
    } else if (strcmp(role, "function") == 0) {
        const char *name = aigw_json_str(m, "name");
        if (name && !cJSON_AddStringToObject(msg, "tool_name", name))
            return AIGW_ENOMEM;
    }
    return 0;
}

static int tools_of(struct aigw_call *call, const cJSON *req, cJSON *body)
{
    const cJSON *tools = aigw_json_get(req, "tools"), *t;
    const char *choice = aigw_json_str(req, "tool_choice");
    cJSON *arr;

    /* Ollama cannot be told not to call tools; withholding them is the faithful "none". */
    if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) == 0 ||
        (choice && strcmp(choice, "none") == 0))
        return 0;
    arr = cJSON_AddArrayToObject(body, "tools");
    if (!arr)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(t, tools)
    {
        const char *type = aigw_json_str(t, "type");
        cJSON *d;
        if (!type || strcmp(type, "function") != 0 ||
            !aigw_json_str(aigw_json_get(t, "function"), "name"))
            return ollama_reject(call, AIGW_ENOTSUP, "Ollama supports only function tools");
        d = cJSON_Duplicate(t, 1);
        if (!d || !cJSON_AddItemToArray(arr, d)) {
            cJSON_Delete(d);
            return AIGW_ENOMEM;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "function"),
                                                "strict");
    }
    return 0;
}

static int format_of(struct aigw_call *call, const cJSON *req, cJSON *body)
{
    const cJSON *rf = aigw_json_get(req, "response_format");
    const char *type = aigw_json_str(rf, "type");
    const cJSON *schema;

    if (!type || strcmp(type, "text") == 0)
        return 0;
    if (strcmp(type, "json_object") == 0)
        return cJSON_AddStringToObject(body, "format", "json") ? 0 : AIGW_ENOMEM;
    if (strcmp(type, "json_schema") != 0)
        return ollama_reject(call, AIGW_ENOTSUP, "unsupported response_format type");
    schema = aigw_json_get(aigw_json_get(rf, "json_schema"), "schema");
    if (!cJSON_IsObject(schema))
        return ollama_reject(call, AIGW_EINVAL, "response_format json_schema needs a schema");
    return put_copy(body, "format", schema);
}

static int options_of(struct aigw_call *call, const cJSON *req, cJSON *body)
{
    static const char *const ext[] = {"num_ctx", "top_k", "min_p", "repeat_penalty",
                                      "repeat_last_n"};
    static const char *const same[] = {"temperature", "top_p", "seed", "frequency_penalty",
                                       "presence_penalty"};
    const cJSON *given = aigw_json_get(req, "options"), *stop = aigw_json_get(req, "stop");
    const cJSON *max = aigw_json_get(req, "max_completion_tokens");
    cJSON *opts;
    size_t i;
    int rc = 0;

    if (given && !cJSON_IsObject(given))
        return ollama_reject(call, AIGW_EINVAL, "options must be an object");
    opts = given ? cJSON_Duplicate(given, 1) : cJSON_CreateObject();
    if (!opts || !cJSON_AddItemToObject(body, "options", opts)) {
        cJSON_Delete(opts);
        return AIGW_ENOMEM;
    }
    for (i = 0; rc == 0 && i < sizeof ext / sizeof ext[0]; i++)
        if (cJSON_IsNumber(aigw_json_get(req, ext[i])))
            rc = put_copy(opts, ext[i], aigw_json_get(req, ext[i]));
    for (i = 0; rc == 0 && i < sizeof same / sizeof same[0]; i++)
        if (cJSON_IsNumber(aigw_json_get(req, same[i])))
            rc = put_copy(opts, same[i], aigw_json_get(req, same[i]));
    if (!cJSON_IsNumber(max))
        max = aigw_json_get(req, "max_tokens");
    if (rc == 0 && cJSON_IsNumber(max))
        rc = put_copy(opts, "num_predict", max);
    if (rc == 0 && cJSON_IsString(stop)) {
        cJSON *arr = cJSON_CreateArray(), *s = cJSON_CreateString(stop->valuestring);
        if (!arr || !s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(arr);
            cJSON_Delete(s);
            return AIGW_ENOMEM;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(opts, "stop");
        if (!cJSON_AddItemToObject(opts, "stop", arr)) {
            cJSON_Delete(arr);
            return AIGW_ENOMEM;
        }
    } else if (rc == 0 && cJSON_IsArray(stop) && cJSON_GetArraySize(stop) > 0) {
        rc = put_copy(opts, "stop", stop);
    }
    if (rc < 0)
        return rc;
    if (!opts->child)
        cJSON_DeleteItemFromObjectCaseSensitive(body, "options");
    return 0;
}

static int extras_of(const cJSON *req, cJSON *body)
{
    const cJSON *keep = aigw_json_get(req, "keep_alive"), *think = aigw_json_get(req, "think");
    const char *effort = aigw_json_str(req, "reasoning_effort");
    int rc;

    if ((cJSON_IsString(keep) || cJSON_IsNumber(keep)) && (rc = put_copy(body, "keep_alive", keep)))
        return rc;
    if (cJSON_IsBool(think) || cJSON_IsString(think))
        return put_copy(body, "think", think);
    if (!effort)
        return 0;
    if (strcmp(effort, "none") == 0)
        return cJSON_AddFalseToObject(body, "think") ? 0 : AIGW_ENOMEM;
    if (strcmp(effort, "minimal") == 0)
        effort = "low";
    else if (strcmp(effort, "xhigh") == 0)
        effort = "max";
    return cJSON_AddStringToObject(body, "think", effort) ? 0 : AIGW_ENOMEM;
}

static int fill_body(struct aigw_call *call, cJSON *body)
{
    const cJSON *req = call->body;
    const cJSON *msgs = aigw_json_get(req, "messages"), *m;
    cJSON *out;
    int rc;

    if (!cJSON_AddStringToObject(body, "model", call->model))
        return AIGW_ENOMEM;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return ollama_reject(call, AIGW_EINVAL, "messages must be a non-empty array");
    out = cJSON_AddArrayToObject(body, "messages");
    if (!out)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(m, msgs)
    {
        if ((rc = one_message(call, msgs, m, out)) < 0)
            return rc;
    }
    /* Ollama streams unless told otherwise, so the flag is always explicit. */
    if (!cJSON_AddBoolToObject(body, "stream", call->stream ? 1 : 0))
        return AIGW_ENOMEM;
    if ((rc = tools_of(call, req, body)) < 0 || (rc = format_of(call, req, body)) < 0 ||
        (rc = options_of(call, req, body)) < 0 || (rc = extras_of(req, body)) < 0)
        return rc;
    return 0;
}

int ollama_build_chat(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *url;
    cJSON *body;
    int rc;

    if ((rc = ollama_url(call, "/api/chat", &url)) < 0)
        return rc;
    body = cJSON_CreateObject();
    if (!body)
        return AIGW_ENOMEM;
    if ((rc = fill_body(call, body)) < 0) {
        cJSON_Delete(body);
        return rc;
    }
    if ((rc = h->set_method(call, "POST")) < 0 || (rc = h->set_url(call, url)) < 0 ||
        (rc = ollama_set_auth(call)) < 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) < 0 ||
        (rc = h->set_framing(call, call->stream ? AIGW_FRAMING_NDJSON : AIGW_FRAMING_JSON)) < 0) {
        cJSON_Delete(body);
        return rc;
    }
    return h->set_body_json(call, body);
}
