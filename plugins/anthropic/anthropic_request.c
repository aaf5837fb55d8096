/*
 * anthropic_request.c - OpenAI chat request -> Anthropic Messages API body.
 *
 * The body is rebuilt from a whitelist, so every OpenAI field Anthropic does not accept
 * (seed, penalties, logit_bias, logprobs, store, service_tier, modalities, ...) is dropped by
 * construction. Shared with vertex-ai (for_vertex).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "anthropic_xlate.h"

#define ANTH_DEFAULT_MAX_TOKENS 4096
#define ANTH_MIN_THINKING_BUDGET 1024 /* Anthropic refuses smaller budgets */
#define ANTH_MAX_MIME 100

/* The body being assembled. Anthropic wants strict user/assistant alternation, so blocks of
 * consecutive same-role OpenAI messages land in one message (`cur`). Allocation failures are
 * sticky in `oom` and checked once at the end, which keeps the mapping code readable. */
struct conv {
    struct aigw_call *call;
    int oom;
    cJSON *messages; /* array of {role, content:[blocks]} */
    cJSON *cur;      /* content array of the last message, or NULL */
    const char *cur_role;
    cJSON *system; /* array of text blocks */
};

/* The reason becomes the client's error message instead of a generic one. */
static int bad(struct aigw_call *call, const char *why)
{
    call->host->log(call, AIGW_LOG_WARN, "cannot translate request: %s", why);
    return call->host->fail(call, 400, NULL, "%s", why);
}

/* Clients key on error.code "unsupported"; fail_code returns the matching AIGW_ENOTSUP. */
static int unsupported(struct aigw_call *call, const char *why)
{
    call->host->log(call, AIGW_LOG_WARN, "not supported by Anthropic: %s", why);
    return call->host->fail_code(call, 400, "unsupported", NULL, "%s", why);
}

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Attach item to parent (object when key is set, else array); consumes item. */
static cJSON *put(struct conv *cv, cJSON *parent, const char *key, cJSON *item)
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

static void put_str(struct conv *cv, cJSON *parent, const char *key, const char *s)
{
    put(cv, parent, key, cJSON_CreateString(s));
}

static cJSON *typed(struct conv *cv, cJSON *parent, const char *key, const char *type)
{
    cJSON *o = put(cv, parent, key, cJSON_CreateObject());
    put_str(cv, o, "type", type);
    return o;
}

/* The content array of the message of `role`, opening a new message on a role change. */
static cJSON *content_of(struct conv *cv, const char *role)
{
    if (!cv->cur || strcmp(cv->cur_role, role) != 0) {
        cJSON *msg = put(cv, cv->messages, NULL, cJSON_CreateObject());
        put_str(cv, msg, "role", role);
        cv->cur = put(cv, msg, "content", cJSON_CreateArray());
        cv->cur_role = role;
    }
    return cv->cur;
}

static void text_block(struct conv *cv, cJSON *dst, const char *text, const cJSON *part)
{
    cJSON *b = typed(cv, dst, NULL, "text");
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(part, "cache_control");
    put_str(cv, b, "text", text);
    /* Prompt caching: clients that know Anthropic mark their parts with cache_control. */
    if (cJSON_IsObject(cc))
        put(cv, b, "cache_control", cJSON_Duplicate(cc, 1));
}

/* data:<mime>;base64,<b64> -> an image or PDF document block with a base64 source. */
static int data_url_block(struct conv *cv, cJSON *dst, const char *url)
{
    const char *p = url + 5, *semi = strchr(p, ';');
    char mime[ANTH_MAX_MIME];
    const char *kind;

    if (!semi || strncmp(semi, ";base64,", 8) != 0 || semi == p ||
        (size_t)(semi - p) >= sizeof mime)
        return bad(cv->call, "a data URL must be data:<media type>;base64,<data>");
    memcpy(mime, p, (size_t)(semi - p));
    mime[semi - p] = '\0';
    if (!strcmp(mime, "image/jpeg") || !strcmp(mime, "image/png") || !strcmp(mime, "image/gif") ||
        !strcmp(mime, "image/webp"))
        kind = "image";
    else if (!strcmp(mime, "application/pdf"))
        kind = "document";
    else
        return bad(cv->call, "media type must be image/jpeg, image/png, image/gif, image/webp "
                             "or application/pdf");
    cJSON *src = typed(cv, typed(cv, dst, NULL, kind), "source", "base64");
    put_str(cv, src, "media_type", mime);
    put_str(cv, src, "data", semi + 8);
    return 0;
}

