/* jsonprint - cJSON_PrintUnformatted's bytes without its allocations (see jsonprint.h). */
#include "lib/jsonprint.h"

#include "aigw/plugin.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The bytes JSON strings escape: the controls, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1,
};

/* How many leading bytes of p need no escape: eight at a time while no byte of the word is a
 * control, '"' or '\\' (the any-byte tests below are exact; on a hit the byte loop finds
 * which). Model text is mostly such runs. */
static inline size_t plain_run(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, q, b;
        memcpy(&w, p + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
            break;
    }
    while (i < n && !needs_escape[(unsigned char)p[i]])
        i++;
    return i;
}

/* The short escape of ch ('n' for a newline), or 0 when it takes \u00xx. cJSON writes \b and
 * \f short; the answers aigw renders have always written them long. */
static char short_escape(unsigned char ch, int cjson)
{
    switch (ch) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    case '\b':
        return cjson ? 'b' : 0;
    case '\f':
        return cjson ? 'f' : 0;
    default:
        return 0;
    }
}

int gw_json_quote(struct gw_buf *out, const char *p, size_t n, int cjson)
{
    static const char hexd[] = "0123456789abcdef";
    char quoted[256];
    if (n <= sizeof quoted - 2) {
        /* A short string with nothing to escape (most tokens, ids, model names): quoted in
         * one append rather than three. */
        if (plain_run(p, n) == n) {
            quoted[0] = '"';
            if (n)
                memcpy(quoted + 1, p, n);
            quoted[n + 1] = '"';
            return gw_buf_append(out, quoted, n + 2);
        }
    }
    int rc = gw_buf_append(out, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        i += plain_run(p + i, n - i);
        if (i == n)
            break;
        unsigned char ch = (unsigned char)p[i];
        rc = gw_buf_append(out, p + start, i - start);
        char esc[6] = {'\\', short_escape(ch, cjson), 0, 0, 0, 0};
        size_t elen = 2;
        if (!esc[1]) {
            memcpy(esc + 1, "u00", 3);
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
    if (!rc)
        rc = gw_buf_append(out, "\"", 1);
    return rc;
}

int gw_json_print_string(struct gw_buf *out, const char *s)
{
    if (!s)
        return gw_buf_append(out, "\"\"", 2);
    return gw_json_quote(out, s, strlen(s), 1);
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
