/*
 * bedrock_response.c - Converse response, ConverseStream events and errors -> chunks
 * (notes §7.4-7.6).
 *
 * Every ConverseStream payload carries a random "p" padding field; only the named fields are
 * read, so it is ignored without special handling.
 */
#include <string.h>
#include <strings.h>

#include "bedrock.h"

static int finish_of(const char *reason)
{
    static const struct {
        const char *name;
        int finish;
    } map[] = {
        {"end_turn", AIGW_FINISH_STOP},
        {"stop_sequence", AIGW_FINISH_STOP},
        {"max_tokens", AIGW_FINISH_LENGTH},
        {"model_context_window_exceeded", AIGW_FINISH_LENGTH},
        {"tool_use", AIGW_FINISH_TOOL_CALLS},
        {"guardrail_intervened", AIGW_FINISH_CONTENT_FILTER},
        {"content_filtered", AIGW_FINISH_CONTENT_FILTER},
        {"malformed_model_output", AIGW_FINISH_STOP},
        {"malformed_tool_use", AIGW_FINISH_STOP},
    };
    if (!reason)
        return AIGW_FINISH_NONE;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(reason, map[i].name))
            return map[i].finish;
    return AIGW_FINISH_STOP;
}

/* Bedrock's stopReason sometimes contradicts the content (end_turn next to toolUse blocks,
 * tool_use on a text-only message); OpenAI clients dispatch tools on "tool_calls", so the
 * finish follows whether tool calls were sent. */
static int finish_for(int finish, int ntools)
{
    if (finish == AIGW_FINISH_STOP && ntools > 0)
        return AIGW_FINISH_TOOL_CALLS;
    if (finish == AIGW_FINISH_TOOL_CALLS && ntools == 0)
        return AIGW_FINISH_STOP;
    return finish;
}

/* Bedrock's inputTokens leaves out cached prompt tokens; OpenAI's prompt_tokens includes them
 * (Portkey's reading, notes §7.4). */
static int emit_usage(struct aigw_call *call, const cJSON *usage)
{
    if (!cJSON_IsObject(usage))
        return 0;
    struct aigw_usage u;
    aigw_usage_init(&u);
    int64_t in = aigw_json_count(usage, "inputTokens"),
            out = aigw_json_count(usage, "outputTokens");
    int64_t cr = aigw_json_count(usage, "cacheReadInputTokens"),
            cw = aigw_json_count(usage, "cacheWriteInputTokens");
    if (in < 0 && out < 0)
        return 0;
    u.prompt_tokens = (in > 0 ? in : 0) + (cr > 0 ? cr : 0) + (cw > 0 ? cw : 0);
    u.completion_tokens = out >= 0 ? out : 0;
    u.cached_tokens = cr;
    u.cache_write_tokens = cw;
    return aigw_emit_usage(call, &u);
}

static int emit_meta(struct aigw_call *call)
{
    struct aigw_bytes rid = call->host->response_header(call, "x-amzn-RequestId");
    const char *id = NULL;
    if (rid.ptr && rid.len > 0 && rid.len < 128) {
        id = call->host->strf(call, "chatcmpl-%.*s", (int)rid.len, rid.ptr);
        if (!id)
            return AIGW_ENOMEM;
    }
    return aigw_emit_meta(call, id, call->model, 0);
}

int bedrock_parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *blocks =
        aigw_json_get(aigw_json_get(aigw_json_get(root, "output"), "message"), "content");
    const cJSON *b;
    const struct bedrock_state *st = call->state;
    int rc, ntools = 0;

    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    if ((rc = emit_meta(call)) != 0)
        return rc;
    cJSON_ArrayForEach(b, blocks)
    {
        const cJSON *text = aigw_json_get(b, "text"), *tu = aigw_json_get(b, "toolUse");
        const cJSON *rt = aigw_json_get(
            aigw_json_get(aigw_json_get(b, "reasoningContent"), "reasoningText"), "text");
        if (cJSON_IsString(text) && *text->valuestring) {
            rc = aigw_emit_text(call, 0, text->valuestring, strlen(text->valuestring));
        } else if (cJSON_IsString(rt) && *rt->valuestring) {
            rc = aigw_emit_reasoning(call, 0, rt->valuestring, strlen(rt->valuestring));
        } else if (cJSON_IsObject(tu)) {
            const cJSON *id = aigw_json_get(tu, "toolUseId"), *name = aigw_json_get(tu, "name");
            const cJSON *input = aigw_json_get(tu, "input");
            if (!cJSON_IsString(id) || !cJSON_IsString(name))
                return AIGW_EPROTO;
            const char *args = input ? call->host->json_print(call, input) : "{}";
            if (!args)
                return AIGW_ENOMEM;
            if (st->json_tool && !strcmp(name->valuestring, BEDROCK_JSON_TOOL))
                rc = aigw_emit_text(call, 0, args, strlen(args)); /* json_object's answer */
            else
                rc = aigw_emit_tool_call(call, 0, ntools++, id->valuestring, name->valuestring,
                                         args, strlen(args));
        }
        if (rc)
            return rc;
    }
    const cJSON *stop = aigw_json_get(root, "stopReason");
    int finish = finish_of(cJSON_IsString(stop) ? stop->valuestring : NULL);
    if (finish != AIGW_FINISH_NONE &&
        (rc = aigw_emit_finish(call, 0, finish_for(finish, ntools))) != 0)
        return rc;
    return emit_usage(call, aigw_json_get(root, "usage"));
}

