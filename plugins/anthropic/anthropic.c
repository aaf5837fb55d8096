/*
 * anthropic.c - the Anthropic provider: descriptor, environment, endpoint and auth. The
 * Messages API translation lives in anthropic_{request,response,stream}.c (shared with
 * vertex-ai). Serves chat and count_tokens (POST /v1/messages/count_tokens, answered by one
 * usage chunk); a client that spoke Messages itself gets its own body forwarded.
 */
#include <string.h>

#include "anthropic_xlate.h"

static const struct aigw_env_var env_table[] = {
    {"ANTHROPIC_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL,
     "Anthropic API key (sent as x-api-key)"},
    {"ANTHROPIC_BASE_URL", 0, "https://api.anthropic.com", "Anthropic API base URL (without /v1)"},
    {"ANTHROPIC_VERSION", 0, "2023-06-01", "anthropic-version header value"},
    {"ANTHROPIC_MAX_TOKENS", 0, "4096",
     "max_tokens sent when the client gives none (Anthropic requires one)"},
    {NULL, 0, NULL, NULL},
};

static int build_request(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *key = h->env("ANTHROPIC_API_KEY");
    const char *base = h->env("ANTHROPIC_BASE_URL");
    const char *version = h->env("ANTHROPIC_VERSION");
    cJSON *body = NULL;
    const char *betas = NULL;
    size_t n;
    int rc;

    if (call->op != AIGW_OP_CHAT && call->op != AIGW_OP_COUNT_TOKENS)
        return AIGW_ENOTSUP;
    if (!key || !base || !version)
        return AIGW_ECONFIG;
    /* Accept the base with or without a trailing slash or /v1, as the official SDKs do. */
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= 3 && !memcmp(base + n - 3, "/v1", 3))
        n -= 3;
    char *url = h->strf(call, "%.*s/v1/messages%s", (int)n, base,
                        call->op == AIGW_OP_COUNT_TOKENS ? "/count_tokens" : "");
    if (!url)
        return AIGW_ENOMEM;

    if ((rc = anth_body_for(call, 0, &body, &betas)) != 0)
        return rc;
    if (call->op == AIGW_OP_COUNT_TOKENS && !anth_is_native(call))
        anth_count_body(body); /* a chat client's request, counted */
    if ((rc = h->set_body_json(call, body)) != 0)
        return rc;
    /* The client's betas, when it spoke Messages itself: its features, on its own request. */
    if (betas && (rc = h->add_header(call, "anthropic-beta", betas, 0)) != 0)
        return rc;
    if ((rc = h->set_method(call, "POST")) != 0 || (rc = h->set_url(call, url)) != 0 ||
        (rc = h->add_header(call, "x-api-key", key, AIGW_HDR_SECRET)) != 0 ||
        (rc = h->add_header(call, "anthropic-version", version, 0)) != 0 ||
        (rc = h->add_header(call, "content-type", "application/json", 0)) != 0)
        return rc;
    if (call->op == AIGW_OP_CHAT && call->stream &&
        (rc = h->set_framing(call, AIGW_FRAMING_SSE)) != 0)
        return rc;
    return 0;
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return anth_parse_response(call, body);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return anth_stream_event(call, call->state, frame);
}

static int stream_end(struct aigw_call *call)
{
    return anth_stream_end(call, call->state);
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    return anth_map_error(call, body, err);
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Anthropic",
    .vkey = "anthropic",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING | AIGW_CAP_COUNT_TOKENS,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = env_table,
    .state_size = sizeof(struct anth_stream_state),
    .build_request = build_request,
    .parse_response = parse_response,
    .stream_event = stream_event,
    .stream_end = stream_end,
    .map_error = map_error,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
