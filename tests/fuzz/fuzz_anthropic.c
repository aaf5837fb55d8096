/*
 * libFuzzer target for the Anthropic Messages dialect (core/front/anthropic_*.c), run in
 * `make check` by driver.c over tests/fuzz/seeds/anthropic/. The first byte picks the mode:
 *
 *   bit 1 clear: the rest is a client body for /v1/messages (bit 0 set: count_tokens). It must
 *     parse, or fail with a 400 (500 only when out of memory) that explains itself; a parse
 *     leaves a chat body whose tool calls are all answered next, with ids and names chat
 *     providers accept.
 *   bit 1 set: the rest is a program of chunks (bit 2: streamed) fed to the renderer as
 *     plugins would emit them, tool arguments being pieces of a valid object cut anywhere and
 *     interleaved across calls. The answer must read as the SDKs read it (tests/front/
 *     anth_check.c): any violation aborts.
 *
 * Any input must give a result or a clean error, never a crash or a leak.
 * Build for real fuzzing: clang -fsanitize=fuzzer,address with core/ and tests/front/anth_check.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "front/anth_check.h"
#include "front/anthropic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *header(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "anthropic-beta") ? NULL : "a-beta, another-beta";
}

static int valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]))
            return 0;
    return 1;
}

static void check_chat(const cJSON *body)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages"), *m, *tc, *t;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        abort();
    cJSON_ArrayForEach(m, msgs)
    {
        cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(tc, "id"));
            if (!valid_name(id))
                abort();
        }
    }
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(body, "tools"))
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
        if (!valid_name(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fn, "name"))))
            abort();
    }
}

static void fuzz_parse(const uint8_t *data, size_t size, int count)
{
    struct gw_inbound in = {(const char *)data,
                            size,
                            count ? "/v1/messages/count_tokens" : "/v1/messages",
                            NULL,
                            header,
                            NULL,
                            NULL,
                            0};
    struct gw_parsed p;
    struct gw_front_err err;
    memset(&p, 0, sizeof p);
    if (gw_dialect_anthropic.parse(&in, &p, &err) == 0) {
        if (!p.body || !p.model || !p.native || !p.ctx)
            abort();
        check_chat(p.body);
    } else if (!err.message[0] || (err.status != 400 && err.status != 500)) {
        abort();
    }
    gw_parsed_free(&p);
}

/* ---- chunk programs ------------------------------------------------------------------------ */

static const char ARGS[] = "{\"path\":\"/a \\\"b\\\"\",\"n\":[1,{\"x\":null}],\"ok\":true}";

struct prog {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct prog *g)
{
    if (!g->n)
        return 0;
    g->n--;
    return *g->p++;
}

/* Printable text (with the characters JSON escapes), 0-15 bytes, never invalid UTF-8. */
static size_t text(struct prog *g, char *buf)
{
    static const char alphabet[] = "ab \"\\\n\t/<>&xyz.";
    size_t len = take(g) % 16;
    for (size_t i = 0; i < len; i++)
        buf[i] = alphabet[take(g) % (sizeof alphabet - 1)];
    buf[len] = '\0';
    return len;
}

static void emit(void *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    if (gw_dialect_anthropic.render_chunk(r, c, out) != 0)
        abort();
}

static void extra(void *r, struct gw_buf *out, unsigned which)
{
    static const char *const values[][2] = {
        {GW_ANTH_EXTRA_STOP, "{\"stop_reason\":\"pause_turn\",\"stop_sequence\":null}"},
        {GW_ANTH_EXTRA_BLOCK, "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"s\"}"},
        {GW_ANTH_EXTRA_BLOCK_START,
         "{\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"s\",\"name\":\"w\","
         "\"input\":{}}}"},
        {GW_ANTH_EXTRA_BLOCK_START, "{\"content_block\":{\"type\":\"text\",\"text\":\"\","
                                    "\"citations\":[]}}"},
        {GW_ANTH_EXTRA_BLOCK_DELTA, "{\"delta\":{\"type\":\"citations_delta\",\"citation\":"
                                    "{\"type\":\"char_location\",\"cited_text\":\"c\"}}}"},
        {GW_ANTH_EXTRA_BLOCK_DELTA,
         "{\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}"},
        {GW_ANTH_EXTRA_BLOCK_STOP, "{}"},
        {GW_ANTH_EXTRA_BLOCK_START, "{\"content_block\":{\"type\":\"thinking\"}}"},
        {"citations", "[1]"},
    };
    const char *const *v = values[which % (sizeof values / sizeof values[0])];
    cJSON *x = cJSON_Parse(v[1]);
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
    c.name = aigw_bytes_of(v[0]);
    c.extra = x;
    emit(r, &c, out);
    cJSON_Delete(x);
}

