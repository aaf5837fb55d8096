/*
 * anthropic_stream.c - Anthropic named-event SSE stream -> normalized chunks.
 *
 * Anthropic numbers content blocks (text, thinking, tool_use alike); OpenAI numbers tool calls
 * only. The state maps one to the other. Shared with vertex-ai (streamRawPredict speaks the
 * same events).
 */
#include <string.h>

#include "anthropic_xlate.h"

enum { BLOCK_UNKNOWN = 0, BLOCK_TEXT, BLOCK_TOOL, BLOCK_THINKING, BLOCK_OTHER };

#define HAVE_IN 1u
#define HAVE_OUT 2u
#define HAVE_READ 4u
#define HAVE_WRITE 8u

static int is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void take_count(const cJSON *usage, const char *key, int64_t *dst, unsigned *have,
                       unsigned bit)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, key);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0) {
        *dst = (int64_t)v->valuedouble;
        *have |= bit;
    }
}

/* message_start carries the input side; message_delta the cumulative output and, on newer
 * servers, the input side again. Later values replace earlier ones. */
static void take_usage(struct anth_stream_state *st, const cJSON *usage)
{
    unsigned before = st->have;
    int64_t snap[4] = {st->input_tokens, st->output_tokens, st->cache_read, st->cache_creation};

    if (!cJSON_IsObject(usage))
        return;
    take_count(usage, "input_tokens", &st->input_tokens, &st->have, HAVE_IN);
    take_count(usage, "output_tokens", &st->output_tokens, &st->have, HAVE_OUT);
    take_count(usage, "cache_read_input_tokens", &st->cache_read, &st->have, HAVE_READ);
    take_count(usage, "cache_creation_input_tokens", &st->cache_creation, &st->have, HAVE_WRITE);
    if (st->have != before || snap[0] != st->input_tokens || snap[1] != st->output_tokens ||
        snap[2] != st->cache_read || snap[3] != st->cache_creation)
        st->usage_emitted = 0;
}

static int emit_usage(struct aigw_call *call, struct anth_stream_state *st)
{
    struct aigw_usage u;

    if (!st->have || st->usage_emitted)
        return 0;
    aigw_usage_init(&u);
    /* As for non-streams: OpenAI's prompt_tokens includes cache reads and writes. */
    if (st->have & (HAVE_IN | HAVE_READ | HAVE_WRITE))
        u.prompt_tokens = st->input_tokens + st->cache_read + st->cache_creation;
    if (st->have & HAVE_OUT)
        u.completion_tokens = st->output_tokens;
    if (st->have & HAVE_READ)
        u.cached_tokens = st->cache_read;
    if (st->have & HAVE_WRITE)
        u.cache_write_tokens = st->cache_creation;
    st->usage_emitted = 1;
    return aigw_emit_usage(call, &u);
}

static int emit_piece(struct aigw_call *call, int type, const char *s)
{
    struct aigw_chunk c = aigw_chunk_init(type, 0);
    if (!s || !s[0])
        return 0;
    c.text = aigw_bytes_of(s);
    return call->host->emit(call, &c);
}

static int block_kind(const struct anth_stream_state *st, int index, int *tool)
{
    if (index >= 0 && index < ANTH_MAX_BLOCKS) {
        *tool = st->block_tool[index];
        return st->block_kind[index];
    }
    *tool = st->last_tool;
    return st->last_kind;
}

static int on_block_start(struct aigw_call *call, struct anth_stream_state *st, const cJSON *ev)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ev, "index");
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(ev, "content_block");
    const char *type = jstr(cb, "type");
    int index = cJSON_IsNumber(idx) ? (int)idx->valuedouble : -1;
    int kind = BLOCK_OTHER, tool = 0, rc = 0;

    if (is(type, "text") && st->native && cJSON_GetObjectItemCaseSensitive(cb, "citations")) {
        /* A text block that will carry citations: the native client gets it as it is. */
        kind = BLOCK_TEXT;
        rc = anth_emit_extra(call, ANTH_EXTRA_BLOCK_START, ev);
    } else if (is(type, "text")) {
        const char *t = jstr(cb, "text");
        kind = BLOCK_TEXT;
        if (t && t[0])
            rc = aigw_emit_text(call, 0, t, strlen(t));
    } else if (is(type, "thinking")) {
        const char *t = jstr(cb, "thinking");
        kind = BLOCK_THINKING;
        if (t && t[0])
            rc = aigw_emit_reasoning(call, 0, t, strlen(t));
        if (!rc && (t = jstr(cb, "signature")) && t[0])
            rc = emit_piece(call, AIGW_CHUNK_REASONING_SIGNATURE, t);
    } else if (is(type, "redacted_thinking")) {
        const char *d = jstr(cb, "data");
        if (d && d[0])
            rc = emit_piece(call, AIGW_CHUNK_REASONING_REDACTED, d);
    } else if (!is(type, "tool_use") && st->native) {
        rc = anth_emit_extra(call, ANTH_EXTRA_BLOCK_START, ev); /* server tools, newer blocks */
    } else if (is(type, "tool_use")) {
        const char *id = jstr(cb, "id");
        const char *name = jstr(cb, "name");
        if (!id || !name)
            return AIGW_EPROTO;
        kind = BLOCK_TOOL;
        tool = st->tool_count++;
        st->tool_args_seen = 0;
        rc = aigw_emit_tool_call(call, 0, tool, id, name, "", 0);
    }
    if (index >= 0 && index < ANTH_MAX_BLOCKS) {
        st->block_kind[index] = (unsigned char)kind;
        st->block_tool[index] = tool;
    }
    st->last_kind = kind;
    st->last_tool = tool;
    return rc;
}

