/* errors - OpenAI-shaped error documents (see errors.h). */
#include "plugin/errors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/redact.h"
#include "lib/utf8.h"
#include "plugin/call.h"

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

int gw_error_json(struct gw_buf *out, const char *type, const char *code, const char *param,
                  const char *message)
{
    char clean[4096];
    const char *msg = message ? message : "error";
    gw_redact(msg, strlen(msg), clean, sizeof clean);
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    if (!e) {
        cJSON_Delete(root);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(e, "message", cJSON_CreateString(clean));
    cJSON_AddItemToObject(e, "type", str_or_null(type ? type : "server_error"));
    cJSON_AddItemToObject(e, "param", str_or_null(param));
    cJSON_AddItemToObject(e, "code", str_or_null(code));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return AIGW_ENOMEM;
    int rc = gw_buf_append_str(out, s);
    free(s);
    return rc;
}

int gw_error_document(int (*body)(struct gw_buf *out, int status, const char *type,
                                  const char *code, const char *param, const char *message),
                      struct gw_buf *out, int status, const char *type, const char *code,
                      const char *param, const char *message)
{
    char clean[4096];
    const char *msg = message ? message : "error";
    gw_redact(msg, strlen(msg), clean, sizeof clean);
    return body(out, status, type, code, param, clean);
}

const char *gw_error_type_for_status(int status)
{
    switch (status) {
    case 400:
    case 404:
    case 405:
    case 409:
    case 413:
    case 422:
        return status == 404 ? "not_found_error" : "invalid_request_error";
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 408:
    case 504:
        return "timeout_error";
    case 429:
        return "rate_limit_error";
    case 503:
        return "service_unavailable_error";
    default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

int gw_error_status(const struct aigw_error *err)
{
    if (err->status >= 400 && err->status <= 599)
        return err->status == 529 ? 503 : err->status;
    if (err->type) {
        if (!strcmp(err->type, "authentication_error"))
            return 401;
        if (!strcmp(err->type, "permission_error"))
            return 403;
        if (!strcmp(err->type, "not_found_error"))
            return 404;
        if (!strcmp(err->type, "rate_limit_error"))
            return 429;
        if (!strcmp(err->type, "invalid_request_error"))
            return 400;
        if (!strcmp(err->type, "overloaded_error"))
            return 503;
    }
    return 502;
}

int gw_status_for_code(int code)
{
    switch (code) {
    case AIGW_EINVAL:
    case AIGW_ENOTSUP:
        return 400;
    case AIGW_EPROTO:
        return 502;
    case AIGW_ETOOBIG:
        return 502;
    default:
        return 500;
    }
}

const char *gw_message_for_code(int code)
{
    switch (code) {
    case AIGW_ENOMEM:
        return "the gateway ran out of memory for this request";
    case AIGW_EINVAL:
        return "the request cannot be translated for this provider";
    case AIGW_EPROTO:
        return "the upstream provider returned a response the gateway could not understand";
    case AIGW_ENOTSUP:
        return "this provider does not support the requested operation";
    case AIGW_ECONFIG:
        return "the provider is misconfigured on the gateway";
    case AIGW_ETOOBIG:
        return "the upstream response exceeded the gateway's size limit";
    default:
        return "internal gateway error";
    }
}

/* s made UTF-8 (bad bytes as U+FFFD): s itself when it is, else a copy in the call's memory.
 * Every dialect writes these strings into JSON as they are. */
static const char *utf8(struct gw_call *c, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || gw_utf8_invalid_at(s, n) == (size_t)-1)
        return s;
    char *fixed = n < SIZE_MAX / 3 ? gw_arena_alloc(&c->keep, 3 * n + 1) : NULL;
    if (!fixed)
        return "error";
    fixed[gw_utf8_repair(s, n, fixed)] = '\0';
    return fixed;
}

/* s with its secrets masked: s itself when it has none, else a copy in the call's memory. */
static const char *scrub(struct gw_call *c, const char *s)
{
    s = utf8(c, s);
    if (!s)
        return NULL;
    char clean[1024];
    size_t n = strlen(s), m = gw_redact(s, n, clean, sizeof clean);
    if (m == n && memcmp(clean, s, n) == 0)
        return s;
    const char *copy = gw_arena_strndup(&c->keep, clean, m);
    return copy ? copy : GW_REDACTED;
}

void gw_error_scrub(struct gw_call *c)
{
    c->error.type = scrub(c, c->error.type);
    c->error.code = scrub(c, c->error.code);
    c->error.param = scrub(c, c->error.param);
    c->error.message = utf8(c, c->error.message); /* redacted where it is written */
}

int gw_outcome_error(const struct gw_call *c, int rc, struct aigw_error *err)
{
    aigw_error_init(err);
    if (rc < 0 && c && c->has_error) {
        *err = c->error; /* the plugin explained its refusal (host->fail) */
        return 1;
    }
    if (rc < 0) {
        err->status = gw_status_for_code(rc);
        err->type = gw_error_type_for_status(err->status);
        err->message = gw_message_for_code(rc);
        err->code = rc == AIGW_ENOTSUP ? "unsupported" : NULL;
        return 1;
    }
    if (c && c->has_error) {
        *err = c->error;
        return 1;
    }
    return 0;
}
