/*
 * cohere - the Cohere v2 provider (providers-A §8): chat and streaming on /v2/chat, embeddings
 * on /v2/embed, Bearer auth. Request translation lives in cohere_request.c, response and stream
 * translation in cohere_response.c; this file holds the descriptor, errors and embeddings.
 */
#include <string.h>

#include "cohere.h"

/* Bounds what one embedding vector may claim, so a hostile body cannot size an allocation. */
#define COHERE_MAX_DIMS 65536

const char *cohere_url(struct aigw_call *call, const char *path)
{
    const char *base = call->host->env("COHERE_BASE_URL");
    size_t n;

    if (!base)
        base = "https://api.cohere.com";
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n > 4096)
        return NULL;
    return call->host->strf(call, "%.*s/v2/%s", (int)n, base, path);
}

int cohere_set_auth(struct aigw_call *call)
{
    const char *key = call->host->env("COHERE_API_KEY");
    const char *v;

    if (!key)
        return AIGW_ECONFIG;
    v = call->host->strf(call, "Bearer %s", key);
    if (!v)
        return AIGW_ENOMEM;
    return call->host->add_header(call, "Authorization", v, AIGW_HDR_SECRET);
}

/* The reason becomes the client's error message (host->fail), not just "invalid request";
 * no upstream request is sent either way. */
int cohere_reject(struct aigw_call *call, int rc, const char *why)
{
    call->host->log(call, AIGW_LOG_INFO, "cannot translate request for Cohere: %s", why);
    /* Clients key on error.code "unsupported"; fail_code then returns AIGW_ENOTSUP. */
    if (rc == AIGW_ENOTSUP)
        return call->host->fail_code(call, 400, "unsupported", NULL, "%s", why);
    return call->host->fail(call, 400, NULL, "%s", why);
}

/* Cohere errors are {"id","message","error_type"?} (§8.5); anything else (a proxy's page, an
 * empty body) still gets a status-derived error. */
static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    const cJSON *root = call->host->json_parse(call, body);
    const char *msg = aigw_json_str(root, "message");
    const char *etype = aigw_json_str(root, "error_type");
    int s = call->status;

    aigw_error_init(err);
    if (!msg)
        msg = aigw_json_str(aigw_json_get(root, "error"), "message");
    err->status = s;
    err->type = "invalid_request_error";
    if (s == 400 || s == 422) {
        err->status = 400;
        if (etype && strcmp(etype, "TOO_MANY_TOKENS") == 0)
            err->code = "context_length_exceeded";
    } else if (s == 401 || s == 498) {
        err->status = 401;
        err->type = "authentication_error";
        err->code = "invalid_api_key";
    } else if (s == 403) {
        err->type = "permission_error";
    } else if (s == 404) {
        err->type = "not_found_error";
    } else if (s == 429) {
        err->type = "rate_limit_error";
        err->code = "rate_limit_exceeded";
        err->retryable = 1;
        err->retry_after_ms = call->host->retry_after_ms(call);
    } else if (s == 499) {
        err->status = 400;
        err->code = "request_cancelled";
    } else if (s == 504) {
        err->type = "timeout";
        err->retryable = 1;
    } else if (s >= 500) {
        err->type = "server_error";
        err->retryable = 1;
        err->retry_after_ms = call->host->retry_after_ms(call);
    }
    err->message = msg ? msg : call->host->strf(call, "Cohere returned HTTP %d", s);
    return 0;
}

