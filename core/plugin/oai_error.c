/*
 * oai_error - the OpenAI-wire error mapping offered to plugins as host->oai_map_error: the
 * OpenAI envelope and the variants OpenAI-compatible providers send, statuses to types,
 * retryability (x-should-retry honoured), and the retry hint from every header form providers
 * use (Retry-After / retry-after-ms through retry_after.c, shared with host->retry_after_ms;
 * OpenAI's x-ratelimit-reset-* durations here). Split from oai_compat.c, which translates
 * successful responses.
 *
 * Threading: stateless apart from the call; any thread.
 */
#include "plugin/oai_compat.h"

#include "plugin/call.h"
#include "plugin/oai_int.h"
#include "lib/retry_after.h"
#include "lib/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Error messages built from structured bodies (pydantic lists etc.) are cut here. */
#define MAX_ERROR_MESSAGE 2048

/* ---- small JSON accessors ---------------------------------------------------------------- */

/* ---- errors ------------------------------------------------------------------------------ */

static const char *default_type(int status)
{
    switch (status) {
    case 400:
    case 413:
    case 422:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 429:
        return "rate_limit_error";
    default:
        return status >= 500 || status < 400 ? "server_error" : "invalid_request_error";
    }
}

/* A JSON value as error text: strings as they are, anything else (pydantic detail lists,
 * Mistral's message object) serialized and capped. */
static const char *json_text(struct aigw_call *call, const cJSON *v)
{
    char *s;
    size_t n;
    if (cJSON_IsString(v))
        return *v->valuestring ? call->host->strndup(call, v->valuestring, strlen(v->valuestring))
                               : NULL;
    if (!present(v))
        return NULL;
    if (!(s = call->host->json_print(call, v)))
        return NULL;
    n = gw_utf8_cut(s, strlen(s), MAX_ERROR_MESSAGE); /* never half a character */
    return call->host->strndup(call, s, n);
}

/* error.code may be a string ("rate_limit_exceeded", Azure "429") or a number (Perplexity). */
static const char *code_text(struct aigw_call *call, const cJSON *v)
{
    int64_t n;
    if (cJSON_IsString(v))
        return *v->valuestring ? call->host->strndup(call, v->valuestring, strlen(v->valuestring))
                               : NULL;
    if (jint(v, &n) == 0)
        return call->host->strf(call, "%lld", (long long)n);
    return NULL;
}

static void fill_from_json(struct aigw_call *call, const cJSON *root, struct aigw_error *err)
{
    const cJSON *e = jget(root, "error");

    if (cJSON_IsObject(e)) {
        err->message = json_text(call, jget(e, "message"));
        err->type = json_text(call, jget(e, "type"));
        err->code = code_text(call, jget(e, "code"));
        err->param = json_text(call, jget(e, "param"));
        if (!err->code)
            err->code = code_text(call, jget(jget(e, "innererror"), "code"));
    } else if (cJSON_IsString(e)) { /* HF / Ollama / xAI ({"code","error"}) / old Together */
        err->message = json_text(call, e);
        err->code = code_text(call, jget(root, "code"));
    }
    if (!err->message) { /* Mistral {"object":"error","message",...}, HF {"message"} */
        err->message = json_text(call, jget(root, "message"));
        if (err->message) {
            err->type = err->type ? err->type : json_text(call, jget(root, "type"));
            err->code = err->code ? err->code : code_text(call, jget(root, "code"));
            err->param = err->param ? err->param : json_text(call, jget(root, "param"));
        }
    }
    if (!err->message) /* FastAPI / AI21 / Mistral 401 / RFC 7807 */
        err->message = json_text(call, jget(root, "detail"));
    if (!err->message) /* Apigee-style gateway faults (Fireworks) */
        err->message = json_text(call, jget(jget(root, "fault"), "faultstring"));
    if (!err->message)
        err->message = json_text(call, jget(root, "title"));
}

