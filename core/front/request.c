/* request - validation of OpenAI request bodies (see request.h). */
#include "front/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"
#include "front/body.h"

#define MAX_MESSAGES 100000
#define MAX_N 128

static int fail(struct gw_request_err *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct gw_request_err *err, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = 400;
    err->param = param;
    err->code = NULL;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return AIGW_EINVAL;
}

static int check_value(const cJSON *v, const char *name, int (*ok)(const cJSON *),
                       const char *what, struct gw_request_err *err)
{
    if (!v || cJSON_IsNull(v) || ok(v))
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "'%s' must be %s", name, what);
    err->status = 400;
    err->param = name;
    err->code = NULL;
    snprintf(err->message, sizeof err->message, "%s", msg);
    return AIGW_EINVAL;
}

static int check_optional(const cJSON *body, const char *name, int (*ok)(const cJSON *),
                          const char *what, struct gw_request_err *err)
{
    return check_value(cJSON_GetObjectItemCaseSensitive(body, name), name, ok, what, err);
}

/* The top-level members check_chat reads, found in one walk of the body: a lookup per name
 * walked the member list twenty times per request (~2.6k instructions). The first member of
 * a name wins, as with cJSON_GetObjectItemCaseSensitive. */
enum {
    F_MESSAGES, F_TOOLS, F_TOOL_CHOICE, F_TEMPERATURE, F_TOP_P, F_PRESENCE_PENALTY,
    F_FREQUENCY_PENALTY, F_MAX_TOKENS, F_MAX_COMPLETION_TOKENS, F_N, F_SEED, F_TOP_LOGPROBS,
    F_STOP, F_STREAM_OPTIONS, F_RESPONSE_FORMAT, F_LOGPROBS, F_PARALLEL_TOOL_CALLS, F_METADATA,
    F_COUNT
};

static const char *const chat_fields[F_COUNT] = {
    "messages", "tools", "tool_choice", "temperature", "top_p", "presence_penalty",
    "frequency_penalty", "max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs",
    "stop", "stream_options", "response_format", "logprobs", "parallel_tool_calls", "metadata",
};

static void chat_members(const cJSON *body, const cJSON *v[F_COUNT])
{
    for (int i = 0; i < F_COUNT; i++)
        v[i] = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, body)
    {
        const char *s = m->string;
        if (!s)
            break; /* where cJSON's own lookup stops too */
        for (int i = 0; i < F_COUNT; i++)
            if (s[0] == chat_fields[i][0] && !strcmp(s, chat_fields[i])) {
                if (!v[i])
                    v[i] = m;
                break;
            }
    }
}

static int is_number(const cJSON *v)
{
    return cJSON_IsNumber(v);
}

/* A whole number a long long holds. The range test comes before the cast: converting a double
 * outside long long's range is undefined behaviour, and any client can send {"n": 1e300}.
 * The bounds are -2^63 (exact) and 2^63 (excluded); NaN and infinities fail both. */
static int is_int(const cJSON *v)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
           d == (double)(long long)d;
}

static int is_bool(const cJSON *v)
{
    return cJSON_IsBool(v);
}

static int is_object(const cJSON *v)
{
    return cJSON_IsObject(v);
}

static int is_string_or_array(const cJSON *v)
{
    return cJSON_IsString(v) || cJSON_IsArray(v);
}

static int is_string_or_object(const cJSON *v)
{
    return cJSON_IsString(v) || cJSON_IsObject(v);
}

