/*
 * openai - OpenAI itself (providers-A §1). The gateway already speaks OpenAI, so this is mostly
 * pass-through: URL, Bearer auth, organization/project headers, and the one body fix the API
 * insists on (reasoning models refuse max_tokens).
 *
 * Threading: stateless; any thread.
 */
#include <string.h>

#include <aigw/plugin.h>

#include "../common/reasoning.h"

static const struct aigw_env_var env[] = {
    {"OPENAI_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL,
     "API key, sent as Authorization: Bearer"},
    {"OPENAI_BASE_URL", 0, "https://api.openai.com/v1", "API base URL (ends before /chat)"},
    {"OPENAI_ORGANIZATION", 0, NULL, "sent as OpenAI-Organization when set"},
    {"OPENAI_PROJECT", 0, NULL, "sent as OpenAI-Project when set"},
    {NULL, 0, NULL, NULL},
};

static size_t trimmed_len(const char *base)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    return n;
}

static int start(struct aigw_call *call, const char *method, const char *path)
{
    const struct aigw_host *h = call->host;
    const char *key = h->env("OPENAI_API_KEY"), *base = h->env("OPENAI_BASE_URL");
    const char *org = h->env("OPENAI_ORGANIZATION"), *project = h->env("OPENAI_PROJECT");
    char *url, *auth;
    int rc;

    if (!key || !base)
        return AIGW_ECONFIG;
    url = h->strf(call, "%.*s%s", (int)trimmed_len(base), base, path);
    auth = h->strf(call, "Bearer %s", key);
    if (!url || !auth)
        return AIGW_ENOMEM;
    if ((rc = h->set_method(call, method)) || (rc = h->set_url(call, url)) ||
        (rc = h->add_header(call, "Authorization", auth, AIGW_HDR_SECRET)))
        return rc;
    if (org && (rc = h->add_header(call, "OpenAI-Organization", org, 0)))
        return rc;
    if (project && (rc = h->add_header(call, "OpenAI-Project", project, 0)))
        return rc;
    return 0;
}

static int send_body(struct aigw_call *call, const char *path)
{
    const struct aigw_host *h = call->host;
    /* Top-level edits only (a max_tokens rename): the host may share the client's values. */
    struct aigw_oai_opts opts = {AIGW_ABI_VERSION, sizeof opts, NULL, 1, 1, 1};
    cJSON *body;
    int rc;

    if ((rc = start(call, "POST", path)) ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)))
        return rc;
    if (!(body = h->oai_request_body(call, &opts)))
        return AIGW_ENOMEM;
    if (call->op == AIGW_OP_CHAT && oair_is_reasoning_model(call->model) &&
        (rc = oair_rename_max_tokens(body))) {
        cJSON_Delete(body);
        return rc;
    }
    return h->set_body_json(call, body);
}

static int build_request(struct aigw_call *call)
{
    int rc = send_body(call, "/chat/completions");
    if (rc == 0 && call->stream)
        rc = call->host->set_framing(call, AIGW_FRAMING_SSE);
    return rc;
}

static int embeddings_build(struct aigw_call *call)
{
    return send_body(call, "/embeddings");
}

static int images_build(struct aigw_call *call)
{
    return send_body(call, "/images/generations");
}

static int models_build(struct aigw_call *call)
{
    return start(call, "GET", "/models");
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return call->host->oai_parse_response(call, body);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return call->host->oai_stream_event(call, frame);
}

static int models_parse(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body), *m;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    int rc;

    if (!cJSON_IsArray(data))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(m, data)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_MODEL, 0);
        if (!cJSON_IsString(id) || !*id->valuestring)
            continue;
        c.id = aigw_bytes_of(id->valuestring);
        if ((rc = call->host->emit(call, &c)) < 0)
            return rc;
    }
    return 0;
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    int rc = call->host->oai_map_error(call, body, err);
    /* A spent quota answers 429 too, but no retry will succeed before someone pays. */
    if (rc == 0 && err->code && strcmp(err->code, "insufficient_quota") == 0) {
        err->retryable = 0;
        err->retry_after_ms = -1;
    }
    return rc;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "OpenAI",
    .vkey = "openai",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_EMBEDDINGS | AIGW_CAP_IMAGES |
                    AIGW_CAP_REASONING | AIGW_CAP_MODELS,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = env,
    .state_size = 0,
    .build_request = build_request,
    .parse_response = parse_response,
    .stream_event = stream_event,
    .map_error = map_error,
    .embeddings_build = embeddings_build,
    .embeddings_parse = parse_response,
    .images_build = images_build,
    .images_parse = parse_response,
    .models_build = models_build,
    .models_parse = models_parse,
};

/* plugin.h does not declare the entry point; -Wmissing-prototypes wants one. */
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