static int embeddings_build(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const cJSON *req = call->body;
    const cJSON *input = aigw_json_get(req, "input"), *dims = aigw_json_get(req, "dimensions"), *t;
    const char *input_type = aigw_json_str(req, "input_type"),
               *truncate = aigw_json_str(req, "truncate");
    const char *url = cohere_url(call, "embed");
    cJSON *body, *texts, *types;
    int rc;

    if (!url)
        return AIGW_ENOMEM;
    if (!input_type)
        input_type = h->env("COHERE_EMBED_INPUT_TYPE");
    if (!input_type)
        input_type = "search_document";
    if (!cJSON_IsString(input) && !(cJSON_IsArray(input) && cJSON_GetArraySize(input) > 0))
        return cohere_reject(call, AIGW_EINVAL, "input must be a string or a non-empty array");
    cJSON_ArrayForEach(t, input)
    {
        if (!cJSON_IsString(t))
            return cohere_reject(call, AIGW_EINVAL,
                                 "Cohere embeds text only; token arrays are not supported");
    }
    body = cJSON_CreateObject();
    if (!body)
        return AIGW_ENOMEM;
    texts = cJSON_IsString(input) ? cJSON_CreateArray() : cJSON_Duplicate(input, 1);
    if (!texts || !cJSON_AddItemToObject(body, "texts", texts)) {
        cJSON_Delete(texts);
        goto nomem;
    }
    if (cJSON_IsString(input)) {
        cJSON *s = cJSON_CreateString(input->valuestring);
        if (!s || !cJSON_AddItemToArray(texts, s)) {
            cJSON_Delete(s);
            goto nomem;
        }
    }
    if (!cJSON_AddStringToObject(body, "model", call->model) ||
        !cJSON_AddStringToObject(body, "input_type", input_type) ||
        !(types = cJSON_AddArrayToObject(body, "embedding_types")) ||
        !cJSON_AddItemToArray(types, cJSON_CreateString("float")) ||
        (cJSON_IsNumber(dims) &&
         !cJSON_AddNumberToObject(body, "output_dimension", dims->valuedouble)) ||
        (truncate && !cJSON_AddStringToObject(body, "truncate", truncate)))
        goto nomem;
    if ((rc = h->set_method(call, "POST")) < 0 || (rc = h->set_url(call, url)) < 0 ||
        (rc = cohere_set_auth(call)) < 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) < 0 ||
        (rc = h->set_framing(call, AIGW_FRAMING_JSON)) < 0) {
        cJSON_Delete(body);
        return rc;
    }
    return h->set_body_json(call, body);
nomem:
    cJSON_Delete(body);
    return AIGW_ENOMEM;
}

static int embeddings_parse(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *emb = aigw_json_get(root, "embeddings");
    const cJSON *vecs = cJSON_IsArray(emb) ? emb : aigw_json_get(emb, "float");
    const cJSON *billed = aigw_json_get(aigw_json_get(root, "meta"), "billed_units");
    const cJSON *v, *x;
    struct aigw_usage u;
    int i = 0, rc;

    if (!cJSON_IsArray(vecs))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(v, vecs)
    {
        if ((rc = aigw_emit_embedding_json(call, i++, v, COHERE_MAX_DIMS)) < 0)
            return rc;
    }
    x = aigw_json_get(billed, "input_tokens");
    if (cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble < 1e15) {
        aigw_usage_init(&u);
        u.prompt_tokens = (int64_t)x->valuedouble;
        u.completion_tokens = 0;
        return aigw_emit_usage(call, &u);
    }
    return 0;
}

static const struct aigw_env_var cohere_env[] = {
    {"COHERE_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL,
     "Cohere API key, sent as Authorization: Bearer"},
    {"COHERE_BASE_URL", 0, "https://api.cohere.com",
     "Cohere API base URL without /v2 (default https://api.cohere.com)"},
    {"COHERE_EMBED_INPUT_TYPE", 0, "search_document",
     "embeddings input_type when the request sets none: search_document (default), "
     "search_query, classification or clustering"},
    {NULL, 0, NULL, NULL},
};

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Cohere",
    .vkey = "cohere",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_EMBEDDINGS | AIGW_CAP_REASONING,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = cohere_env,
    .state_size = sizeof(struct cohere_state),
    .build_request = cohere_build_chat,
    .parse_response = cohere_parse_chat,
    .stream_event = cohere_stream_event,
    .map_error = map_error,
    .embeddings_build = embeddings_build,
    .embeddings_parse = embeddings_parse,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
