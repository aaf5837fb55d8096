/* anthropic_errors - errors in Anthropic's shape and types (see anthropic.h). */
#include "front/anthropic.h"

#include <string.h>

#include "aigw/plugin.h"
#include "lib/redact.h"

int gw_anth_json_str(struct gw_buf *out, const char *p, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    int rc = gw_buf_append(out, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        rc = gw_buf_append(out, p + start, i - start);
        char esc[6] = {'\\', (char)ch, 0, 0, 0, 0};
        size_t elen = 2;
        if (ch == '\n')
            esc[1] = 'n';
        else if (ch == '\r')
            esc[1] = 'r';
        else if (ch == '\t')
            esc[1] = 't';
        else if (ch < 0x20) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hexd[ch >> 4];
            esc[5] = hexd[ch & 15];
            elen = 6;
        }
        if (!rc)
            rc = gw_buf_append(out, esc, elen);
        start = i + 1;
    }
    if (!rc)
        rc = gw_buf_append(out, p + start, n - start);
    return rc ? rc : gw_buf_append(out, "\"", 1);
}

/* The status decides, as Anthropic's own table does; an upstream that said "overloaded" is
 * overloaded whatever status it came with. */
const char *gw_anth_error_type(int status, const char *type)
{
    if (type && (!strcmp(type, "overloaded_error") || !strcmp(type, "overloaded")))
        return "overloaded_error";
    switch (status) {
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 408:
    case 504:
        return "timeout_error";
    case 503:
    case 529:
        return "overloaded_error";
    default:
        return status >= 500 || status < 400 ? "api_error" : "invalid_request_error";
    }
}

int gw_anth_error_body(struct gw_buf *out, int status, const char *type, const char *code,
                       const char *param, const char *message)
{
    (void)code;
    (void)param;
    char clean[4096];
    const char *msg = message && *message ? message : "error";
    size_t n = gw_redact(msg, strlen(msg), clean, sizeof clean);
    if (n >= sizeof clean)
        n = strlen(clean);
    int rc = gw_buf_append_strs(out, "{\"type\":\"error\",\"error\":{\"type\":\"",
                                gw_anth_error_type(status, type), "\",\"message\":", NULL);
    if (!rc)
        rc = gw_anth_json_str(out, clean, n);
    return rc ? rc : gw_buf_append_str(out, "}}");
}