static int check_messages(const cJSON *msgs, struct gw_request_err *err)
{
    static const char *const roles[] = {"system", "developer", "user", "assistant", "tool",
                                        "function", NULL};
    if (!cJSON_IsArray(msgs))
        return fail(err, "messages", "'messages' must be an array of messages");
    int n = cJSON_GetArraySize(msgs);
    if (n == 0)
        return fail(err, "messages", "'messages' must contain at least one message");
    if (n > MAX_MESSAGES)
        return fail(err, "messages", "'messages' has too many entries");
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        if (!cJSON_IsObject(m))
            return fail(err, "messages", "every entry of 'messages' must be an object");
        /* Its members in one walk (a conversation has many messages); the first of a name
         * wins and a nameless member ends the walk, as cJSON's own lookup has it. */
        const cJSON *role = NULL, *content = NULL, *tool_call_id = NULL, *tcs = NULL, *e;
        cJSON_ArrayForEach(e, m)
        {
            const char *k = e->string;
            if (!k)
                break;
            if (!strcmp(k, "role"))
                role = role ? role : e;
            else if (!strcmp(k, "content"))
                content = content ? content : e;
            else if (!strcmp(k, "tool_call_id"))
                tool_call_id = tool_call_id ? tool_call_id : e;
            else if (!strcmp(k, "tool_calls"))
                tcs = tcs ? tcs : e;
        }
        if (!cJSON_IsString(role))
            return fail(err, "messages.role", "every message needs a string 'role'");
        int known = 0;
        for (int i = 0; roles[i] && !known; i++)
            known = strcmp(role->valuestring, roles[i]) == 0;
        if (!known)
            return fail(err, "messages.role", "unknown message role '%s'", role->valuestring);
        if (content && !cJSON_IsNull(content) && !cJSON_IsString(content) &&
            !cJSON_IsArray(content))
            return fail(err, "messages.content",
                        "message 'content' must be a string, an array of parts, or null");
        const cJSON *part;
        const cJSON *parts = cJSON_IsArray(content) ? content : NULL;
        cJSON_ArrayForEach(part, parts)
        {
            if (!cJSON_IsObject(part) ||
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(part, "type")))
                return fail(err, "messages.content",
                            "every content part must be an object with a string 'type'");
        }
        if (!strcmp(role->valuestring, "tool") && !cJSON_IsString(tool_call_id))
            return fail(err, "messages.tool_call_id",
                        "a 'tool' message needs a string 'tool_call_id'");
        if (tcs && !cJSON_IsNull(tcs)) {
            if (!cJSON_IsArray(tcs))
                return fail(err, "messages.tool_calls", "'tool_calls' must be an array");
            const cJSON *tc;
            cJSON_ArrayForEach(tc, tcs)
            {
                const cJSON *f = cJSON_GetObjectItemCaseSensitive(tc, "function");
                if (!cJSON_IsObject(f) ||
                    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "name")))
                    return fail(err, "messages.tool_calls",
                                "every tool call needs a 'function' with a string 'name'");
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(f, "arguments");
                if (a && !cJSON_IsString(a))
                    return fail(err, "messages.tool_calls",
                                "tool call 'arguments' must be a JSON string");
            }
        }
    }
    return 0;
}

static int check_tools(const cJSON *tools, const cJSON *tc, struct gw_request_err *err)
{
    if (!tools || cJSON_IsNull(tools))
        return 0;
    if (!cJSON_IsArray(tools))
        return fail(err, "tools", "'tools' must be an array");
    const cJSON *t;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "function");
        if (!cJSON_IsObject(f) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(f, "name")))
            return fail(err, "tools", "every tool needs a 'function' with a string 'name'");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(f, "parameters");
        if (params && !cJSON_IsObject(params))
            return fail(err, "tools", "tool 'parameters' must be a JSON Schema object");
    }
    if (tc && !cJSON_IsNull(tc)) {
        if (cJSON_IsString(tc)) {
            const char *s = tc->valuestring;
            if (strcmp(s, "none") && strcmp(s, "auto") && strcmp(s, "required"))
                return fail(err, "tool_choice",
                            "'tool_choice' must be none, auto, required or a function, not '%s'",
                            s);
        } else if (!cJSON_IsObject(tc)) {
            return fail(err, "tool_choice", "'tool_choice' must be a string or an object");
        }
    }
    return 0;
}