static int on_block_delta(struct aigw_call *call, struct anth_stream_state *st, const cJSON *ev)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ev, "index");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "delta");
    const char *dtype = jstr(d, "type");
    int tool, kind = block_kind(st, cJSON_IsNumber(idx) ? (int)idx->valuedouble : -1, &tool);
    const char *t;

    if (is(dtype, "text_delta") && (t = jstr(d, "text")) && t[0])
        return aigw_emit_text(call, 0, t, strlen(t));
    if (is(dtype, "thinking_delta") && (t = jstr(d, "thinking")) && t[0])
        return aigw_emit_reasoning(call, 0, t, strlen(t));
    if (is(dtype, "input_json_delta") && kind == BLOCK_TOOL) {
        if (!(t = jstr(d, "partial_json")) || !t[0])
            return 0;
        st->tool_args_seen = 1;
        return aigw_emit_tool_call(call, 0, tool, NULL, NULL, t, strlen(t));
    }
    if (is(dtype, "signature_delta"))
        return emit_piece(call, AIGW_CHUNK_REASONING_SIGNATURE, jstr(d, "signature"));
    /* citations, server-tool input, newer deltas: only a native client can take them */
    if (st->native && !is(dtype, "text_delta") && !is(dtype, "thinking_delta"))
        return anth_emit_extra(call, ANTH_EXTRA_BLOCK_DELTA, ev);
    return 0;
}

static int on_block_stop(struct aigw_call *call, struct anth_stream_state *st, const cJSON *ev)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ev, "index");
    int tool, kind = block_kind(st, cJSON_IsNumber(idx) ? (int)idx->valuedouble : -1, &tool);

    int rc = 0;
    /* A tool without parameters streams no JSON at all; OpenAI clients expect an object. */
    if (kind == BLOCK_TOOL && !st->tool_args_seen) {
        st->tool_args_seen = 1;
        rc = aigw_emit_tool_call(call, 0, tool, NULL, NULL, "{}", 2);
    }
    /* Block boundaries, for a native client (two text blocks stay two). */
    if (!rc && st->native)
        rc = anth_emit_extra(call, ANTH_EXTRA_BLOCK_STOP, ev);
    return rc;
}

static int on_error(struct aigw_call *call, struct anth_stream_state *st, const cJSON *ev)
{
    struct aigw_error *err = call->host->alloc(call, sizeof *err);
    int rc;

    if (!err)
        return AIGW_ENOMEM;
    anth_error_from_json(call, cJSON_GetObjectItemCaseSensitive(ev, "error"), 0, err);
    st->done = 1;
    /* Counts already reported still describe what was spent. */
    if ((rc = emit_usage(call, st)) != 0)
        return rc;
    rc = aigw_emit_error(call, err);
    return rc ? rc : AIGW_DONE;
}

int anth_stream_event(struct aigw_call *call, struct anth_stream_state *st,
                      const struct aigw_frame *f)
{
    const cJSON *ev;
    const char *type;
    char name[64];
    int rc;

    if (st->done)
        return AIGW_DONE;
    if (!st->native_known) {
        st->native_known = 1;
        st->native = anth_is_native(call);
    }
    if (!f->data.len)
        return 0; /* comment-only or empty event */
    ev = call->host->json_parse(call, f->data);
    if (!cJSON_IsObject(ev))
        return AIGW_EPROTO;
    /* The data's "type" always matches the event name; it is the one every frame has. */
    type = jstr(ev, "type");
    if (!type && f->event.len > 0 && f->event.len < sizeof name) {
        memcpy(name, f->event.ptr, f->event.len);
        name[f->event.len] = '\0';
        type = name;
    }
    if (!type)
        return 0;

    if (is(type, "message_start")) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
        st->started = 1;
        if ((rc = aigw_emit_meta(call, jstr(msg, "id"), jstr(msg, "model"), 0)) != 0)
            return rc;
        take_usage(st, cJSON_GetObjectItemCaseSensitive(msg, "usage"));
        return emit_usage(call, st);
    }
    if (is(type, "content_block_start"))
        return on_block_start(call, st, ev);
    if (is(type, "content_block_delta"))
        return on_block_delta(call, st, ev);
    if (is(type, "content_block_stop"))
        return on_block_stop(call, st, ev);
    if (is(type, "message_delta")) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(ev, "delta");
        const char *reason = jstr(delta, "stop_reason");
        if (reason && !st->finished) {
            st->finished = 1;
            if (st->native && (rc = anth_emit_stop(call, delta)) != 0)
                return rc;
            rc = aigw_emit_finish(call, 0, anth_finish_from_reason(call, aigw_bytes_of(reason)));
            if (rc)
                return rc;
        }
        take_usage(st, cJSON_GetObjectItemCaseSensitive(ev, "usage"));
        return emit_usage(call, st);
    }
    if (is(type, "message_stop")) {
        st->done = 1;
        return AIGW_DONE;
    }
    if (is(type, "error"))
        return on_error(call, st, ev);
    return 0; /* ping, and event types newer than this code */
}

int anth_stream_end(struct aigw_call *call, struct anth_stream_state *st)
{
    int rc = emit_usage(call, st);
    if (rc)
        return rc;
    /* EOF before message_stop and before any stop_reason: the answer was cut off. */
    if (!st->done && !st->finished) {
        call->host->log(call, AIGW_LOG_WARN, "stream ended before message_stop");
        return AIGW_EPROTO;
    }
    return 0;
}
