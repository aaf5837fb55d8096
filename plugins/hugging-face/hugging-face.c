/*
 * hugging-face - Hugging Face Inference Providers (providers-B §12). Chat goes through the
 * router's OpenAI-compatible /v1/chat/completions, whatever provider the router picks behind
 * it. Embeddings use the hf-inference feature-extraction pipeline, which answers a bare JSON
 * array whose depth depends on the model, and no usage.
 */
#include <string.h>

#include "../common/oaiwire.h"

/* The router's root: chat lives under /v1, embeddings under /hf-inference. */
#define BASE_DEFAULT "https://router.huggingface.co"
#define MAX_DIM 65536
#define MAX_TOKENS_POOLED 100000

static const struct oaiw_target target = {"HUGGING_FACE", BASE_DEFAULT};

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, NULL, OAIW_USAGE | OAIW_MAX_TOKENS);
    return body ? oaiw_post(call, &target, "/v1/chat/completions", body) : AIGW_ENOMEM;
}

/* A cold model is a 503 with {"estimated_time": seconds}: that is the wait to suggest. */
static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    int rc = call->host->oai_map_error(call, body, err);
    cJSON *root;
    const cJSON *t;

    if (rc != 0 || err->retry_after_ms >= 0 || !oaiw_has(body, "estimated_time"))
        return rc;
    root = oaiw_parse(body);
    t = oaiw_get(root, "estimated_time");
    if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 86400) {
        err->retry_after_ms = (int64_t)(t->valuedouble * 1000.0);
        err->retryable = 1;
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- embeddings -------------------------------------------------------------------------- */

static int embeddings_build(struct aigw_call *call)
{
    const cJSON *input = oaiw_get(call->body, "input"), *it;
    const char *model = call->model ? call->model : "";
    size_t n = strcspn(model, ":"); /* a router suffix (":fastest") is no repo id */
    cJSON *body;
    char *path;

    if (cJSON_IsArray(input)) {
        cJSON_ArrayForEach(it, input)
        {
            if (!cJSON_IsString(it)) /* token ids: the pipeline takes text only */
                return AIGW_ENOTSUP;
        }
    } else if (!cJSON_IsString(input)) {
        return AIGW_EINVAL;
    }
    if (!n || n > 512 ||
        !(path = call->host->strf(call, "/hf-inference/models/%.*s/pipeline/feature-extraction",
                                  (int)n, model)))
        return n ? AIGW_ENOMEM : AIGW_EINVAL;
    if (!(body = cJSON_CreateObject()))
        return AIGW_ENOMEM;
    if (oaiw_set(body, "inputs", cJSON_Duplicate(input, 1))) {
        cJSON_Delete(body);
        return AIGW_ENOMEM;
    }
    return oaiw_post(call, &target, path, body);
}

static int flat_vector(const cJSON *a)
{
    return cJSON_IsArray(a) && cJSON_IsNumber(a->child);
}

static int add_row(double *v, size_t dim, const cJSON *row)
{
    const cJSON *x;
    size_t i = 0;
    if (!flat_vector(row) || (size_t)cJSON_GetArraySize(row) != dim)
        return AIGW_EPROTO;
    cJSON_ArrayForEach(x, row)
    {
        if (!cJSON_IsNumber(x))
            return AIGW_EPROTO;
        v[i++] += x->valuedouble;
    }
    return 0;
}

/* One input's embedding: a vector as is; [vector] unwrapped; token vectors (T x D, from models
 * without pooling) mean-pooled, the usual sentence embedding for them. */
static int emit_vector(struct aigw_call *call, int index, const cJSON *node)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EMBEDDING, index);
    const cJSON *row;
    size_t dim, rows = 0, i;
    double *v;
    int rc;

    while (cJSON_IsArray(node) && cJSON_GetArraySize(node) == 1 && !flat_vector(node))
        node = node->child;
    if (!cJSON_IsArray(node) || !node->child)
        return AIGW_EPROTO;
    dim = (size_t)cJSON_GetArraySize(flat_vector(node) ? node : node->child);
    if (dim == 0 || dim > MAX_DIM)
        return AIGW_EPROTO;
    if (!(v = call->host->alloc(call, dim * sizeof *v)))
        return AIGW_ENOMEM;
    memset(v, 0, dim * sizeof *v);
    if (flat_vector(node)) {
        if ((rc = add_row(v, dim, node)))
            return rc;
        rows = 1;
    } else {
        cJSON_ArrayForEach(row, node)
        {
            if (++rows > MAX_TOKENS_POOLED || (rc = add_row(v, dim, row)))
                return rows > MAX_TOKENS_POOLED ? AIGW_ETOOBIG : rc;
        }
    }
    for (i = 0; rows > 1 && i < dim; i++)
        v[i] /= (double)rows;
    c.vector = v;
    c.vector_len = dim;
    return call->host->emit(call, &c);
}

static int embeddings_parse(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body), *input, *it;
    int inputs, i = 0, rc;

    if (cJSON_IsObject(root)) /* {"error": ...} on a 200: the host reports it */
        return call->host->oai_parse_response(call, body);
    if (!cJSON_IsArray(root) || !root->child)
        return AIGW_EPROTO;
    input = oaiw_get(call->body, "input");
    inputs = cJSON_IsArray(input) ? cJSON_GetArraySize(input) : 1;
    /* One input: the whole answer is its embedding, however deep. Several: one item each. */
    if (inputs == 1)
        return emit_vector(call, 0, root);
    if (cJSON_GetArraySize(root) != inputs)
        return AIGW_EPROTO;
    cJSON_ArrayForEach(it, root)
    {
        if ((rc = emit_vector(call, i++, it)) < 0)
            return rc;
    }
    return 0;
}

OAIW_PLUGIN("Hugging Face", "hugging-face", "HUGGING_FACE", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING | AIGW_CAP_EMBEDDINGS,
            .build_request = build_request, OAIW_STOCK_PARSERS, .map_error = map_error,
            .embeddings_build = embeddings_build, .embeddings_parse = embeddings_parse)
