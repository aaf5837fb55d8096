/* The azure-foundry plugin through the real loader, exchange and renderer
 * (fixtures: azure-foundry/). */
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
    ph_env("AZURE_FOUNDRY_API_KEY", CANARY, "AZURE_FOUNDRY_ENDPOINT",
           "https://gwtest.services.ai.azure.com", "AZURE_FOUNDRY_BASE_URL", BASE, NULL);
    ph_unenv("AZURE_FOUNDRY_API_VERSION", NULL);
}

TestSuite(azure_foundry, .init = setup);

static const char *CHAT_REQ = "{\"model\":\"azure-foundry/Phi-4-mini-instruct\","
                              "\"max_completion_tokens\":32,\"messages\":[{\"role\":\"user\","
                              "\"content\":\"2+2?\"}]}";
static const char *STREAM_REQ = "{\"model\":\"Phi-4-mini-instruct\",\"stream\":true,"
                                "\"stream_options\":{\"include_usage\":true},"
                                "\"messages\":[{\"role\":\"user\",\"content\":\"colors\"}]}";

static void no_canary(struct ph_call *c)
{
    tu_no_secret(c, CANARY);
}

Test(azure_foundry, chat_request)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), BASE "/models/chat/completions?api-version=2024-05-01-preview");
    cr_assert_str_eq(ph_header(c, "api-key"), CANARY);
    cr_assert_null(ph_header(c, "Authorization"));
    cJSON *b = ph_body_json(c);
    /* The deployment travels in the body. */
    cr_assert_str_eq(str(b, "model"), "Phi-4-mini-instruct");
    /* The Model Inference API defines max_tokens only. */
    cr_assert_eq(num(b, "max_tokens"), 32);
    cr_assert_null(cJSON_GetObjectItem(b, "max_completion_tokens"));
    cr_assert_null(cJSON_GetObjectItem(b, "stream_options"));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    ph_free(c);
}

Test(azure_foundry, endpoint_forms)
{
    ph_unenv("AZURE_FOUNDRY_BASE_URL", NULL);
    ph_env("AZURE_FOUNDRY_API_VERSION", "2025-05-01", NULL);
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_url(c), "https://gwtest.services.ai.azure.com/models/chat/completions"
                                "?api-version=2025-05-01");
    ph_free(c);

    ph_env("AZURE_FOUNDRY_ENDPOINT", "https://gwtest.services.ai.azure.com/models/", NULL);
    c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_url(c), "https://gwtest.services.ai.azure.com/models/chat/completions"
                                "?api-version=2025-05-01");
    ph_free(c);

    /* Serverless per-model endpoints serve the routes at the root. */
    ph_env("AZURE_FOUNDRY_ENDPOINT", "https://phi4-gw.eastus2.models.ai.azure.com", NULL);
    c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_url(c), "https://phi4-gw.eastus2.models.ai.azure.com/chat/completions"
                                "?api-version=2025-05-01");
    ph_free(c);
}

Test(azure_foundry, stream_request)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT,
                                 "{\"model\":\"Phi-4-mini-instruct\",\"stream\":true,"
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    cJSON *b = ph_body_json(c);
    cr_assert(cJSON_IsTrue(get(get(b, "stream_options"), "include_usage")));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    ph_free(c);
}

Test(azure_foundry, chat_response)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "azure-foundry/chat.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str(o, "id"), "7d0c1f0e-5b8a-4c31-9a57-gwtest000001");
    cr_assert_str_eq(str(o, "model"), "Phi-4-mini-instruct");
    cr_assert_eq(num(o, "created"), 1735690400);
    const cJSON *ch = cJSON_GetArrayItem(get(o, "choices"), 0);
    cr_assert_str_eq(str(get(ch, "message"), "content"), "Two plus two equals four.");
    cr_assert_null(cJSON_GetObjectItem(get(ch, "message"), "tool_calls"));
    cr_assert_str_eq(str(ch, "finish_reason"), "stop");
    cr_assert_eq(num(get(o, "usage"), "prompt_tokens"), 11);
    cr_assert_eq(num(get(o, "usage"), "completion_tokens"), 7);
    cr_assert_eq(num(get(o, "usage"), "total_tokens"), 18);
    no_canary(c);
    ph_free(c);
}