/* ---- errors ---------------------------------------------------------------------------------- */

struct exc_map {
    const char *name; /* exception shape name, compared case-insensitively */
    int status;
    const char *type;
    const char *code;
    int retryable;
};

/* §7.6; stream exceptions use the same names with a lowercase first letter. */
static const struct exc_map exceptions[] = {
    {"ValidationException", 400, "invalid_request_error", NULL, 0},
    {"ServiceQuotaExceededException", 429, "rate_limit_error", "quota_exceeded", 1},
    {"AccessDeniedException", 403, "permission_error", NULL, 0},
    {"UnrecognizedClientException", 401, "authentication_error", "invalid_api_key", 0},
    {"InvalidSignatureException", 401, "authentication_error", "invalid_signature", 0},
    {"ExpiredTokenException", 401, "authentication_error", "expired_token", 0},
    {"IncompleteSignatureException", 401, "authentication_error", "invalid_signature", 0},
    {"MissingAuthenticationTokenException", 401, "authentication_error", NULL, 0},
    {"ResourceNotFoundException", 404, "not_found_error", "model_not_found", 0},
    {"ModelTimeoutException", 504, "timeout", "timeout", 1},
    {"ThrottlingException", 429, "rate_limit_error", "rate_limit_exceeded", 1},
    {"ModelNotReadyException", 503, "server_error", "model_not_ready", 1},
    {"ModelErrorException", 502, "server_error", "model_error", 0},
    {"ModelStreamErrorException", 502, "server_error", "model_error", 0},
    {"InternalServerException", 500, "server_error", NULL, 1},
    {"ServiceUnavailableException", 503, "server_error", "service_unavailable", 1},
};

static const struct exc_map *find_exception(const char *p, size_t n)
{
    for (size_t i = 0; i < sizeof exceptions / sizeof exceptions[0]; i++)
        if (strlen(exceptions[i].name) == n && !strncasecmp(exceptions[i].name, p, n))
            return &exceptions[i];
    return NULL;
}

/* The human text of an error body: {"message"} / {"Message"}, else the raw text if it is not
 * JSON (event-stream :error-message), else NULL. */
static const char *error_text(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = body.len ? call->host->json_parse(call, body) : NULL;
    const cJSON *m = aigw_json_get(root, "message");
    if (!cJSON_IsString(m))
        m = aigw_json_get(root, "Message");
    if (cJSON_IsString(m))
        return m->valuestring;
    if (!root && body.len && body.len < 4096)
        return call->host->strndup(call, body.ptr, body.len);
    return NULL;
}

static void fill_error(struct aigw_call *call, const char *name, size_t nlen, int status,
                       struct aigw_bytes body, struct aigw_error *err)
{
    const struct exc_map *m = find_exception(name, nlen);
    aigw_error_init(err);
    err->message = error_text(call, body);
    if (m) {
        err->status = m->status;
        err->type = m->type;
        err->code = m->code;
        err->retryable = m->retryable;
    } else if (status) {
        err->status = status == 424 ? 502 : status;
        err->retryable = status == 429 || status >= 500;
    } else {
        err->status = 502;
        err->type = "server_error";
    }
    if (err->status == 400 && err->message &&
        (strstr(err->message, "Input Tokens Exceeded") || strstr(err->message, "too long") ||
         strstr(err->message, "context window")))
        err->code = "context_length_exceeded";
    if (!err->message)
        err->message = nlen ? call->host->strndup(call, name, nlen) : NULL;
}

int bedrock_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    /* x-amzn-ErrorType: "<ExceptionName>:<namespace>" */
    struct aigw_bytes et = call->host->response_header(call, "x-amzn-ErrorType");
    size_t nlen = 0;
    if (et.ptr)
        while (nlen < et.len && et.ptr[nlen] != ':')
            nlen++;
    fill_error(call, et.ptr ? et.ptr : "", nlen, call->status, body, err);
    return 0;
}

/* ---- ConverseStream ---------------------------------------------------------------------- */

static int frame_is(const struct aigw_frame *f, const char *name)
{
    size_t n = strlen(name);
    return f->event.len == n && !memcmp(f->event.ptr, name, n);
}

static int block_index(const cJSON *ev)
{
    int64_t i = aigw_json_count(ev, "contentBlockIndex");
    return i >= 0 && i < BEDROCK_MAX_BLOCKS ? (int)i : -1;
}

