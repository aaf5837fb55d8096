/*
 * bedrock_embed.c - /v1/embeddings through InvokeModel (notes §7.1, §9.3).
 *
 *   amazon.titan-embed-*  {"inputText", "dimensions"?, "normalize"?} -> {"embedding",
 *                         "inputTextTokenCount"}; one text per request, so a list of inputs is
 *                         sent one request after another (AIGW_CONTINUE).
 *   cohere.embed-*        {"texts", "input_type", "embedding_types":["float"]} ->
 *                         {"embeddings":{"float":[[...]]}} (or a bare array of vectors); the
 *                         token count comes from the X-Amzn-Bedrock-Input-Token-Count header.
 */
#include <stdlib.h>
#include <string.h>

#include "bedrock.h"

#define COHERE_MAX_TEXTS 96
#define TITAN_MAX_TEXTS 256

enum family { FAM_NONE, FAM_TITAN, FAM_COHERE };

static int family_of(const char *model)
{
    /* Match anywhere: inference-profile ids ("us.cohere...") and ARNs embed the model id. */
    if (strstr(model, "amazon.titan-embed"))
        return FAM_TITAN;
    if (strstr(model, "cohere.embed"))
        return FAM_COHERE;
    return FAM_NONE;
}

/* The inputs as an array of strings (a lone string counts as one). */
static int inputs(struct aigw_call *call, const cJSON **arr, const char **one, int *count)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(call->body, "input");
    *arr = NULL;
    *one = NULL;
    if (cJSON_IsString(in)) {
        *one = in->valuestring;
        *count = 1;
        return 0;
    }
    if (!cJSON_IsArray(in) || cJSON_GetArraySize(in) == 0)
        return bedrock_reject(call, AIGW_EINVAL, "input must be a string or an array of strings");
    const cJSON *s;
    cJSON_ArrayForEach(s, in)
    {
        if (!cJSON_IsString(s))
            return bedrock_reject(call, AIGW_ENOTSUP,
                                  "token-array inputs are not supported; send strings");
    }
    *arr = in;
    *count = cJSON_GetArraySize(in);
    return 0;
}

static int send_json(struct aigw_call *call, cJSON *body)
{
    char *text = body ? call->host->json_print(call, body) : NULL;
    cJSON_Delete(body);
    if (!text)
        return AIGW_ENOMEM;
    return bedrock_send(call, "invoke", text, strlen(text), "application/json");
}

static int titan_request(struct aigw_call *call, const char *text)
{
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(call->body, "dimensions");
    /* Only Titan Text Embeddings v2 takes dimensions / normalize; v1 rejects extra keys. */
    int v2 = strstr(call->model, "titan-embed-text-v2") != NULL;
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "inputText", text))
        goto oom;
    if (v2 && cJSON_IsNumber(dims) &&
        !cJSON_AddNumberToObject(body, "dimensions", dims->valuedouble))
        goto oom;
    if (v2 && !cJSON_AddTrueToObject(body, "normalize"))
        goto oom;
    return send_json(call, body);
oom:
    cJSON_Delete(body);
    return AIGW_ENOMEM;
}

static const char *input_at(const cJSON *arr, const char *one, int i)
{
    return arr ? cJSON_GetArrayItem(arr, i)->valuestring : one;
}

