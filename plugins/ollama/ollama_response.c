/*
 * ollama_response - native /api/chat responses and NDJSON stream lines -> normalized chunks
 * (providers-B §10.1).
 *
 * A streamed and a non-streamed answer have the same object shape, so both paths share
 * on_object(): message.thinking -> REASONING, message.content -> TEXT, message.tool_calls ->
 * TOOL_CALL (complete calls; arguments object re-serialized), and the done:true object ->
 * FINISH + USAGE. {"error":"..."} in a 200 body or mid-stream ends the response in-band.
 */
#include <string.h>

#include "ollama.h"

/* Ollama leaves counts out when they are 0 (a fully cached prompt), so absent reads as 0. */
/* Ollama leaves counts out rather than sending 0. */
static int64_t jcount0(const cJSON *o, const char *k)
{
    int64_t v = aigw_json_count(o, k);
    return v < 0 ? 0 : v;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); the
 * plugin avoids timegm(), which is neither C11 nor POSIX. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t ollama_rfc3339(const char *s)
{
    int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
    const char *p;
    int64_t t;

    if (!s || strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
        s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return 0;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return 0;
    p = s + 19;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return 0;
        p += 6;
    } else {
        return 0;
    }
    if (*p)
        return 0;
    t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
    return t - sign * (oh * 3600 + om * 60);
}

static int emit_str(struct aigw_call *call, int type, const char *s)
{
    struct aigw_chunk c;

    if (!s || !s[0])
        return 0;
    c = aigw_chunk_init(type, 0);
    c.text = aigw_bytes_of(s);
    return call->host->emit(call, &c);
}

/* Older Ollama versions send no call id. None is invented here: the host then makes one from
 * the response id and the call's index (call_<response>_<n>), unique across turns, which a
 * plugin-local counter ("call_0" in every answer) would not be. */
static int emit_tool_calls(struct aigw_call *call, const cJSON *calls)
{
    struct ollama_state *st = call->state;
    const cJSON *tc;
    int rc;

    cJSON_ArrayForEach(tc, calls)
    {
        const cJSON *fn = aigw_json_get(tc, "function");
        const cJSON *args = aigw_json_get(fn, "arguments");
        const char *name = aigw_json_str(fn, "name"), *id = aigw_json_str(tc, "id"), *a = "{}";
        if (!name)
            return AIGW_EPROTO;
        if (id && !id[0])
            id = NULL;
        if (cJSON_IsString(args))
            a = args->valuestring;
        else if (args && !cJSON_IsNull(args) && !(a = call->host->json_print(call, args)))
            return AIGW_ENOMEM;
        if ((rc = aigw_emit_tool_call(call, 0, st->ntools++, id, name, a, strlen(a))) < 0)
            return rc;
    }
    return 0;
}

static int emit_done(struct aigw_call *call, const cJSON *obj)
{
    struct ollama_state *st = call->state;
    const char *reason = aigw_json_str(obj, "done_reason");
    struct aigw_usage u;
    int f, rc;

    aigw_usage_init(&u);
    u.prompt_tokens = jcount0(obj, "prompt_eval_count");
    u.completion_tokens = jcount0(obj, "eval_count");
    if ((rc = aigw_emit_usage(call, &u)) < 0)
        return rc;
    if (!reason || strcmp(reason, "stop") == 0 || strcmp(reason, "load") == 0 ||
        strcmp(reason, "unload") == 0)
        f = AIGW_FINISH_STOP;
    else if (strcmp(reason, "length") == 0)
        f = AIGW_FINISH_LENGTH;
    else if ((f = call->host->finish_from_string(aigw_bytes_of(reason))) == AIGW_FINISH_NONE)
        f = AIGW_FINISH_STOP;
    /* Ollama says "stop" after calling tools; OpenAI clients expect "tool_calls". */
    if (f == AIGW_FINISH_STOP && st->ntools > 0)
        f = AIGW_FINISH_TOOL_CALLS;
    st->finished = 1;
    return aigw_emit_finish(call, 0, f);
}

static int emit_upstream_error(struct aigw_call *call, const cJSON *e)
{
    struct aigw_error err;
    const char *msg = cJSON_IsString(e) ? e->valuestring : aigw_json_str(e, "message");

    aigw_error_init(&err);
    err.status = 502;
    err.type = "server_error";
    err.code = "upstream_error";
    err.message = msg ? msg : "Ollama reported an error";
    err.retryable = 1;
    return aigw_emit_error(call, &err);
}

/* Returns 1 when the object ended the response (done or error). */
static int on_object(struct aigw_call *call, const cJSON *obj)
{
    struct ollama_state *st = call->state;
    const cJSON *msg = aigw_json_get(obj, "message"), *err = aigw_json_get(obj, "error");
    int rc;

    if (err && !cJSON_IsNull(err))
        return (rc = emit_upstream_error(call, err)) < 0 ? rc : 1;
    if (!st->meta_sent) {
        st->meta_sent = 1;
        rc = aigw_emit_meta(call, NULL, aigw_json_str(obj, "model"),
                            ollama_rfc3339(aigw_json_str(obj, "created_at")));
        if (rc < 0)
            return rc;
    }
    if ((rc = emit_str(call, AIGW_CHUNK_REASONING, aigw_json_str(msg, "thinking"))) < 0 ||
        (rc = emit_str(call, AIGW_CHUNK_TEXT, aigw_json_str(msg, "content"))) < 0 ||
        (rc = emit_tool_calls(call, aigw_json_get(msg, "tool_calls"))) < 0)
        return rc;
    if (cJSON_IsTrue(aigw_json_get(obj, "done")))
        return (rc = emit_done(call, obj)) < 0 ? rc : 1;
    return 0;
}

int ollama_parse_chat(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    int rc;

    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    if (!cJSON_IsObject(aigw_json_get(root, "message")) && !aigw_json_get(root, "error"))
        return AIGW_EPROTO;
    rc = on_object(call, root);
    /* A non-streamed answer is final even if a proxy dropped "done". */
    if (rc == 0)
        rc = emit_done(call, root);
    return rc < 0 ? rc : 0;
}

int ollama_stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct ollama_state *st = call->state;
    const cJSON *obj;
    int rc;

    if (st->finished)
        return AIGW_DONE;
    if (frame->data.len == 0)
        return 0;
    obj = call->host->json_parse(call, frame->data);
    if (!cJSON_IsObject(obj))
        return AIGW_EPROTO;
    rc = on_object(call, obj);
    if (rc < 0)
        return rc;
    return rc == 1 ? AIGW_DONE : 0;
}
