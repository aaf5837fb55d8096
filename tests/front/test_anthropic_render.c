/*
 * test_anthropic_render - the Anthropic dialect's answer side: chunk scripts (the project's
 * own, tests/fixtures/anthropic-inbound/render/) rendered as a stream and as a message,
 * golden-tested, and every output checked the way the official SDKs read it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/anth_test.h"
#include "front/anthropic.h"
#include "lib/redact.h"

#define STREAM_REQ                                                                                 \
    "{\"model\":\"claude-test\",\"max_tokens\":100,\"stream\":true,"                               \
    "\"tools\":[{\"name\":\"mcp__a_very_long_server_name_for_tests__and_an_even_longer_tool_name"  \
    "\",\"input_schema\":{\"type\":\"object\"}}],"                                                 \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}"
#define DOC_REQ                                                                                    \
    "{\"model\":\"claude-test\",\"max_tokens\":100,"                                               \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Hello there\"}]}"

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        cur = cJSON_GetObjectItemCaseSensitive(cur, k);
    return cJSON_IsNumber(cur) ? cur->valuedouble : -1;
}

/* Renders render/<name>.chunks.json as a stream (checked, golden <name>.sse) and as a message
 * (checked, golden <name>.json). Returns the stream's assembled message and the document. */
static void render_both(const char *name, struct at_stream *st, cJSON **doc)
{
    char rel[256];
    snprintf(rel, sizeof rel, "anthropic-inbound/render/%s.chunks.json", name);
    char *script = at_read(rel, NULL);
    struct gw_parsed ps, pd;
    struct gw_front_err err;
    cr_assert_eq(at_parse(STREAM_REQ, NULL, NULL, &ps, &err), 0, "%s", err.message);
    cr_assert_eq(at_parse(DOC_REQ, NULL, NULL, &pd, &err), 0, "%s", err.message);

    size_t n;
    char *sse = at_render_script(&ps, script, &n);
    char why[256];
    cr_assert_eq(at_check_sse(sse, n, st, why, sizeof why), 0, "%s: %s\n%s", name, why, sse);
    snprintf(rel, sizeof rel, "anthropic-inbound/render/%s.sse", name);
    at_golden(rel, sse, n);

    *doc = NULL;
    if (!st->error_type[0]) { /* a failed answer that is not a stream is an error document */
        char *json = at_render_script(&pd, script, &n);
        *doc = cJSON_ParseWithLength(json, n);
        cr_assert_not_null(*doc, "%s: not JSON: %s", name, json);
        cr_assert_eq(at_check_message(*doc, why, sizeof why), 0, "%s: %s\n%s", name, why, json);
        snprintf(rel, sizeof rel, "anthropic-inbound/render/%s.json", name);
        at_golden(rel, json, n);
        free(json);
    }
    free(sse);
    free(script);
    gw_parsed_free(&ps);
    gw_parsed_free(&pd);
}

/* The stream and the message say the same thing (as the SDK's finalMessage() would). */
static void assert_same_content(const struct at_stream *st, const cJSON *doc)
{
    cr_assert(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(st->message, "content"),
                            cJSON_GetObjectItemCaseSensitive(doc, "content"), 1),
              "stream and message content differ");
    cr_assert_str_eq(jstr(st->message, "stop_reason"), jstr(doc, "stop_reason"));
}

