/*
 * ollama - the Ollama provider over its native API (providers-B §10): /api/chat (NDJSON
 * streaming), /api/embed, /api/tags. The native API is used rather than /v1 because only it
 * carries num_ctx, keep_alive, top_k and think, and it always reports token counts (§10.3).
 * Request translation lives in ollama_request.c, response translation in ollama_response.c;
 * this file holds the descriptor, base URL, errors, embeddings and the model list.
 */
#include <string.h>

#include "ollama.h"

/* Bounds what one embedding vector may claim, so a hostile body cannot size an allocation. */
#define OLLAMA_MAX_DIMS 65536

int ollama_url(struct aigw_call *call, const char *path, const char **out)
{
    const struct aigw_host *h = call->host;
    const char *base = h->env("OLLAMA_BASE_URL");
    const char *scheme = "", *port = "";
    size_t n, auth, i;

    if (!base)
        base = h->env("OLLAMA_HOST");
    if (!base)
        return AIGW_ECONFIG;
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n == 0 || n > 4096)
        return AIGW_ECONFIG;
    auth = n;
    if (!strstr(base, "://")) {
        int has_port = 0;
        scheme = "http://";
        for (i = 0; i < n && base[i] != '/'; i++) {
            if (base[i] == ':')
                has_port = 1;
            else if (base[i] == ']')
                has_port = 0; /* the colons of an IPv6 literal are not a port */
        }
        auth = i;
        if (!has_port)
            port = ":11434";
    }
    *out = h->strf(call, "%s%.*s%s%.*s%s", scheme, (int)auth, base, port, (int)(n - auth),
                   base + auth, path);
    return *out ? 0 : AIGW_ENOMEM;
}

int ollama_set_auth(struct aigw_call *call)
{
    const char *key = call->host->env("OLLAMA_API_KEY");
    const char *v;

    if (!key)
        return 0;
    v = call->host->strf(call, "Bearer %s", key);
    if (!v)
        return AIGW_ENOMEM;
    return call->host->add_header(call, "Authorization", v, AIGW_HDR_SECRET);
}

/* The reason becomes the client's error message (host->fail), not just "invalid request";
 * no upstream request is sent either way. */
int ollama_reject(struct aigw_call *call, int rc, const char *why)
{
    call->host->log(call, AIGW_LOG_INFO, "cannot translate request for Ollama: %s", why);
    /* Clients key on error.code "unsupported"; fail_code then returns AIGW_ENOTSUP. */
    if (rc == AIGW_ENOTSUP)
        return call->host->fail_code(call, 400, "unsupported", NULL, "%s", why);
    return call->host->fail(call, 400, NULL, "%s", why);
}

/* Native errors are {"error":"<text>"}; hosted / proxied Ollama may answer in OpenAI's
 * {"error":{"message"}} shape, so both are read. */
static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *e = aigw_json_get(root, "error");
    const char *msg = cJSON_IsString(e) ? e->valuestring : aigw_json_str(e, "message");
    int s = call->status;

    aigw_error_init(err);
    err->status = s;
    err->type = "invalid_request_error";
    if (s == 401) {
        err->type = "authentication_error";
        err->code = "invalid_api_key";
    } else if (s == 403) {
        err->type = "permission_error";
    } else if (s == 404) {
        err->type = "not_found_error";
        if (msg && strstr(msg, "model"))
            err->code = "model_not_found";
    } else if (s == 429) {
        err->type = "rate_limit_error";
        err->code = "rate_limit_exceeded";
        err->retryable = 1;
        err->retry_after_ms = call->host->retry_after_ms(call);
    } else if (s == 504) {
        err->type = "timeout";
        err->retryable = 1;
    } else if (s >= 500) {
        err->type = "server_error";
        err->retryable = 1;
        err->retry_after_ms = call->host->retry_after_ms(call);
    } else if (s < 400) {
        err->status = 502;
        err->type = "server_error";
    }
    err->message = msg ? msg : call->host->strf(call, "Ollama returned HTTP %d", s);
    return 0;
}

static int send_json(struct aigw_call *call, const char *url, cJSON *body)
{
    const struct aigw_host *h = call->host;
    int rc;

    if ((rc = h->set_method(call, "POST")) < 0 || (rc = h->set_url(call, url)) < 0 ||
        (rc = ollama_set_auth(call)) < 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) < 0 ||
        (rc = h->set_framing(call, AIGW_FRAMING_JSON)) < 0) {
        cJSON_Delete(body);
        return rc;
    }
    return h->set_body_json(call, body);
}