static int media_part(struct conv *cv, cJSON *dst, const char *type, const cJSON *part)
{
    if (!strcmp(type, "image_url")) {
        const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
        const char *url = cJSON_IsString(iu) ? iu->valuestring : str_of(iu, "url");
        if (!url)
            return bad(cv->call, "image_url part without a url");
        if (!strncmp(url, "data:", 5))
            return data_url_block(cv, dst, url);
        if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
            return bad(cv->call, "image_url must be an http(s) URL or a base64 data URL");
        put_str(cv, typed(cv, typed(cv, dst, NULL, "image"), "source", "url"), "url", url);
        return 0;
    }
    /* OpenAI file part {"file":{"file_data":"data:application/pdf;base64,..."}} */
    const char *data = str_of(cJSON_GetObjectItemCaseSensitive(part, "file"), "file_data");
    if (!data)
        return unsupported(cv->call, "file parts without file_data (file ids are OpenAI's)");
    if (!strncmp(data, "data:", 5))
        return data_url_block(cv, dst, data);
    cJSON *src = typed(cv, typed(cv, dst, NULL, "document"), "source", "base64");
    put_str(cv, src, "media_type", "application/pdf");
    put_str(cv, src, "data", data);
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
            text_block(cv, dst ? dst : content_of(cv, role), content->valuestring, NULL);
        return 0;
    }
    if (!cJSON_IsArray(content))
        return bad(cv->call, "message content must be a string or an array of parts");
    cJSON_ArrayForEach(part, content)
    {
        const char *type = str_of(part, "type"), *text = str_of(part, "text");
        if (!type)
            return bad(cv->call, "content part without a type");
        if (!strcmp(type, "text")) {
            if (!text)
                return bad(cv->call, "text part without text");
            if (text[0])
                text_block(cv, dst ? dst : content_of(cv, role), text, part);
        } else if (media && (!strcmp(type, "image_url") || !strcmp(type, "file"))) {
            if ((rc = media_part(cv, dst ? dst : content_of(cv, role), type, part)) != 0)
                return rc;
        } else if (!strcmp(type, "input_audio")) {
            return unsupported(cv->call, "audio input");
        } else if (strcmp(type, "refusal") != 0) { /* a past refusal is not content to send */
            return bad(cv->call, "unknown or misplaced content part type");
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
        return bad(cv->call, "assistant tool_calls must be an array");
    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const char *id = str_of(tc, "id"), *name = str_of(fn, "name");
        const char *args = str_of(fn, "arguments");
        cJSON *input;

        if (!id || !name)
            return bad(cv->call, "an assistant tool_calls entry needs id and function.name");
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
        cJSON *b = typed(cv, content_of(cv, "assistant"), NULL, "tool_use");
        put_str(cv, b, "id", id);
        put_str(cv, b, "name", name);
        put(cv, b, "input", input);
    }
    return 0;
}

static int add_tool_result(struct conv *cv, const cJSON *msg)
{
    const char *id = str_of(msg, "tool_call_id");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(msg, "is_error");

    if (!id)
        return bad(cv->call, "tool message without tool_call_id");
    /* Tool results are user content: consecutive ones (and a user message after them) share
     * one user message, as Anthropic requires. */
    cJSON *b = typed(cv, content_of(cv, "user"), NULL, "tool_result");
    put_str(cv, b, "tool_use_id", id);
    if (cJSON_IsString(content) && content->valuestring[0]) {
        put_str(cv, b, "content", content->valuestring);
    } else if (cJSON_IsArray(content) && cJSON_GetArraySize(content) > 0) {
        int rc = add_content(cv, put(cv, b, "content", cJSON_CreateArray()), "user", content, 1);
        if (rc)
            return rc;
    }
    if (cJSON_IsBool(is_error))
        put(cv, b, "is_error", cJSON_CreateBool(cJSON_IsTrue(is_error)));
    return 0;
}