static int on_block_start(struct aigw_call *call, struct bedrock_state *st, const cJSON *ev)
{
    const cJSON *tu = aigw_json_get(aigw_json_get(ev, "start"), "toolUse");
    if (!cJSON_IsObject(tu))
        return 0;
    const cJSON *id = aigw_json_get(tu, "toolUseId"), *name = aigw_json_get(tu, "name");
    if (!cJSON_IsString(id) || !cJSON_IsString(name))
        return AIGW_EPROTO;
    int bi = block_index(ev);
    if (st->json_tool && !strcmp(name->valuestring, BEDROCK_JSON_TOOL)) {
        if (bi < 0)
            return AIGW_EPROTO;
        st->block_json[bi] = 1; /* json_object's answer: its input is the text */
        return 0;
    }
    int ti = st->ntools++;
    if (bi >= 0)
        st->block_tool[bi] = ti + 1;
    return aigw_emit_tool_call(call, 0, ti, id->valuestring, name->valuestring, "", 0);
}

static int on_block_delta(struct aigw_call *call, struct bedrock_state *st, const cJSON *ev)
{
    const cJSON *d = aigw_json_get(ev, "delta");
    const cJSON *text = aigw_json_get(d, "text");
    const cJSON *input = aigw_json_get(aigw_json_get(d, "toolUse"), "input");
    const cJSON *rt = aigw_json_get(aigw_json_get(d, "reasoningContent"), "text");
    if (cJSON_IsString(text))
        return *text->valuestring
                   ? aigw_emit_text(call, 0, text->valuestring, strlen(text->valuestring))
                   : 0;
    if (cJSON_IsString(rt))
        return *rt->valuestring
                   ? aigw_emit_reasoning(call, 0, rt->valuestring, strlen(rt->valuestring))
                   : 0;
    if (cJSON_IsString(input)) {
        int bi = block_index(ev);
        if (bi >= 0 && st->block_json[bi]) {
            if (!*input->valuestring)
                return 0;
            st->block_args[bi] = 1;
            return aigw_emit_text(call, 0, input->valuestring, strlen(input->valuestring));
        }
        int ti = bi >= 0 && st->block_tool[bi] ? st->block_tool[bi] - 1 : st->ntools - 1;
        if (ti < 0)
            return AIGW_EPROTO;
        if (!*input->valuestring)
            return 0;
        if (bi >= 0)
            st->block_args[bi] = 1;
        return aigw_emit_tool_call(call, 0, ti, NULL, NULL, input->valuestring,
                                   strlen(input->valuestring));
    }
    /* reasoning signatures / redacted content, citations, images: nothing to show */
    return 0;
}

/* A tool without parameters streams no input at all; OpenAI clients expect an object, and
 * the non-streamed answer has one. */
static int on_block_stop(struct aigw_call *call, struct bedrock_state *st, const cJSON *ev)
{
    int bi = block_index(ev);
    if (bi < 0 || (!st->block_tool[bi] && !st->block_json[bi]) || st->block_args[bi])
        return 0;
    st->block_args[bi] = 1;
    if (st->block_json[bi])
        return aigw_emit_text(call, 0, "{}", 2);
    return aigw_emit_tool_call(call, 0, st->block_tool[bi] - 1, NULL, NULL, "{}", 2);
}

int bedrock_stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct bedrock_state *st = call->state;
    if (frame->is_exception) {
        struct aigw_error err;
        fill_error(call, frame->event.ptr, frame->event.len, 0, frame->data, &err);
        int rc = aigw_emit_error(call, &err);
        return rc ? rc : AIGW_DONE;
    }
    const cJSON *ev = call->host->json_parse(call, frame->data);
    if (!cJSON_IsObject(ev))
        return AIGW_EPROTO;
    if (frame_is(frame, "messageStart"))
        return emit_meta(call);
    if (frame_is(frame, "contentBlockStart"))
        return on_block_start(call, st, ev);
    if (frame_is(frame, "contentBlockDelta"))
        return on_block_delta(call, st, ev);
    if (frame_is(frame, "messageStop")) {
        const cJSON *stop = aigw_json_get(ev, "stopReason");
        int finish = finish_of(cJSON_IsString(stop) ? stop->valuestring : NULL);
        if (finish == AIGW_FINISH_NONE || st->finished)
            return 0;
        st->finished = 1;
        return aigw_emit_finish(call, 0, finish_for(finish, st->ntools));
    }
    if (frame_is(frame, "metadata")) {
        int rc = emit_usage(call, aigw_json_get(ev, "usage"));
        /* metadata is the last event of a ConverseStream */
        return rc ? rc : AIGW_DONE;
    }
    if (frame_is(frame, "contentBlockStop"))
        return on_block_stop(call, st, ev);
    return 0; /* events added later */
}
