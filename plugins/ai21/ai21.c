/*
 * ai21 - AI21 Jamba chat completions (providers-B §8). OpenAI's wire with a FastAPI request
 * model: unknown fields are 422s, so the body is whitelisted; content must be a string.
 * Responses lack object/created/model and stream as Python-spaced JSON, which the host's
 * parsers take as they are; usage comes on the last chunk unasked.
 */
#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.ai21.com/studio/v1"

static const struct oaiw_target target = {"AI21", BASE_DEFAULT};

/* ai21-python's chat request (documents = AI21's RAG grounding). */
static const char *const chat_fields[] = {
    "model", "messages",    "max_tokens",      "temperature", "top_p", "stop", "n", "stream",
    "tools", "tool_choice", "response_format", "documents",   "seed",  "user", NULL};

static const char *const message_fields[] = {"role", "content", "tool_calls", "tool_call_id", NULL};

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, NULL, OAIW_MAX_TOKENS), *rf, *m;
    int rc = 0;

    if (!body)
        return AIGW_ENOMEM;
    oaiw_keep_only(body, chat_fields);
    /* text | json_object only; a schema request still gets JSON. */
    rf = oaiw_get(body, "response_format");
    if (oaiw_str_is(oaiw_get(rf, "type"), "json_schema")) {
        cJSON_DeleteItemFromObjectCaseSensitive(rf, "json_schema");
        rc = oaiw_set(rf, "type", cJSON_CreateString("json_object"));
    }
    cJSON_ArrayForEach(m, oaiw_get(body, "messages"))
    {
        oaiw_keep_only(m, message_fields);
        if (rc || (rc = oaiw_flatten_content(m)))
            break;
    }
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

OAIW_PLUGIN("AI21", "ai21", "AI21", BASE_DEFAULT, AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS,
            .build_request = build_request, OAIW_STOCK_PARSERS)
