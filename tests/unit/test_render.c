/* render: the OpenAI shapes and the stream guarantees (role first, one finish, usage, DONE). */
#include <string.h>

#include <criterion/criterion.h>

#include "front/render.h"

static struct aigw_chunk ch(int type, int choice)
{
    return aigw_chunk_init(type, choice);
}

static void text(struct gw_render *r, struct gw_buf *out, int choice, const char *t)
{
    struct aigw_chunk c = ch(AIGW_CHUNK_TEXT, choice);
    c.text = aigw_bytes_of(t);
    cr_assert_eq(gw_render_chunk(r, &c, out), 0);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(render, stream_role_first_single_finish_usage_and_done)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_render_init(&r, AIGW_OP_CHAT, 1, 1, 0, "m1", "rid"), 0);
    text(&r, &out, 0, "Hel");
    text(&r, &out, 0, "lo \"q\"\n");
    struct aigw_chunk f = ch(AIGW_CHUNK_FINISH, 0);
    f.finish = AIGW_FINISH_LENGTH;
    gw_render_chunk(&r, &f, &out);
    gw_render_chunk(&r, &f, &out); /* a second finish from a sloppy upstream is dropped */
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = 10;
    u.completion_tokens = 4;
    u.cached_tokens = 6;
    struct aigw_chunk uc = ch(AIGW_CHUNK_USAGE, 0);
    uc.usage = &u;
    gw_render_chunk(&r, &uc, &out);
    cr_assert_eq(gw_render_end(&r, &out), 0);
    const char *s = out.ptr;
    cr_assert(strstr(s, "data: {\"id\":\"chatcmpl-rid\",\"object\":\"chat.completion.chunk\"") == s);
    cr_assert_eq(count(s, "\"role\":\"assistant\""), 1);
    cr_assert(strstr(s, "\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}"));
    cr_assert(strstr(s, "\"content\":\"lo \\\"q\\\"\\n\""));
    cr_assert_eq(count(s, "\"finish_reason\":\"length\""), 1);
    cr_assert_eq(count(s, "\"finish_reason\":\"stop\""), 0);
    cr_assert(strstr(s, "\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":4,"
                        "\"total_tokens\":14,\"prompt_tokens_details\":{\"cached_tokens\":6}}"));
    cr_assert(strstr(s, "data: [DONE]\n\n") == s + out.len - 14);
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, stream_without_finish_gets_one_and_no_usage_unless_asked)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 1, 0, 0, "m", "x");
    text(&r, &out, 0, "hi");
    gw_render_end(&r, &out);
    cr_assert_eq(count(out.ptr, "\"finish_reason\":\"stop\""), 1);
    cr_assert_eq(count(out.ptr, "\"usage\""), 0);
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, empty_stream_still_has_role_finish_and_done)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 1, 0, 0, "m", "x");
    gw_render_end(&r, &out);
    cr_assert_eq(count(out.ptr, "\"role\":\"assistant\""), 1);
    cr_assert_eq(count(out.ptr, "\"finish_reason\":\"stop\""), 1);
    cr_assert_eq(count(out.ptr, "[DONE]"), 1);
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, stream_tool_calls_first_piece_has_id_and_name_then_only_arguments)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 1, 0, 0, "m", "x");
    struct aigw_chunk t = ch(AIGW_CHUNK_TOOL_CALL, 0);
    t.id = aigw_bytes_of("call_1");
    t.name = aigw_bytes_of("get_weather");
    t.text = aigw_bytes_of("");
    gw_render_chunk(&r, &t, &out);
    t.id = aigw_bytes_of(NULL);
    t.name = aigw_bytes_of(NULL);
    t.text = aigw_bytes_of("{\"city\":");
    gw_render_chunk(&r, &t, &out);
    struct aigw_chunk f = ch(AIGW_CHUNK_FINISH, 0); /* NONE: the tool call decides */
    gw_render_chunk(&r, &f, &out);
    gw_render_end(&r, &out);
    cr_assert(strstr(out.ptr, "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
                              "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]"));
    cr_assert(strstr(out.ptr, "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
                              "\"{\\\"city\\\":\"}}]"));
    cr_assert_eq(count(out.ptr, "\"finish_reason\":\"tool_calls\""), 1);
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, non_stream_document)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 0, 0, 0, "m", "x");
    struct aigw_chunk meta = ch(AIGW_CHUNK_META, 0);
    meta.id = aigw_bytes_of("up-1");
    meta.name = aigw_bytes_of("model-2024");
    meta.created = 1700000000;
    gw_render_chunk(&r, &meta, &out);
    text(&r, &out, 0, "a");
    text(&r, &out, 0, "b");
    struct aigw_chunk rs = ch(AIGW_CHUNK_REASONING, 0);
    rs.text = aigw_bytes_of("think");
    gw_render_chunk(&r, &rs, &out);
    cr_assert_eq(out.len, 0, "non-stream output only at the end");
    gw_render_end(&r, &out);
    cJSON *doc = cJSON_Parse(out.ptr);
    cr_assert_not_null(doc);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "id")->valuestring, "up-1");
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "model")->valuestring, "model-2024");
    cr_assert_eq(cJSON_GetObjectItem(doc, "created")->valuedouble, 1700000000);
    cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "choices"), 0);
    cJSON *msg = cJSON_GetObjectItem(c0, "message");
    cr_assert_str_eq(cJSON_GetObjectItem(msg, "content")->valuestring, "ab");
    cr_assert_str_eq(cJSON_GetObjectItem(msg, "reasoning_content")->valuestring, "think");
    cr_assert_str_eq(cJSON_GetObjectItem(c0, "finish_reason")->valuestring, "stop");
    cJSON_Delete(doc);
    gw_render_free(&r);
    gw_buf_free(&out);
}

