/* The azure-openai plugin through the real loader, exchange and renderer
 * (fixtures: azure-openai/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/harness.h"
#include "plugins/testutil.h"

#define num(o, key) tu_num(o, key)
#define str(o, key) tu_str(o, key)
#define get(o, key) tu_get(o, key)

#define CANARY "sk-CANARY-1234"
#define SSE_HDR "Content-Type: text/event-stream\r\n"
#define JSON_HDR "Content-Type: application/json\r\n"
#define BASE "http://mock.invalid"

static void setup(void)
{
    ph_env("AZURE_OPENAI_API_KEY", CANARY, "AZURE_OPENAI_ENDPOINT",
           "https://gwtest.openai.azure.com/", "AZURE_OPENAI_DEPLOYMENT", "chat-4o",
           "AZURE_OPENAI_BASE_URL", BASE "/", NULL);
    ph_unenv("AZURE_OPENAI_API_VERSION", "AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT",
             "AZURE_OPENAI_IMAGES_DEPLOYMENT", NULL);
}

TestSuite(azure_openai, .init = setup);

static const char *CHAT_REQ = "{\"model\":\"azure-openai/gpt-4o\",\"max_tokens\":64,"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"parrot care?\"}]}";
static const char *STREAM_REQ = "{\"model\":\"gpt-4o\",\"stream\":true,"
                                "\"stream_options\":{\"include_usage\":true},"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void no_canary(struct ph_call *c)
{
    tu_no_secret(c, CANARY);
}

Test(azure_openai, chat_request)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c),
                     BASE "/openai/deployments/chat-4o/chat/completions?api-version=2024-10-21");
    cr_assert_str_eq(ph_header(c, "api-key"), CANARY);
    cr_assert_null(ph_header(c, "Authorization"));
    cJSON *b = ph_body_json(c);
    /* The deployment in the URL decides the model; the body carries none. */
    cr_assert_null(cJSON_GetObjectItem(b, "model"));
    cr_assert_eq(num(b, "max_tokens"), 64);
    cr_assert_eq(cJSON_GetArraySize(get(b, "messages")), 1);
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    ph_free(c);
}

Test(azure_openai, endpoint_without_base_url)
{
    ph_unenv("AZURE_OPENAI_BASE_URL", NULL);
    ph_env("AZURE_OPENAI_ENDPOINT", "https://gwtest.openai.azure.com/openai/",
           "AZURE_OPENAI_DEPLOYMENT", "my dep", "AZURE_OPENAI_API_VERSION", "2024-06-01", NULL);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, STREAM_REQ);
    cr_assert_str_eq(ph_url(c), "https://gwtest.openai.azure.com/openai/deployments/my%20dep/"
                                "chat/completions?api-version=2024-06-01");
    /* That api-version predates stream_options: never send it. */
    cr_assert_null(cJSON_GetObjectItem(ph_body_json(c), "stream_options"));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    ph_free(c);
}

Test(azure_openai, stream_request_asks_for_usage)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT,
                                 "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    cJSON *b = ph_body_json(c);
    cr_assert(cJSON_IsTrue(get(get(b, "stream_options"), "include_usage")));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    ph_free(c);
}

Test(azure_openai, v1_api)
{
    ph_env("AZURE_OPENAI_API_VERSION", "v1", NULL);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_url(c), BASE "/openai/v1/chat/completions");
    cr_assert_str_eq(str(ph_body_json(c), "model"), "chat-4o");
    ph_free(c);
}

/* api-versions before 2024-12-01-preview know no "developer" role ("Invalid value:
 * 'developer'. Supported values are: 'system', 'assistant', ..."): there it is the system
 * role it stands for; newer versions get it as sent. The client's body is left as it was. */
Test(azure_openai, developer_role_on_older_api_versions)
{
    static const char *req = "{\"model\":\"gpt-4o\",\"messages\":["
                             "{\"role\":\"developer\",\"content\":\"Be terse.\"},"
                             "{\"role\":\"user\",\"content\":\"hi\"}]}";
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, req);
    cJSON *m = cJSON_GetArrayItem(get(ph_body_json(c), "messages"), 0);
    cr_assert_str_eq(str(m, "role"), "system");
    cr_assert_str_eq(str(m, "content"), "Be terse.");
    ph_free(c);

    ph_env("AZURE_OPENAI_API_VERSION", "2025-04-01-preview", NULL);
    c = ph_begin("azure-openai", AIGW_OP_CHAT, req);
    m = cJSON_GetArrayItem(get(ph_body_json(c), "messages"), 0);
    cr_assert_str_eq(str(m, "role"), "developer");
    ph_free(c);
}

