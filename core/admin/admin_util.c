/* admin_util - shared pieces of the admin handlers (see admin_util.h). */
#define _DEFAULT_SOURCE /* timegm */
#include "admin/admin_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "plugin/errors.h"

int gw_admin_fail(struct gw_buf *out, int *status, int st, const char *code, const char *param,
                  const char *msg)
{
    *status = st;
    gw_buf_reset(out);
    return gw_error_json(out, gw_error_type_for_status(st), code, param, msg);
}

int gw_admin_emit(struct gw_buf *out, int *status, int st, cJSON *doc)
{
    char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!s)
        return gw_admin_fail(out, status, 500, "internal_error", NULL, "out of memory");
    gw_buf_reset(out);
    int rc = gw_buf_append_str(out, s);
    free(s);
    *status = st;
    return rc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int gw_admin_query_arg(const char *query, const char *name, char *v, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) || p[n] != '=')
            continue;
        const char *s = p + n + 1;
        size_t o = 0;
        for (; *s && *s != '&'; s++) {
            int c = (unsigned char)*s;
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                    return -1;
                c = hi * 16 + lo;
                s += 2;
            }
            if (o + 1 >= size)
                return -1;
            v[o++] = (char)c;
        }
        v[o] = '\0';
        return 1;
    }
    return 0;
}

int gw_admin_parse_time(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    if (!n || n > 32)
        return -1;
    size_t digits = strspn(s, "0123456789");
    if (digits == n) {
        if (n > 16)
            return -1;
        long long v = strtoll(s, NULL, 10);
        *ms = n >= 13 ? v : v * 1000;
        return 0;
    }
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
        return -1;
    const char *t = s + 10;
    if (*t == 'T' || *t == ' ') {
        int u2 = 0;
        if (sscanf(t + 1, "%2d:%2d%n", &h, &mi, &u2) != 2 || u2 != 5)
            return -1;
        t += 1 + u2;
        if (*t == ':') {
            int u3 = 0;
            if (sscanf(t + 1, "%2d%n", &sec, &u3) != 1 || u3 != 2)
                return -1;
            t += 1 + u3;
        }
        if (*t == 'Z')
            t++;
    }
    if (*t || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60 || h < 0 || mi < 0 || sec < 0)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t tt = timegm(&tm);
    if (tt == (time_t)-1)
        return -1;
    *ms = (int64_t)tt * 1000;
    return 0;
}
