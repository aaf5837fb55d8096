/*
 * cohere_response - Cohere v2 chat responses and SSE events -> normalized chunks
 * (providers-A §8.3, §8.4).
 *
 * tool_plan (the model's note before it calls tools) is surfaced as reasoning rather than
 * dropped: it is model output a client may want, and it must not pollute `content`. Citations
 * become a top-level "citations" extra (Perplexity-style): on the completion body, or, when
 * streaming, collected from citation-start events and attached to the finish chunk, so they
 * never leak into the text.
 */
#include <string.h>

#include "cohere.h"

static int emit_str(struct aigw_call *call, int type, const char *s)
{
    struct aigw_chunk c;

    if (!s || !s[0])
        return 0;
    c = aigw_chunk_init(type, 0);
    c.text = aigw_bytes_of(s);
    return call->host->emit(call, &c);
}

/* "tokens" counts what the model saw (including Cohere's hidden preamble) and is what the
 * notes prescribe; "billed_units" is only a fallback for responses that lack it. */
int cohere_usage(const cJSON *usage, struct aigw_usage *u)
{
    const cJSON *tokens = aigw_json_get(usage, "tokens");
    const cJSON *billed = aigw_json_get(usage, "billed_units");

    aigw_usage_init(u);
    if (!cJSON_IsObject(usage))
        return 0;
    u->prompt_tokens = aigw_json_count(tokens, "input_tokens");
    if (u->prompt_tokens < 0)
        u->prompt_tokens = aigw_json_count(billed, "input_tokens");
    u->completion_tokens = aigw_json_count(tokens, "output_tokens");
    if (u->completion_tokens < 0)
        u->completion_tokens = aigw_json_count(billed, "output_tokens");
    u->cached_tokens = aigw_json_count(usage, "cached_tokens");
    return u->prompt_tokens >= 0 || u->completion_tokens >= 0 || u->cached_tokens >= 0;
}

static int emit_usage_of(struct aigw_call *call, const cJSON *usage)
{
    struct aigw_usage u;

    if (!cohere_usage(usage, &u))
        return 0;
    return aigw_emit_usage(call, &u);
}

/* ERROR and TIMEOUT mean Cohere gave up mid-generation: reporting "stop" would pass a
 * truncated answer off as complete, so they become an in-band error instead. */
static int emit_finish_of(struct aigw_call *call, const char *reason)
{
    struct aigw_error err;
    int f;

    if (!reason)
        return 0;
    if (strcmp(reason, "COMPLETE") == 0 || strcmp(reason, "STOP_SEQUENCE") == 0)
        f = AIGW_FINISH_STOP;
    else if (strcmp(reason, "MAX_TOKENS") == 0)
        f = AIGW_FINISH_LENGTH;
    else if (strcmp(reason, "TOOL_CALL") == 0)
        f = AIGW_FINISH_TOOL_CALLS;
    else if (strcmp(reason, "ERROR") == 0 || strcmp(reason, "TIMEOUT") == 0) {
        int timeout = reason[0] == 'T';
        aigw_error_init(&err);
        err.status = timeout ? 504 : 502;
        err.type = timeout ? "timeout" : "server_error";
        err.code = timeout ? "upstream_timeout" : "upstream_error";
        err.message = timeout ? "Cohere timed out while generating the response"
                              : "Cohere reported an error while generating the response";
        err.retryable = 1;
        return aigw_emit_error(call, &err);
    } else {
        f = call->host->finish_from_string(aigw_bytes_of(reason));
        if (f == AIGW_FINISH_NONE)
            f = AIGW_FINISH_STOP;
    }
    return aigw_emit_finish(call, 0, f);
}

static int emit_citations(struct aigw_call *call, const cJSON *cites)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);

    if (!cJSON_IsArray(cites) || cJSON_GetArraySize(cites) == 0)
        return 0;
    c.name = aigw_bytes_of("citations");
    c.extra = cites;
    return call->host->emit(call, &c);
}