Test(azure_openai, reasoning_deployment_max_tokens_renamed)
{
    ph_env("AZURE_OPENAI_DEPLOYMENT", "o3-mini", NULL);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    cJSON *b = ph_body_json(c);
    cr_assert_null(cJSON_GetObjectItem(b, "max_tokens"));
    cr_assert_eq(num(b, "max_completion_tokens"), 64);
    ph_free(c);
}

/* The rule is shared with the openai plugin (plugins/common/reasoning.c): a fine-tuned
 * reasoning model's name refuses max_tokens too. */
Test(azure_openai, fine_tuned_reasoning_model_max_tokens_renamed)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT,
                                 "{\"model\":\"ft:o4-mini-2025-04-16:acme::b1\",\"max_tokens\":64,"
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    cJSON *b = ph_body_json(c);
    cr_assert_null(cJSON_GetObjectItem(b, "max_tokens"));
    cr_assert_eq(num(b, "max_completion_tokens"), 64);
    ph_free(c);
}

Test(azure_openai, chat_response)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "azure-openai/chat.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str(o, "id"), "chatcmpl-AZgw0001");
    cr_assert_str_eq(str(o, "model"), "gpt-4o-2024-11-20");
    const cJSON *ch = cJSON_GetArrayItem(get(o, "choices"), 0);
    cr_assert_str_eq(str(get(ch, "message"), "content"),
                     "Arr, a parrot needs a roomy cage and fresh fruit every day.");
    cr_assert_str_eq(str(ch, "finish_reason"), "stop");
    cr_assert_null(cJSON_GetObjectItem(o, "prompt_filter_results"));
    cr_assert_eq(num(get(o, "usage"), "prompt_tokens"), 31);
    cr_assert_eq(num(get(o, "usage"), "completion_tokens"), 15);
    cr_assert_eq(num(get(o, "usage"), "total_tokens"), 46);
    no_canary(c);
    ph_free(c);
}

static void check_text_stream(size_t split)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, STREAM_REQ);
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "azure-openai/stream_text.sse", split), 0);
    cr_assert_str_eq(ph_stream_text(c), "Ahoy, matey!", "split %zu", split);
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert(ph_sse_done(c));
    /* The prompt-filter event (id "") never becomes the response identity. */
    cJSON *ev = cJSON_GetArrayItem(ph_sse_events(c), 0);
    cr_assert_str_eq(str(ev, "id"), "chatcmpl-AZgwS001");
    cr_assert_str_eq(str(ev, "model"), "gpt-4o-2024-11-20");
    cr_assert_eq(num(ev, "created"), 1735690100);
    cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 12);
    cr_assert_eq(num(ph_usage(c), "completion_tokens"), 4);
    cr_assert_eq(num(ph_usage(c), "total_tokens"), 16);
    no_canary(c);
    ph_free(c);
}

Test(azure_openai, stream_text_whole)
{
    check_text_stream(0);
}

Test(azure_openai, stream_text_split_every_byte)
{
    check_text_stream(1);
}

static void check_tool_stream(size_t split)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, STREAM_REQ);
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "azure-openai/stream_tools.sse", split), 0);
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "call_azT1");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "lookup_order");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"order_id\":\"A-1009\"}");
    cr_assert_null(ph_stream_tool_name(c, 1));
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 64);
    cr_assert_eq(num(ph_usage(c), "completion_tokens"), 18);
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

Test(azure_openai, stream_tools_whole)
{
    check_tool_stream(0);
}

Test(azure_openai, stream_tools_split_every_byte)
{
    check_tool_stream(1);
}

Test(azure_openai, embeddings)
{
    ph_env("AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT", "embed-large", NULL);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_EMBEDDINGS,
                                 "{\"model\":\"text-embedding-3-large\",\"input\":\"hello\"}");
    cr_assert_str_eq(ph_url(c),
                     BASE "/openai/deployments/embed-large/embeddings?api-version=2024-10-21");
    cr_assert_str_eq(ph_header(c, "api-key"), CANARY);
    cr_assert_str_eq(str(ph_body_json(c), "input"), "hello");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "azure-openai/embeddings.json", 0), 0);
    cJSON *o = ph_output_json(c);
    const cJSON *e = get(cJSON_GetArrayItem(get(o, "data"), 0), "embedding");
    cr_assert_eq(cJSON_GetArraySize(e), 3);
    cr_assert_float_eq(cJSON_GetArrayItem(e, 2)->valuedouble, -0.125, 1e-9);
    cr_assert_eq(num(get(o, "usage"), "prompt_tokens"), 5);
    ph_free(c);
}

