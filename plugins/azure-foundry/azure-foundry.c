/*
 * azure-foundry - Azure AI Foundry's Model Inference API (providers-A §3): OpenAI-shaped chat
 * at {endpoint}/models/chat/completions?api-version=..., the deployment name in the body's
 * model, the key in an api-key header. Serverless per-model endpoints (*.models.ai.azure.com,
 * *.inference.ai.azure.com) have no /models prefix.
 *
 * Threading: stateless; any thread.
 */
#include <ctype.h>
#include <string.h>

#include <aigw/plugin.h>

/* The version of the real recording (providers-A §3). */
#define DEFAULT_API_VERSION "2024-05-01-preview"

static const struct aigw_env_var env[] = {
    {"AZURE_FOUNDRY_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL,
     "resource key, sent as the api-key header"},
    {"AZURE_FOUNDRY_ENDPOINT", AIGW_ENV_REQUIRED, NULL,
     "endpoint, e.g. https://NAME.services.ai.azure.com"},
    {"AZURE_FOUNDRY_API_VERSION", 0, DEFAULT_API_VERSION, "api-version query parameter"},
    {"AZURE_FOUNDRY_BASE_URL", 0, NULL, "overrides AZURE_FOUNDRY_ENDPOINT (tests, proxies)"},
    {NULL, 0, NULL, NULL},
};

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncmp(s + n - k, suffix, k) == 0;
}

/* Serverless endpoints serve the routes at the root; a Foundry resource under /models. */
static int needs_models_prefix(const char *base, size_t n)
{
    const char *host = strstr(base, "://");
    size_t hn;
    host = host ? host + 3 : base;
    hn = strcspn(host, "/:");
    if (ends_with(base, n, "/models"))
        return 0;
    if ((size_t)(host - base) + hn == n && (ends_with(host, hn, ".models.ai.azure.com") ||
                                            ends_with(host, hn, ".inference.ai.azure.com")))
        return 0;
    return 1;
}

static int rename_max_completion_tokens(cJSON *body)
{
    /* The API defines max_tokens only; an OpenAI client may send the newer name. */
    cJSON *mct = cJSON_DetachItemFromObjectCaseSensitive(body, "max_completion_tokens");
    if (!mct)
        return 0;
    cJSON_DeleteItemFromObjectCaseSensitive(body, "max_tokens");
    return cJSON_AddItemToObject(body, "max_tokens", mct) ? 0 : AIGW_ENOMEM;
}

static int build(struct aigw_call *call, const char *path)
{
    const struct aigw_host *h = call->host;
    const char *key = h->env("AZURE_FOUNDRY_API_KEY");
    const char *base = h->env("AZURE_FOUNDRY_BASE_URL");
    const char *version = h->env("AZURE_FOUNDRY_API_VERSION");
    /* Top-level edits only (a max_tokens rename): the host may share the client's values. */
    struct aigw_oai_opts opts = {AIGW_ABI_VERSION, sizeof opts, NULL, 1, 1, 1};
    size_t n;
    char *url, *v;
    cJSON *body;
    int rc;

    if (!base)
        base = h->env("AZURE_FOUNDRY_ENDPOINT");
    if (!version)
        version = DEFAULT_API_VERSION;
    if (!key || !base)
        return AIGW_ECONFIG;
    /* The body must name the deployment. */
    if (!call->model || !*call->model)
        return AIGW_EINVAL;
    n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (!(v = h->url_encode(call, version, strlen(version))))
        return AIGW_ENOMEM;
    url = h->strf(call, "%.*s%s%s?api-version=%s", (int)n, base,
                  needs_models_prefix(base, n) ? "/models" : "", path, v);
    if (!url)
        return AIGW_ENOMEM;
    if ((rc = h->set_method(call, "POST")) || (rc = h->set_url(call, url)) ||
        (rc = h->add_header(call, "api-key", key, AIGW_HDR_SECRET)) ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)))
        return rc;
    if (!(body = h->oai_request_body(call, &opts)))
        return AIGW_ENOMEM;
    if (call->op == AIGW_OP_CHAT && (rc = rename_max_completion_tokens(body))) {
        cJSON_Delete(body);
        return rc;
    }
    if ((rc = h->set_body_json(call, body)))
        return rc;
    return call->stream && call->op == AIGW_OP_CHAT ? h->set_framing(call, AIGW_FRAMING_SSE) : 0;
}

static int build_request(struct aigw_call *call)
{
    return build(call, "/chat/completions");
}

static int embeddings_build(struct aigw_call *call)
{
    return build(call, "/embeddings");
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return call->host->oai_parse_response(call, body);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return call->host->oai_stream_event(call, frame);
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    int rc = call->host->oai_map_error(call, body, err);
    const char *c = err->code;

    if (rc)
        return rc;
    if (c && strcmp(c, "content_filter") == 0) {
        err->type = "invalid_request_error";
        err->retryable = 0;
        return 0;
    }
    /* Like Azure OpenAI, Foundry echoes the status as a string code ("401"). */
    while (c && isdigit((unsigned char)*c))
        c++;
    if (err->code && *err->code && !*c) {
        if (err->status == 429)
            err->code = "rate_limit_exceeded";
        else if (err->status == 401)
            err->code = "invalid_api_key";
        else
            err->code = NULL;
    }
    return 0;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Azure AI Foundry",
    .vkey = "azure-foundry",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_EMBEDDINGS,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = env,
    .state_size = 0,
    .build_request = build_request,
    .parse_response = parse_response,
    .stream_event = stream_event,
    .map_error = map_error,
    .embeddings_build = embeddings_build,
    .embeddings_parse = parse_response,
};

/* plugin.h does not declare the entry point; -Wmissing-prototypes wants one. */
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