static int check_chat(cJSON *body, struct gw_request_err *err)
{
    const cJSON *v[F_COUNT];
    chat_members(body, v);
    int rc = check_messages(v[F_MESSAGES], err);
    if (rc)
        return rc;
    if ((rc = check_tools(v[F_TOOLS], v[F_TOOL_CHOICE], err)))
        return rc;
    for (int i = F_TEMPERATURE; i <= F_FREQUENCY_PENALTY; i++)
        if ((rc = check_value(v[i], chat_fields[i], is_number, "a number", err)))
            return rc;
    for (int i = F_MAX_TOKENS; i <= F_TOP_LOGPROBS; i++)
        if ((rc = check_value(v[i], chat_fields[i], is_int, "an integer", err)))
            return rc;
    const cJSON *n = v[F_N];
    if (is_int(n) && (n->valuedouble < 1 || n->valuedouble > MAX_N))
        return fail(err, "n", "'n' must be between 1 and 128");
    if (is_int(v[F_MAX_TOKENS]) && v[F_MAX_TOKENS]->valuedouble < 1)
        return fail(err, "max_tokens", "'max_tokens' must be at least 1");
    if (is_int(v[F_MAX_COMPLETION_TOKENS]) && v[F_MAX_COMPLETION_TOKENS]->valuedouble < 1)
        return fail(err, "max_completion_tokens", "'max_completion_tokens' must be at least 1");
    if ((rc = check_value(v[F_STOP], "stop", is_string_or_array, "a string or an array", err)) ||
        (rc = check_value(v[F_STREAM_OPTIONS], "stream_options", is_object, "an object", err)) ||
        (rc = check_value(v[F_RESPONSE_FORMAT], "response_format", is_object, "an object",
                          err)) ||
        (rc = check_value(v[F_LOGPROBS], "logprobs", is_bool, "a boolean", err)) ||
        (rc = check_value(v[F_PARALLEL_TOOL_CALLS], "parallel_tool_calls", is_bool,
                          "a boolean", err)) ||
        (rc = check_value(v[F_METADATA], "metadata", is_object, "an object", err)))
        return rc;
    const cJSON *rf = v[F_RESPONSE_FORMAT];
    if (cJSON_IsObject(rf)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rf, "type");
        if (!cJSON_IsString(t))
            return fail(err, "response_format.type", "'response_format.type' must be a string");
        if (!strcmp(t->valuestring, "json_schema") &&
            !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rf, "json_schema")))
            return fail(err, "response_format.json_schema",
                        "'response_format.json_schema' must be an object");
    }
    return 0;
}

