/*
 * Anthropic Messages end to end: the real aigw binary, Anthropic clients' requests over
 * loopback, the mock provider as an OpenAI-wire, a Gemini and an Anthropic upstream (streams
 * and messages, tools and a tool_result turn), count_tokens, the model list, errors in
 * Anthropic's shape, routing (aliases, X-Provider, fallback) and the access log. Every answer
 * is read as the SDKs read it (tests/front/anth_check.c); what the mock received is checked
 * too. The Claude Code recording in ../shared/fixtures/inbound is replayed when present (read
 * in place, never copied).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"
#include "front/anth_test.h"

#define AHDR "anthropic-version: 2023-06-01\nx-api-key: client-key-ignored"

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static struct mock *mock_all(void)
{
    struct mock *m = e2e_mock("anthropic_inbound");
    cr_assert_eq(mock_load_scenario(m, "openai_chat"), 0);
    return m;
}

static struct e2e_gw *gw_for(struct mock *m, const char *config)
{
    return e2e_gw_start(
        config, "OPENAI_API_KEY=sk-test-openai", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
        "ANTHROPIC_API_KEY=sk-ant-test-gateway", e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)),
        "GEMINI_API_KEY=test-gemini-key", e2e_strf("GEMINI_BASE_URL=%s", mock_url(m)), NULL);
}

/* A request fixture with its model (and stream flag) replaced. */
static char *body_of(const char *name, const char *model, int stream)
{
    char rel[256];
    snprintf(rel, sizeof rel, "anthropic-inbound/requests/%s.json", name);
    char *s = at_read(rel, NULL);
    cJSON *j = cJSON_Parse(s);
    free(s);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "model", cJSON_CreateString(model));
    cJSON_DeleteItemFromObjectCaseSensitive(j, "stream");
    cJSON_AddBoolToObject(j, "stream", stream);
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

/* The stream read as the SDK reads it; returns the assembled message. */
static cJSON *read_stream(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_not_null(strstr(e2e_resp_header(r, "Content-Type"), "text/event-stream"));
    struct at_stream st;
    char why[256];
    cr_assert_eq(at_check_sse(r->body, r->body_len, &st, why, sizeof why), 0, "%s\n%s", why,
                 r->body);
    cr_assert_gt(st.start_input + st.start_cache, 0, "message_start without input tokens");
    return st.message;
}

static cJSON *read_message(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *m = cJSON_Parse(r->body);
    char why[256];
    cr_assert_eq(at_check_message(m, why, sizeof why), 0, "%s\n%s", why, r->body);
    return m;
}

static const cJSON *block(const cJSON *m, const char *type, int nth)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, get(m, "content"))
    {
        if (!strcmp(jstr(b, "type"), type) && nth-- == 0)
            return b;
    }
    return NULL;
}

static const struct mock_req *last_request(struct mock *m)
{
    const struct mock_req *q = mock_request(m, -1);
    cr_assert_not_null(q);
    return q;
}

/* ---- an OpenAI-wire target ---------------------------------------------------------------- */

Test(anthropic_e2e, openai_target_stream_with_tools_and_a_tool_result_turn)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, NULL);
    char *body = body_of("tool_turn", "openai/gpt-4o-mini", 1);
    struct e2e_resp *r = e2e_stream(gw, "/v1/messages?beta=true", body, AHDR, NULL);
    cJSON *msg = read_stream(r);
    const cJSON *tu = block(msg, "tool_use", 0);
    cr_assert_not_null(tu, "%s", r->body);
    cr_assert_str_eq(jstr(get(tu, "input"), "city"), "Paris");
    cr_assert_str_eq(jstr(msg, "stop_reason"), "tool_use");
    cr_assert_eq(num(get(msg, "usage"), "input_tokens"), 61, "the upstream's count at the end");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");

    /* upstream: chat with the tool turn in chat's order, usage asked for */
    const struct mock_req *q = last_request(m);
    cr_assert_str_eq(mock_req_path(q), "/v1/chat/completions");
    cr_assert_str_eq(mock_req_header(q, "authorization"), "Bearer sk-test-openai");
    const cJSON *up = mock_req_json(q), *msgs = get(up, "messages");
    const cJSON *asst = cJSON_GetArrayItem(msgs, 1);
    const cJSON *call = cJSON_GetArrayItem(get(asst, "tool_calls"), 1);
    const cJSON *answer = cJSON_GetArrayItem(msgs, 3);
    cr_assert_str_eq(jstr(answer, "role"), "tool");
    cr_assert_str_eq(jstr(answer, "tool_call_id"), jstr(call, "id"));
    cr_assert(cJSON_IsTrue(get(get(up, "stream_options"), "include_usage")));
    cr_assert_null(get(up, "thinking"));
    mock_req_free(q);
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);

    /* the same turn, not streamed */
    body = body_of("tool_turn", "openai/gpt-4o-mini", 0);
    r = e2e_post(gw, "/v1/messages", body, AHDR);
    msg = read_message(r);
    cr_assert_str_eq(jstr(get(block(msg, "tool_use", 0), "input"), "unit"), "celsius");
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* ---- a native (translated) target: Gemini ----------------------------------------------- */

