/*
 * anthropic_response.c - Anthropic Messages response and error envelope -> normalized chunks,
 * and the native path's helpers (the client's own body forwarded, count_tokens answers, the
 * private EXTRA chunks). Shared with vertex-ai.
 */
#include <stdint.h>
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

/* ---- the native path ------------------------------------------------------------------ */

int anth_is_native(const struct aigw_call *call)
{
    return AIGW_HAS_MEMBER(call, struct aigw_call, inbound_body) && call->inbound &&
           !strcmp(call->inbound, "anthropic") && cJSON_IsObject(call->inbound_body);
}

/* What count_tokens accepts; it refuses generation fields (max_tokens, stream, sampling). */
static const char *const COUNT_FIELDS[] = {"model",
                                           "messages",
                                           "system",
                                           "tools",
                                           "tool_choice",
                                           "thinking",
                                           "mcp_servers",
                                           "output_config",
                                           "context_management",
                                           "cache_control",
                                           "anthropic_beta",
                                           "anthropic_version",
                                           NULL};

static int count_field(const char *k)
{
    for (int i = 0; COUNT_FIELDS[i]; i++)
        if (!strcmp(COUNT_FIELDS[i], k))
            return 1;
    return 0;
}

/* Replaces (or adds) key with item; consumes item. */
static int set_item(cJSON *o, const char *key, cJSON *item)
{
    if (!item)
        return AIGW_ENOMEM;
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (!cJSON_AddItemToObject(o, key, item)) {
        cJSON_Delete(item);
        return AIGW_ENOMEM;
    }
    return 0;
}

/* "a","b" -> "a,b" in call memory; NULL when there is nothing to send. */
static const char *join_betas(struct aigw_call *call, const cJSON *arr)
{
    size_t n = 0, o = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, arr)
    {
        if (cJSON_IsString(b) && b->valuestring[0])
            n += strlen(b->valuestring) + 1;
    }
    if (!n)
        return NULL;
    char *s = call->host->alloc(call, n);
    if (!s)
        return NULL;
    cJSON_ArrayForEach(b, arr)
    {
        if (!cJSON_IsString(b) || !b->valuestring[0])
            continue;
        size_t l = strlen(b->valuestring);
        if (o)
            s[o++] = ',';
        memcpy(s + o, b->valuestring, l);
        o += l;
    }
    s[o] = '\0';
    return s;
}

void anth_count_body(cJSON *body)
{
    cJSON *k, *next;
    for (k = body ? body->child : NULL; k; k = next) {
        next = k->next;
        if (!k->string || !count_field(k->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(body, k));
    }
}

int anth_native_body(struct aigw_call *call, int for_vertex, cJSON **out, const char **betas)
{
    cJSON *body = cJSON_Duplicate(call->inbound_body, 1);
    int rc = 0;
    *out = NULL;
    if (!body)
        return AIGW_ENOMEM;
    if (call->op == AIGW_OP_COUNT_TOKENS) {
        anth_count_body(body);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "stream");
        if (call->stream)
            rc = set_item(body, "stream", cJSON_CreateTrue());
    }
    if (!rc && for_vertex) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "model");
        if (!cJSON_GetObjectItemCaseSensitive(body, "anthropic_version"))
            rc = set_item(body, "anthropic_version", cJSON_CreateString("vertex-2023-10-16"));
    } else if (!rc) {
        rc =
            call->model ? set_item(body, "model", cJSON_CreateString(call->model)) : AIGW_EINTERNAL;
        /* The direct API takes betas as a header, and refuses the key in the body. */
        cJSON *arr = cJSON_DetachItemFromObjectCaseSensitive(body, "anthropic_beta");
        if (betas)
            *betas = join_betas(call, arr);
        cJSON_Delete(arr);
        cJSON_DeleteItemFromObjectCaseSensitive(body, "anthropic_version");
    }
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    *out = body;
    return 0;
}

int anth_emit_extra(struct aigw_call *call, const char *name, const cJSON *value)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
    c.name = aigw_bytes_of(name);
    c.extra = value;
    return call->host->emit(call, &c);
}

static int emit_bytes(struct aigw_call *call, int type, const char *s)
{
    struct aigw_chunk c = aigw_chunk_init(type, 0);
    if (!s || !s[0])
        return 0;
    c.text = aigw_bytes_of(s);
    return call->host->emit(call, &c);
}

int anth_count_parse(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "input_tokens");
    struct aigw_usage u;
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 1e15)
        return AIGW_EPROTO;
    aigw_usage_init(&u);
    u.prompt_tokens = (int64_t)n->valuedouble;
    return aigw_emit_usage(call, &u);
}

/* {"stop_reason":..,"stop_sequence":..} of a message or a message_delta, for the native
 * client (pause_turn, refusal and the matched stop sequence survive). */