static void check_text_stream(size_t split)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, STREAM_REQ);
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "azure-foundry/stream_text.sse", split), 0);
    cr_assert_str_eq(ph_stream_text(c), "Red, green, blue.", "split %zu", split);
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cJSON *ev = cJSON_GetArrayItem(ph_sse_events(c), 0);
    cr_assert_str_eq(str(ev, "id"), "5e2f3a10-gwtest-000002");
    cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 9);
    cr_assert_eq(num(ph_usage(c), "completion_tokens"), 6);
    cr_assert(ph_sse_done(c));
    no_canary(c);
    ph_free(c);
}

Test(azure_foundry, stream_text_whole)
{
    check_text_stream(0);
}

Test(azure_foundry, stream_text_split_every_byte)
{
    check_text_stream(1);
}

static void check_tool_stream(size_t split)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, STREAM_REQ);
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "azure-foundry/stream_tools.sse", split), 0);
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "call_fdry01");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "list_files");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"dir\":\"/tmp\"}");
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 150);
    cr_assert_eq(num(ph_usage(c), "completion_tokens"), 21);
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

Test(azure_foundry, stream_tools_whole)
{
    check_tool_stream(0);
}

Test(azure_foundry, stream_tools_split_every_byte)
{
    check_tool_stream(1);
}

Test(azure_foundry, embeddings)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_EMBEDDINGS,
                                 "{\"model\":\"embed-v-4-0\",\"input\":[\"x\"]}");
    cr_assert_str_eq(ph_url(c), BASE "/models/embeddings?api-version=2024-05-01-preview");
    cr_assert_str_eq(str(ph_body_json(c), "model"), "embed-v-4-0");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "azure-foundry/embeddings.json", 0), 0);
    cJSON *o = ph_output_json(c);
    const cJSON *e = get(cJSON_GetArrayItem(get(o, "data"), 0), "embedding");
    cr_assert_eq(cJSON_GetArraySize(e), 3);
    cr_assert_float_eq(cJSON_GetArrayItem(e, 1)->valuedouble, 0.2, 1e-9);
    cr_assert_eq(num(get(o, "usage"), "prompt_tokens"), 4);
    ph_free(c);
}

Test(azure_foundry, error_401)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 401, JSON_HDR, "azure-foundry/error_401.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 401);
    cr_assert_str_eq(e->type, "authentication_error");
    cr_assert_str_eq(e->code, "invalid_api_key");
    cr_assert_not_null(strstr(e->message, "Access denied"));
    cr_assert_eq(e->retryable, 0);
    cr_assert_eq(ph_client_status(c), 401);
    no_canary(c);
    ph_free(c);
}

Test(azure_foundry, error_404)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 404, JSON_HDR, "azure-foundry/error_404.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 404);
    cr_assert_str_eq(e->type, "not_found_error");
    cr_assert_str_eq(e->code, "unknown_model");
    cr_assert_str_eq(e->message, "Unknown model: Phi-9-imaginary");
    ph_free(c);
}

Test(azure_foundry, error_429_retry_after)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    ph_respond_file(c, 429, JSON_HDR "Retry-After: 30\r\n", "azure-foundry/error_429.json", 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 429);
    cr_assert_str_eq(e->type, "rate_limit_error");
    cr_assert_str_eq(e->code, "RateLimitReached");
    cr_assert_eq(e->retryable, 1);
    cr_assert_eq(e->retry_after_ms, 30000);
    ph_free(c);
}

