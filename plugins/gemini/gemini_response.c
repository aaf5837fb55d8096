/*
 * gemini_response.c - GenerateContentResponse (whole body or SSE events) -> normalized chunks,
 * and the google.rpc error envelope -> struct aigw_error.
 *
 * A stream event has the same shape as a whole response, so both paths share one walker.
 * Finish reasons are held until the end: Vertex repeats finishReason on every event, text can
 * follow it, and the core wants exactly one finish per choice.
 */
#include <stdio.h>
#include <string.h>

#include "gemini_xlate.h"

static int finish_of(const char *r)
{
    static const char *const filtered[] = {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "LANGUAGE",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    };
    if (!strcmp(r, "MAX_TOKENS"))
        return AIGW_FINISH_LENGTH;
    for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++)
        if (!strcmp(r, filtered[i]))
            return AIGW_FINISH_CONTENT_FILTER;
    /* STOP, OTHER, MALFORMED_FUNCTION_CALL, ...: nothing OpenAI has a better word for. */
    return AIGW_FINISH_STOP;
}

/* usageMetadata -> USAGE. OpenAI counts reasoning inside completion tokens and tool-use
 * prompt tokens inside the prompt; Gemini reports both separately. */
static int emit_usage(struct aigw_call *call, const cJSON *um)
{
    int64_t prompt = aigw_json_count(um, "promptTokenCount");
    int64_t cand = aigw_json_count(um, "candidatesTokenCount");
    int64_t thoughts = aigw_json_count(um, "thoughtsTokenCount");
    int64_t tool = aigw_json_count(um, "toolUsePromptTokenCount");
    struct aigw_usage u;
    /* Vertex sends usageMetadata with only trafficType on intermediate events. */
    if (prompt < 0 && cand < 0 && thoughts < 0)
        return 0;
    aigw_usage_init(&u);
    u.prompt_tokens = (prompt > 0 ? prompt : 0) + (tool > 0 ? tool : 0);
    u.completion_tokens = (cand > 0 ? cand : 0) + (thoughts > 0 ? thoughts : 0);
    u.cached_tokens = aigw_json_count(um, "cachedContentTokenCount");
    u.reasoning_tokens = thoughts;
    return aigw_emit_usage(call, &u);
}

static int emit_call(struct aigw_call *call, struct gem_stream_state *st, int choice,
                     const cJSON *fc)
{
    const char *name = aigw_json_str(fc, "name");
    const char *id = aigw_json_str(fc, "id");
    const cJSON *args = aigw_json_get(fc, "args");
    if (!name)
        return AIGW_EPROTO;
    /* Gemini 2.x sends no id: the core makes one from the response id, unique across turns
     * (a per-response counter repeated "call_0" in every turn of the history). */
    char *json = args ? cJSON_PrintUnformatted(args) : NULL;
    const char *a = json ? json : "{}";
    if (args && !json)
        return AIGW_ENOMEM;
    int rc = aigw_emit_tool_call(call, choice, st->ntools[choice], id, name, a, strlen(a));
    cJSON_free(json);
    st->ntools[choice]++;
    return rc;
}

static int walk_candidate(struct aigw_call *call, struct gem_stream_state *st, const cJSON *cand,
                          int k)
{
    const cJSON *idx = aigw_json_get(cand, "index"), *p;
    double d = cJSON_IsNumber(idx) ? idx->valuedouble : k;
    int rc = 0;
    if (!(d >= 0 && d < GEM_MAX_CHOICES))
        return AIGW_EPROTO;
    int choice = (int)d;
    st->seen[choice] = 1;
    cJSON_ArrayForEach(p, aigw_json_get(aigw_json_get(cand, "content"), "parts"))
    {
        const cJSON *fc = aigw_json_get(p, "functionCall");
        const char *text = aigw_json_str(p, "text");
        if (cJSON_IsObject(fc))
            rc = emit_call(call, st, choice, fc);
        else if (text && text[0] && cJSON_IsTrue(aigw_json_get(p, "thought")))
            rc = aigw_emit_reasoning(call, choice, text, strlen(text));
        else if (text && text[0])
            rc = aigw_emit_text(call, choice, text, strlen(text));
        /* inlineData, executableCode, ...: nothing in a chat completion can carry them. */
        if (rc != 0)
            return rc;
    }
    const char *reason = aigw_json_str(cand, "finishReason");
    if (reason && strcmp(reason, "FINISH_REASON_UNSPECIFIED"))
        st->finish[choice] = finish_of(reason);
    return 0;
}

