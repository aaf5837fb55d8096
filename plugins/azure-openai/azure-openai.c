/*
 * azure-openai - Azure OpenAI (providers-A §2): OpenAI's body on a deployment-scoped URL with a
 * required api-version, the key in an api-key header, and Azure's own error envelope
 * ({"error":{"code":"429","message"}}, content-filter blocks with an innererror).
 *
 * The chat deployment comes from AZURE_OPENAI_DEPLOYMENT (one deployment = one model, so the
 * client's model name cannot pick it). Embeddings and images need other deployments: their own
 * variables, else the client's model name is taken as the deployment name.
 *
 * AZURE_OPENAI_API_VERSION=v1 selects the newer /openai/v1 API (deployment in the body's model,
 * no api-version).
 *
 * Threading: stateless; any thread.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#include "../common/reasoning.h"

/* The GA version with published examples and stream_options support (providers-A §2.1). */
#define DEFAULT_API_VERSION "2024-10-21"
/* stream_options.include_usage is refused by older api-versions. */
#define STREAM_OPTIONS_SINCE "2024-09-01"

static const struct aigw_env_var env[] = {
    {"AZURE_OPENAI_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL,
     "resource key, sent as the api-key header"},
    {"AZURE_OPENAI_ENDPOINT", AIGW_ENV_REQUIRED, NULL,
     "resource endpoint, e.g. https://NAME.openai.azure.com"},
    {"AZURE_OPENAI_DEPLOYMENT", AIGW_ENV_REQUIRED, NULL, "deployment name used for chat"},
    {"AZURE_OPENAI_API_VERSION", 0, DEFAULT_API_VERSION, "api-version query parameter, or v1"},
    {"AZURE_OPENAI_BASE_URL", 0, NULL, "overrides AZURE_OPENAI_ENDPOINT (tests, proxies)"},
    {"AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT", 0, NULL,
     "deployment for /v1/embeddings (default: the request's model)"},
    {"AZURE_OPENAI_IMAGES_DEPLOYMENT", 0, NULL,
     "deployment for /v1/images/generations (default: the request's model)"},
    {NULL, 0, NULL, NULL},
};

/* The "developer" role is refused by api-versions older than this one ("Invalid value:
 * 'developer'. Supported values are: 'system', ..."). */
#define DEVELOPER_ROLE_SINCE "2024-12-01"

/* body["messages"] with "developer" turned into "system", for an api-version that predates
 * the role. The body's values may be the client's own (top-level-only copy), so the messages
 * are copied before the edit. */
static int system_for_developer(struct aigw_call *call, const char *version, cJSON *body)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(call->body, "messages"), *m;
    cJSON *copy, *it;
    int found = 0;

    if (!isdigit((unsigned char)version[0]) || strncmp(version, DEVELOPER_ROLE_SINCE, 10) >= 0)
        return 0;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        found |= cJSON_IsString(role) && strcmp(role->valuestring, "developer") == 0;
    }
    if (!found)
        return 0;
    if (!(copy = cJSON_Duplicate(msgs, 1)))
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(it, copy)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(it, "role");
        if (cJSON_IsString(role) && strcmp(role->valuestring, "developer") == 0 &&
            !cJSON_ReplaceItemInObjectCaseSensitive(it, "role", cJSON_CreateString("system"))) {
            cJSON_Delete(copy);
            return AIGW_ENOMEM;
        }
    }
    if (!cJSON_ReplaceItemInObjectCaseSensitive(body, "messages", copy)) {
        cJSON_Delete(copy);
        return AIGW_ENOMEM;
    }
    return 0;
}

/* The endpoint without trailing slashes or a trailing /openai (both are common in portal
 * copy-paste). */
static size_t base_len(const char *base)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    if (n >= 7 && strncmp(base + n - 7, "/openai", 7) == 0)
        n -= 7;
    while (n && base[n - 1] == '/')
        n--;
    return n;
}

static const char *deployment_for(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *d = NULL;
    if (call->op == AIGW_OP_EMBEDDINGS)
        d = h->env("AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT");
    else if (call->op == AIGW_OP_IMAGES)
        d = h->env("AZURE_OPENAI_IMAGES_DEPLOYMENT");
    else
        return h->env("AZURE_OPENAI_DEPLOYMENT");
    return d ? d : call->model;
}

