/*
 * POST /v1/responses/input_tokens through the real aigw binary: the answer's shape for string
 * and item input; instructions and tools counted; a previous_response_id chain expanded from
 * the store; an Anthropic target counted natively through the mock; an OpenAI-wire target
 * estimated with no upstream call; errors in the Responses shape (a bad body, no model, an
 * unknown model, no gateway key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define KEY "sk-e2e-itokens-0001"
#define PATH "/v1/responses/input_tokens"
#define ALICE "Authorization: Bearer alice-key"

#define ITEMS                                                                                      \
    "[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\","              \
    "\"text\":\"Fix the crash in main.c\"}]},"                                                     \
    "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"shell\","                       \
    "\"arguments\":\"{\\\"cmd\\\":\\\"cat main.c\\\"}\"},"                                         \
    "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"int main(){}\"},"      \
    "{\"type\":\"message\",\"role\":\"user\",\"content\":\"Now add a test\"}]"
#define TOOLS                                                                                      \
    "\"tools\":[{\"type\":\"function\",\"name\":\"shell\",\"description\":\"Runs a shell "         \
    "command in the sandbox and returns what it printed\",\"parameters\":{\"type\":\"object\","    \
    "\"properties\":{\"cmd\":{\"type\":\"string\"}}}}]"

static const char *s_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct mock *mock_both(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":"
                                        "\"/v1/messages/count_tokens\",\"body\":"
                                        "{\"input_tokens\":4321}}"),
                 0);
    return m;
}

static struct e2e_gw *gw_for(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=" KEY,
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        "ANTHROPIC_API_KEY=sk-ant-e2e-itokens",
                        e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), NULL);
}

/* The count a 200 answer holds, its shape checked. */
static long long count(struct e2e_gw *gw, const char *body, const char *headers)
{
    struct e2e_resp *r = e2e_post(gw, PATH, body, headers);
    cr_assert_eq(r->status, 200, "%s -> %s", body, r->body);
    const cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j, "%s", r->body);
    cr_assert_str_eq(s_of(j, "object"), "response.input_tokens", "%s", r->body);
    const cJSON *n = cJSON_GetObjectItem(j, "input_tokens");
    cr_assert(cJSON_IsNumber(n) && n->valuedouble >= 1, "%s", r->body);
    cr_assert_eq(cJSON_GetArraySize(j), 2, "nothing else: %s", r->body);
    long long v = (long long)n->valuedouble;
    e2e_resp_free(r);
    return v;
}

/* An error answer in the Responses shape: {"error":{"message","type","param","code"}}. */
static void assert_error(struct e2e_gw *gw, const char *body, const char *headers, int status,
                         const char *param)
{
    struct e2e_resp *r = e2e_post(gw, PATH, body, headers);
    cr_assert_eq(r->status, status, "%s -> %s", body, r->body);
    const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    cr_assert(cJSON_IsObject(e), "%s", r->body);
    cr_assert_not_null(s_of(e, "message"), "%s", r->body);
    cr_assert_not_null(s_of(e, "type"), "%s", r->body);
    cr_assert(cJSON_HasObjectItem(e, "param") && cJSON_HasObjectItem(e, "code"), "%s", r->body);
    if (param)
        cr_assert_str_eq(s_of(e, "param"), param, "%s", r->body);
    e2e_resp_free(r);
}

