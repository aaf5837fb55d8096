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

/* The escape skips plain bytes eight at a time: every byte that needs escaping must still be
 * found at any position of a word, next to UTF-8 and DEL bytes (which pass as they are), in
 * strings short and long (past the one-append path). Compared with the plain definition. */
static void escape_by_hand(struct gw_buf *b, const char *p, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    gw_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        char e[7] = {'\\', 0, '0', '0', hexd[c >> 4], hexd[c & 15], 0};
        if (c == '"' || c == '\\')
            e[1] = (char)c, gw_buf_append(b, e, 2);
        else if (c == '\n' || c == '\r' || c == '\t')
            e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't', gw_buf_append(b, e, 2);
        else if (c < 0x20)
            e[1] = 'u', gw_buf_append(b, e, 6);
        else
            gw_buf_append(b, p + i, 1);
    }
    gw_buf_append(b, "\"", 1);
}

Test(render, json_escape_finds_every_special_byte_at_every_position)
{
    static const unsigned char special[] = {'"', '\\', '\n', '\r', '\t', 0x00, 0x01, 0x1f};
    static const unsigned char plain[] = {' ', 'a', '~', 0x7f, 0x80, 0xc3, 0xff, '!', '#', '['};
    char s[600];
    for (size_t len = 0; len <= 300; len += len < 40 ? 1 : 130) { /* 0-40, 170, 300 */
        for (size_t i = 0; i < len; i++)
            s[i] = (char)plain[(i * 7 + len) % sizeof plain];
        for (size_t pos = 0; pos <= len; pos += pos < 20 || pos + 20 > len ? 1 : 7) {
            for (size_t k = 0; k < sizeof special; k++) {
                char t[sizeof s];
                memcpy(t, s, len);
                if (pos < len)
                    t[pos] = (char)special[k];
                struct gw_buf want, got;
                gw_buf_init(&want, 0);
                gw_buf_init(&got, 0);
                escape_by_hand(&want, t, len);
                cr_assert_eq(gw_json_escape(&got, t, len), 0);
                cr_assert_eq(got.len, want.len, "len %zu pos %zu byte %#x", len, pos, special[k]);
                cr_assert(!memcmp(got.ptr, want.ptr, want.len), "len %zu pos %zu byte %#x", len,
                          pos, special[k]);
                gw_buf_free(&want);
                gw_buf_free(&got);
                if (pos == len)
                    break; /* no byte replaced: one check is enough */
            }
        }
    }
}