/* /v1/completions: the prompt becomes one user message so every provider can serve it. */
static int rewrite_completions(cJSON *body, struct gw_request_err *err)
{
    cJSON *prompt = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (!prompt)
        return fail(err, "prompt", "'prompt' is required");
    cJSON *text = NULL;
    if (cJSON_IsString(prompt)) {
        text = cJSON_CreateString(prompt->valuestring);
    } else if (cJSON_IsArray(prompt) && cJSON_GetArraySize(prompt) == 1 &&
               cJSON_IsString(cJSON_GetArrayItem(prompt, 0))) {
        text = cJSON_CreateString(cJSON_GetArrayItem(prompt, 0)->valuestring);
    } else {
        return fail(err, "prompt",
                    "'prompt' must be a string (token arrays and batches are not supported)");
    }
    cJSON *msgs = cJSON_CreateArray();
    cJSON *m = cJSON_CreateObject();
    if (!text || !msgs || !m) {
        cJSON_Delete(text);
        cJSON_Delete(msgs);
        cJSON_Delete(m);
        return AIGW_ENOMEM;
    }
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddItemToObject(m, "content", text);
    cJSON_AddItemToArray(msgs, m);
    cJSON_DeleteItemFromObjectCaseSensitive(body, "prompt");
    static const char *const gone[] = {"echo", "best_of", "suffix", "logprobs", NULL};
    for (int i = 0; gone[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(body, gone[i]);
    cJSON_AddItemToObject(body, "messages", msgs);
    return 0;
}

static int check_embeddings(const cJSON *body, struct gw_request_err *err)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (!in)
        return fail(err, "input", "'input' is required");
    if (!cJSON_IsString(in) && (!cJSON_IsArray(in) || cJSON_GetArraySize(in) == 0))
        return fail(err, "input", "'input' must be a string or a non-empty array");
    if (cJSON_IsArray(in) && cJSON_GetArraySize(in) > 2048)
        return fail(err, "input", "'input' has more than 2048 items");
    const cJSON *e;
    cJSON_ArrayForEach(e, in)
    {
        if (!cJSON_IsString(e) && !cJSON_IsNumber(e) && !cJSON_IsArray(e))
            return fail(err, "input",
                        "'input' items must be strings or token arrays");
    }
    int rc = check_optional(body, "dimensions", is_int, "an integer", err);
    if (rc)
        return rc;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(body, "encoding_format");
    if (fmt && !(cJSON_IsString(fmt) &&
                 (!strcmp(fmt->valuestring, "float") || !strcmp(fmt->valuestring, "base64"))))
        return fail(err, "encoding_format", "'encoding_format' must be float or base64");
    return 0;
}

static int check_images(const cJSON *body, struct gw_request_err *err)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (!cJSON_IsString(p) || !*p->valuestring)
        return fail(err, "prompt", "'prompt' must be a non-empty string");
    int rc = check_optional(body, "n", is_int, "an integer", err);
    if (!rc)
        rc = check_optional(body, "size", is_string_or_object, "a string", err);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "n");
    if (!rc && is_int(n) && (n->valuedouble < 1 || n->valuedouble > 10))
        return fail(err, "n", "'n' must be between 1 and 10");
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(body, "response_format");
    if (!rc && rf && !(cJSON_IsString(rf) && (!strcmp(rf->valuestring, "url") ||
                                              !strcmp(rf->valuestring, "b64_json"))))
        return fail(err, "response_format", "'response_format' must be url or b64_json");
    return rc;
}

int gw_request_parse(int kind, const char *body, size_t n, struct gw_parsed *out,
                     struct gw_request_err *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    cJSON *root;
    struct gw_body_err be;
    int prc = gw_body_parse(body, n, &root, &be);
    if (prc) {
        err->status = prc == AIGW_EINVAL ? 400 : 500;
        err->code = be.code;
        snprintf(err->message, sizeof err->message, "%s",
                 prc == AIGW_EINVAL ? be.message : "out of memory reading the request body");
        return prc;
    }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        rc = fail(err, NULL, "the request body must be a JSON object");
        goto out;
    }
    cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (kind != GW_ROUTE_IMAGES || model) {
        if (!cJSON_IsString(model) || !*model->valuestring) {
            rc = fail(err, "model", "'model' must be a non-empty string");
            goto out;
        }
        if (strlen(model->valuestring) > 256) {
            rc = fail(err, "model", "'model' is too long");
            goto out;
        }
    }
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(root, "stream");
    if (stream && !cJSON_IsBool(stream) && !cJSON_IsNull(stream)) {
        rc = fail(err, "stream", "'stream' must be a boolean");
        goto out;
    }
    switch (kind) {
    case GW_ROUTE_COMPLETIONS:
        rc = rewrite_completions(root, err);
        if (!rc)
            rc = check_chat(root, err);
        out->op = AIGW_OP_CHAT;
        break;
    case GW_ROUTE_CHAT:
        rc = check_chat(root, err);
        out->op = AIGW_OP_CHAT;
        break;
    case GW_ROUTE_EMBEDDINGS:
        rc = check_embeddings(root, err);
        out->op = AIGW_OP_EMBEDDINGS;
        break;
    default:
        rc = check_images(root, err);
        out->op = AIGW_OP_IMAGES;
        break;
    }
    if (rc)
        goto out;
    out->body = root;
    out->model = cJSON_IsString(model) ? model->valuestring : "";
    out->stream = (out->op == AIGW_OP_CHAT) && cJSON_IsTrue(stream);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    out->include_usage = out->stream &&
                         cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    return 0;
out:
    cJSON_Delete(root);
    return rc;
}


