/*
 * cohere_request - OpenAI chat request -> Cohere v2 /v2/chat body (providers-A §8.2).
 *
 * Cohere v2 is close to OpenAI's shape, so most work is renaming (top_p -> p, stop ->
 * stop_sequences, tool_choice -> REQUIRED/NONE) and dropping what Cohere rejects (n, user,
 * logit_bias, parallel_tool_calls, stream_options). Extensions read from the client body:
 * top_k -> k.
 */
#include <string.h>

#include "cohere.h"

/* Copies a numeric field under a (possibly new) name; absent or null fields are skipped. */
static int copy_number(cJSON *dst, const char *dst_name, const cJSON *src, const char *src_name)
{
    const cJSON *v = aigw_json_get(src, src_name);
    cJSON *d;

    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return AIGW_EINVAL;
    d = cJSON_Duplicate(v, 0);
    if (!d || !cJSON_AddItemToObject(dst, dst_name, d)) {
        cJSON_Delete(d);
        return AIGW_ENOMEM;
    }
    return 0;
}

/* Joins the text parts of `content` (string, array of text parts, or null) into one string.
 * Assistant refusal parts are skipped; any other part cannot go into a text-only message. */
static int text_of(struct aigw_call *call, const cJSON *content, const char **out)
{
    const cJSON *p;
    size_t total = 0, off = 0;
    char *buf;

    *out = "";
    if (!content || cJSON_IsNull(content))
        return 0;
    if (cJSON_IsString(content)) {
        *out = content->valuestring;
        return 0;
    }
    if (!cJSON_IsArray(content))
        return cohere_reject(call, AIGW_EINVAL, "message content must be a string or an array");
    cJSON_ArrayForEach(p, content)
    {
        const char *type = aigw_json_str(p, "type");
        const char *t = aigw_json_str(p, "text");
        if (type && strcmp(type, "refusal") == 0)
            continue;
        if (!type || strcmp(type, "text") != 0 || !t)
            return cohere_reject(call, AIGW_ENOTSUP,
                                 "only text parts are supported in system, assistant and tool "
                                 "messages");
        total += strlen(t);
    }
    buf = call->host->alloc(call, total + 1);
    if (!buf)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(p, content)
    {
        const char *t = aigw_json_str(p, "text");
        const char *type = aigw_json_str(p, "type");
        size_t n;
        if (!t || strcmp(type, "text") != 0)
            continue;
        n = strlen(t);
        memcpy(buf + off, t, n);
        off += n;
    }
    buf[off] = '\0';
    *out = buf;
    return 0;
}

/* User content keeps Cohere's part array so images survive (vision models only). */
static int user_content(struct aigw_call *call, const cJSON *content, cJSON *msg)
{
    const cJSON *p;
    cJSON *parts;

    if (cJSON_IsString(content))
        return cJSON_AddStringToObject(msg, "content", content->valuestring) ? 0 : AIGW_ENOMEM;
    if (!cJSON_IsArray(content))
        return cohere_reject(call, AIGW_EINVAL, "user content must be a string or an array");
    parts = cJSON_AddArrayToObject(msg, "content");
    if (!parts)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(p, content)
    {
        const char *type = aigw_json_str(p, "type");
        cJSON *part = cJSON_CreateObject();
        if (!part || !cJSON_AddItemToArray(parts, part)) {
            cJSON_Delete(part);
            return AIGW_ENOMEM;
        }
        if (type && strcmp(type, "text") == 0 && aigw_json_str(p, "text")) {
            if (!cJSON_AddStringToObject(part, "type", "text") ||
                !cJSON_AddStringToObject(part, "text", aigw_json_str(p, "text")))
                return AIGW_ENOMEM;
        } else if (type && strcmp(type, "image_url") == 0) {
            const cJSON *iu = aigw_json_get(p, "image_url");
            const char *url = cJSON_IsString(iu) ? iu->valuestring : aigw_json_str(iu, "url");
            const char *detail = aigw_json_str(iu, "detail");
            cJSON *o;
            if (!url)
                return cohere_reject(call, AIGW_EINVAL, "image_url part without a url");
            if (!cJSON_AddStringToObject(part, "type", "image_url") ||
                !(o = cJSON_AddObjectToObject(part, "image_url")) ||
                !cJSON_AddStringToObject(o, "url", url) ||
                (detail && !cJSON_AddStringToObject(o, "detail", detail)))
                return AIGW_ENOMEM;
        } else {
            return cohere_reject(call, AIGW_ENOTSUP,
                                 "Cohere accepts only text and image_url content parts");
        }
    }
    return 0;
}

