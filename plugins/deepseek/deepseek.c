/*
 * deepseek - DeepSeek (providers-B §4). OpenAI's wire; streams carry usage only when asked
 * (so we always ask), reasoning arrives as reasoning_content, queued streams send ": keep-alive"
 * comments (the SSE framer drops them) and non-streams may open with blank lines (JSON
 * parsing skips them). The quirks left here are on the request side.
 */
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
    /* Only text / json_object exist; a schema request still gets JSON back. */
    rf = oaiw_get(body, "response_format");
    if (!rc && oaiw_str_is(oaiw_get(rf, "type"), "json_schema")) {
        cJSON_DeleteItemFromObjectCaseSensitive(rf, "json_schema");
        rc = oaiw_set(rf, "type", cJSON_CreateString("json_object"));
    }
    if (rc || (rc = fix_messages(oaiw_get(body, "messages")))) {
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