Test(anthropic_e2e, gemini_target_stream_and_message)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, NULL);
    char *body = body_of("tool_turn", "gemini/gemini-2.5-flash", 1);
    struct e2e_resp *r = e2e_stream(gw, "/v1/messages", body, AHDR, NULL);
    cJSON *msg = read_stream(r);
    cr_assert_not_null(block(msg, "thinking", 0));
    cr_assert_str_eq(jstr(block(msg, "tool_use", 1), "name"), "get_tide");
    cr_assert_str_eq(jstr(msg, "stop_reason"), "tool_use");
    const struct mock_req *q = last_request(m);
    cr_assert_not_null(strstr(mock_req_path(q), ":streamGenerateContent"));
    /* the tool_result turn reached Gemini as function responses */
    char *up = cJSON_PrintUnformatted(mock_req_json(q));
    cr_assert_not_null(strstr(up, "functionResponse"), "%s", up);
    free(up);
    mock_req_free(q);
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);

    body = body_of("tool_turn", "gemini/gemini-2.5-flash", 0);
    r = e2e_post(gw, "/v1/messages", body, AHDR);
    msg = read_message(r);
    cr_assert_str_eq(jstr(block(msg, "tool_use", 0), "name"), "train_times");
    cr_assert_str_eq(jstr(block(msg, "text", 0), "text"), "Let me check both timetables.");
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* ---- an Anthropic target: the client's body out, the upstream's message back ---------------- */

Test(anthropic_e2e, anthropic_target_is_a_pass_through)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, NULL);
    char *body = body_of("claude_code", "anthropic/claude-sonnet-4-5", 1);
    struct e2e_resp *r = e2e_stream(
        gw, "/v1/messages?beta=true", body,
        AHDR "\nanthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14", NULL);
    cJSON *msg = read_stream(r);
    size_t len;
    char *up_sse = at_read("anthropic-inbound/upstream/native_search.sse", &len);
    struct at_stream st;
    char why[256];
    cr_assert_eq(at_check_sse(up_sse, len, &st, why, sizeof why), 0, "%s", why);
    cr_assert(cJSON_Compare(get(msg, "content"), get(st.message, "content"), 1),
              "the upstream's blocks did not survive:\n%s", r->body);
    cr_assert_str_eq(jstr(msg, "id"), "msg_01TestNativeSearch7777777");
    cJSON_Delete(st.message);
    free(up_sse);

    const struct mock_req *q = last_request(m);
    cr_assert_str_eq(mock_req_path(q), "/v1/messages");
    cr_assert_str_eq(mock_req_header(q, "x-api-key"), "sk-ant-test-gateway");
    cr_assert_str_eq(mock_req_header(q, "anthropic-beta"),
                     "claude-code-20250219,interleaved-thinking-2025-05-14");
    cJSON *want = cJSON_Parse(body);
    cJSON_ReplaceItemInObjectCaseSensitive(want, "model", cJSON_CreateString("claude-sonnet-4-5"));
    cr_assert(cJSON_Compare(mock_req_json(q), want, 1), "upstream body: %s", mock_req_body(q));
    cJSON_Delete(want);
    mock_req_free(q);
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);

    body = body_of("tool_turn", "anthropic/claude-sonnet-4-5", 0);
    r = e2e_post(gw, "/v1/messages", body, AHDR);
    msg = read_message(r);
    char *fx = at_read("anthropic/chat_tool_use.json", NULL);
    cJSON *theirs = cJSON_Parse(fx);
    cJSON *b;
    cJSON_ArrayForEach(b, get(theirs, "content"))
        cJSON_DeleteItemFromObjectCaseSensitive(b, "caller");
    cr_assert(cJSON_Compare(get(msg, "content"), get(theirs, "content"), 1), "%s", r->body);
    cJSON_Delete(theirs);
    free(fx);
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

