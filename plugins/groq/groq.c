/*
 * groq - GroqCloud (providers-B §3). OpenAI's wire with a short list of refusals: logprobs,
 * top_logprobs, logit_bias, messages[].name (and any message property it does not know, such
 * as an echoed reasoning_content) and n other than 1 are 400s. Usage arrives as
 * x_groq.usage (and top-level usage lately), reasoning as message/delta "reasoning": both are
 * read by the host's helpers.
 */
#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.groq.com/openai/v1"

static const struct oaiw_target target = {"GROQ", BASE_DEFAULT};

/* Refused with 400 (first three) or known to be rejected by gateways that tried. */
static const char *const dropped[] = {"logprobs",         "top_logprobs", "logit_bias", "store",
                                      "prompt_cache_key", "verbosity",    NULL};

/* Groq's tiers are on_demand | flex | auto | performance, anything else a 400: OpenAI's
 * "default" (standard processing) is on_demand, and its priority / scale have no Groq
 * counterpart, so Groq picks the account's own tier. */
static int fix_service_tier(cJSON *body)
{
    const cJSON *t = oaiw_get(body, "service_tier");
    if (oaiw_str_is(t, "default"))
        return oaiw_set(body, "service_tier", cJSON_CreateString("on_demand"));
    if (cJSON_IsString(t) && !oaiw_str_is(t, "on_demand") && !oaiw_str_is(t, "flex") &&
        !oaiw_str_is(t, "auto") && !oaiw_str_is(t, "performance"))
        cJSON_DeleteItemFromObjectCaseSensitive(body, "service_tier");
    return 0;
}

static int build_request(struct aigw_call *call)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(call->body, "n"), *body, *m;
    int rc;

    /* One completion per request is all Groq does; fanning out would multiply the bill. */
    if (cJSON_IsNumber(n) && n->valuedouble != 1) {
        call->host->log(call, AIGW_LOG_INFO, "n=%g refused: Groq returns one choice",
                        n->valuedouble);
        return AIGW_ENOTSUP;
    }
    if (!(body = oaiw_body(call, dropped, OAIW_USAGE)))
        return AIGW_ENOMEM;
    if ((rc = fix_service_tier(body))) {
        cJSON_Delete(body);
        return rc;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(body, "n");
    cJSON_ArrayForEach(m, oaiw_get(body, "messages"))
    {
        /* Groq validates message properties too: each of these is a 400 "property ... is
         * unsupported", and reasoning_content is what our own responses hand clients. */
        static const char *const foreign[] = {"name", "reasoning_content", "refusal", "annotations",
                                              NULL};
        size_t i;
        for (i = 0; foreign[i]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(m, foreign[i]);
        /* Only user turns take parts; elsewhere "content : value must be a string". */
        if (!oaiw_str_is(oaiw_get(m, "role"), "user") && oaiw_text_parts(oaiw_get(m, "content")) &&
            (rc = oaiw_flatten_content(m))) {
            cJSON_Delete(body);
            return rc;
        }
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

/* 498 is Groq's own "flex tier over capacity": to a client that is a retryable 503. */
static const struct oaiw_remap flex_full = {498, 503, "server_error", "capacity_exceeded", 1};

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    return oaiw_map_error_as(call, body, err, &flex_full);
}

OAIW_PLUGIN("Groq", "groq", "GROQ", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING,
            .build_request = build_request, OAIW_STOCK_PARSERS, .map_error = map_error)
