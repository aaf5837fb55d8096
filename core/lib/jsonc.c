/* jsonc - comments, trailing commas and ${VAR} expansion for the config (see jsonc.h). */
#include "lib/jsonc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"

static int line_of(const char *src, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += src[i] == '\n';
    return line;
}

/* Expands ${NAME} or ${NAME:-default} starting at src[i] == '$'; returns bytes consumed. */
static size_t expand_var(const char *src, size_t n, size_t i, struct gw_buf *out, int *rc,
                         char *err, size_t errsize)
{
    size_t j = i + 2;
    while (j < n && src[j] != '}' && src[j] != '"' && src[j] != '\n')
        j++;
    if (j >= n || src[j] != '}') {
        snprintf(err, errsize, "line %d: unterminated ${ in a string", line_of(src, i));
        *rc = AIGW_EINVAL;
        return 0;
    }
    char name[256];
    size_t len = j - (i + 2);
    const char *def = NULL;
    size_t deflen = 0;
    const char *sep = NULL;
    for (size_t k = i + 2; k + 1 < j; k++)
        if (src[k] == ':' && src[k + 1] == '-') {
            sep = src + k;
            break;
        }
    if (sep) {
        def = sep + 2;
        deflen = (size_t)(src + j - def);
        len = (size_t)(sep - (src + i + 2));
    }
    if (len == 0 || len >= sizeof name) {
        snprintf(err, errsize, "line %d: bad variable name in ${...}", line_of(src, i));
        *rc = AIGW_EINVAL;
        return 0;
    }
    memcpy(name, src + i + 2, len);
    name[len] = '\0';
    const char *v = getenv(name);
    if (!v || !*v) {
        if (!def) {
            snprintf(err, errsize, "line %d: environment variable %s is not set", line_of(src, i),
                     name);
            *rc = AIGW_EINVAL;
            return 0;
        }
        v = NULL;
    }
    /* The value is inserted as string content, so quotes and backslashes are escaped. */
    const char *p = v ? v : def;
    size_t pl = v ? strlen(v) : deflen;
    for (size_t k = 0; k < pl && !*rc; k++) {
        if (p[k] == '"' || p[k] == '\\')
            *rc = gw_buf_append(out, "\\", 1);
        if (!*rc)
            *rc = gw_buf_append(out, p + k, 1);
    }
    return j + 1 - i;
}

int gw_jsonc_to_json(const char *src, size_t n, struct gw_buf *out, char *err, size_t errsize)
{
    int rc = 0;
    size_t i = 0;
    err[0] = '\0';
    while (i < n && !rc) {
        char c = src[i];
        if (c == '"') {
            rc = gw_buf_append(out, "\"", 1);
            i++;
            while (i < n && !rc && src[i] != '"') {
                if (src[i] == '\\' && i + 1 < n) {
                    rc = gw_buf_append(out, src + i, 2);
                    i += 2;
                } else if (src[i] == '$' && i + 1 < n && src[i + 1] == '{') {
                    size_t used = expand_var(src, n, i, out, &rc, err, errsize);
                    if (rc)
                        return rc;
                    i += used;
                } else {
                    rc = gw_buf_append(out, src + i, 1);
                    i++;
                }
            }
            if (i >= n) {
                snprintf(err, errsize, "line %d: unterminated string", line_of(src, n));
                return AIGW_EINVAL;
            }
            if (!rc)
                rc = gw_buf_append(out, "\"", 1);
            i++;
        } else if (c == '/' && i + 1 < n && src[i + 1] == '/') {
            while (i < n && src[i] != '\n')
                i++;
        } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
            size_t start = i;
            i += 2;
            while (i + 1 < n && !(src[i] == '*' && src[i + 1] == '/'))
                i++;
            if (i + 1 >= n) {
                snprintf(err, errsize, "line %d: unterminated comment", line_of(src, start));
                return AIGW_EINVAL;
            }
            i += 2;
        } else if (c == ',') {
            /* Drop a trailing comma before } or ]. */
            size_t j = i + 1;
            for (;;) {
                while (j < n && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' ||
                                 src[j] == '\r'))
                    j++;
                if (j + 1 < n && src[j] == '/' && src[j + 1] == '/') {
                    while (j < n && src[j] != '\n')
                        j++;
                    continue;
                }
                if (j + 1 < n && src[j] == '/' && src[j + 1] == '*') {
                    j += 2;
                    while (j + 1 < n && !(src[j] == '*' && src[j + 1] == '/'))
                        j++;
                    j += 2;
                    continue;
                }
                break;
            }
            if (!(j < n && (src[j] == '}' || src[j] == ']')))
                rc = gw_buf_append(out, ",", 1);
            i++;
        } else {
            rc = gw_buf_append(out, src + i, 1);
            i++;
        }
    }
    if (!rc && !out->ptr)
        rc = gw_buf_append(out, "", 0);
    return rc;
}