static int add_messages(struct conv *cv, const cJSON *msgs)
{
    const cJSON *m;
    int rc = 0;

    if (!cJSON_IsArray(msgs))
        return bad(cv->call, "messages must be an array");
    cJSON_ArrayForEach(m, msgs)
    {
        const char *role = str_of(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!role)
            return bad(cv->call, "message without a role");
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
            rc = unsupported(cv->call, "legacy function-role messages (use tools)");
        } else {
            rc = bad(cv->call, "unknown message role");
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Shape the assembled messages the way Anthropic accepts them. */
static int finish_messages(struct conv *cv)
{
    cJSON *last = cJSON_GetArrayItem(cv->messages, cJSON_GetArraySize(cv->messages) - 1);

    /* A final assistant turn is a prefill, which Anthropic rejects with trailing whitespace. */
    if (last && !strcmp(str_of(last, "role"), "assistant")) {
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
        return bad(cv->call, "no user or assistant message with content");
    /* The conversation must open with a user turn; one opening with the assistant gets a
     * minimal user turn in front rather than a rejection. */
    if (!strcmp(str_of(cJSON_GetArrayItem(cv->messages, 0), "role"), "assistant")) {
        cJSON *u = cJSON_CreateObject();
        put_str(cv, u, "role", "user");
        put_str(cv, u, "content", ".");
        if (!u || !cJSON_InsertItemInArray(cv->messages, 0, u)) {
            cJSON_Delete(u);
            cv->oom = 1;
        }
    }
    return 0;
}

/* An integer field when present and whole; *have says whether it was present. */
static int int_field(struct aigw_call *call, const cJSON *body, const char *key, int64_t min,
                     int64_t *out, int *have)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *have = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < (double)min || v->valuedouble > 1e9 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return bad(call, "an integer field (n, max_tokens, top_k) is out of range");
    *out = (int64_t)v->valuedouble;
    *have = 1;
    return 0;
}

static int64_t default_max_tokens(struct aigw_call *call)
{
    const char *s = call->host->env("ANTHROPIC_MAX_TOKENS");
    char *end = NULL;
    long long v;

    if (!s)
        return ANTH_DEFAULT_MAX_TOKENS;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000000000) {
        call->host->log(call, AIGW_LOG_WARN,
                        "ANTHROPIC_MAX_TOKENS is not a positive integer; using %d",
                        ANTH_DEFAULT_MAX_TOKENS);
        return ANTH_DEFAULT_MAX_TOKENS;
    }
    return (int64_t)v;
}

/* tools, tool_choice, parallel_tool_calls. *forced: the model must call a tool. */
static int add_tools(struct conv *cv, const cJSON *body, cJSON *out, int *forced)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(body, "tool_choice");
    const cJSON *parallel = cJSON_GetObjectItemCaseSensitive(body, "parallel_tool_calls");
    const cJSON *t;
    cJSON *arr, *tc;

    *forced = 0;
    if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) == 0)
        return 0; /* a tool_choice without tools means nothing to Anthropic: dropped */
    arr = put(cv, out, "tools", cJSON_CreateArray());
    cJSON_ArrayForEach(t, tools)
    {
        const char *type = str_of(t, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        const char *name = str_of(fn, "name"), *desc = str_of(fn, "description");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");

        if (type && strcmp(type, "function") != 0)
            return unsupported(cv->call, "non-function tools");
        if (!name)
            return bad(cv->call, "tool without function.name");
        cJSON *o = put(cv, arr, NULL, cJSON_CreateObject());
        put_str(cv, o, "name", name);
        if (desc && desc[0])
            put_str(cv, o, "description", desc);
        if (cJSON_IsObject(params))
            put(cv, o, "input_schema", cJSON_Duplicate(params, 1));
        else /* Anthropic requires a schema even for a tool without parameters */
            put(cv, typed(cv, o, "input_schema", "object"), "properties", cJSON_CreateObject());
    }

    if (cJSON_IsString(choice)) {
        const char *c = choice->valuestring;
        if (strcmp(c, "auto") != 0 && strcmp(c, "none") != 0 && strcmp(c, "required") != 0)
            return bad(cv->call, "tool_choice must be auto, none, required or a function");
        *forced = !strcmp(c, "required");
        tc = typed(cv, out, "tool_choice", *forced ? "any" : c);
    } else if (cJSON_IsObject(choice)) {
        const char *name = str_of(cJSON_GetObjectItemCaseSensitive(choice, "function"), "name");
        if (!name)
            return bad(cv->call, "tool_choice object without function.name");
        *forced = 1;
        tc = typed(cv, out, "tool_choice", "tool");
        put_str(cv, tc, "name", name);
    } else if (cJSON_IsFalse(parallel)) {
        tc = typed(cv, out, "tool_choice", "auto");
    } else {
        return 0;
    }
    /* Anthropic's "none" choice takes no options. */
    if (cJSON_IsFalse(parallel) && strcmp(str_of(tc, "type") ? str_of(tc, "type") : "", "none"))
        put(cv, tc, "disable_parallel_tool_use", cJSON_CreateTrue());
    return 0;
}