Test(anthropic_e2e, count_tokens_exact_or_estimated)
{
    struct mock *m = mock_all();
    /* priced, so that a charge would show in X-Gateway-Cost */
    struct e2e_gw *gw =
        gw_for(m, "{\"catalog\":{\"overrides\":[{\"provider\":\"anthropic\",\"model\":"
                  "\"claude-sonnet-4-5\",\"mode\":\"chat\",\"in\":3,\"out\":15}]}}");
    char *body = body_of("claude_code", "anthropic/claude-sonnet-4-5", 0);
    struct e2e_resp *r = e2e_post(gw, "/v1/messages/count_tokens?beta=true", body, AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_eq(num(e2e_resp_json(r), "input_tokens"), 4321, "Anthropic counted: %s", r->body);
    const struct mock_req *q = last_request(m);
    cr_assert_str_eq(mock_req_path(q), "/v1/messages/count_tokens");
    cr_assert_null(get(mock_req_json(q), "max_tokens"));
    mock_req_free(q);
    /* Anthropic does not bill a count: it costs the caller nothing either */
    const char *cost = e2e_resp_header(r, "X-Gateway-Cost");
    cr_assert(!cost || strtod(cost, NULL) == 0, "a count was charged %s", cost);
    e2e_resp_free(r);
    free(body);

    int before = mock_request_count(m);
    body = body_of("claude_code", "openai/gpt-4o-mini", 0);
    r = e2e_post(gw, "/v1/messages/count_tokens", body, AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_gt(num(e2e_resp_json(r), "input_tokens"), 100, "an estimate: %s", r->body);
    cr_assert_eq(mock_request_count(m), before, "a chat provider is not asked to count");
    e2e_resp_free(r);
    free(body);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* A count_tokens request a target cannot count is answered by the estimate, with no upstream
 * call: when that target's breaker is half-open, the probe its route claimed goes back, and
 * the next request probes it instead of a 503 circuit_open for a whole cooldown. */
Test(anthropic_e2e, an_estimated_count_gives_a_half_open_probe_back)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/messages\","
                                        "\"match_body\":{\"model\":\"claude-slow\"},"
                                        "\"headers_delay_ms\":1100,"
                                        "\"body_file\":\"anthropic/chat.json\"}"),
                 0);
    cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
    cr_assert_eq(mock_load_scenario(m, "openai_chat"), 0);
    struct e2e_gw *gw = gw_for(m, "{\"routing\":{\"circuit_breaker\":{\"failure_threshold\":1,"
                                  "\"cooldown_ms\":1000}}}");
    char *flaky = body_of("basic", "openai/mock-500-once", 0);
    struct e2e_resp *r = e2e_post(gw, "/v1/messages", flaky, AHDR);
    cr_assert_eq(r->status, 500, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, "circuit breaker open for openai:", 5000), 0);
    /* Another provider's slow answer outlasts the cooldown: openai may be probed now. */
    char *body = body_of("basic", "anthropic/claude-slow", 0);
    r = e2e_post(gw, "/v1/messages", body, AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    free(body);
    int before = mock_request_count(m);
    r = e2e_post(gw, "/v1/messages/count_tokens", flaky, AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_eq(mock_request_count(m), before, "estimated, not asked");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", flaky, AHDR);
    cr_assert_eq(r->status, 200, "openai's probe: %s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    e2e_resp_free(r);
    free(flaky);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* ---- Claude Code ------------------------------------------------------------------------- */

static void claude_code_round(struct e2e_gw *gw, struct mock *m, const char *body,
                              const char *headers)
{
    struct e2e_resp *r = e2e_stream(gw, "/v1/messages?beta=true", body, headers, NULL);
    cJSON *msg = read_stream(r);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    const struct mock_req *q = last_request(m);
    const cJSON *up = mock_req_json(q);
    cr_assert_str_eq(jstr(up, "model"), "gpt-4o-mini");
    cr_assert_gt(cJSON_GetArraySize(get(up, "tools")), 0);
    cr_assert_null(get(up, "thinking"));
    cr_assert_null(get(up, "context_management"));
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(get(up, "messages"), 0), "role"), "system");
    mock_req_free(q);
    cJSON_Delete(msg);
    e2e_resp_free(r);

    /* count_tokens, as Claude Code calls it, with the same body */
    cJSON *j = cJSON_Parse(body);
    static const char *const gone[] = {"max_tokens", "stream", "metadata", "context_management",
                                       NULL};
    for (int i = 0; gone[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(j, gone[i]);
    char *count = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    r = e2e_post(gw, "/v1/messages/count_tokens?beta=true", count, headers);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_gt(num(e2e_resp_json(r), "input_tokens"), 0);
    e2e_resp_free(r);
    free(count);
}

#define CC_CONFIG "{\"routing\":{\"aliases\":{\"claude-sonnet-4-5\":\"openai/gpt-4o-mini\"}}}"

Test(anthropic_e2e, claude_code_shape_to_an_openai_wire_target)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, CC_CONFIG);
    char *body = body_of("claude_code", "claude-sonnet-4-5", 1);
    claude_code_round(gw, m, body,
                      AHDR "\nanthropic-beta: claude-code-20250219\nx-app: cli\n"
                           "X-Claude-Code-Session-Id: 6c0a9d1e-2f3b-4c5d-8e9f-0a1b2c3d4e5f");
    free(body);
    cr_assert_eq(e2e_gw_wait_log(gw, "\"path\":\"/v1/messages\"", 5000), 0,
                 "no access log line for /v1/messages");
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* The real recording: body and headers (Authorization was removed by the recorder). */
Test(anthropic_e2e, claude_code_recording)
{
    const char *prov = getenv("AIGW_SHARED_FIXTURES");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/../inbound", prov ? prov : "/nonexistent");
    snprintf(path, sizeof path, "%s/claude-code-2.1.328.messages.request.json", dir);
    if (access(path, R_OK) != 0)
        cr_skip_test("the shared Claude Code recording is not here (%s)", path);
    FILE *f = fopen(path, "rb");
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        gw_buf_append(&b, tmp, n);
    fclose(f);
    gw_buf_append(&b, "", 0);
    snprintf(path, sizeof path, "%s/claude-code-2.1.328.messages.request.http.json", dir);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    n = fread(tmp, 1, sizeof tmp - 1, f);
    tmp[n] = '\0';
    fclose(f);
    cJSON *http = cJSON_Parse(tmp), *h;
    cr_assert_not_null(strstr(jstr(http, "path"), "?beta=true"));
    struct gw_buf hdrs;
    gw_buf_init(&hdrs, 0);
    cJSON_ArrayForEach(h, get(http, "headers"))
    {
        /* curl sets its own framing and encodings */
        if (!strcasecmp(h->string, "Connection") || !strcasecmp(h->string, "Accept-Encoding") ||
            !strcasecmp(h->string, "Content-Length"))
            continue;
        gw_buf_append_strs(&hdrs, hdrs.len ? "\n" : "", h->string, ": ", h->valuestring, NULL);
    }
    cJSON_Delete(http);

    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, CC_CONFIG);
    claude_code_round(gw, m, b.ptr, hdrs.ptr);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
    gw_buf_free(&b);
    gw_buf_free(&hdrs);
}

/* ---- errors, routing, models -------------------------------------------------------------- */

static void assert_error(struct e2e_resp *r, int status, const char *type)
{
    cr_assert_eq(r->status, status, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_str_eq(jstr(j, "type"), "error", "%s", r->body);
    cr_assert_str_eq(jstr(get(j, "error"), "type"), type, "%s", r->body);
    cr_assert_not_null(jstr(get(j, "error"), "message"));
}

Test(anthropic_e2e, errors_in_anthropic_shape)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, "{\"auth\":{\"api_keys\":[\"gw-key-123456\"]},"
                                  "\"routing\":{\"retry\":{\"max_attempts\":1}}}");
    const char *ok = "anthropic-version: 2023-06-01\nx-api-key: gw-key-123456";
    const char *bearer = "anthropic-version: 2026-10-21\nAuthorization: Bearer gw-key-123456";
    const char *simple = "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":10,\"messages\":"
                         "[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    struct e2e_resp *r = e2e_post(gw, "/v1/messages", simple, "anthropic-version: 2023-06-01");
    assert_error(r, 401, "authentication_error");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", simple, ok);
    cr_assert_eq(r->status, 200, "x-api-key carries the gateway key: %s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", simple, bearer);
    cr_assert_eq(r->status, 200, "so does Authorization: Bearer (2026-10-21 SDKs): %s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", "{\"model\":", ok);
    assert_error(r, 400, "invalid_request_error");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages",
                 "{\"model\":\"nobody/serves-this\",\"max_tokens\":5,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"x\"}]}",
                 ok);
    assert_error(r, 404, "not_found_error");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages",
                 "{\"model\":\"anthropic/claude-overloaded\",\"max_tokens\":5,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"x\"}]}",
                 ok);
    cr_assert_geq(r->status, 500);
    assert_error(r, r->status, "overloaded_error");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages",
                 "{\"model\":\"openai/mock-429\",\"max_tokens\":5,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"x\"}]}",
                 ok);
    assert_error(r, 429, "rate_limit_error");
    cr_assert_not_null(e2e_resp_header(r, "Retry-After"));
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* A Messages request of an image of n base64 bytes; the caller frees it. */
static char *image_request(size_t n)
{
    static const char head[] =
        "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":10,\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":\"base64\","
        "\"media_type\":\"image/png\",\"data\":\"";
    static const char tail[] = "\"}},{\"type\":\"text\",\"text\":\"What is it?\"}]}]}";
    char *s = malloc(sizeof head + n + sizeof tail);
    cr_assert_not_null(s);
    memcpy(s, head, sizeof head - 1);
    memset(s + sizeof head - 1, 'A', n);
    memcpy(s + sizeof head - 1 + n, tail, sizeof tail);
    return s;
}