/* Parsed JSON lives only for the frame being handled, so a streamed citation is kept as text
 * in call memory until message-end. */
static int keep_citation(struct aigw_call *call, const cJSON *cite)
{
    struct cohere_state *st = call->state;
    const char *s;

    if (!cJSON_IsObject(cite) || st->ncites >= COHERE_MAX_CITES)
        return 0;
    s = call->host->json_print(call, cite);
    if (!s)
        return AIGW_ENOMEM;
    st->cites[st->ncites++] = s;
    st->cites_len += strlen(s);
    return 0;
}

static int emit_kept_citations(struct aigw_call *call)
{
    struct cohere_state *st = call->state;
    size_t off = 0;
    char *buf;
    int i;

    if (st->ncites == 0)
        return 0;
    buf = call->host->alloc(call, st->cites_len + (size_t)st->ncites + 2);
    if (!buf)
        return AIGW_ENOMEM;
    buf[off++] = '[';
    for (i = 0; i < st->ncites; i++) {
        size_t n = strlen(st->cites[i]);
        if (i > 0)
            buf[off++] = ',';
        memcpy(buf + off, st->cites[i], n);
        off += n;
    }
    buf[off++] = ']';
    return emit_citations(call, call->host->json_parse(call, (struct aigw_bytes){buf, off}));
}

static int emit_tool_calls(struct aigw_call *call, const cJSON *calls)
{
    const cJSON *tc;
    int i = 0, rc;

    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *fn = aigw_json_get(tc, "function");
        const cJSON *args = aigw_json_get(fn, "arguments");
        const char *id = aigw_json_str(tc, "id"), *name = aigw_json_str(fn, "name");
        const char *a = "";
        if (!id || !name)
            return AIGW_EPROTO;
        if (cJSON_IsString(args))
            a = args->valuestring;
        else if (args && !cJSON_IsNull(args) && !(a = call->host->json_print(call, args)))
            return AIGW_ENOMEM;
        if ((rc = aigw_emit_tool_call(call, 0, i++, id, name, a, strlen(a))) < 0)
            return rc;
    }
    return 0;
}

int cohere_parse_chat(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *msg, *part, *content;
    int rc;

    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    msg = aigw_json_get(root, "message");
    if (!cJSON_IsObject(msg))
        return AIGW_EPROTO;
    if ((rc = aigw_emit_meta(call, aigw_json_str(root, "id"), NULL, 0)) < 0)
        return rc;
    if ((rc = emit_str(call, AIGW_CHUNK_REASONING, aigw_json_str(msg, "tool_plan"))) < 0)
        return rc;
    content = aigw_json_get(msg, "content");
    /* Cohere answers with a part array; a plain string is accepted too, as in its requests. */
    if ((rc = emit_str(call, AIGW_CHUNK_TEXT, cJSON_GetStringValue(content))) < 0)
        return rc;
    cJSON_ArrayForEach(part, content)
    {
        const char *type = aigw_json_str(part, "type");
        if (type && strcmp(type, "thinking") == 0)
            rc = emit_str(call, AIGW_CHUNK_REASONING, aigw_json_str(part, "thinking"));
        else
            rc = emit_str(call, AIGW_CHUNK_TEXT, aigw_json_str(part, "text"));
        if (rc < 0)
            return rc;
    }
    if ((rc = emit_tool_calls(call, aigw_json_get(msg, "tool_calls"))) < 0)
        return rc;
    if ((rc = emit_citations(call, aigw_json_get(msg, "citations"))) < 0 ||
        (rc = emit_usage_of(call, aigw_json_get(root, "usage"))) < 0)
        return rc;
    return emit_finish_of(call, aigw_json_str(root, "finish_reason"));
}

/* Cohere's index already counts tool calls, but it is mapped rather than trusted so a gap or
 * a restart can never make two calls share one OpenAI index. */