/* One GenerateContentResponse (a whole body or one stream event). */
static int walk(struct aigw_call *call, struct gem_stream_state *st, const cJSON *root)
{
    const cJSON *cands = aigw_json_get(root, "candidates"), *c;
    int rc = 0, k = 0;
    if (!st->meta_sent) {
        const char *id = aigw_json_str(root, "responseId"),
                   *model = aigw_json_str(root, "modelVersion");
        st->meta_sent = 1;
        if ((id || model) && (rc = aigw_emit_meta(call, id, model, 0)) != 0)
            return rc;
    }
    if (cands && !cJSON_IsArray(cands))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(c, cands)
    {
        if ((rc = walk_candidate(call, st, c, k++)) != 0)
            return rc;
    }
    const cJSON *fb = aigw_json_get(root, "promptFeedback");
    if (k == 0 && (aigw_json_get(fb, "blockReason") || aigw_json_get(fb, "blockReasonMessage"))) {
        /* The prompt itself was blocked: no candidate at all. */
        st->seen[0] = 1;
        st->finish[0] = AIGW_FINISH_CONTENT_FILTER;
    }
    const cJSON *um = aigw_json_get(root, "usageMetadata");
    return cJSON_IsObject(um) ? emit_usage(call, um) : 0;
}

static int flush_finishes(struct aigw_call *call, struct gem_stream_state *st)
{
    for (int i = 0; i < GEM_MAX_CHOICES; i++) {
        int f = st->finish[i];
        if (!st->seen[i] || !f)
            continue;
        /* Gemini says STOP after a function call; OpenAI clients expect tool_calls. */
        if (f == AIGW_FINISH_STOP && st->ntools[i] > 0)
            f = AIGW_FINISH_TOOL_CALLS;
        st->finish[i] = 0;
        int rc = aigw_emit_finish(call, i, f);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int emit_inband_error(struct aigw_call *call, struct gem_stream_state *st,
                             const cJSON *error)
{
    struct aigw_error err;
    aigw_error_init(&err);
    gem_error_from_rpc(call, error, 0, st->secret, &err);
    st->done = 1;
    int rc = aigw_emit_error(call, &err);
    return rc != 0 ? rc : AIGW_DONE;
}

int gem_parse_response(struct aigw_call *call, struct gem_stream_state *st, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    int rc;
    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    if (cJSON_IsObject(aigw_json_get(root, "error"))) {
        rc = emit_inband_error(call, st, aigw_json_get(root, "error"));
        return rc == AIGW_DONE ? 0 : rc;
    }
    if ((rc = walk(call, st, root)) != 0)
        return rc;
    return flush_finishes(call, st);
}

/* One complete JSON document of the stream. */
static int stream_doc(struct aigw_call *call, struct gem_stream_state *st, const char *p, size_t n)
{
    /* Parsed and freed per event: call memory would grow with the stream's length. */
    cJSON *root = cJSON_ParseWithLength(p, n);
    int rc;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        call->host->log(call, AIGW_LOG_WARN, "stream event is not a JSON object");
        return AIGW_EPROTO;
    }
    if (cJSON_IsObject(aigw_json_get(root, "error")))
        rc = emit_inband_error(call, st, aigw_json_get(root, "error"));
    else
        rc = walk(call, st, root);
    cJSON_Delete(root);
    return rc;
}

/* One frame of the JSON sequence the host cuts the stream into (AIGW_FRAMING_JSON_SEQ): an
 * event's data, or the bare error object Google sends without a data: prefix. */
int gem_stream_event(struct aigw_call *call, struct gem_stream_state *st,
                     const struct aigw_frame *frame)
{
    const char *p = frame->data.ptr;
    size_t n = frame->data.len;
    if (st->done)
        return AIGW_DONE;
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    if (n == 0)
        return 0;
    if (n == 6 && !memcmp(p, "[DONE]", 6))
        return AIGW_DONE;
    return stream_doc(call, st, p, n);
}

int gem_stream_end(struct aigw_call *call, struct gem_stream_state *st)
{
    if (st->done)
        return 0;
    return flush_finishes(call, st);
}

/* "48s" / "0.5s" (a google.protobuf.Duration in JSON) -> milliseconds, -1 if malformed. */
static int64_t duration_ms(const char *s)
{
    int64_t whole = 0, frac = 0, scale = 1000;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > 1000000000)
            return -1;
        whole = whole * 10 + (*p - '0');
    }
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
    if (*p != 's' || p[1])
        return -1;
    return whole * 1000 + frac;
}

struct rpc_map {
    const char *status;
    int http;
    const char *type;
    int retryable;
};

