/*
 * anthropic_response.c - Anthropic Messages response and error envelope -> normalized chunks.
 * Shared with vertex-ai.
 */
#include <string.h>
#include <strings.h>

#include "anthropic_xlate.h"

static int bytes_is(struct aigw_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.ptr && b.len == n && memcmp(b.ptr, s, n) == 0;
}

int anth_finish_from_reason(struct aigw_call *call, struct aigw_bytes r)
{
    if (bytes_is(r, "end_turn") || bytes_is(r, "stop_sequence") || bytes_is(r, "pause_turn"))
        return AIGW_FINISH_STOP;
    if (bytes_is(r, "max_tokens") || bytes_is(r, "model_context_window_exceeded"))
        return AIGW_FINISH_LENGTH;
    if (bytes_is(r, "tool_use"))
        return AIGW_FINISH_TOOL_CALLS;
    if (bytes_is(r, "refusal"))
        return AIGW_FINISH_CONTENT_FILTER;
    int f = call->host->finish_from_string ? call->host->finish_from_string(r) : 0;
    return f > 0 ? f : AIGW_FINISH_STOP;
}

static int64_t count_of(const cJSON *usage, const char *key, int *have)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0)
        return 0;
    *have = 1;
    return (int64_t)v->valuedouble;
}

/* Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes
 * them, with the cached part repeated in cached_tokens. */
static int usage_from_json(const cJSON *usage, struct aigw_usage *u)
{
    int hi = 0, ho = 0, hr = 0, hw = 0;
    int64_t in = count_of(usage, "input_tokens", &hi);
    int64_t out = count_of(usage, "output_tokens", &ho);
    int64_t rd = count_of(usage, "cache_read_input_tokens", &hr);
    int64_t wr = count_of(usage, "cache_creation_input_tokens", &hw);

    aigw_usage_init(u);
    if (!(hi || ho || hr || hw))
        return 0;
    if (hi || hr || hw)
        u->prompt_tokens = in + rd + wr;
    if (ho)
        u->completion_tokens = out;
    if (hr)
        u->cached_tokens = rd;
    if (hw)
        u->cache_write_tokens = wr;
    return 1;
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int anth_parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *content, *block, *reason, *usage;
    struct aigw_usage u;
    int rc, tool = 0;

    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (!cJSON_IsArray(content))
        return AIGW_EPROTO;

    if ((rc = aigw_emit_meta(call, jstr(root, "id"), jstr(root, "model"), 0)) != 0)
        return rc;
    cJSON_ArrayForEach(block, content)
    {
        const char *type = jstr(block, "type");
        if (!type)
            continue;
        if (!strcmp(type, "text")) {
            const char *t = jstr(block, "text");
            if (t && t[0] && (rc = aigw_emit_text(call, 0, t, strlen(t))) != 0)
                return rc;
        } else if (!strcmp(type, "thinking")) {
            const char *t = jstr(block, "thinking");
            if (t && t[0] && (rc = aigw_emit_reasoning(call, 0, t, strlen(t))) != 0)
                return rc;
        } else if (!strcmp(type, "tool_use")) {
            const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
            const char *id = jstr(block, "id");
            const char *name = jstr(block, "name");
            const char *args = input ? call->host->json_print(call, input) : "{}";
            if (!id || !name)
                return AIGW_EPROTO;
            if (!args)
                return AIGW_ENOMEM;
            if ((rc = aigw_emit_tool_call(call, 0, tool++, id, name, args, strlen(args))) != 0)
                return rc;
        }
        /* redacted_thinking and server-side tool blocks have no OpenAI counterpart. */
    }
    reason = cJSON_GetObjectItemCaseSensitive(root, "stop_reason");
    if (cJSON_IsString(reason) &&
        (rc = aigw_emit_finish(
             call, 0, anth_finish_from_reason(call, aigw_bytes_of(reason->valuestring)))) != 0)
        return rc;
    usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (usage_from_json(usage, &u) && (rc = aigw_emit_usage(call, &u)) != 0)
        return rc;
    return 0;
}

/* Anthropic error type -> client status and OpenAI error type. */
struct err_map {
    const char *anth;
    int status;
    const char *type;
    int retryable;
};

static const struct err_map ERR_MAP[] = {
    {"invalid_request_error", 400, "invalid_request_error", 0},
    {"authentication_error", 401, "authentication_error", 0},
    {"billing_error", 402, "billing_error", 0},
    {"permission_error", 403, "permission_error", 0},
    {"not_found_error", 404, "not_found_error", 0},
    {"conflict_error", 409, "conflict_error", 1},
    {"request_too_large", 413, "invalid_request_error", 0},
    {"rate_limit_error", 429, "rate_limit_error", 1},
    {"api_error", 500, "server_error", 1},
    {"timeout_error", 504, "timeout", 1},
    /* 529: OpenAI clients know 503 as "try again later"; 529 is Anthropic's own. */
    {"overloaded_error", 503, "overloaded_error", 1},
    {NULL, 0, NULL, 0},
};

void anth_error_from_json(struct aigw_call *call, const cJSON *error, int http_status,
                          struct aigw_error *err)
{
    const char *atype = jstr(error, "type");
    const char *msg = jstr(error, "message");
    const struct err_map *m;

    aigw_error_init(err);
    err->status = http_status == 529 ? 503 : http_status;
    err->retryable = http_status == 429 || http_status == 408 || http_status >= 500;
    err->type = http_status >= 500 ? "server_error" : "invalid_request_error";
    for (m = ERR_MAP; atype && m->anth; m++) {
        if (!strcmp(m->anth, atype)) {
            /* The HTTP status wins when there is one; in-stream errors only have the type. */
            if (!http_status)
                err->status = m->status;
            err->type = m->type;
            err->retryable = m->retryable;
            break;
        }
    }
    if (atype)
        err->code = call->host->strndup(call, atype, strlen(atype));
    if (atype && !strcmp(atype, "rate_limit_error"))
        err->code = "rate_limit_exceeded";
    /* OpenAI clients recognise an overlong prompt by this code. */
    if (msg && strstr(msg, "prompt is too long"))
        err->code = "context_length_exceeded";
    /* A spend limit does not lift by retrying. */
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(error, "details");
    const char *ecode = jstr(details, "error_code");
    if (ecode && !strcmp(ecode, "enforced_spend_limit_reached"))
        err->retryable = 0;
    if (msg)
        err->message = call->host->strndup(call, msg, strlen(msg));
    else
        err->message = err->status ? call->host->strf(call, "upstream error (HTTP %d)", err->status)
                                   : "upstream error";
}

static int header_is(struct aigw_bytes h, const char *s)
{
    size_t n = strlen(s);
    return h.ptr && h.len == n && strncasecmp(h.ptr, s, n) == 0;
}

int anth_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    const cJSON *root = body.len ? call->host->json_parse(call, body) : NULL;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const char *rtype = jstr(root, "type");

    /* Anything but the Anthropic envelope (a proxy's page, Vertex's Google envelope) goes to
     * the host's generic mapping. */
    if (!cJSON_IsObject(error) || !rtype || strcmp(rtype, "error") != 0) {
        int rc = call->host->oai_map_error(call, body, err);
        if (err->status == 529)
            err->status = 503;
        if (call->status == 529)
            err->retryable = 1;
        return rc;
    }
    anth_error_from_json(call, error, call->status, err);

    struct aigw_bytes should = call->host->response_header(call, "x-should-retry");
    if (header_is(should, "true"))
        err->retryable = 1;
    else if (header_is(should, "false"))
        err->retryable = 0;
    err->retry_after_ms = call->host->retry_after_ms(call);
    return 0;
}