static void fuzz_render(const uint8_t *data, size_t size, int stream)
{
    const char *body = stream ? "{\"model\":\"m\",\"max_tokens\":9,\"stream\":true,\"messages\":"
                                "[{\"role\":\"user\",\"content\":\"hi\"}]}"
                              : "{\"model\":\"m\",\"max_tokens\":9,\"messages\":"
                                "[{\"role\":\"user\",\"content\":\"hi\"}]}";
    struct gw_inbound in = {body, strlen(body), "/v1/messages", NULL, header, NULL, NULL, 0};
    struct gw_parsed p;
    struct gw_front_err err;
    memset(&p, 0, sizeof p);
    if (gw_dialect_anthropic.parse(&in, &p, &err) != 0)
        abort();
    void *r = gw_dialect_anthropic.render_new(&p, "m", "req_fuzz");
    struct gw_buf out;
    gw_buf_init(&out, 0);
    size_t args_at[5] = {0, 0, 0, 0, 0}; /* how much of ARGS each call has sent */
    struct prog g = {data, size};
    int failed = 0;
    char buf[32];
    while (g.n && !failed) {
        unsigned op = take(&g) % 13;
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
        size_t len;
        switch (op) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
            c.type = op == 0   ? AIGW_CHUNK_TEXT
                     : op == 1 ? AIGW_CHUNK_REASONING
                     : op == 2 ? AIGW_CHUNK_REASONING_SIGNATURE
                     : op == 3 ? AIGW_CHUNK_REASONING_REDACTED
                               : AIGW_CHUNK_REFUSAL;
            len = text(&g, buf);
            c.text.ptr = buf;
            c.text.len = len;
            emit(r, &c, &out);
            break;
        case 5: { /* the next piece of one call's arguments */
            unsigned t = take(&g) % 5;
            size_t piece = take(&g) % 8, left = sizeof ARGS - 1 - args_at[t];
            c.type = AIGW_CHUNK_TOOL_CALL;
            c.tool_index = (int)t;
            if (args_at[t] == 0) {
                c.id = aigw_bytes_of(t % 2 ? "call_0" : "toolu_01FuzzLongEnoughId");
                c.name = aigw_bytes_of(t == 4 ? "a name that is not valid" : "tool");
            }
            if (piece > left)
                piece = left;
            c.text.ptr = ARGS + args_at[t];
            c.text.len = piece;
            args_at[t] += piece;
            emit(r, &c, &out);
            break;
        }
        case 6:
            c.type = AIGW_CHUNK_FINISH;
            c.finish = (int)(take(&g) % 6);
            emit(r, &c, &out);
            break;
        case 7: {
            struct aigw_usage u;
            aigw_usage_init(&u);
            u.prompt_tokens = (int64_t)take(&g) * 10 - 1;
            u.completion_tokens = (int64_t)take(&g) - 1;
            u.cached_tokens = (int64_t)take(&g) - 1;
            c.type = AIGW_CHUNK_USAGE;
            c.usage = &u;
            emit(r, &c, &out);
            break;
        }
        case 8:
            c.type = AIGW_CHUNK_META;
            c.id = aigw_bytes_of(take(&g) % 2 ? "msg_01Fuzz" : "chatcmpl-1");
            emit(r, &c, &out);
            break;
        case 9: {
            /* The private channel comes from Anthropic, which never interleaves a block with
             * a tool call's arguments: keep to that contract. */
            int midway = 0;
            for (int t = 0; t < 5; t++)
                midway |= args_at[t] > 0 && args_at[t] < sizeof ARGS - 1;
            if (!midway)
                extra(r, &out, take(&g));
            break;
        }
        case 10:
            if (gw_dialect_anthropic.render_heartbeat(r, &out) != 0)
                abort();
            break;
        case 11:
            c.type = AIGW_CHUNK_TEXT;
            c.choice = 1; /* another choice: ignored */
            c.text = aigw_bytes_of("x");
            emit(r, &c, &out);
            break;
        default:
            /* As the lifetime does: an in-stream error only after the first byte (before it,
             * the answer is an error document instead). */
            if (stream && out.len) {
                struct aigw_error e;
                aigw_error_init(&e);
                e.status = 500 + (int)(take(&g) % 30);
                e.message = "boom";
                if (gw_dialect_anthropic.render_stream_error(r, &e, &out) != 0)
                    abort();
                failed = 1;
            }
            break;
        }
    }
    /* Unfinished argument streams are what a cut-off upstream leaves; finish them as a
     * conforming provider would before the end. */
    for (int t = 0; t < 5 && !failed; t++) {
        if (!args_at[t])
            continue;
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
        c.tool_index = t;
        c.text.ptr = ARGS + args_at[t];
        c.text.len = sizeof ARGS - 1 - args_at[t];
        emit(r, &c, &out);
    }
    if (!failed && gw_dialect_anthropic.render_end(r, &out) != 0)
        abort();
    gw_dialect_anthropic.render_free(r);

    char why[256];
    if (stream) {
        struct at_stream st;
        if (at_check_sse(out.ptr ? out.ptr : "", out.len, &st, why, sizeof why) != 0 ||
            (!st.error_type[0] && st.start_input + st.start_cache <= 0)) {
            fprintf(stderr, "fuzz_anthropic: %s\n%.*s\n", why, (int)out.len, out.ptr);
            abort();
        }
        cJSON_Delete(st.message);
    } else {
        cJSON *m = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
        if (!m || at_check_message(m, why, sizeof why) != 0) {
            fprintf(stderr, "fuzz_anthropic: %s\n%.*s\n", why, (int)out.len, out.ptr);
            abort();
        }
        cJSON_Delete(m);
    }
    gw_buf_free(&out);
    gw_parsed_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 2)
        fuzz_render(data + 1, size - 1, data[0] & 4);
    else
        fuzz_parse(data + 1, size - 1, data[0] & 1);
    return 0;
}