Test(anthropic_render, text)
{
    struct at_stream st;
    cJSON *doc;
    render_both("text", &st, &doc);
    assert_same_content(&st, doc);
    const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "content"), 0);
    cr_assert_str_eq(jstr(b, "text"), "Hello, wörld \"quoted\"\n", "other choices are ignored");
    cr_assert_str_eq(jstr(doc, "stop_reason"), "end_turn");
    cr_assert_str_eq(jstr(doc, "model"), "claude-test", "the client's model is echoed");
    cr_assert_eq(strncmp(jstr(doc, "id"), "msg_req_test", 12), 0, "chat ids never leak");
    /* message_start carried the estimate (nothing reported yet); the end the real numbers */
    cr_assert_gt(st.start_input, 0);
    cr_assert_eq(num(st.message, "usage.input_tokens"), 30);
    cr_assert_eq(num(st.message, "usage.output_tokens"), 5);
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, interleaved_parallel_tools_get_their_own_blocks)
{
    struct at_stream st;
    cJSON *doc;
    render_both("tools_interleaved", &st, &doc);
    assert_same_content(&st, doc);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(doc, "content");
    cr_assert_eq(cJSON_GetArraySize(content), 5); /* thinking, text, three tool_use */
    const cJSON *th = cJSON_GetArrayItem(content, 0);
    cr_assert_str_eq(jstr(th, "thinking"), "Let me check both.");
    cr_assert_eq(strncmp(jstr(th, "signature"), GW_ANTH_SIG_PREFIX, 5), 0);
    const cJSON *read = cJSON_GetArrayItem(content, 2), *bash = cJSON_GetArrayItem(content, 3);
    cr_assert_str_eq(jstr(read, "name"), "Read");
    cr_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(read, "input"), "file_path"), "/a b");
    cr_assert_str_eq(jstr(bash, "name"), "Bash");
    cr_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(bash, "input"), "command"), "ls -l");
    /* a foreign id becomes one that is unique to this answer, and the next turn keeps it */
    const char *bid = jstr(bash, "id");
    char id[65];
    gw_anth_tool_id(bid, strlen(bid), NULL, 0, id);
    cr_assert_str_eq(bid, id, "the next turn would map the id differently");
    cr_assert_eq(strncmp(bid, "toolu_functionsBash1_", 21), 0, "%s", bid);
    cr_assert_str_eq(jstr(read, "id"), "call_8f3kLq2mZx7Yt1Rw", "a long valid id is kept");
    const char *gen = jstr(cJSON_GetArrayItem(content, 4), "id");
    cr_assert_eq(strncmp(gen, "toolu_", 6), 0, "a call without an id gets one: %s", gen);
    cr_assert_str_eq(jstr(doc, "stop_reason"), "tool_use");
    /* cache reads are not input tokens in Anthropic's terms */
    cr_assert_eq(num(doc, "usage.input_tokens"), 200);
    cr_assert_eq(num(doc, "usage.cache_read_input_tokens"), 1000);
    cr_assert_eq(num(st.message, "usage.input_tokens"), 200);
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, native_blocks_survive)
{
    struct at_stream st;
    cJSON *doc;
    render_both("native", &st, &doc);
    assert_same_content(&st, doc);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(doc, "content");
    static const char *const types[] = {
        "thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result", "text",
        "text",     "tool_use"};
    cr_assert_eq(cJSON_GetArraySize(content), 7);
    for (int i = 0; i < 7; i++)
        cr_assert_str_eq(jstr(cJSON_GetArrayItem(content, i), "type"), types[i], "block %d", i);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(content, 0), "signature"), "EqQBTestSig==");
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(content, 1), "data"), "EmwKTestRedacted");
    const cJSON *cited = cJSON_GetArrayItem(content, 4);
    cr_assert_str_eq(jstr(cited, "text"), "Oslo");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cited, "citations")), 1);
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(content, 5), "text"), " is big.");
    cr_assert_str_eq(jstr(doc, "stop_reason"), "pause_turn", "the upstream's own reason");
    cr_assert_str_eq(jstr(doc, "id"), "msg_01UpstreamNative", "an Anthropic id is kept");
    /* real numbers from the first byte: the upstream reported them before its content */
    cr_assert_eq(st.start_input, 2210);
    cr_assert_eq(num(doc, "usage.output_tokens"), 55);
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, error_after_the_first_byte)
{
    gw_redact_register("sk-ant-api03-SECRETSECRETSECRET");
    struct at_stream st;
    cJSON *doc;
    render_both("error_mid", &st, &doc);
    cr_assert_str_eq(st.error_type, "overloaded_error");
    cr_assert_eq(st.pings, 1);
    char *sse = at_read("anthropic-inbound/render/error_mid.sse", NULL);
    cr_assert_null(strstr(sse, "SECRETSECRET"), "a secret reached the client");
    cr_assert_null(strstr(sse, "message_stop"), "a failed stream has no message_stop");
    free(sse);
    gw_redact_reset();
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, refusal_and_pings_only_after_message_start)
{
    struct at_stream st;
    cJSON *doc;
    render_both("heartbeat", &st, &doc);
    assert_same_content(&st, doc);
    cr_assert_eq(st.pings, 1, "the heartbeat before message_start wrote nothing");
    cr_assert_str_eq(jstr(doc, "stop_reason"), "refusal");
    cr_assert_gt(num(doc, "usage.output_tokens"), 0, "estimated when nothing was reported");
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, max_tokens)
{
    struct at_stream st;
    cJSON *doc;
    render_both("length", &st, &doc);
    assert_same_content(&st, doc);
    cr_assert_str_eq(jstr(doc, "stop_reason"), "max_tokens");
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, empty_answer_is_still_a_message)
{
    struct at_stream st;
    cJSON *doc;
    render_both("empty", &st, &doc);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "content")), 0);
    cr_assert_str_eq(jstr(doc, "stop_reason"), "end_turn");
    cr_assert_gt(num(doc, "usage.input_tokens"), 0);
    cJSON_Delete(st.message);
    cJSON_Delete(doc);
}