static const struct rpc_map rpc_table[] = {
    {"INVALID_ARGUMENT", 400, "invalid_request_error", 0},
    {"FAILED_PRECONDITION", 400, "invalid_request_error", 0},
    {"OUT_OF_RANGE", 400, "invalid_request_error", 0},
    {"UNAUTHENTICATED", 401, "authentication_error", 0},
    {"PERMISSION_DENIED", 403, "permission_error", 0},
    {"NOT_FOUND", 404, "not_found_error", 0},
    {"ALREADY_EXISTS", 409, "invalid_request_error", 0},
    {"ABORTED", 409, "server_error", 1},
    {"RESOURCE_EXHAUSTED", 429, "rate_limit_error", 1},
    {"CANCELLED", 502, "server_error", 1},
    {"UNKNOWN", 500, "server_error", 1},
    {"INTERNAL", 500, "server_error", 1},
    {"DATA_LOSS", 500, "server_error", 1},
    {"UNIMPLEMENTED", 501, "server_error", 0},
    {"UNAVAILABLE", 503, "server_error", 1},
    {"DEADLINE_EXCEEDED", 504, "timeout", 1},
};

static char *dup_str(struct aigw_call *call, const char *s)
{
    return s ? call->host->strndup(call, s, strlen(s)) : NULL;
}

/* A copy of s in call memory with every occurrence of secret masked. */
static const char *scrubbed(struct aigw_call *call, const char *s, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    const char *hit;
    if (sl < 4 || !(hit = strstr(s, secret)))
        return dup_str(call, s);
    char *out = call->host->strf(call, "%.*s[redacted]", (int)(hit - s), s);
    for (const char *rest = hit + sl; out && *rest; rest = hit + sl) {
        if (!(hit = strstr(rest, secret)))
            return call->host->strf(call, "%s%s", out, rest);
        out = call->host->strf(call, "%s%.*s[redacted]", out, (int)(hit - rest), rest);
    }
    return out;
}

void gem_error_from_rpc(struct aigw_call *call, const cJSON *error, int http_status,
                        const char *secret, struct aigw_error *err)
{
    const char *status = aigw_json_str(error, "status");
    const char *message = aigw_json_str(error, "message");
    const cJSON *code = aigw_json_get(error, "code"), *d;
    const char *reason = NULL;
    int http = http_status;
    if (http <= 0 && cJSON_IsNumber(code) && code->valuedouble >= 100 && code->valuedouble < 1000)
        http = (int)code->valuedouble;

    aigw_error_init(err);
    cJSON_ArrayForEach(d, aigw_json_get(error, "details"))
    {
        const char *type = aigw_json_str(d, "@type");
        const char *delay = aigw_json_str(d, "retryDelay");
        if (type && strstr(type, "google.rpc.RetryInfo") && delay)
            err->retry_after_ms = duration_ms(delay);
        if (type && strstr(type, "google.rpc.ErrorInfo") && !reason)
            reason = aigw_json_str(d, "reason");
    }
    err->status = http >= 400 && http <= 599 ? http : 502;
    err->type = http >= 500 || http < 400 ? "server_error" : "invalid_request_error";
    err->retryable = http == 429 || http == 408 || http >= 500;
    for (size_t i = 0; status && i < sizeof rpc_table / sizeof rpc_table[0]; i++) {
        if (strcmp(status, rpc_table[i].status))
            continue;
        err->status = rpc_table[i].http;
        err->type = rpc_table[i].type;
        err->retryable = rpc_table[i].retryable;
        break;
    }
    err->code = dup_str(call, status);
    if (reason && !strcmp(reason, "API_KEY_INVALID")) {
        /* Google answers a bad key with 400; clients handle it as the auth failure it is. */
        err->status = 401;
        err->type = "authentication_error";
        err->code = "invalid_api_key";
        err->retryable = 0;
    }
    /* OpenAI clients recognise an overlong prompt by this code (Codex compacts on it). */
    if (err->status == 400 && message && strstr(message, "input token count") &&
        strstr(message, "exceeds the maximum"))
        err->code = "context_length_exceeded";
    err->message = scrubbed(call, message ? message : "upstream error", secret);
    if (err->retryable && err->retry_after_ms < 0 && http_status > 0)
        err->retry_after_ms = call->host->retry_after_ms(call);
}

int gem_map_error(struct aigw_call *call, const struct gem_stream_state *st, struct aigw_bytes body,
                  struct aigw_error *err)
{
    const cJSON *root = call->host->json_parse(call, body);
    /* Without alt=sse Google streams a JSON array; an error can come wrapped the same way. */
    if (cJSON_IsArray(root))
        root = cJSON_GetArrayItem(root, 0);
    const cJSON *error = aigw_json_get(root, "error");
    if (!cJSON_IsObject(error))
        return call->host->oai_map_error(call, body, err);
    gem_error_from_rpc(call, error, call->status, st ? st->secret : NULL, err);
    return 0;
}