int anth_emit_stop(struct aigw_call *call, const cJSON *holder)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(holder, "stop_reason");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(holder, "stop_sequence");
    if (!cJSON_IsString(r))
        return 0;
    cJSON *o = cJSON_CreateObject();
    int rc = o && cJSON_AddStringToObject(o, "stop_reason", r->valuestring) &&
                     (cJSON_IsString(s)
                          ? cJSON_AddStringToObject(o, "stop_sequence", s->valuestring) != NULL
                          : cJSON_AddNullToObject(o, "stop_sequence") != NULL)
                 ? anth_emit_extra(call, ANTH_EXTRA_STOP, o)
                 : AIGW_ENOMEM;
    cJSON_Delete(o);
    return rc;
}

/* One content block of a whole response, for a native client. */
static int native_block(struct aigw_call *call, const cJSON *block, const char *type, int *tool)
{
    const cJSON *cites = cJSON_GetObjectItemCaseSensitive(block, "citations");
    int rc = 0;
    if (!strcmp(type, "text") && !(cJSON_IsArray(cites) && cJSON_GetArraySize(cites) > 0)) {
        rc = emit_bytes(call, AIGW_CHUNK_TEXT, jstr(block, "text"));
    } else if (!strcmp(type, "thinking")) {
        rc = emit_bytes(call, AIGW_CHUNK_REASONING, jstr(block, "thinking"));
        if (!rc)
            rc = emit_bytes(call, AIGW_CHUNK_REASONING_SIGNATURE, jstr(block, "signature"));
    } else if (!strcmp(type, "redacted_thinking")) {
        return emit_bytes(call, AIGW_CHUNK_REASONING_REDACTED, jstr(block, "data"));
    } else if (!strcmp(type, "tool_use")) {
        const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
        const char *args = input ? call->host->json_print(call, input) : "{}";
        if (!jstr(block, "id") || !jstr(block, "name"))
            return AIGW_EPROTO;
        if (!args)
            return AIGW_ENOMEM;
        rc = aigw_emit_tool_call(call, 0, (*tool)++, jstr(block, "id"), jstr(block, "name"), args,
                                 strlen(args));
    } else if (!strcmp(type, "text")) {
        /* A text block with citations: opened with them, its text then goes as text (what
         * the output guardrails read and may redact), as a stream delivers it. */
        cJSON *ev = cJSON_CreateObject(), *head = cJSON_Duplicate(block, 1);
        if (!ev || !head || !cJSON_AddItemToObject(ev, "content_block", head)) {
            cJSON_Delete(ev);
            cJSON_Delete(head);
            return AIGW_ENOMEM;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(head, "text");
        rc = cJSON_AddStringToObject(head, "text", "")
                 ? anth_emit_extra(call, ANTH_EXTRA_BLOCK_START, ev)
                 : AIGW_ENOMEM;
        cJSON_Delete(ev);
        if (!rc)
            rc = emit_bytes(call, AIGW_CHUNK_TEXT, jstr(block, "text"));
    } else {
        /* server tools and newer blocks: the block itself */
        return anth_emit_extra(call, ANTH_EXTRA_BLOCK, block);
    }
    /* Consecutive text blocks stay apart, as the upstream sent them. */
    return rc ? rc : anth_emit_extra(call, ANTH_EXTRA_BLOCK_STOP, block);
}

int anth_parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root, *content, *block, *reason, *usage;
    struct aigw_usage u;
    int rc, tool = 0;

    if (call->op == AIGW_OP_COUNT_TOKENS)
        return anth_count_parse(call, body);
    root = call->host->json_parse(call, body);
    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (!cJSON_IsArray(content))
        return AIGW_EPROTO;

    int native = anth_is_native(call);
    if ((rc = aigw_emit_meta(call, jstr(root, "id"), jstr(root, "model"), 0)) != 0)
        return rc;
    cJSON_ArrayForEach(block, content)
    {
        const char *type = jstr(block, "type");
        if (!type)
            continue;
        if (native) {
            if ((rc = native_block(call, block, type, &tool)) != 0)
                return rc;
        } else if (!strcmp(type, "text")) {
            const char *t = jstr(block, "text");
            if (t && t[0] && (rc = aigw_emit_text(call, 0, t, strlen(t))) != 0)
                return rc;
        } else if (!strcmp(type, "thinking")) {
            const char *t = jstr(block, "thinking");
            if (t && t[0] && (rc = aigw_emit_reasoning(call, 0, t, strlen(t))) != 0)
                return rc;
            if ((rc = emit_bytes(call, AIGW_CHUNK_REASONING_SIGNATURE, jstr(block, "signature"))))
                return rc;
        } else if (!strcmp(type, "redacted_thinking")) {
            if ((rc = emit_bytes(call, AIGW_CHUNK_REASONING_REDACTED, jstr(block, "data"))) != 0)
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
        /* server-side tool blocks have no OpenAI counterpart */
    }
    if (native && (rc = anth_emit_stop(call, root)) != 0)
        return rc;
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