Test(azure_foundry, error_503_html)
{
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, CHAT_REQ);
    const char *html = "<!DOCTYPE html><html><body>Service Unavailable</body></html>";
    ph_respond(c, 503, "Content-Type: text/html\r\n", html, strlen(html), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_eq(e->status, 503);
    cr_assert_str_eq(e->type, "server_error");
    cr_assert_str_eq(e->message, "upstream returned HTTP 503");
    cr_assert_eq(e->retryable, 1);
    cr_assert_null(strstr(ph_output(c), "DOCTYPE"));
    ph_free(c);
}

/* ---- conformance: ../shared/fixtures/providers/azure_ai_foundry ------------------------ */

static char *shared_file(const char *name, size_t *len)
{
    const char *dir = getenv("AIGW_SHARED_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/azure_ai_foundry/%s", dir ? dir : "/nonexistent", name);
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

static struct ph_call *replay(const char *req, const char *name, int status, const char *hdr,
                              size_t split)
{
    size_t n;
    char *body = shared_file(name, &n);
    cr_assert_not_null(body, "%s missing", name);
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, req);
    ph_respond(c, status, hdr, body, n, split);
    free(body);
    return c;
}

Test(azure_foundry, conformance_recorded_request_shape)
{
    need_shared();
    size_t n;
    char *s = shared_file("models_chat_response.request.json", &n);
    cr_assert_not_null(s);
    struct ph_call *c = ph_begin("azure-foundry", AIGW_OP_CHAT, s);
    cJSON *rec = cJSON_Parse(s);
    cJSON *b = ph_body_json(c);
    cr_assert_str_eq(str(b, "model"), str(rec, "model"));
    cr_assert_eq(cJSON_GetArraySize(get(b, "messages")), cJSON_GetArraySize(get(rec, "messages")));
    cr_assert_str_eq(ph_url(c), BASE "/models/chat/completions?api-version=2024-05-01-preview");
    cJSON_Delete(rec);
    free(s);
    ph_free(c);
}

Test(azure_foundry, conformance_chat)
{
    need_shared();
    struct ph_call *c = replay(CHAT_REQ, "models_chat_response.json", 200, JSON_HDR, 0);
    cJSON *o = ph_output_json(c);
    const cJSON *ch = cJSON_GetArrayItem(get(o, "choices"), 0);
    cr_assert_str_eq(str(get(ch, "message"), "content"), "4");
    cr_assert_str_eq(str(ch, "finish_reason"), "stop");
    cr_assert_eq(num(get(o, "usage"), "prompt_tokens"), 7);
    cr_assert_eq(num(get(o, "usage"), "completion_tokens"), 1);
    ph_free(c);
}

Test(azure_foundry, conformance_streams)
{
    need_shared();
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = replay(STREAM_REQ, "models_chat_stream_text.sse", 200, SSE_HDR, split);
        cr_assert_null(ph_error(c));
        cr_assert_str_eq(ph_stream_text(c), "1, 2, 3.");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 7);
        cr_assert_eq(num(ph_usage(c), "completion_tokens"), 8);
        cr_assert(ph_sse_done(c));
        ph_free(c);

        c = replay(STREAM_REQ, "models_chat_stream_tool_call.sse", 200, SSE_HDR, split);
        cr_assert_str_eq(ph_stream_tool_name(c, 0), "best_language_to_learn");
        cr_assert_str_eq(ph_stream_tool_args(c, 0), "{}");
        cr_assert_str_eq(ph_stream_tool_id(c, 0), "call_39096608");
        cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
        cr_assert_eq(num(ph_usage(c), "prompt_tokens"), 205);
        cr_assert_eq(num(ph_usage(c), "completion_tokens"), 18);
        ph_free(c);
    }
}

Test(azure_foundry, conformance_error_401)
{
    need_shared();
    struct ph_call *c = replay(CHAT_REQ, "models_error_401.json", 401, JSON_HDR, 0);
    cr_assert_eq(ph_error(c)->status, 401);
    cr_assert_str_eq(ph_error(c)->type, "authentication_error");
    cr_assert_not_null(strstr(ph_error(c)->message, "Access denied"));
    cr_assert_eq(ph_client_status(c), 401);
    ph_free(c);
}