static int add_response_format(struct conv *cv, const cJSON *body, cJSON *out)
{
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(body, "response_format");
    const char *type = str_of(rf, "type");

    if (!type || !strcmp(type, "text"))
        return 0;
    if (!strcmp(type, "json_schema")) {
        /* Native structured output (§4.2): the JSON comes back as ordinary text content. */
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(js, "schema");
        if (!cJSON_IsObject(schema))
            return bad(cv->call, "response_format json_schema without a schema object");
        cJSON *fmt =
            typed(cv, put(cv, out, "output_config", cJSON_CreateObject()), "format", "json_schema");
        put(cv, fmt, "schema", cJSON_Duplicate(schema, 1));
        return 0;
    }
    if (!strcmp(type, "json_object")) {
        /* No native switch for "any JSON object": ask for it in the system prompt. */
        text_block(cv, cv->system, "Respond with a single valid JSON object and nothing else.",
                   NULL);
        return 0;
    }
    return bad(cv->call, "unknown response_format type");
}

static int add_stop(struct conv *cv, const cJSON *body, cJSON *out)
{
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(body, "stop");
    const cJSON *s;
    cJSON *arr;

    if (!stop || cJSON_IsNull(stop))
        return 0;
    if (!cJSON_IsString(stop) && !cJSON_IsArray(stop))
        return bad(cv->call, "stop must be a string or an array of strings");
    if (!(arr = cJSON_CreateArray()))
        return AIGW_ENOMEM;
    if (cJSON_IsString(stop) && stop->valuestring[0])
        put_str(cv, arr, NULL, stop->valuestring);
    for (s = cJSON_IsArray(stop) ? stop->child : NULL; s; s = s->next) {
        if (!cJSON_IsString(s)) {
            cJSON_Delete(arr);
            return bad(cv->call, "stop must be a string or an array of strings");
        }
        if (s->valuestring[0])
            put_str(cv, arr, NULL, s->valuestring);
    }
    if (cJSON_GetArraySize(arr) == 0)
        cJSON_Delete(arr);
    else
        put(cv, out, "stop_sequences", arr);
    return 0;
}

/* OpenAI reasoning_effort -> thinking budget_tokens (0: no thinking). */
static int64_t effort_budget(const char *effort)
{
    if (!effort)
        return 0;
    if (!strcmp(effort, "low"))
        return 1024;
    if (!strcmp(effort, "medium"))
        return 4096;
    if (!strcmp(effort, "high"))
        return 16384;
    return 0; /* none / minimal */
}

/* Limits, thinking and sampling. Thinking restricts sampling, so they are decided together. */
static int add_sampling(struct conv *cv, const cJSON *body, cJSON *out, int forced_tool)
{
    struct aigw_call *call = cv->call;
    const cJSON *thinking = cJSON_GetObjectItemCaseSensitive(body, "thinking");
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(body, "temperature");
    const cJSON *top_p = cJSON_GetObjectItemCaseSensitive(body, "top_p");
    int64_t max_tokens = 0, top_k = 0, budget;
    int have, have_top_k, thinking_on = 0, rc;

    if ((rc = int_field(call, body, "max_completion_tokens", 1, &max_tokens, &have)) != 0 ||
        (!have && (rc = int_field(call, body, "max_tokens", 1, &max_tokens, &have)) != 0) ||
        (rc = int_field(call, body, "top_k", 0, &top_k, &have_top_k)) != 0)
        return rc;

    if (cJSON_IsObject(thinking)) {
        /* Anthropic's own thinking object, from clients that know it: passed as given. */
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(thinking, "budget_tokens");
        const char *tt = str_of(thinking, "type");
        budget = cJSON_IsNumber(bt) && bt->valuedouble > 0 ? (int64_t)bt->valuedouble : 0;
        thinking_on = !forced_tool && !(tt && !strcmp(tt, "disabled"));
        if (thinking_on)
            put(cv, out, "thinking", cJSON_Duplicate(thinking, 1));
    } else {
        budget = effort_budget(str_of(body, "reasoning_effort"));
        if (have && budget >= max_tokens)
            budget = max_tokens - 1; /* OpenAI's limit includes reasoning: fit inside it */
        /* Too small a budget, or a forced tool (Anthropic allows only auto/none while
         * thinking): answer without thinking rather than fail. */
        if (budget >= ANTH_MIN_THINKING_BUDGET && !forced_tool) {
            cJSON *t = typed(cv, out, "thinking", "enabled");
            put(cv, t, "budget_tokens", cJSON_CreateNumber((double)budget));
            thinking_on = 1;
        }
    }
    if (!have) /* the default is the answer's share; thinking comes on top */
        max_tokens = default_max_tokens(call) + (thinking_on ? budget : 0);
    put(cv, out, "max_tokens", cJSON_CreateNumber((double)max_tokens));

    /* With thinking on, Anthropic rejects temperature, top_k and a narrowed top_p. */
    if (thinking_on)
        return 0;
    if (cJSON_IsNumber(temp)) {
        double t = temp->valuedouble; /* OpenAI allows 0..2, Anthropic 0..1: clamp */
        put(cv, out, "temperature", cJSON_CreateNumber(t > 1.0 ? 1.0 : (t < 0.0 ? 0.0 : t)));
    }
    if (cJSON_IsNumber(top_p))
        put(cv, out, "top_p", cJSON_CreateNumber(top_p->valuedouble));
    if (have_top_k)
        put(cv, out, "top_k", cJSON_CreateNumber((double)top_k));
    return 0;
}