/* The whole non-streaming document, byte for byte: key order, nulls, escapes, two choices
 * (one with tool calls and no text), usage details and a plugin extra. Written straight into
 * the buffer, so every comma and brace is ours to get right. */
Test(render, non_stream_document_exact_bytes)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 0, 0, 0, "m\"1", "rid");
    r.created = 1700000001;
    text(&r, &out, 0, "line\n\"q\"");
    struct aigw_chunk rf = ch(AIGW_CHUNK_REFUSAL, 0);
    rf.text = aigw_bytes_of("no");
    gw_render_chunk(&r, &rf, &out);
    struct aigw_chunk t = ch(AIGW_CHUNK_TOOL_CALL, 1);
    t.id = aigw_bytes_of("call_1");
    t.name = aigw_bytes_of("f");
    t.text = aigw_bytes_of("{\"a\":1}");
    gw_render_chunk(&r, &t, &out);
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = 10;
    u.completion_tokens = 5;
    u.cached_tokens = 4;
    u.cache_write_tokens = 2;
    u.reasoning_tokens = 3;
    struct aigw_chunk uc = ch(AIGW_CHUNK_USAGE, 0);
    uc.usage = &u;
    gw_render_chunk(&r, &uc, &out);
    cJSON *cites = cJSON_Parse("[\"https://a.example\"]");
    struct aigw_chunk ex = ch(AIGW_CHUNK_EXTRA, 0);
    ex.name = aigw_bytes_of("citations");
    ex.extra = cites;
    gw_render_chunk(&r, &ex, &out);
    cJSON_Delete(cites);
    cr_assert_eq(gw_render_end(&r, &out), 0);
    cr_assert_str_eq(
        out.ptr,
        "{\"id\":\"chatcmpl-rid\",\"object\":\"chat.completion\",\"created\":1700000001,"
        "\"model\":\"m\\\"1\",\"choices\":["
        "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"line\\n\\\"q\\\"\","
        "\"refusal\":\"no\"},\"logprobs\":null,\"finish_reason\":\"stop\"},"
        "{\"index\":1,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":null,"
        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"a\\\":1}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4,\"cache_write_tokens\":2},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":3}},"
        "\"citations\":[\"https://a.example\"]}");
    cJSON *doc = cJSON_Parse(out.ptr);
    cr_assert_not_null(doc, "the document is valid JSON");
    cJSON_Delete(doc);
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, legacy_completion_shape)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 0, 0, 1, "m", "x");
    text(&r, &out, 0, "done");
    gw_render_end(&r, &out);
    cr_assert(strstr(out.ptr, "\"object\":\"text_completion\""));
    cr_assert(strstr(out.ptr, "\"text\":\"done\""));
    cr_assert(strstr(out.ptr, "\"id\":\"cmpl-x\""));
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, stream_error_after_first_byte_is_an_event_then_done)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_CHAT, 1, 0, 0, "m", "x");
    text(&r, &out, 0, "partial");
    struct aigw_error e;
    aigw_error_init(&e);
    e.status = 504;
    e.type = "timeout_error";
    e.message = "idle";
    gw_render_stream_error(&r, &e, &out);
    cr_assert(strstr(out.ptr, "data: {\"error\":{\"message\":\"idle\",\"type\":\"timeout_error\""));
    cr_assert(strstr(out.ptr, "data: [DONE]\n\n") == out.ptr + out.len - 14);
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, embeddings_list)
{
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_render_init(&r, AIGW_OP_EMBEDDINGS, 0, 0, 0, "emb", "x");
    double v[3] = {0.5, -1, 0.25};
    struct aigw_chunk e = ch(AIGW_CHUNK_EMBEDDING, 1);
    e.vector = v;
    e.vector_len = 3;
    gw_render_chunk(&r, &e, &out);
    gw_render_end(&r, &out);
    cr_assert(strstr(out.ptr, "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0.5,-1,0.25]}"));
    cr_assert(strstr(out.ptr, "\"object\":\"list\""));
    gw_render_free(&r);
    gw_buf_free(&out);
}

Test(render, json_escape_controls)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_json_escape(&b, "a\x01\t\"\\", 5);
    cr_assert_str_eq(b.ptr, "\"a\\u0001\\t\\\"\\\\\"");
    gw_buf_free(&b);
}
