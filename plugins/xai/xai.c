/*
 * xai - xAI Grok (providers-B §9). OpenAI's wire. Quirks: only grok-3-mini and grok-4.3 take
 * reasoning_effort and the reasoning models refuse the penalties and stop; usage counts
 * reasoning outside completion_tokens; errors are {"code","error"} and a bad key is a 400.
 */
#include <string.h>

#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.x.ai/v1"

static const struct oaiw_target target = {"XAI", BASE_DEFAULT};

static const char *const dropped[] = {"store", "service_tier", "prompt_cache_key", "verbosity",
                                      NULL};

/* Reasoning models refuse presence_penalty, frequency_penalty and stop with 400 (docs.x.ai,
 * guides/reasoning): grok-3-mini, grok-code-*, and every grok-4 but the non-reasoning ones. */
static int reasoning_model(const char *m)
{
    if (strncmp(m, "grok-3-mini", 11) == 0 || strncmp(m, "grok-code", 9) == 0)
        return 1;
    return strncmp(m, "grok-4", 6) == 0 && !strstr(m, "non-reasoning");
}

/* reasoning_effort as the model takes it, or NULL to leave it out (any other model answers it
 * with 400): grok-3-mini knows low|high, grok-4.3 none|low|medium|high. */
static const char *effort_for(const char *m, const char *e)
{
    if (!e)
        return NULL;
    if (strncmp(m, "grok-3-mini", 11) == 0)
        return strcmp(e, "high") == 0 || strcmp(e, "xhigh") == 0 ? "high" : "low";
    if (strncmp(m, "grok-4.3", 8) == 0) {
        if (strcmp(e, "minimal") == 0)
            return "low";
        return strcmp(e, "xhigh") == 0 ? "high" : e;
    }
    return NULL;
}

static int build_request(struct aigw_call *call)
{
    const char *model = call->model ? call->model : "";
    cJSON *body = oaiw_body(call, dropped, OAIW_USAGE);
    const char *effort;
    int rc = 0;

    if (!body)
        return AIGW_ENOMEM;
    effort = effort_for(model, cJSON_GetStringValue(oaiw_get(body, "reasoning_effort")));
    if (effort)
        rc = oaiw_set(body, "reasoning_effort", cJSON_CreateString(effort));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(body, "reasoning_effort");
    if (reasoning_model(model)) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "presence_penalty");
        cJSON_DeleteItemFromObjectCaseSensitive(body, "frequency_penalty");
        cJSON_DeleteItemFromObjectCaseSensitive(body, "stop");
    }
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

/* xAI leaves reasoning out of completion_tokens (prompt + completion + reasoning = total);
 * OpenAI counts it in. Re-reported after the host's reading, so ours is the last word. Only
 * when the sum proves the convention, so a fixed upstream is not counted twice. */
static int fix_usage(struct aigw_call *call, struct aigw_bytes data, int rc)
{
    cJSON *root = oaiw_parse(data);
    const cJSON *u = oaiw_get(root, "usage");
    struct aigw_usage usage;
    int64_t total = aigw_json_count(u, "total_tokens");

    aigw_usage_init(&usage);
    usage.prompt_tokens = aigw_json_count(u, "prompt_tokens");
    usage.completion_tokens = aigw_json_count(u, "completion_tokens");
    usage.cached_tokens = aigw_json_count(oaiw_get(u, "prompt_tokens_details"), "cached_tokens");
    usage.reasoning_tokens =
        aigw_json_count(oaiw_get(u, "completion_tokens_details"), "reasoning_tokens");
    if (usage.prompt_tokens >= 0 && usage.completion_tokens >= 0 && usage.reasoning_tokens > 0 &&
        usage.prompt_tokens + usage.completion_tokens + usage.reasoning_tokens == total) {
        usage.completion_tokens += usage.reasoning_tokens;
        int erc = aigw_emit_usage(call, &usage);
        if (erc < 0)
            rc = erc;
    }
    cJSON_Delete(root);
    return rc;
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    int rc = call->host->oai_parse_response(call, body);
    return rc < 0 || !oaiw_has(body, "reasoning_tokens") ? rc : fix_usage(call, body, rc);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    int rc = call->host->oai_stream_event(call, frame);
    return rc < 0 || !oaiw_has(frame->data, "reasoning_tokens") ? rc
                                                                : fix_usage(call, frame->data, rc);
}

/* A wrong key is a 400 "invalid-argument" here; clients act on 401. */
static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    int rc = call->host->oai_map_error(call, body, err);
    if (rc == 0 && err->status == 400 && err->message && strstr(err->message, "API key")) {
        err->status = 401;
        err->type = "authentication_error";
        err->code = "invalid_api_key";
    }
    return rc;
}

OAIW_PLUGIN("xAI", "xai", "XAI", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING,
            .build_request = build_request, .parse_response = parse_response,
            .stream_event = stream_event, .map_error = map_error)