static int tool_calls_of(struct aigw_call *call, const cJSON *calls, cJSON *msg)
{
    const cJSON *tc;
    cJSON *arr = cJSON_AddArrayToObject(msg, "tool_calls");

    if (!arr)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *fn = aigw_json_get(tc, "function");
        const char *id = aigw_json_str(tc, "id"), *name = aigw_json_str(fn, "name");
        const cJSON *args = aigw_json_get(fn, "arguments");
        const char *argstr = "{}";
        cJSON *o, *f;
        if (!id || !name)
            return cohere_reject(call, AIGW_EINVAL, "assistant tool_calls need an id and a name");
        if (cJSON_IsString(args))
            argstr = args->valuestring;
        else if (cJSON_IsObject(args) && !(argstr = call->host->json_print(call, args)))
            return AIGW_ENOMEM;
        o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return AIGW_ENOMEM;
        }
        if (!cJSON_AddStringToObject(o, "id", id) ||
            !cJSON_AddStringToObject(o, "type", "function") ||
            !(f = cJSON_AddObjectToObject(o, "function")) ||
            !cJSON_AddStringToObject(f, "name", name) ||
            !cJSON_AddStringToObject(f, "arguments", argstr))
            return AIGW_ENOMEM;
    }
    return 0;
}

static int one_message(struct aigw_call *call, const cJSON *m, cJSON *out)
{
    const char *role = aigw_json_str(m, "role");
    const cJSON *content = aigw_json_get(m, "content");
    const char *text;
    cJSON *msg;
    int rc;

    if (!role)
        return cohere_reject(call, AIGW_EINVAL, "message without a role");
    msg = cJSON_CreateObject();
    if (!msg || !cJSON_AddItemToArray(out, msg)) {
        cJSON_Delete(msg);
        return AIGW_ENOMEM;
    }
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
        if ((rc = text_of(call, content, &text)) < 0)
            return rc;
        if (!cJSON_AddStringToObject(msg, "role", "system") ||
            !cJSON_AddStringToObject(msg, "content", text))
            return AIGW_ENOMEM;
        return 0;
    }
    if (strcmp(role, "user") == 0) {
        if (!cJSON_AddStringToObject(msg, "role", "user"))
            return AIGW_ENOMEM;
        return user_content(call, content, msg);
    }
    if (strcmp(role, "assistant") == 0) {
        const cJSON *calls = aigw_json_get(m, "tool_calls");
        const char *plan = aigw_json_str(m, "reasoning_content");
        int has_calls = cJSON_IsArray(calls) && cJSON_GetArraySize(calls) > 0;
        if ((rc = text_of(call, content, &text)) < 0)
            return rc;
        if (!cJSON_AddStringToObject(msg, "role", "assistant"))
            return AIGW_ENOMEM;
        if (!has_calls)
            return cJSON_AddStringToObject(msg, "content", text) ? 0 : AIGW_ENOMEM;
        /* Cohere refuses content beside tool calls ("text content is not allowed when
         * tool_calls are provided"): what was said goes into the tool plan, after the
         * reasoning we surfaced from an earlier tool_plan. */
        if (plan && plan[0] && text[0])
            plan = call->host->strf(call, "%s\n\n%s", plan, text);
        else if (!plan || !plan[0])
            plan = text;
        if (!plan)
            return AIGW_ENOMEM;
        if (plan[0] && !cJSON_AddStringToObject(msg, "tool_plan", plan))
            return AIGW_ENOMEM;
        return tool_calls_of(call, calls, msg);
    }
    if (strcmp(role, "tool") == 0) {
        const char *id = aigw_json_str(m, "tool_call_id");
        if (!id)
            return cohere_reject(call, AIGW_EINVAL, "tool message without tool_call_id");
        if ((rc = text_of(call, content, &text)) < 0)
            return rc;
        if (!cJSON_AddStringToObject(msg, "role", "tool") ||
            !cJSON_AddStringToObject(msg, "tool_call_id", id) ||
            !cJSON_AddStringToObject(msg, "content", text))
            return AIGW_ENOMEM;
        return 0;
    }
    if (strcmp(role, "function") == 0)
        return cohere_reject(call, AIGW_ENOTSUP,
                             "legacy function messages carry no call id; use tool messages");
    return cohere_reject(call, AIGW_EINVAL, "unknown message role");
}

