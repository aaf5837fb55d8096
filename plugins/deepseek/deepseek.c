/*
 * deepseek - DeepSeek (providers-B §4). OpenAI's wire; streams carry usage only when asked
 * (so we always ask), reasoning arrives as reasoning_content, queued streams send ": keep-alive"
 * comments (the SSE framer drops them) and non-streams may open with blank lines (JSON
 * parsing skips them). The quirks left here are on the request side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.deepseek.com"

static const struct oaiw_target target = {"DEEPSEEK", BASE_DEFAULT};

/* Undocumented upstream; n > 1 is not served, logit_bias is refused. */
static const char *const dropped[] = {"n", "logit_bias", NULL};

/* Thinking mode: deepseek-reasoner, or thinking enabled explicitly on a hybrid model. */
static int thinking(const struct aigw_call *call, const cJSON *body)
{
    const cJSON *t = oaiw_get(oaiw_get(body, "thinking"), "type");
    if (t)
        return oaiw_str_is(t, "enabled");
    return call->model && strstr(call->model, "reasoner") != NULL;
}

static int fix_messages(cJSON *messages)
{
    cJSON *m;
    int rc;
    cJSON_ArrayForEach(m, messages)
    {
        /* Echoed reasoning is a 400 on plain turns; a tool-calling turn of a thinking model
         * wants it kept so the tool loop continues the same chain of thought. */
        if (cJSON_GetArraySize(oaiw_get(m, "tool_calls")) == 0)
            cJSON_DeleteItemFromObjectCaseSensitive(m, "reasoning_content");
        /* Content is a string here ("invalid type: sequence, expected a string"); the models
         * read text only, so text parts join. Anything else is left for DeepSeek to refuse. */
        if (oaiw_text_parts(oaiw_get(m, "content")) && (rc = oaiw_flatten_content(m)))
            return rc;
    }
    return 0;
}

/* json_object is refused unless the prompt says "json" (400 "Prompt must contain the word
 * 'json' in some form"), which a json_schema request need not: the schema, the one thing a
 * json_object request cannot carry, goes at the end of the system prompt instead. */
static int schema_prompt(cJSON *messages, const cJSON *schema)
{
    static const char ask[] = "Respond with a JSON object";
    cJSON *first = cJSON_IsArray(messages) ? messages->child : NULL, *m;
    const char *sys = oaiw_str_is(oaiw_get(first, "role"), "system")
                          ? cJSON_GetStringValue(oaiw_get(first, "content"))
                          : NULL;
    char *s, *text;
    size_t n;
    int rc;

    if (!cJSON_IsArray(messages))
        return 0;
    s = cJSON_IsObject(schema) ? cJSON_PrintUnformatted(schema) : NULL;
    if (cJSON_IsObject(schema) && !s)
        return AIGW_ENOMEM;
    n = (sys ? strlen(sys) + 2 : 0) + sizeof ask + (s ? strlen(s) + 40 : 1);
    if (!(text = malloc(n))) {
        free(s);
        return AIGW_ENOMEM;
    }
    snprintf(text, n, "%s%s%s%s%s", sys ? sys : "", sys ? "\n\n" : "", ask,
             s ? " that matches this JSON schema: " : ".", s ? s : "");
    free(s);
    if (sys) {
        rc = oaiw_set(first, "content", cJSON_CreateString(text));
    } else if (!(m = cJSON_CreateObject()) || oaiw_set(m, "role", cJSON_CreateString("system")) ||
               oaiw_set(m, "content", cJSON_CreateString(text)) ||
               !cJSON_InsertItemInArray(messages, 0, m)) {
        cJSON_Delete(m);
        rc = AIGW_ENOMEM;
    } else {
        rc = 0;
    }
    free(text);
    return rc;
}

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, dropped, OAIW_USAGE | OAIW_MAX_TOKENS), *rf;
    int rc = 0;

    if (!body)
        return AIGW_ENOMEM;
    if (thinking(call, body)) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "logprobs");
        cJSON_DeleteItemFromObjectCaseSensitive(body, "top_logprobs");
        /* "Thinking mode does not support this tool_choice": answer without thinking. */
        if (oaiw_str_is(oaiw_get(body, "tool_choice"), "required"))
            rc = oaiw_set(body, "thinking", cJSON_Parse("{\"type\":\"disabled\"}"));
    }
    if (!rc)
        rc = fix_messages(oaiw_get(body, "messages"));
    /* Only text / json_object exist; a schema request still gets JSON back. */
    rf = oaiw_get(body, "response_format");
    if (!rc && oaiw_str_is(oaiw_get(rf, "type"), "json_schema")) {
        cJSON *js = cJSON_DetachItemFromObjectCaseSensitive(rf, "json_schema");
        rc = oaiw_set(rf, "type", cJSON_CreateString("json_object"));
        if (!rc)
            rc = schema_prompt(oaiw_get(body, "messages"), oaiw_get(js, "schema"));
        cJSON_Delete(js);
    }
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

/* 402 "Insufficient Balance" is what OpenAI clients know as 429 insufficient_quota; unlike a
 * rate limit, trying this account again will not help. */
static const struct oaiw_remap no_balance = {402, 429, "insufficient_quota", "insufficient_quota",
                                             0};

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    return oaiw_map_error_as(call, body, err, &no_balance);
}

OAIW_PLUGIN("DeepSeek", "deepseek", "DEEPSEEK", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_REASONING,
            .build_request = build_request, OAIW_STOCK_PARSERS, .map_error = map_error)