Test(azure_openai, embeddings_deployment_defaults_to_model)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_EMBEDDINGS,
                                 "{\"model\":\"azure-openai/text-embedding-3-small\","
                                 "\"input\":\"x\"}");
    cr_assert_str_eq(ph_url(c), BASE "/openai/deployments/text-embedding-3-small/embeddings"
                                     "?api-version=2024-10-21");
    ph_free(c);
}

Test(azure_openai, images)
{
    ph_env("AZURE_OPENAI_IMAGES_DEPLOYMENT", "dalle3", NULL);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_IMAGES,
                                 "{\"model\":\"dall-e-3\",\"prompt\":\"clippy in a hat\","
                                 "\"n\":1,\"style\":\"natural\"}");
    cr_assert_str_eq(ph_url(c),
                     BASE "/openai/deployments/dalle3/images/generations?api-version=2024-10-21");
    cr_assert_str_eq(str(ph_body_json(c), "style"), "natural");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "azure-openai/images.json", 0), 0);
    cJSON *o = ph_output_json(c);
    const cJSON *i0 = cJSON_GetArrayItem(get(o, "data"), 0);
    cr_assert_str_eq(str(i0, "url"), "https://gwtest.blob.core.windows.net/private/images/0001/"
                                     "generated_00.png?se=2025-01-02T00%3A00%3A00Z&sig=gw");
    cr_assert_str_eq(str(i0, "revised_prompt"),
                     "A friendly paperclip character wearing a small cowboy hat, flat "
                     "illustration.");
    ph_free(c);
}

Test(azure_openai, error_content_filter)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 400, JSON_HDR, "azure-openai/error_400_content_filter.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 400);
    cr_assert_str_eq(e->type, "invalid_request_error");
    cr_assert_str_eq(e->code, "content_filter");
    cr_assert_str_eq(e->param, "prompt");
    cr_assert_eq(e->retryable, 0);
    cr_assert_eq(ph_client_status(c), 400);
    const cJSON *err = get(ph_output_json(c), "error");
    cr_assert_str_eq(str(err, "code"), "content_filter");
    cr_assert_not_null(strstr(str(err, "message"), "content management policy"));
    ph_free(c);
}

Test(azure_openai, error_401)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 401, JSON_HDR, "azure-openai/error_401.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 401);
    cr_assert_str_eq(e->type, "authentication_error");
    cr_assert_str_eq(e->code, "invalid_api_key");
    cr_assert_eq(e->retryable, 0);
    cr_assert_eq(ph_client_status(c), 401);
    no_canary(c);
    ph_free(c);
}

Test(azure_openai, error_404_deployment)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 404, JSON_HDR, "azure-openai/error_404.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 404);
    cr_assert_str_eq(e->type, "not_found_error");
    cr_assert_str_eq(e->code, "DeploymentNotFound");
    cr_assert_eq(e->retryable, 0);
    ph_free(c);
}

Test(azure_openai, error_429_headers)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 429, JSON_HDR "retry-after: 7\r\nretry-after-ms: 6500\r\n",
                    "azure-openai/error_429.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 429);
    cr_assert_str_eq(e->type, "rate_limit_error");
    cr_assert_str_eq(e->code, "rate_limit_exceeded");
    cr_assert_eq(e->retryable, 1);
    cr_assert_eq(e->retry_after_ms, 6500);
    cr_assert_eq(ph_client_status(c), 429);
    ph_free(c);
}

Test(azure_openai, error_429_hint_in_message)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 429, JSON_HDR, "azure-openai/error_429.json", 0);
    cr_assert_eq(ph_error(c)->retry_after_ms, 7000);
    ph_free(c);
}

Test(azure_openai, error_500)
{
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 500, JSON_HDR, "azure-openai/error_500.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 500);
    cr_assert_str_eq(e->type, "server_error");
    cr_assert_str_eq(e->code, "InternalServerError");
    cr_assert_eq(e->retryable, 1);
    ph_free(c);
}

/* ---- conformance: ../shared/fixtures/providers/azure_openai ---------------------------- */