Test(anthropic_render, long_tool_name_maps_back)
{
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(at_parse(STREAM_REQ, NULL, NULL, &p, &err), 0);
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p.body, "tools"), 0), "function");
    const char *mapped = jstr(fn, "name");
    char script[512];
    snprintf(script, sizeof script,
             "[{\"tool\":{\"index\":0,\"id\":\"c1\",\"name\":\"%s\",\"args\":\"{}\"}}]", mapped);
    size_t n;
    char *sse = at_render_script(&p, script, &n);
    struct at_stream st;
    char why[256];
    cr_assert_eq(at_check_sse(sse, n, &st, why, sizeof why), 0, "%s", why);
    const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(st.message, "content"), 0);
    cr_assert_str_eq(jstr(b, "name"),
                     "mcp__a_very_long_server_name_for_tests__and_an_even_longer_tool_name");
    cr_assert_str_eq(jstr(st.message, "stop_reason"), "tool_use");
    cJSON_Delete(st.message);
    free(sse);
    gw_parsed_free(&p);
}

/* Tool slots are allocated as indexes arrive: far-apart indexes, the highest first, each keep
 * their own arguments, in the order they came, in the stream and in the message alike. */
Test(anthropic_render, sparse_tool_indexes_keep_their_own_arguments)
{
    static const char script[] =
        "[{\"tool\":{\"index\":127,\"id\":\"c127\",\"name\":\"Read\",\"args\":\"{\\\"a\\\":\"}},"
        "{\"tool\":{\"index\":0,\"id\":\"c0\",\"name\":\"Bash\",\"args\":\"{\\\"b\\\":\"}},"
        "{\"tool\":{\"index\":9,\"id\":\"c9\",\"name\":\"Grep\",\"args\":\"{\\\"c\\\":3}\"}},"
        "{\"tool\":{\"index\":127,\"args\":\"1}\"}},{\"tool\":{\"index\":0,\"args\":\"2}\"}},"
        "{\"finish\":\"tool_calls\"}]";
    static const char *const names[] = {"Read", "Bash", "Grep"}, *const keys[] = {"a", "b", "c"};
    for (int stream = 0; stream < 2; stream++) {
        struct gw_parsed p;
        struct gw_front_err err;
        cr_assert_eq(at_parse(stream ? STREAM_REQ : DOC_REQ, NULL, NULL, &p, &err), 0);
        size_t n;
        char *out = at_render_script(&p, script, &n);
        struct at_stream st;
        char why[256];
        cJSON *doc = NULL;
        if (stream) {
            cr_assert_eq(at_check_sse(out, n, &st, why, sizeof why), 0, "%s", why);
            doc = st.message;
        } else {
            doc = cJSON_ParseWithLength(out, n);
            cr_assert_eq(at_check_message(doc, why, sizeof why), 0, "%s\n%s", why, out);
        }
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(doc, "content");
        cr_assert_eq(cJSON_GetArraySize(content), 3, "%s", out);
        for (int i = 0; i < 3; i++) {
            const cJSON *b = cJSON_GetArrayItem(content, i);
            cr_assert_str_eq(jstr(b, "name"), names[i]);
            cr_assert_eq(num(cJSON_GetObjectItemCaseSensitive(b, "input"), keys[i]), i + 1, "%s",
                         out);
        }
        cJSON_Delete(doc);
        free(out);
        gw_parsed_free(&p);
    }
    /* 128 is past the last slot: refused, nothing written past the slots */
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(at_parse(DOC_REQ, NULL, NULL, &p, &err), 0);
    void *r = gw_dialect_anthropic.render_new(&p, "m", "req_test");
    struct gw_buf out;
    gw_buf_init(&out, 0);
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
    c.tool_index = 128;
    c.name = aigw_bytes_of("Read");
    cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), AIGW_EINVAL);
    gw_dialect_anthropic.render_free(r);
    gw_buf_free(&out);
    gw_parsed_free(&p);
}

