/*
 * End-to-end tests of the answer to a path aigw has no endpoint for. A base URL set one
 * segment off is the commonest first-day mistake (ANTHROPIC_BASE_URL ending in /v1 makes
 * Claude Code post to /v1/v1/messages; an OpenAI client without /v1 posts to
 * /chat/completions): the 404 names the endpoint that was meant and what the base URL should
 * be, in the error shape the caller's SDK reads, and echoes nothing of the path.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define ANTHROPIC_HDR "anthropic-version: 2023-06-01\n"
#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define CANARY "sk-CANARY-r0ute-8c2e51f0"

static struct e2e_gw *start(void)
{
    return e2e_gw_start(NULL, "OPENAI_API_KEY=" CANARY, "ANTHROPIC_API_KEY=sk-ant-test", NULL);
}

/* Anthropic's shape: {"type":"error","error":{"type":"not_found_error","message":...}}; the
 * message is returned (owned by r). */
static const char *anthropic_404(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 404, "%s", r->body);
    cJSON *doc = e2e_resp_json(r);
    cr_assert_not_null(doc, "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "type")->valuestring, "error", "%s", r->body);
    cJSON *err = cJSON_GetObjectItem(doc, "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "type")->valuestring, "not_found_error");
    return cJSON_GetObjectItem(err, "message")->valuestring;
}

/* OpenAI's shape: {"error":{"message","type","param","code":"unknown_route"}}. */
static const char *openai_404(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 404, "%s", r->body);
    cJSON *doc = e2e_resp_json(r);
    cr_assert_not_null(doc, "%s", r->body);
    cr_assert_null(cJSON_GetObjectItem(doc, "type"), "%s", r->body);
    cJSON *err = cJSON_GetObjectItem(doc, "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "code")->valuestring, "unknown_route");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "type")->valuestring, "not_found_error");
    return cJSON_GetObjectItem(err, "message")->valuestring;
}

Test(routes, a_doubled_v1_from_claude_code_names_v1_messages_in_anthropics_shape)
{
    struct e2e_gw *gw = start();
    struct e2e_resp *r = e2e_post(gw, "/v1/v1/messages?beta=true", "{}", ANTHROPIC_HDR);
    const char *msg = anthropic_404(r);
    cr_assert(strstr(msg, "did you mean /v1/messages?"), "%s", msg);
    cr_assert(strstr(msg, "base URL is the gateway's address, without /v1"), "%s", msg);
    e2e_resp_free(r);
    /* The same for its model list and its token counts. */
    r = e2e_get(gw, "/v1/v1/models", ANTHROPIC_HDR);
    msg = anthropic_404(r);
    cr_assert(strstr(msg, "did you mean /v1/models?"), "%s", msg);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/v1/messages/count_tokens", "{}", ANTHROPIC_HDR);
    msg = anthropic_404(r);
    cr_assert(strstr(msg, "did you mean /v1/messages/count_tokens?"), "%s", msg);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(routes, an_openai_client_without_v1_is_told_its_base_url_ends_in_v1)
{
    struct e2e_gw *gw = start();
    struct e2e_resp *r = e2e_post(gw, "/chat/completions", CHAT, NULL);
    const char *msg = openai_404(r);
    cr_assert(strstr(msg, "did you mean /v1/chat/completions?"), "%s", msg);
    cr_assert(strstr(msg, "lacks /v1"), "%s", msg);
    cr_assert(strstr(msg, "followed by /v1"), "%s", msg);
    e2e_resp_free(r);
    r = e2e_post(gw, "/responses", "{}", NULL);
    msg = openai_404(r);
    cr_assert(strstr(msg, "did you mean /v1/responses?"), "%s", msg);
    e2e_resp_free(r);
    /* A prefix endpoint is named as one. */
    r = e2e_get(gw, "/responses/resp_123", NULL);
    msg = openai_404(r);
    cr_assert(strstr(msg, "did you mean /v1/responses/...?"), "%s", msg);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(routes, a_path_under_another_gateways_prefix_names_the_endpoint_and_echoes_nothing)
{
    struct e2e_gw *gw = start();
    struct e2e_resp *r = e2e_post(gw, "/openai/v1/chat/completions", CHAT, NULL);
    const char *msg = openai_404(r);
    cr_assert(strstr(msg, "did you mean /v1/chat/completions?"), "%s", msg);
    cr_assert(strstr(msg, "extra part in front"), "%s", msg);
    e2e_resp_free(r);
    /* A key pasted into the path (here the provider key aigw holds) is not repeated in the
     * answer. */
    r = e2e_post(gw, "/" CANARY "/v1/chat/completions", CHAT, "X-Request-ID: route-canary\n");
    msg = openai_404(r);
    cr_assert(strstr(msg, "did you mean /v1/chat/completions?"), "%s", msg);
    cr_assert_null(strstr(r->body, "CANARY"), "%s", r->body);
    cr_assert_null(strstr(r->headers, "CANARY"), "%s", r->headers);
    e2e_resp_free(r);
    /* Nor in the access log line of that request (redacted there as everywhere). */
    cr_assert_eq(e2e_gw_wait_log(gw, "route-canary", 5000), 0, "%s", e2e_gw_log(gw));
    cr_assert_null(strstr(e2e_gw_log(gw), CANARY), "%s", e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(routes, a_doubled_or_trailing_slash_is_named_as_such)
{
    struct e2e_gw *gw = start();
    /* A base URL ending in "/" joined to "/chat/completions", and its mirror image. */
    const char *paths[] = {"/v1//chat/completions", "//v1/chat/completions",
                           "/v1/chat/completions/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct e2e_resp *r = e2e_post(gw, paths[i], CHAT, NULL);
        const char *msg = openai_404(r);
        cr_assert(strstr(msg, "did you mean /v1/chat/completions? The path has a doubled or "
                              "trailing slash"),
                  "%s: %s", paths[i], msg);
        e2e_resp_free(r);
    }
    struct e2e_resp *r = e2e_post(gw, "/v1//messages", "{}", ANTHROPIC_HDR);
    const char *msg = anthropic_404(r);
    cr_assert(strstr(msg, "did you mean /v1/messages? The path has a doubled"), "%s", msg);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}

Test(routes, no_guess_says_only_no_such_endpoint_in_the_callers_shape)
{
    struct e2e_gw *gw = start();
    struct e2e_resp *r = e2e_post(gw, "/v1/nowhere", CHAT, NULL);
    cr_assert_str_eq(openai_404(r), "no such endpoint");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/message", "{}", ANTHROPIC_HDR);
    cr_assert_str_eq(anthropic_404(r), "no such endpoint");
    e2e_resp_free(r);
    /* Not the admin API's nor a local endpoint's path: only those a client's base URL
     * reaches (/health is answered, but /x/health names nothing). */
    r = e2e_get(gw, "/x/health", NULL);
    cr_assert_str_eq(openai_404(r), "no such endpoint");
    e2e_resp_free(r);
    /* A path the gateway does answer, with another method, is still a 405. */
    r = e2e_request("PUT", e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), CHAT, NULL, 0);
    cr_assert_eq(r->status, 405, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
}