static char *shared_file(const char *name, size_t *len)
{
    const char *dir = getenv("AIGW_SHARED_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/azure_openai/%s", dir ? dir : "/nonexistent", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void need_shared(void)
{
    size_t n;
    char *s = shared_file("SOURCE.txt", &n);
    if (!s)
        cr_skip_test("shared fixtures absent");
    free(s);
}

/* The spec examples wrap the body: {"responses":{"200":{"body":...}}}. */
static char *spec_body(const char *name)
{
    size_t n;
    char *s = shared_file(name, &n);
    cr_assert_not_null(s, "%s missing", name);
    cJSON *j = cJSON_Parse(s);
    free(s);
    cr_assert_not_null(j);
    char *body = cJSON_PrintUnformatted(get(get(get(j, "responses"), "200"), "body"));
    cJSON_Delete(j);
    return body;
}

Test(azure_openai, conformance_spec_chat)
{
    need_shared();
    char *body = spec_body("spec_example_chat_completions.json");
    cJSON *rec = cJSON_Parse(body);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, strlen(body), 0), 0);
    cJSON *o = ph_output_json(c);
    const cJSON *rch = cJSON_GetArrayItem(get(rec, "choices"), 0);
    const cJSON *och = cJSON_GetArrayItem(get(o, "choices"), 0);
    cr_assert_str_eq(str(get(och, "message"), "content"), str(get(rch, "message"), "content"));
    cr_assert_str_eq(str(och, "finish_reason"), "stop");
    cr_assert_str_eq(str(o, "id"), str(rec, "id"));
    cr_assert_eq(num(get(o, "usage"), "prompt_tokens"), num(get(rec, "usage"), "prompt_tokens"));
    cr_assert_eq(num(get(o, "usage"), "completion_tokens"),
                 num(get(rec, "usage"), "completion_tokens"));
    cJSON_Delete(rec);
    free(body);
    ph_free(c);
}

Test(azure_openai, conformance_spec_images)
{
    need_shared();
    char *body = spec_body("spec_example_image_generation.json");
    cJSON *rec = cJSON_Parse(body);
    struct ph_call *c =
        ph_begin("azure-openai", AIGW_OP_IMAGES, "{\"model\":\"dall-e-3\",\"prompt\":\"clippy\"}");
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, strlen(body), 0), 0);
    const cJSON *r0 = cJSON_GetArrayItem(get(rec, "data"), 0);
    const cJSON *o0 = cJSON_GetArrayItem(get(ph_output_json(c), "data"), 0);
    cr_assert_str_eq(str(o0, "url"), str(r0, "url"));
    cr_assert_str_eq(str(o0, "revised_prompt"), str(r0, "revised_prompt"));
    cJSON_Delete(rec);
    free(body);
    ph_free(c);
}

Test(azure_openai, conformance_stream_with_content_filter)
{
    need_shared();
    size_t n;
    char *body = shared_file("stream_text_with_content_filter.sse", &n);
    cr_assert_not_null(body);
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, STREAM_REQ);
        cr_assert_eq(ph_respond(c, 200, SSE_HDR, body, n, split), 0);
        cr_assert_null(ph_error(c));
        cr_assert_str_eq(ph_stream_text(c), "Hi! How can I help?");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert_gt(strlen(str(cJSON_GetArrayItem(ph_sse_events(c), 0), "id")), 0);
        cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 23);
        cr_assert_eq(num(ph_usage(c), "completion_tokens"), 11);
        cr_assert(ph_sse_done(c));
        ph_free(c);
    }
    free(body);
}

Test(azure_openai, conformance_errors)
{
    need_shared();
    size_t n;
    char *body = shared_file("error_400_content_filter_docs_example.txt", &n);
    cr_assert_not_null(body);
    /* The published example is a JSON document after a prose line or two. */
    const char *json = strchr(body, '{');
    cr_assert_not_null(json);
    struct ph_call *c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond(c, 400, JSON_HDR, json, strlen(json), 0);
    cr_assert_eq(ph_error(c)->status, 400);
    cr_assert_str_eq(ph_error(c)->code, "content_filter");
    ph_free(c);
    free(body);

    body = shared_file("error_429_rate_limit_RECONSTRUCTED.json", &n);
    cr_assert_not_null(body);
    c = ph_begin("azure-openai", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond(c, 429, JSON_HDR "retry-after: 3\r\n", body, n, 0);
    cr_assert_eq(ph_error(c)->status, 429);
    cr_assert_eq(ph_error(c)->retryable, 1);
    cr_assert_eq(ph_error(c)->retry_after_ms, 3000);
    ph_free(c);
    free(body);
}
