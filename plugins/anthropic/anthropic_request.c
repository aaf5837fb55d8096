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

#include "../common/claude.h"
#include "anthropic_conv.h"

#define ANTH_DEFAULT_MAX_TOKENS 4096
#define ANTH_MIN_THINKING_BUDGET 1024 /* Anthropic refuses smaller budgets */

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
        return anth_bad(call, "an integer field (n, max_tokens, top_k) is out of range");
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
    arr = anth_put(cv, out, "tools", cJSON_CreateArray());
    cJSON_ArrayForEach(t, tools)
    {
        const char *type = anth_str_of(t, "type");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        const char *name = anth_str_of(fn, "name"), *desc = anth_str_of(fn, "description");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(fn, "parameters");

        if (type && strcmp(type, "function") != 0)
            return anth_unsupported(cv->call, "non-function tools");
        if (!name)
            return anth_bad(cv->call, "tool without function.name");
        cJSON *o = anth_put(cv, arr, NULL, cJSON_CreateObject());
        anth_put_str(cv, o, "name", name);
        if (desc && desc[0])
            anth_put_str(cv, o, "description", desc);
        if (cJSON_IsObject(params))
            anth_put(cv, o, "input_schema", cJSON_Duplicate(params, 1));
        else /* Anthropic requires a schema even for a tool without parameters */
            anth_put(cv, anth_typed(cv, o, "input_schema", "object"), "properties",
                     cJSON_CreateObject());
    }

    if (cJSON_IsString(choice)) {
        const char *c = choice->valuestring;
        if (strcmp(c, "auto") != 0 && strcmp(c, "none") != 0 && strcmp(c, "required") != 0)
            return anth_bad(cv->call, "tool_choice must be auto, none, required or a function");
        *forced = !strcmp(c, "required");
        tc = anth_typed(cv, out, "tool_choice", *forced ? "any" : c);
    } else if (cJSON_IsObject(choice)) {
        const char *name =
            anth_str_of(cJSON_GetObjectItemCaseSensitive(choice, "function"), "name");
        if (!name)
            return anth_bad(cv->call, "tool_choice object without function.name");
        *forced = 1;
        tc = anth_typed(cv, out, "tool_choice", "tool");
        anth_put_str(cv, tc, "name", name);
    } else if (cJSON_IsFalse(parallel)) {
        tc = anth_typed(cv, out, "tool_choice", "auto");
    } else {
        return 0;
    }
    /* Anthropic's "none" choice takes no options. */
    if (cJSON_IsFalse(parallel) &&
        strcmp(anth_str_of(tc, "type") ? anth_str_of(tc, "type") : "", "none"))
        anth_put(cv, tc, "disable_parallel_tool_use", cJSON_CreateTrue());
    return 0;
}

static int add_response_format(struct conv *cv, const cJSON *body, cJSON *out)
{
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(body, "response_format");
    const char *type = anth_str_of(rf, "type");

    if (!type || !strcmp(type, "text"))
        return 0;
    if (!strcmp(type, "json_schema")) {
        /* Native structured output (§4.2): the JSON comes back as ordinary text content. */
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
        const cJSON *schema = cJSON_GetObjectItemCaseSensitive(js, "schema");
        if (!cJSON_IsObject(schema))
            return anth_bad(cv->call, "response_format json_schema without a schema object");
        cJSON *fmt = anth_typed(cv, anth_put(cv, out, "output_config", cJSON_CreateObject()),
                                "format", "json_schema");
        anth_put(cv, fmt, "schema", cJSON_Duplicate(schema, 1));
        return 0;
    }
    if (!strcmp(type, "json_object")) {
        /* No native switch for "any JSON object": ask for it in the system prompt. */
        anth_text_block(cv, cv->system, "Respond with a single valid JSON object and nothing else.",
                        NULL);
        return 0;
    }
    return anth_bad(cv->call, "unknown response_format type");
}