static int embeddings_build(struct aigw_call *call)
{
    const cJSON *req = call->body;
    const cJSON *input = aigw_json_get(req, "input"), *t;
    static const char *const pass[] = {"dimensions", "truncate", "keep_alive", "options"};
    const char *url;
    cJSON *body, *d;
    size_t i;
    int rc;

    if ((rc = ollama_url(call, "/api/embed", &url)) < 0)
        return rc;
    if (!cJSON_IsString(input) && !(cJSON_IsArray(input) && cJSON_GetArraySize(input) > 0))
        return ollama_reject(call, AIGW_EINVAL, "input must be a string or a non-empty array");
    cJSON_ArrayForEach(t, input)
    {
        if (!cJSON_IsString(t))
            return ollama_reject(call, AIGW_EINVAL,
                                 "Ollama embeds text only; token arrays are not supported");
    }
    body = cJSON_CreateObject();
    if (!body)
        return AIGW_ENOMEM;
    if (!cJSON_AddStringToObject(body, "model", call->model)) {
        cJSON_Delete(body);
        return AIGW_ENOMEM;
    }
    for (i = 0; i <= sizeof pass / sizeof pass[0]; i++) {
        const char *key = i == 0 ? "input" : pass[i - 1];
        const cJSON *v = aigw_json_get(req, key);
        if (!v || cJSON_IsNull(v))
            continue;
        d = cJSON_Duplicate(v, 1);
        if (!d || !cJSON_AddItemToObject(body, key, d)) {
            cJSON_Delete(d);
            cJSON_Delete(body);
            return AIGW_ENOMEM;
        }
    }
    return send_json(call, url, body);
}

static int embeddings_parse(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *vecs = aigw_json_get(root, "embeddings"), *v, *x;
    struct aigw_usage u;
    int i = 0, rc;

    if (!cJSON_IsArray(vecs))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(v, vecs)
    {
        if ((rc = aigw_emit_embedding_json(call, i++, v, OLLAMA_MAX_DIMS)) < 0)
            return rc;
    }
    x = aigw_json_get(root, "prompt_eval_count");
    if (cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble < 1e15) {
        aigw_usage_init(&u);
        u.prompt_tokens = (int64_t)x->valuedouble;
        u.completion_tokens = 0;
        return aigw_emit_usage(call, &u);
    }
    return 0;
}

static int models_build(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *url;
    int rc;

    if ((rc = ollama_url(call, "/api/tags", &url)) < 0 || (rc = h->set_method(call, "GET")) < 0 ||
        (rc = h->set_url(call, url)) < 0 || (rc = ollama_set_auth(call)) < 0)
        return rc;
    return h->set_framing(call, AIGW_FRAMING_JSON);
}

static int models_parse(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *models = aigw_json_get(root, "models"), *m;
    int rc;

    if (!cJSON_IsArray(models))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(m, models)
    {
        const char *name = aigw_json_str(m, "name");
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_MODEL, 0);
        if (!name)
            name = aigw_json_str(m, "model");
        if (!name || !name[0])
            continue;
        c.id = aigw_bytes_of(name);
        if ((rc = call->host->emit(call, &c)) < 0)
            return rc;
    }
    return 0;
}

static const struct aigw_env_var ollama_env[] = {
    {"OLLAMA_HOST", AIGW_ENV_REQUIRED, NULL,
     "Ollama server, e.g. http://127.0.0.1:11434 (no scheme: http://, no port: 11434)"},
    {"OLLAMA_BASE_URL", 0, NULL, "overrides OLLAMA_HOST as the base URL (tests, proxies)"},
    {"OLLAMA_API_KEY", AIGW_ENV_SECRET, NULL,
     "optional key for hosted or proxied Ollama, sent as Authorization: Bearer"},
    {NULL, 0, NULL, NULL},
};

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Ollama",
    .vkey = "ollama",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_EMBEDDINGS | AIGW_CAP_REASONING |
                    AIGW_CAP_MODELS,
    .stream_framing = AIGW_FRAMING_NDJSON,
    .env = ollama_env,
    .state_size = sizeof(struct ollama_state),
    .build_request = ollama_build_chat,
    .parse_response = ollama_parse_chat,
    .stream_event = ollama_stream_event,
    .map_error = map_error,
    .embeddings_build = embeddings_build,
    .embeddings_parse = embeddings_parse,
    .models_build = models_build,
    .models_parse = models_parse,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