static int header_str(struct aigw_call *call, const char *name, char *out, size_t size)
{
    struct aigw_bytes h = call->host->response_header(call, name);
    if (!h.ptr || h.len == 0)
        return -1;
    h = trim(h);
    if (h.len == 0 || h.len >= size)
        return -1;
    memcpy(out, h.ptr, h.len);
    out[h.len] = '\0';
    return 0;
}

/* Go-style durations as OpenAI sends them: "1s", "6m0s", "120ms", "1.146s", "1h2m3s". */
static int64_t parse_duration_ms(const char *s)
{
    double total = 0;
    int parts = 0;
    while (*s) {
        char *end;
        double d, unit;
        errno = 0;
        d = strtod(s, &end);
        if (end == s || errno || !isfinite(d) || d < 0)
            return -1;
        s = end;
        if (strncmp(s, "ms", 2) == 0)
            unit = 1, s += 2;
        else if (*s == 'h')
            unit = 3600000.0, s++;
        else if (*s == 'm')
            unit = 60000.0, s++;
        else if (*s == 's')
            unit = 1000.0, s++;
        else
            return -1;
        total += d * unit;
        parts++;
    }
    if (!parts)
        return -1;
    return total > (double)GW_RETRY_AFTER_MAX_MS ? GW_RETRY_AFTER_MAX_MS : (int64_t)ceil(total);
}

static int64_t retry_after_ms(struct aigw_call *call, int status)
{
    char v[128];
    int64_t ms, req = -1, tok = -1;

    /* retry-after-ms and Retry-After: the host's parser, the one host->retry_after_ms gives
     * plugins, so an OpenAI-wire provider and a native one read them alike. */
    if ((ms = gw_retry_after_ms(call)) >= 0)
        return ms;
    /* The reset headers ride on every response; they only mean "wait" on a 429. */
    if (status != 429)
        return -1;
    if (header_str(call, "x-ratelimit-reset-requests", v, sizeof v) == 0)
        req = parse_duration_ms(v);
    if (header_str(call, "x-ratelimit-reset-tokens", v, sizeof v) == 0)
        tok = parse_duration_ms(v);
    /* Prefer the budget that is actually exhausted. */
    if (tok >= 0 && header_str(call, "x-ratelimit-remaining-tokens", v, sizeof v) == 0 &&
        strcmp(v, "0") == 0)
        return tok;
    if (req >= 0 && header_str(call, "x-ratelimit-remaining-requests", v, sizeof v) == 0 &&
        strcmp(v, "0") == 0)
        return req;
    return req > tok ? req : tok;
}

int gw_oai_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    int status = call->status;
    const cJSON *root = NULL;
    char v[16];

    aigw_error_init(err);
    /* An error inside a 2xx (in-band) has no HTTP status of its own; let the host choose. */
    err->status = status >= 400 ? status : 0;
    if (body.ptr && body.len)
        root = call->host->json_parse(call, trim(body));
    if (cJSON_IsObject(root))
        fill_from_json(call, root, err);
    if (!err->message) {
        /* Never echo a raw non-JSON body: it is often an HTML page from a proxy. */
        err->message = status >= 400 ? call->host->strf(call, "upstream returned HTTP %d", status)
                                     : call->host->strf(call, "upstream reported an error");
        if (!err->message)
            return AIGW_ENOMEM;
    }
    if (!err->type)
        err->type = default_type(status);
    err->retryable = status == 408 || status == 409 || status == 429 || status >= 500;
    /* "false" is about this target: the lifetime still fails over to another (exchange.c
     * notes the header for it). */
    if (header_str(call, "x-should-retry", v, sizeof v) == 0) {
        if (strcasecmp(v, "true") == 0)
            err->retryable = 1;
        else if (strcasecmp(v, "false") == 0)
            err->retryable = 0;
    }
    err->retry_after_ms = retry_after_ms(call, status);
    return 0;
}