static int add_stop(struct conv *cv, const cJSON *body, cJSON *out)
{
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(body, "stop");
    const cJSON *s;
    cJSON *arr;

    if (!stop || cJSON_IsNull(stop))
        return 0;
    if (!cJSON_IsString(stop) && !cJSON_IsArray(stop))
        return anth_bad(cv->call, "stop must be a string or an array of strings");
    if (!(arr = cJSON_CreateArray()))
        return AIGW_ENOMEM;
    if (cJSON_IsString(stop) && stop->valuestring[0])
        anth_put_str(cv, arr, NULL, stop->valuestring);
    for (s = cJSON_IsArray(stop) ? stop->child : NULL; s; s = s->next) {
        if (!cJSON_IsString(s)) {
            cJSON_Delete(arr);
            return anth_bad(cv->call, "stop must be a string or an array of strings");
        }
        if (s->valuestring[0])
            anth_put_str(cv, arr, NULL, s->valuestring);
    }
    if (cJSON_GetArraySize(arr) == 0)
        cJSON_Delete(arr);
    else
        anth_put(cv, out, "stop_sequences", arr);
    return 0;
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
        const char *tt = anth_str_of(thinking, "type");
        budget = cJSON_IsNumber(bt) && bt->valuedouble > 0 ? (int64_t)bt->valuedouble : 0;
        thinking_on = !forced_tool && !(tt && !strcmp(tt, "disabled"));
        if (thinking_on)
            anth_put(cv, out, "thinking", cJSON_Duplicate(thinking, 1));
    } else {
        budget = claude_effort_budget(anth_str_of(body, "reasoning_effort"));
        if (have && budget >= max_tokens)
            budget = max_tokens - 1; /* OpenAI's limit includes reasoning: fit inside it */
        /* Too small a budget, a forced tool (Anthropic allows only auto/none while
         * thinking), or a tool loop's next turn (its last assistant message must open with
         * the signed thinking block, which chat messages cannot carry back: "Expected
         * `thinking` ... but found `tool_use`", every second turn of a Codex session):
         * answer without thinking rather than fail. */
        if (budget >= ANTH_MIN_THINKING_BUDGET && !forced_tool &&
            !claude_in_tool_loop(cJSON_GetObjectItemCaseSensitive(body, "messages"))) {
            cJSON *t = anth_typed(cv, out, "thinking", "enabled");
            anth_put(cv, t, "budget_tokens", cJSON_CreateNumber((double)budget));
            thinking_on = 1;
        }
    }
    if (!have) /* the default is the answer's share; thinking comes on top */
        max_tokens = default_max_tokens(call) + (thinking_on ? budget : 0);
    anth_put(cv, out, "max_tokens", cJSON_CreateNumber((double)max_tokens));

    /* With thinking on, Anthropic rejects temperature, top_k and a narrowed top_p. */
    if (thinking_on)
        return 0;
    if (cJSON_IsNumber(temp)) {
        double t = temp->valuedouble; /* OpenAI allows 0..2, Anthropic 0..1: clamp */
        anth_put(cv, out, "temperature", cJSON_CreateNumber(t > 1.0 ? 1.0 : (t < 0.0 ? 0.0 : t)));
    }
    /* Claude Opus 4.1, Sonnet 4.5 and later refuse the two together (400 "temperature and
     * top_p cannot both be specified for this model"), and Open WebUI sends both on every
     * request: the temperature goes alone, as Anthropic advises one or the other. */
    if (cJSON_IsNumber(top_p) && !cJSON_IsNumber(temp))
        anth_put(cv, out, "top_p", cJSON_CreateNumber(top_p->valuedouble));
    if (have_top_k)
        anth_put(cv, out, "top_k", cJSON_CreateNumber((double)top_k));
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
        return anth_unsupported(call, "n > 1 (one choice per request)");
    if (for_vertex)
        anth_put_str(cv, out, "anthropic_version", "vertex-2023-10-16");
    else if (call->model)
        anth_put_str(cv, out, "model", call->model);
    else
        return AIGW_EINTERNAL;

    /* system and messages are built detached so they land after "model" in the body. */
    if ((rc = anth_add_messages(cv, cJSON_GetObjectItemCaseSensitive(body, "messages"))) != 0 ||
        (rc = anth_finish_messages(cv)) != 0 || (rc = add_response_format(cv, body, out)) != 0)
        return rc;
    cJSON *first = cJSON_GetArrayItem(cv->system, 0);
    if (cJSON_GetArraySize(cv->system) == 1 && cJSON_GetArraySize(first) == 2) {
        anth_put_str(cv, out, "system",
                     anth_str_of(first, "text")); /* one plain block: string form */
    } else if (first) {
        anth_put(cv, out, "system", cv->system); /* consumed even on failure */
        cv->system = NULL;
    }
    anth_put(cv, out, "messages", cv->messages);
    cv->messages = NULL;

    if ((rc = add_tools(cv, body, out, &forced)) != 0 ||
        (rc = add_sampling(cv, body, out, forced)) != 0 || (rc = add_stop(cv, body, out)) != 0)
        return rc;
    const char *user = anth_str_of(body, "user");
    if (user && user[0])
        anth_put_str(cv, anth_put(cv, out, "metadata", cJSON_CreateObject()), "user_id", user);
    if (call->stream)
        anth_put(cv, out, "stream", cJSON_CreateTrue());
    return 0;
}

static int translate_body(struct aigw_call *call, int for_vertex, cJSON **out)
{
    struct conv cv = {call, 0, cJSON_CreateArray(), NULL, NULL, cJSON_CreateArray()};
    cJSON *o = cJSON_CreateObject();
    int rc;

    *out = NULL;
    if (!cJSON_IsObject(call->body))
        rc = anth_bad(call, "request body is not a JSON object");
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
