/* The hugging-face plugin through the real loader, exchange and renderer (fixtures:
 * hugging-face/). */
#include <stdio.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define BASE "http://mock.invalid"
#define MODEL "meta-llama/Llama-3.1-8B-Instruct"
#define EMBED "sentence-transformers/all-MiniLM-L6-v2"
#define EMBED_URL BASE "/hf-inference/models/" EMBED "/pipeline/feature-extraction"

OC_SUITE(hugging_face, "HUGGING_FACE", BASE);

/* The router's routing suffix (":fastest") stays on the model. */
Test(hugging_face, chat_request_through_router)
{
    struct ph_call *c =
        oc_begin_file("hugging-face", AIGW_OP_CHAT, "hugging-face/request_full.json");
    cJSON *b = oc_request_is(c, BASE "/v1/chat/completions", AIGW_FRAMING_SSE, MODEL ":fastest");
    cr_assert_eq(oc_num(b, "max_tokens"), 64);
    oc_absent(b, "max_completion_tokens");
    cr_assert(cJSON_IsTrue(oc_get(oc_get(b, "stream_options"), "include_usage")));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(b, "messages"), 0), "role"), "system");
    ph_free(c);
}

/* The client's embeddings for `input` given this feature-extraction answer. */
static struct ph_call *embed(const char *input, const char *fixture)
{
    char req[512];
    struct ph_call *c;
    cJSON *b;
    snprintf(req, sizeof req, "{\"model\":\"" EMBED ":hf-inference\",\"input\":%s,\"user\":\"u\"}",
             input);
    c = ph_begin("hugging-face", AIGW_OP_EMBEDDINGS, req);
    b = oc_request_is(c, EMBED_URL, AIGW_FRAMING_JSON, NULL);
    cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(b, "inputs"));
    cr_assert_eq(cJSON_GetArraySize(b), 1, "only inputs goes upstream: %s", ph_body(c));
    ph_respond_file(c, 200, OC_JSON, fixture, 0);
    return c;
}

static void vector_is(struct ph_call *c, int index, const double *want, int n)
{
    const cJSON *item = cJSON_GetArrayItem(oc_get(ph_output_json(c), "data"), index);
    const cJSON *v = oc_get(item, "embedding");
    cr_assert_eq(oc_num(item, "index"), index);
    cr_assert_eq(cJSON_GetArraySize(v), n);
    for (int i = 0; i < n; i++)
        cr_assert_float_eq(cJSON_GetArrayItem(v, i)->valuedouble, want[i], 1e-9, "[%d]", i);
}

Test(hugging_face, embeddings_shapes)
{
    static const double one[] = {0.125, -0.25, 0.5, -1.0}, a[] = {0.1, 0.2, 0.3},
                        b[] = {-0.1, -0.2, -0.3}, pooled[] = {2.0, 2.0, 2.0};
    struct ph_call *c = embed("\"a sentence\"", "hugging-face/embeddings_one.json");
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    cr_assert_eq(cJSON_GetArraySize(oc_get(ph_output_json(c), "data")), 1);
    vector_is(c, 0, one, 4);
    oc_no_secret(c);
    ph_free(c);

    c = embed("[\"first\",\"second\"]", "hugging-face/embeddings_batch.json");
    cr_assert_eq(cJSON_GetArraySize(oc_get(ph_output_json(c), "data")), 2);
    vector_is(c, 0, a, 3);
    vector_is(c, 1, b, 3);
    ph_free(c);

    /* Token vectors: mean-pooled into one sentence vector. */
    c = embed("\"three tokens\"", "hugging-face/embeddings_tokens.json");
    vector_is(c, 0, pooled, 3);
    ph_free(c);

    /* One vector for three inputs is a broken answer. */
    c = embed("[\"x\",\"y\",\"z\"]", "hugging-face/embeddings_batch.json");
    cr_assert_eq(ph_client_status(c), 502, "%s", ph_output(c));
    ph_free(c);
}

Test(hugging_face, embeddings_text_only)
{
    int rc = 0;
    struct ph_call *c = ph_begin_rc("hugging-face", AIGW_OP_EMBEDDINGS,
                                    "{\"model\":\"" EMBED "\",\"input\":[[101,2023,102]]}", &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

OC_EXPECTATION_TESTS(hugging_face, "hugging-face")
