/* jsonprint - cJSON_PrintUnformatted's bytes without its allocations (see jsonprint.h). */
#include "lib/jsonprint.h"

#include "aigw/plugin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int gw_json_print_string(struct gw_buf *out, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    if (!s)
        return gw_buf_append(out, "\"\"", 2);
    int rc = gw_buf_append(out, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hexd[*p >> 4];
            esc[5] = hexd[*p & 15];
            n = 6;
        }
        rc = gw_buf_append(out, run, (size_t)((const char *)p - run));
        if (!rc)
            rc = gw_buf_append(out, esc, n);
        run = (const char *)p + 1;
    }
    if (!rc)
        rc = gw_buf_append_str(out, run);
    return rc ? rc : gw_buf_append(out, "\"", 1);
}

/* What cJSON itself prints: a non-integral number ("%1.15g", checked by reading it back, else
 * "%1.17g", in the locale's form) or a raw item. */
static int print_by_cjson(struct gw_buf *out, const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return AIGW_ENOMEM;
    int rc = gw_buf_append_str(out, s);
    cJSON_free(s);
    return rc;
}

static int print_int(struct gw_buf *out, int v)
{
    char tmp[16];
    size_t n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do
        tmp[sizeof tmp - ++n] = (char)('0' + u % 10);
    while ((u /= 10));
    if (v < 0)
        tmp[sizeof tmp - ++n] = '-';
    return gw_buf_append(out, tmp + sizeof tmp - n, n);
}

static int print_item(struct gw_buf *out, const cJSON *item, int depth)
{
    if (depth > CJSON_NESTING_LIMIT)
        return AIGW_EINVAL;
    switch (item->type & 0xff) {
    case cJSON_NULL:
        return gw_buf_append(out, "null", 4);
    case cJSON_False:
        return gw_buf_append(out, "false", 5);
    case cJSON_True:
        return gw_buf_append(out, "true", 4);
    case cJSON_Number:
        /* cJSON (1.7.15 as Debian ships it) prints every number with "%1.15g": for an
         * integral value within int those are the digits of valueint, except -0, which %g
         * writes "-0" (the differential test has it). */
        if (item->valuedouble == (double)item->valueint &&
            !(item->valueint == 0 && signbit(item->valuedouble)))
            return print_int(out, item->valueint);
        return print_by_cjson(out, item);
    case cJSON_String:
        return gw_json_print_string(out, item->valuestring);
    case cJSON_Array:
    case cJSON_Object: {
        int object = (item->type & 0xff) == cJSON_Object;
        int rc = gw_buf_append(out, object ? "{" : "[", 1);
        for (const cJSON *c = item->child; c && !rc; c = c->next) {
            if (c != item->child)
                rc = gw_buf_append(out, ",", 1);
            if (!rc && object) {
                rc = gw_json_print_string(out, c->string);
                if (!rc)
                    rc = gw_buf_append(out, ":", 1);
            }
            if (!rc)
                rc = print_item(out, c, depth + 1);
        }
        return rc ? rc : gw_buf_append(out, object ? "}" : "]", 1);
    }
    default:
        return print_by_cjson(out, item);
    }
}

int gw_json_print(struct gw_buf *out, const cJSON *item)
{
    if (!item)
        return AIGW_EINVAL;
    return print_item(out, item, 0);
}