static int build(struct aigw_call *call, const char *path)
{
    const struct aigw_host *h = call->host;
    const char *key = h->env("AZURE_OPENAI_API_KEY");
    const char *base = h->env("AZURE_OPENAI_BASE_URL");
    const char *version = h->env("AZURE_OPENAI_API_VERSION");
    const char *dep = deployment_for(call);
    int v1, rc;
    /* Top-level edits only (the model, a max_tokens rename): the host may share the values. */
    struct aigw_oai_opts opts = {AIGW_ABI_VERSION, sizeof opts, NULL, 1, 0, 1};
    char *url;
    cJSON *body;

    if (!base)
        base = h->env("AZURE_OPENAI_ENDPOINT");
    if (!version)
        version = DEFAULT_API_VERSION;
    if (!key || !base)
        return AIGW_ECONFIG;
    if (!dep || !*dep)
        return call->op == AIGW_OP_CHAT ? AIGW_ECONFIG : AIGW_EINVAL;
    v1 = strcmp(version, "v1") == 0;
    if (v1) {
        url = h->strf(call, "%.*s/openai/v1%s", (int)base_len(base), base, path);
    } else {
        char *d = h->url_encode(call, dep, strlen(dep));
        char *v = h->url_encode(call, version, strlen(version));
        if (!d || !v)
            return AIGW_ENOMEM;
        url = h->strf(call, "%.*s/openai/deployments/%s%s?api-version=%s", (int)base_len(base),
                      base, d, path, v);
    }
    if (!url)
        return AIGW_ENOMEM;
    if ((rc = h->set_method(call, "POST")) || (rc = h->set_url(call, url)) ||
        (rc = h->add_header(call, "api-key", key, AIGW_HDR_SECRET)) ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)))
        return rc;

    /* Dates compare as strings; "v1" and named previews are newer than any cut-over. */
    opts.send_include_usage =
        !isdigit((unsigned char)version[0]) || strncmp(version, STREAM_OPTIONS_SINCE, 10) >= 0;
    if (!(body = h->oai_request_body(call, &opts)))
        return AIGW_ENOMEM;
    /* The classic path takes the model from the URL; v1 wants the deployment in the body. */
    if (v1 && !cJSON_AddStringToObject(body, "model", dep))
        rc = AIGW_ENOMEM;
    /* Deployment names are free-form, so both the deployment and the model are checked. */
    if (!rc && call->op == AIGW_OP_CHAT &&
        (oair_is_reasoning_model(dep) || oair_is_reasoning_model(call->model)))
        rc = oair_rename_max_tokens(body);
    if (!rc && call->op == AIGW_OP_CHAT)
        rc = system_for_developer(call, version, body);
    if (rc) {
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

static int images_build(struct aigw_call *call)
{
    return build(call, "/images/generations");
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return call->host->oai_parse_response(call, body);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return call->host->oai_stream_event(call, frame);
}

static int all_digits(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* "... Please retry after 6 seconds." - the only hint when a proxy dropped the headers. */
static int64_t retry_hint_ms(const char *msg)
{
    const char *p = msg ? strstr(msg, "retry after ") : NULL;
    char *end;
    long s;
    if (!p)
        return -1;
    p += strlen("retry after ");
    s = strtol(p, &end, 10);
    if (end == p || s < 0 || s > 86400 || strncmp(end, " second", 7) != 0)
        return -1;
    return (int64_t)s * 1000;
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    int rc = call->host->oai_map_error(call, body, err);
    const cJSON *root, *inner;
    const char *inner_code = NULL;

    if (rc)
        return rc;
    root = call->host->json_parse(call, body);
    inner = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "error"),
                                             "innererror");
    if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(inner, "code")))
        inner_code = cJSON_GetObjectItemCaseSensitive(inner, "code")->valuestring;
    /* A prompt blocked by content safety: the client's request, not a server fault. */
    if ((err->code && strcmp(err->code, "content_filter") == 0) ||
        (inner_code && strcmp(inner_code, "ResponsibleAIPolicyViolation") == 0)) {
        err->code = "content_filter";
        err->type = "invalid_request_error";
        if (!err->status || err->status == 200)
            err->status = 400;
        err->retryable = 0;
        return 0;
    }
    /* Azure echoes the HTTP status as the code ("429", "401"); give clients OpenAI's names. */
    if (all_digits(err->code)) {
        if (err->status == 429)
            err->code = "rate_limit_exceeded";
        else if (err->status == 401)
            err->code = "invalid_api_key";
        else
            err->code = NULL;
    }
    if (err->status == 429 && err->retry_after_ms < 0)
        err->retry_after_ms = retry_hint_ms(err->message);
    return 0;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Azure OpenAI",
    .vkey = "azure-openai",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_EMBEDDINGS | AIGW_CAP_IMAGES |
                    AIGW_CAP_REASONING,
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
};

/* plugin.h does not declare the entry point; -Wmissing-prototypes wants one. */
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