static int build(struct conv *cv, int for_vertex, cJSON *out)
{
    struct aigw_call *call = cv->call;
    const cJSON *body = call->body;
    int64_t n = 1;
    int have, forced, rc;

    if ((rc = int_field(call, body, "n", 1, &n, &have)) != 0)
        return rc;
    if (n > 1)
        return unsupported(call, "n > 1 (one choice per request)");
    if (for_vertex)
        put_str(cv, out, "anthropic_version", "vertex-2023-10-16");
    else if (call->model)
        put_str(cv, out, "model", call->model);
    else
        return AIGW_EINTERNAL;

    /* system and messages are built detached so they land after "model" in the body. */
    if ((rc = add_messages(cv, cJSON_GetObjectItemCaseSensitive(body, "messages"))) != 0 ||
        (rc = finish_messages(cv)) != 0 || (rc = add_response_format(cv, body, out)) != 0)
        return rc;
    cJSON *first = cJSON_GetArrayItem(cv->system, 0);
    if (cJSON_GetArraySize(cv->system) == 1 && cJSON_GetArraySize(first) == 2) {
        put_str(cv, out, "system", str_of(first, "text")); /* one plain block: string form */
    } else if (first) {
        put(cv, out, "system", cv->system); /* consumed even on failure */
        cv->system = NULL;
    }
    put(cv, out, "messages", cv->messages);
    cv->messages = NULL;

    if ((rc = add_tools(cv, body, out, &forced)) != 0 ||
        (rc = add_sampling(cv, body, out, forced)) != 0 || (rc = add_stop(cv, body, out)) != 0)
        return rc;
    const char *user = str_of(body, "user");
    if (user && user[0])
        put_str(cv, put(cv, out, "metadata", cJSON_CreateObject()), "user_id", user);
    if (call->stream)
        put(cv, out, "stream", cJSON_CreateTrue());
    return 0;
}

static int translate_body(struct aigw_call *call, int for_vertex, cJSON **out)
{
    struct conv cv = {call, 0, cJSON_CreateArray(), NULL, NULL, cJSON_CreateArray()};
    cJSON *o = cJSON_CreateObject();
    int rc;

    *out = NULL;
    if (!cJSON_IsObject(call->body))
        rc = bad(call, "request body is not a JSON object");
    else if (!o || !cv.messages || !cv.system)
        rc = AIGW_ENOMEM;
    else
        rc = build(&cv, for_vertex, o);
    if (!rc && cv.oom)
        rc = AIGW_ENOMEM;
    if (rc) {
        cJSON_Delete(o);
        cJSON_Delete(cv.messages);
    } else {
        *out = o;
    }
    cJSON_Delete(cv.system);
    return rc;
}

int anth_body_for(struct aigw_call *call, int for_vertex, cJSON **out, const char **betas)
{
    if (betas)
        *betas = NULL;
    if (anth_is_native(call))
        return anth_native_body(call, for_vertex, out, betas);
    return translate_body(call, for_vertex, out);
}

int anth_build_body(struct aigw_call *call, int for_vertex, cJSON **out)
{
    return anth_body_for(call, for_vertex, out, NULL);
}
