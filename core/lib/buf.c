/* buf - capped growable byte buffer (see buf.h). */
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"

void gw_buf_init(struct gw_buf *b, size_t cap)
{
    b->ptr = NULL;
    b->len = 0;
    b->size = 0;
    b->cap = cap ? cap : GW_BUF_DEFAULT_CAP;
}

void gw_buf_free(struct gw_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->size = 0;
}

void gw_buf_reset(struct gw_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

static int reserve(struct gw_buf *b, size_t extra)
{
    size_t cap = b->cap ? b->cap : GW_BUF_DEFAULT_CAP;
    if (extra > cap || b->len > cap - extra)
        return AIGW_ETOOBIG;
    size_t need = b->len + extra + 1; /* room for the terminating NUL */
    if (need <= b->size)
        return 0;
    size_t nsize = b->size ? b->size : 256;
    while (nsize < need)
        nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
    char *p = realloc(b->ptr, nsize);
    if (!p)
        return AIGW_ENOMEM;
    b->ptr = p;
    b->size = nsize;
    return 0;
}

int gw_buf_append(struct gw_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int gw_buf_append_str(struct gw_buf *b, const char *s)
{
    return gw_buf_append(b, s, strlen(s));
}

int gw_buf_vprintf(struct gw_buf *b, const char *fmt, va_list ap)
{
    /* Formatting is measured first only when the text does not fit what is allocated
     * already: most calls fit, and a second vsnprintf pass was half their cost. */
    size_t cap = b->cap ? b->cap : GW_BUF_DEFAULT_CAP;
    size_t room = b->size > b->len ? b->size - b->len : 0;
    va_list ap2;
    va_copy(ap2, ap);
    int n = room ? vsnprintf(b->ptr + b->len, room, fmt, ap2) : vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n >= 0 && (size_t)n < room && (size_t)n <= cap - b->len) {
        b->len += (size_t)n;
        return 0;
    }
    if (room)
        b->ptr[b->len] = '\0'; /* undo what a failed or truncated attempt wrote */
    if (n < 0)
        return AIGW_EINTERNAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

size_t gw_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size) {
        size_t k = n < size - 1 ? n : size - 1;
        memcpy(dst, src, k);
        dst[k] = '\0';
    }
    return n;
}

/* Writes v's digits ending at *end (exclusive); returns where they start. */
static char *digits(char *end, int64_t v)
{
    char *p = end;
    /* Unsigned arithmetic so that INT64_MIN has a magnitude. */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        *--p = '-';
    return p;
}

size_t gw_fmt_i64(char *dst, size_t size, int64_t v)
{
    char tmp[24];
    tmp[sizeof tmp - 1] = '\0';
    return gw_strlcpy(dst, digits(tmp + sizeof tmp - 1, v), size);
}

int gw_buf_append_i64(struct gw_buf *b, int64_t v)
{
    char tmp[24];
    char *p = digits(tmp + sizeof tmp, v);
    return gw_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

int gw_buf_append_strs(struct gw_buf *b, ...)
{
    va_list ap;
    va_start(ap, b);
    int rc = 0;
    for (const char *s; !rc && (s = va_arg(ap, const char *));)
        rc = gw_buf_append(b, s, strlen(s));
    va_end(ap);
    return rc;
}

int gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = gw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void gw_buf_consume(struct gw_buf *b, size_t n)
{
    if (n >= b->len) {
        gw_buf_reset(b);
        return;
    }
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
    b->ptr[b->len] = '\0';
}

char *gw_buf_steal(struct gw_buf *b, size_t *len)
{
    char *p = b->ptr;
    if (len)
        *len = b->len;
    if (!p)
        p = calloc(1, 1);
    b->ptr = NULL;
    b->len = b->size = 0;
    return p;
}