Test(anthropic_render, count_tokens_answer)
{
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(at_parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello "
                          "there\"}]}",
                          "/v1/messages/count_tokens", NULL, &p, &err),
                 0);
    size_t n;
    char *est = at_render_script(&p, "[]", &n);
    cr_assert_str_eq(est, "{\"input_tokens\":7}", "the estimate when the target cannot count");
    free(est);
    char *exact = at_render_script(&p, "[{\"usage\":{\"prompt\":1234}}]", &n);
    cr_assert_str_eq(exact, "{\"input_tokens\":1234}", "the target's own count");
    free(exact);
    gw_parsed_free(&p);
}

Test(anthropic_render, models_in_anthropic_shape)
{
    const char *list = "{\"object\":\"list\",\"data\":[{\"id\":\"anthropic/claude-x\",\"object\":"
                       "\"model\",\"created\":1765000000,\"owned_by\":\"anthropic\"},{\"id\":"
                       "\"fast\",\"object\":\"model\",\"created\":1765000000}]}";
    struct gw_buf b;
    gw_buf_init(&b, 0);
    cr_assert_eq(gw_dialect_anthropic.models_body(list, strlen(list), 0, &b), 0);
    cJSON *doc = cJSON_ParseWithLength(b.ptr, b.len);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "data"), 0);
    cr_assert_str_eq(jstr(first, "type"), "model");
    cr_assert_str_eq(jstr(first, "id"), "anthropic/claude-x");
    cr_assert_str_eq(jstr(first, "display_name"), "anthropic/claude-x");
    cr_assert_str_eq(jstr(first, "created_at"), "2025-12-06T05:46:40Z");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(doc, "has_more")));
    cr_assert_str_eq(jstr(doc, "first_id"), "anthropic/claude-x");
    cr_assert_str_eq(jstr(doc, "last_id"), "fast");
    cJSON_Delete(doc);
    gw_buf_reset(&b);
    const char *one = "{\"id\":\"fast\",\"object\":\"model\",\"created\":0}";
    cr_assert_eq(gw_dialect_anthropic.models_body(one, strlen(one), 1, &b), 0);
    cr_assert_str_eq(b.ptr, "{\"type\":\"model\",\"id\":\"fast\",\"display_name\":\"fast\","
                            "\"created_at\":\"1970-01-01T00:00:00Z\"}");
    gw_buf_free(&b);
}