/* Anthropic takes Messages bodies up to 32 MB, and Claude Code sends screenshots and PDFs
 * inline: with no max_body_bytes set, a 12 MB body goes through (it was refused 413 when the
 * default was 8 MiB) and one past 32 MiB is refused in Anthropic's shape. */
Test(anthropic_e2e, bodies_up_to_anthropics_32_mb_are_taken_by_default)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, "{}");
    char *body = image_request((size_t)12 << 20);
    struct e2e_resp *r = e2e_post(gw, "/v1/messages", body, AHDR);
    free(body);
    cJSON_Delete(read_message(r));
    e2e_resp_free(r);
    const struct mock_req *q = last_request(m);
    cr_assert_gt(mock_req_body_len(q), (size_t)12 << 20, "the image reached the upstream");
    mock_req_free(q);
    body = image_request((size_t)32 << 20);
    r = e2e_post(gw, "/v1/messages", body, AHDR);
    free(body);
    assert_error(r, 413, "request_too_large");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

Test(anthropic_e2e, routing_x_provider_and_fallback)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, "{\"routing\":{\"aliases\":{\"claude-haiku-4-5\":["
                                  "\"anthropic/claude-overloaded\",\"openai/gpt-4o-mini\"]}}}");
    char *body = body_of("basic", "claude-haiku-4-5", 1);
    struct e2e_resp *r = e2e_stream(gw, "/v1/messages", body, AHDR, NULL);
    cJSON *msg = read_stream(r);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai",
                     "fell back before the first byte");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    cJSON_Delete(msg);
    e2e_resp_free(r);
    free(body);
    cr_assert_eq(e2e_gw_wait_log(gw, "\"tried\":\"anthropic:", 5000), 0);

    body = body_of("basic", "gemini-2.5-flash", 0);
    r = e2e_post(gw, "/v1/messages", body, AHDR "\nX-Provider: gemini");
    cJSON_Delete(read_message(r));
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "gemini");
    e2e_resp_free(r);
    free(body);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* An Anthropic upstream that reported its message_start (5000 tokens written to the cache)
 * and then failed, by an overloaded event or a cut connection, before anything reached the
 * client: the fallback's answer is the one the client gets, so its usage and its price are
 * the OpenAI-wire target's alone (14 prompt tokens, no cache write), not a merge with what
 * the failed attempt said. */