static int tool_index(struct cohere_state *st, const cJSON *ev, int start)
{
    const cJSON *idx = aigw_json_get(ev, "index");
    int i = cJSON_IsNumber(idx) ? idx->valueint : 0;

    if (i < 0 || i >= COHERE_MAX_TOOLS)
        return AIGW_EPROTO;
    if (start) {
        if (st->tool_map[i] != 0)
            return AIGW_EPROTO;
        st->tool_map[i] = ++st->ntools;
    }
    return st->tool_map[i] - 1;
}

static int on_tool_call(struct aigw_call *call, const cJSON *ev, int start)
{
    struct cohere_state *st = call->state;
    const cJSON *tc =
        aigw_json_get(aigw_json_get(aigw_json_get(ev, "delta"), "message"), "tool_calls");
    const cJSON *fn = aigw_json_get(tc, "function");
    const char *args = aigw_json_str(fn, "arguments");
    int idx = tool_index(st, ev, start);

    if (idx < 0)
        return AIGW_EPROTO;
    if (!args)
        args = "";
    if (start) {
        const char *id = aigw_json_str(tc, "id"), *name = aigw_json_str(fn, "name");
        if (!id || !name)
            return AIGW_EPROTO;
        return aigw_emit_tool_call(call, 0, idx, id, name, args, strlen(args));
    }
    if (!args[0])
        return 0;
    return aigw_emit_tool_call(call, 0, idx, NULL, NULL, args, strlen(args));
}

static int bytes_eq(struct aigw_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && memcmp(b.ptr, s, n) == 0;
}

int cohere_stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct cohere_state *st = call->state;
    const cJSON *delta, *dmsg, *content;
    const char *type;
    const cJSON *ev;
    int rc;

    /* Cohere ends with its own data: [DONE]; ours is rendered by the host. */
    if (bytes_eq(frame->data, "[DONE]"))
        return AIGW_DONE;
    if (frame->data.len == 0)
        return 0;
    ev = call->host->json_parse(call, frame->data);
    if (!cJSON_IsObject(ev))
        return AIGW_EPROTO;
    type = aigw_json_str(ev, "type");
    if (!type) {
        if (frame->event.len == 0)
            return 0;
        type = call->host->strndup(call, frame->event.ptr, frame->event.len);
        if (!type)
            return AIGW_ENOMEM;
    }
    delta = aigw_json_get(ev, "delta");
    dmsg = aigw_json_get(delta, "message");
    if (strcmp(type, "message-start") == 0)
        return aigw_emit_meta(call, aigw_json_str(ev, "id"), NULL, 0);
    if (strcmp(type, "content-delta") == 0) {
        content = aigw_json_get(dmsg, "content");
        if ((rc = emit_str(call, AIGW_CHUNK_REASONING, aigw_json_str(content, "thinking"))) < 0)
            return rc;
        return emit_str(call, AIGW_CHUNK_TEXT, aigw_json_str(content, "text"));
    }
    if (strcmp(type, "tool-plan-delta") == 0)
        return emit_str(call, AIGW_CHUNK_REASONING, aigw_json_str(dmsg, "tool_plan"));
    if (strcmp(type, "tool-call-start") == 0)
        return on_tool_call(call, ev, 1);
    if (strcmp(type, "tool-call-delta") == 0)
        return on_tool_call(call, ev, 0);
    if (strcmp(type, "message-end") == 0) {
        if (st->finished)
            return AIGW_DONE;
        st->finished = 1;
        if ((rc = emit_kept_citations(call)) < 0 ||
            (rc = emit_usage_of(call, aigw_json_get(delta, "usage"))) < 0 ||
            (rc = emit_finish_of(call, aigw_json_str(delta, "finish_reason"))) < 0)
            return rc;
        return AIGW_DONE;
    }
    if (strcmp(type, "citation-start") == 0)
        return keep_citation(call, aigw_json_get(dmsg, "citations"));
    /* content-start/end, tool-call-end, citation-end, debug: nothing for an OpenAI client. */
    return 0;
}