int bedrock_embeddings_build(struct aigw_call *call)
{
    struct bedrock_state *st = call->state;
    const cJSON *arr;
    const char *one;
    int count, rc;

    if ((rc = inputs(call, &arr, &one, &count)) != 0)
        return rc;
    switch (family_of(call->model)) {
    case FAM_TITAN:
        if (count > TITAN_MAX_TEXTS)
            return bedrock_reject(call, AIGW_EINVAL, "too many inputs for Titan embeddings");
        st->embed_next = 0;
        return titan_request(call, input_at(arr, one, 0));
    case FAM_COHERE: {
        if (count > COHERE_MAX_TEXTS)
            return bedrock_reject(call, AIGW_EINVAL, "Cohere embeds at most 96 texts per call");
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(call->body, "input_type");
        const cJSON *dims = cJSON_GetObjectItemCaseSensitive(call->body, "dimensions");
        cJSON *body = cJSON_CreateObject();
        cJSON *texts = body ? cJSON_AddArrayToObject(body, "texts") : NULL;
        cJSON *types = body ? cJSON_AddArrayToObject(body, "embedding_types") : NULL;
        int ok = texts && types && cJSON_AddItemToArray(types, cJSON_CreateString("float"));
        for (int i = 0; ok && i < count; i++)
            ok = cJSON_AddItemToArray(texts, cJSON_CreateString(input_at(arr, one, i)));
        ok =
            ok && cJSON_AddStringToObject(body, "input_type",
                                          cJSON_IsString(it) ? it->valuestring : "search_document");
        if (ok && cJSON_IsNumber(dims) && strstr(call->model, "embed-v4"))
            ok = cJSON_AddNumberToObject(body, "output_dimension", dims->valuedouble) != NULL;
        if (!ok) {
            cJSON_Delete(body);
            return AIGW_ENOMEM;
        }
        return send_json(call, body);
    }
    default:
        return bedrock_reject(call, AIGW_ENOTSUP,
                              "embeddings need an amazon.titan-embed-* or cohere.embed-* model");
    }
}

static int emit_tokens(struct aigw_call *call, int64_t tokens)
{
    if (tokens < 0)
        return 0;
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = tokens;
    u.completion_tokens = 0;
    return aigw_emit_usage(call, &u);
}

static int64_t header_count(struct aigw_call *call, const char *name)
{
    struct aigw_bytes v = call->host->response_header(call, name);
    char buf[32];
    if (!v.ptr || v.len == 0 || v.len >= sizeof buf)
        return -1;
    memcpy(buf, v.ptr, v.len);
    buf[v.len] = '\0';
    char *end;
    long long n = strtoll(buf, &end, 10);
    return *end || n < 0 ? -1 : (int64_t)n;
}

static int64_t num_or_header(struct aigw_call *call, const cJSON *root)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "inputTextTokenCount");
    if (cJSON_IsNumber(n) && n->valuedouble >= 0)
        return (int64_t)n->valuedouble;
    return header_count(call, "X-Amzn-Bedrock-Input-Token-Count");
}

int bedrock_embeddings_parse(struct aigw_call *call, struct aigw_bytes body)
{
    struct bedrock_state *st = call->state;
    const cJSON *root = call->host->json_parse(call, body);
    int rc;
    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;

    if (family_of(call->model) == FAM_COHERE) {
        const cJSON *emb = cJSON_GetObjectItemCaseSensitive(root, "embeddings");
        const cJSON *list =
            cJSON_IsArray(emb) ? emb : cJSON_GetObjectItemCaseSensitive(emb, "float");
        const cJSON *vec;
        int i = 0;
        if (!cJSON_IsArray(list))
            return AIGW_EPROTO;
        cJSON_ArrayForEach(vec, list)
        {
            if ((rc = aigw_emit_embedding_json(call, i++, vec, 0)) != 0)
                return rc;
        }
        return emit_tokens(call, header_count(call, "X-Amzn-Bedrock-Input-Token-Count"));
    }

    /* Titan: one vector per response; send the next input until all are done. */
    const cJSON *emb = cJSON_GetObjectItemCaseSensitive(root, "embedding");
    if ((rc = aigw_emit_embedding_json(call, st->embed_next, emb, 0)) != 0)
        return rc;
    int64_t t = num_or_header(call, root);
    if (t > 0)
        st->embed_tokens += t;
    const cJSON *arr;
    const char *one;
    int count;
    if ((rc = inputs(call, &arr, &one, &count)) != 0)
        return rc;
    if (++st->embed_next < count) {
        if ((rc = titan_request(call, input_at(arr, one, st->embed_next))) != 0)
            return rc;
        return AIGW_CONTINUE;
    }
    return emit_tokens(call, st->embed_tokens);
}