#define CACHE_START                                                                                \
    "event: message_start\\ndata: {\\\"type\\\":\\\"message_start\\\",\\\"message\\\":"            \
    "{\\\"id\\\":\\\"msg_failed\\\",\\\"type\\\":\\\"message\\\",\\\"role\\\":\\\"assistant\\\","  \
    "\\\"model\\\":\\\"claude-cache\\\",\\\"content\\\":[],\\\"stop_reason\\\":null,"              \
    "\\\"stop_sequence\\\":null,\\\"usage\\\":{\\\"input_tokens\\\":3,"                            \
    "\\\"cache_creation_input_tokens\\\":5000,\\\"cache_read_input_tokens\\\":0,"                  \
    "\\\"output_tokens\\\":1}}}\\n\\n"

Test(anthropic_e2e, a_fallback_answers_with_its_own_usage_and_price)
{
    static const char *failed[] = {
        "\"body\":\"" CACHE_START "event: error\\ndata: {\\\"type\\\":\\\"error\\\",\\\"error\\\":"
        "{\\\"type\\\":\\\"overloaded_error\\\",\\\"message\\\":\\\"Overloaded\\\"}}\\n\\n\"",
        "\"body\":\"" CACHE_START "event: ping\\ndata: {\\\"type\\\":\\\"ping\\\"}\\n\\n\","
        "\"close_after_chunks\":1",
    };
    for (size_t i = 0; i < sizeof failed / sizeof failed[0]; i++) {
        struct mock *m = e2e_mock(NULL);
        const char *route = e2e_strf("{\"name\":\"cache-fail\",\"method\":\"POST\","
                                     "\"path\":\"/v1/messages\",\"match_body\":{\"model\":"
                                     "\"claude-cache\"},\"headers\":{\"content-type\":"
                                     "\"text/event-stream\"},%s}",
                                     failed[i]);
        cr_assert_eq(mock_add_route_json(m, route), 0, "%s", route);
        cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
        cr_assert_eq(mock_load_scenario(m, "openai_chat"), 0);
        /* Prices the failed attempt's cache writes would show in: 100 per 1M written. */
        struct e2e_gw *gw = gw_for(
            m, "{\"routing\":{\"aliases\":{\"cached\":[\"anthropic/claude-cache\","
               "\"openai/gpt-4o-mini\"]}},\"catalog\":{\"overrides\":["
               "{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\",\"mode\":\"chat\",\"in\":1,"
               "\"out\":2,\"cache_write\":100}]}}");
        char *body = body_of("basic", "cached", 1);
        struct e2e_resp *r = e2e_stream(gw, "/v1/messages", body, AHDR, NULL);
        cJSON *msg = read_stream(r);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai", "case %zu", i);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
        const cJSON *u = get(msg, "usage");
        cr_assert_eq(num(u, "cache_creation_input_tokens"), 0, "case %zu: %s", i, r->body);
        cr_assert_eq(num(u, "input_tokens"), 14, "case %zu: %s", i, r->body);
        cr_assert_eq(num(u, "output_tokens"), 16, "case %zu: %s", i, r->body);
        cr_assert_null(strstr(r->body, "msg_failed"), "the failed attempt's id: %s", r->body);
        /* 14 x 1 + 16 x 2 per 1M tokens: no cache write priced. */
        cr_assert_eq(e2e_gw_wait_log(gw, "\"cost_usd\":0.00004600", 5000), 0, "case %zu: %s", i,
                     e2e_gw_log(gw));
        cr_assert_eq(mock_route_hits(m, "cache-fail"), 1);
        cJSON_Delete(msg);
        e2e_resp_free(r);
        free(body);
        cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
        mock_stop(m);
    }
}

Test(anthropic_e2e, models_list_and_head_probe)
{
    struct mock *m = mock_all();
    struct e2e_gw *gw = gw_for(m, NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models?limit=1000", "anthropic-version: 2023-06-01");
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    const cJSON *first = cJSON_GetArrayItem(get(j, "data"), 0);
    cr_assert_str_eq(jstr(first, "type"), "model", "%s", r->body);
    cr_assert_not_null(jstr(first, "display_name"));
    cr_assert_not_null(jstr(first, "created_at"));
    cr_assert(cJSON_IsBool(get(j, "has_more")));
    cr_assert_str_eq(jstr(j, "first_id"), jstr(first, "id"));
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models", NULL);
    cr_assert_str_eq(jstr(e2e_resp_json(r), "object"), "list", "OpenAI clients keep theirs");
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/nobody/none", "anthropic-version: 2023-06-01");
    assert_error(r, 404, "not_found_error");
    e2e_resp_free(r);
    r = e2e_request("HEAD", e2e_strf("%s/", e2e_gw_url(gw)), NULL, NULL, 0);
    cr_assert_eq(r->status, 200);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}