/* Only `only` (a forced tool name) survives when set: Cohere has no named tool_choice, so
 * forcing REQUIRED over a single tool is the closest equivalent. */
static int tools_of(struct aigw_call *call, const cJSON *tools, const char *only, cJSON *body)
{
    const cJSON *t;
    cJSON *arr = cJSON_AddArrayToObject(body, "tools");
    int kept = 0;

    if (!arr)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *fn = aigw_json_get(t, "function");
        const char *type = aigw_json_str(t, "type"), *name = aigw_json_str(fn, "name");
        const char *desc = aigw_json_str(fn, "description");
        const cJSON *params = aigw_json_get(fn, "parameters");
        cJSON *o, *f, *p;
        if (!type || strcmp(type, "function") != 0 || !name)
            return cohere_reject(call, AIGW_ENOTSUP, "Cohere supports only function tools");
        if (only && strcmp(only, name) != 0)
            continue;
        o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return AIGW_ENOMEM;
        }
        if (!cJSON_AddStringToObject(o, "type", "function") ||
            !(f = cJSON_AddObjectToObject(o, "function")) ||
            !cJSON_AddStringToObject(f, "name", name) ||
            (desc && !cJSON_AddStringToObject(f, "description", desc)))
            return AIGW_ENOMEM;
        if (cJSON_IsObject(params)) {
            p = cJSON_Duplicate(params, 1);
            if (!p || !cJSON_AddItemToObject(f, "parameters", p)) {
                cJSON_Delete(p);
                return AIGW_ENOMEM;
            }
        } else if (!(p = cJSON_AddObjectToObject(f, "parameters")) ||
                   !cJSON_AddStringToObject(p, "type", "object") ||
                   !cJSON_AddObjectToObject(p, "properties")) {
            return AIGW_ENOMEM;
        }
        kept++;
    }
    if (only && kept == 0)
        return cohere_reject(call, AIGW_EINVAL, "tool_choice names a function not in tools");
    return 0;
}

static int tooling(struct aigw_call *call, const cJSON *req, cJSON *body)
{
    const cJSON *tools = aigw_json_get(req, "tools");
    const cJSON *choice = aigw_json_get(req, "tool_choice");
    const char *only = NULL, *mode = NULL;
    int rc;

    if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) == 0)
        return 0;
    if (cJSON_IsString(choice)) {
        if (strcmp(choice->valuestring, "required") == 0)
            mode = "REQUIRED";
        else if (strcmp(choice->valuestring, "none") == 0)
            mode = "NONE";
        else if (strcmp(choice->valuestring, "auto") != 0)
            return cohere_reject(call, AIGW_EINVAL, "unknown tool_choice");
    } else if (cJSON_IsObject(choice)) {
        only = aigw_json_str(aigw_json_get(choice, "function"), "name");
        if (!only)
            return cohere_reject(call, AIGW_EINVAL, "tool_choice object without function.name");
        mode = "REQUIRED";
    }
    if ((rc = tools_of(call, tools, only, body)) < 0)
        return rc;
    if (mode && !cJSON_AddStringToObject(body, "tool_choice", mode))
        return AIGW_ENOMEM;
    return 0;
}

static int response_format(struct aigw_call *call, const cJSON *req, cJSON *body)
{
    const cJSON *rf = aigw_json_get(req, "response_format");
    const char *type = aigw_json_str(rf, "type");
    const cJSON *schema;
    cJSON *o, *s;

    if (!type || strcmp(type, "text") == 0)
        return 0;
    if (strcmp(type, "json_object") != 0 && strcmp(type, "json_schema") != 0)
        return cohere_reject(call, AIGW_ENOTSUP, "unsupported response_format type");
    o = cJSON_AddObjectToObject(body, "response_format");
    if (!o || !cJSON_AddStringToObject(o, "type", "json_object"))
        return AIGW_ENOMEM;
    schema = aigw_json_get(aigw_json_get(rf, "json_schema"), "schema");
    if (strcmp(type, "json_schema") == 0 && cJSON_IsObject(schema)) {
        s = cJSON_Duplicate(schema, 1);
        if (!s || !cJSON_AddItemToObject(o, "json_schema", s)) {
            cJSON_Delete(s);
            return AIGW_ENOMEM;
        }
    }
    return 0;
}