Test(input_tokens_e2e, estimated_for_string_and_items_with_instructions_and_tools)
{
    struct mock *m = mock_both();
    struct e2e_gw *gw = gw_for(m, NULL);
    long long plain =
        count(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"Hello there\"}", NULL);
    long long items = count(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":" ITEMS "}", NULL);
    cr_assert_gt(items, plain, "four items hold more than two words");
    long long ins = count(gw,
                          "{\"model\":\"openai/gpt-4o-mini\",\"input\":" ITEMS ",\"instructions\":"
                          "\"You are a careful engineer. Run the tests before you answer.\"}",
                          NULL);
    cr_assert_gt(ins, items, "instructions are counted");
    long long tools =
        count(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":" ITEMS "," TOOLS "}", NULL);
    cr_assert_gt(tools, items, "tools are counted");
    /* The other fields a count takes are read, not refused; stream and store change nothing. */
    long long all = count(gw,
                          "{\"model\":\"openai/gpt-4o-mini\",\"input\":" ITEMS "," TOOLS
                          ",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,"
                          "\"reasoning\":{\"effort\":\"low\"},\"text\":{\"format\":{\"type\":"
                          "\"text\"}},\"truncation\":\"auto\",\"stream\":true}",
                          NULL);
    cr_assert_eq(all, tools, "the same input, the same count");
    cr_assert_eq(mock_request_count(m), 0, "an estimate asks no upstream");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(input_tokens_e2e, previous_response_id_counts_the_stored_turn)
{
    struct mock *m = mock_both();
    struct e2e_gw *gw = gw_for(m, NULL);
    struct e2e_resp *r =
        e2e_post(gw, "/v1/responses",
                 "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"First question\"}", ALICE);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char *id = strdup(s_of(e2e_resp_json(r), "id"));
    e2e_resp_free(r);
    long long alone =
        count(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"Second question\"}", ALICE);
    long long chained = count(gw,
                              e2e_strf("{\"model\":\"openai/gpt-4o-mini\",\"previous_response_id\":"
                                       "\"%s\",\"input\":\"Second question\"}",
                                       id),
                              ALICE);
    /* the stored turn: "First question" (2+) and the answer, one message each (3 apiece) */
    cr_assert_geq(chained, alone + 8, "the chain is counted: %lld vs %lld", chained, alone);
    /* only the previous response alone is input enough */
    count(gw, e2e_strf("{\"model\":\"openai/gpt-4o-mini\",\"previous_response_id\":\"%s\"}", id),
          ALICE);
    /* another key's chain is not found, as on /v1/responses */
    assert_error(gw,
                 e2e_strf("{\"model\":\"openai/gpt-4o-mini\",\"previous_response_id\":\"%s\","
                          "\"input\":\"x\"}",
                          id),
                 "Authorization: Bearer mallory-key", 400, "previous_response_id");
    cr_assert_eq(mock_request_count(m), 1, "only the stored turn went upstream");
    /* a count is no response: nothing more was stored (the chain still has one turn) */
    struct e2e_resp *g = e2e_get(gw, e2e_strf("/v1/responses/%s/input_items?limit=100", id), ALICE);
    cr_assert_eq(g->status, 200, "%s", g->body);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(e2e_resp_json(g), "data")), 1, "%s",
                 g->body);
    e2e_resp_free(g);
    free(id);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(input_tokens_e2e, an_anthropic_target_counts_natively)
{
    struct mock *m = mock_both();
    struct e2e_gw *gw = gw_for(m, NULL);
    long long n = count(gw,
                        "{\"model\":\"anthropic/claude-sonnet-4-5\",\"instructions\":\"Be "
                        "brief.\",\"input\":" ITEMS "," TOOLS ",\"stream\":true}",
                        NULL);
    cr_assert_eq(n, 4321, "Anthropic's own count");
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_str_eq(mock_req_path(q), "/v1/messages/count_tokens");
    const cJSON *up = mock_req_json(q);
    cr_assert_str_eq(s_of(up, "model"), "claude-sonnet-4-5");
    cr_assert_null(cJSON_GetObjectItem(up, "max_tokens"), "count_tokens refuses it");
    cr_assert_null(cJSON_GetObjectItem(up, "stream"), "%s", mock_req_body(q));
    cr_assert_not_null(cJSON_GetObjectItem(up, "system"), "%s", mock_req_body(q));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(up, "tools")), 1, "%s", mock_req_body(q));
    cr_assert(strstr(mock_req_body(q), "Now add a test"), "%s", mock_req_body(q));
    mock_req_free(q);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(input_tokens_e2e, errors_in_the_responses_shape)
{
    struct mock *m = mock_both();
    struct e2e_gw *gw = gw_for(m, "{\"auth\":{\"api_keys\":[\"gw-key-itokens-1\"]}}");
    const char *key = "Authorization: Bearer gw-key-itokens-1";
    count(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"Hi\"}", key);
    assert_error(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":\"Hi\"}", NULL, 401, NULL);
    assert_error(gw, "{\"model\":", key, 400, NULL);
    assert_error(gw, "[1,2]", key, 400, NULL);
    assert_error(gw, "{\"input\":\"Hi\"}", key, 400, "model");
    assert_error(gw, "{\"model\":\"openai/gpt-4o-mini\"}", key, 400, "input");
    assert_error(gw, "{\"model\":\"openai/gpt-4o-mini\",\"input\":42}", key, 400, "input");
    assert_error(gw, "{\"model\":\"no-such-model-anywhere\",\"input\":\"Hi\"}", key, 404, NULL);
    /* the other methods on the path: the stored-response routes answer, not a count */
    struct e2e_resp *r = e2e_get(gw, PATH, key);
    cr_assert_eq(r->status, 404, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0, "no bad request reached an upstream");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