static int sampling(struct aigw_call *call, const cJSON *req, cJSON *body)
{
    const cJSON *stop = aigw_json_get(req, "stop");
    const cJSON *mct = aigw_json_get(req, "max_completion_tokens");
    const char *effort = aigw_json_str(req, "reasoning_effort");
    int rc = 0;

    if (cJSON_IsNumber(mct))
        rc = copy_number(body, "max_tokens", req, "max_completion_tokens");
    else
        rc = copy_number(body, "max_tokens", req, "max_tokens");
    if (rc == 0)
        rc = copy_number(body, "temperature", req, "temperature");
    if (rc == 0)
        rc = copy_number(body, "p", req, "top_p");
    if (rc == 0)
        rc = copy_number(body, "k", req, "top_k");
    if (rc == 0)
        rc = copy_number(body, "seed", req, "seed");
    if (rc == 0)
        rc = copy_number(body, "frequency_penalty", req, "frequency_penalty");
    if (rc == 0)
        rc = copy_number(body, "presence_penalty", req, "presence_penalty");
    if (rc == AIGW_EINVAL)
        return cohere_reject(call, rc, "a sampling parameter is not a number");
    if (rc < 0)
        return rc;
    if (cJSON_IsString(stop)) {
        cJSON *arr = cJSON_AddArrayToObject(body, "stop_sequences");
        cJSON *s = cJSON_CreateString(stop->valuestring);
        if (!arr || !s || !cJSON_AddItemToArray(arr, s)) {
            cJSON_Delete(s);
            return AIGW_ENOMEM;
        }
    } else if (cJSON_IsArray(stop) && cJSON_GetArraySize(stop) > 0) {
        cJSON *arr = cJSON_Duplicate(stop, 1);
        if (!arr || !cJSON_AddItemToObject(body, "stop_sequences", arr)) {
            cJSON_Delete(arr);
            return AIGW_ENOMEM;
        }
    }
    /* Cohere's reasoning models take an on/off switch, not OpenAI's effort levels. */
    if (effort) {
        cJSON *t = cJSON_AddObjectToObject(body, "thinking");
        if (!t || !cJSON_AddStringToObject(t, "type",
                                           strcmp(effort, "none") == 0 ? "disabled" : "enabled"))
            return AIGW_ENOMEM;
    }
    return 0;
}

static int fill_body(struct aigw_call *call, cJSON *body)
{
    const cJSON *req = call->body;
    const cJSON *msgs = aigw_json_get(req, "messages");
    const cJSON *m;
    cJSON *out;
    int rc;

    if (!cJSON_AddStringToObject(body, "model", call->model))
        return AIGW_ENOMEM;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return cohere_reject(call, AIGW_EINVAL, "messages must be a non-empty array");
    out = cJSON_AddArrayToObject(body, "messages");
    if (!out)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(m, msgs)
    {
        if ((rc = one_message(call, m, out)) < 0)
            return rc;
    }
    if ((rc = tooling(call, req, body)) < 0 || (rc = response_format(call, req, body)) < 0 ||
        (rc = sampling(call, req, body)) < 0)
        return rc;
    if (!cJSON_AddBoolToObject(body, "stream", call->stream ? 1 : 0))
        return AIGW_ENOMEM;
    return 0;
}

int cohere_build_chat(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *url = cohere_url(call, "chat");
    cJSON *body;
    int rc;

    if (!url)
        return AIGW_ENOMEM;
    body = cJSON_CreateObject();
    if (!body)
        return AIGW_ENOMEM;
    if ((rc = fill_body(call, body)) < 0) {
        cJSON_Delete(body);
        return rc;
    }
    if ((rc = h->set_method(call, "POST")) < 0 || (rc = h->set_url(call, url)) < 0 ||
        (rc = cohere_set_auth(call)) < 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) < 0 ||
        (rc = h->add_header(call, "Accept", call->stream ? "text/event-stream" : "application/json",
                            0)) < 0 ||
        (rc = h->set_framing(call, call->stream ? AIGW_FRAMING_SSE : AIGW_FRAMING_JSON)) < 0) {
        cJSON_Delete(body);
        return rc;
    }
    return h->set_body_json(call, body);
}
