/*
 * buf - a growable byte buffer with a hard cap. Every buffer in aigw that grows with input
 * is one of these, so no input can grow memory past a known bound.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct gw_buf {
    char *ptr;
    size_t len;
    size_t size; /* allocated */
    size_t cap;  /* hard limit on len; 0 means GW_BUF_DEFAULT_CAP */
};

#define GW_BUF_DEFAULT_CAP (64u << 20)

void gw_buf_init(struct gw_buf *b, size_t cap);
void gw_buf_free(struct gw_buf *b);
void gw_buf_reset(struct gw_buf *b);
/* 0, AIGW_ETOOBIG past the cap, AIGW_ENOMEM. The buffer is always NUL-terminated after a
 * successful append (the NUL is not counted in len). */
int gw_buf_append(struct gw_buf *b, const void *p, size_t n);
int gw_buf_append_str(struct gw_buf *b, const char *s);
int gw_buf_printf(struct gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The decimal form of v, and strings in order up to a NULL: every response is written with
 * these, where printf's format parsing cost more than the bytes. Same returns as append. */
int gw_buf_append_i64(struct gw_buf *b, int64_t v);
int gw_buf_append_strs(struct gw_buf *b, ...) __attribute__((sentinel));
int gw_buf_vprintf(struct gw_buf *b, const char *fmt, va_list ap);
/* Copies src into dst[size] (cut to size - 1 bytes, always terminated when size > 0);
 * returns strlen(src), so a result >= size means it was cut. No format to parse. */
size_t gw_strlcpy(char *dst, const char *src, size_t size);
/* The decimal form of v into dst[size] (size >= 21 holds any value); returns its length. */
size_t gw_fmt_i64(char *dst, size_t size, int64_t v);
/* Drops the first n bytes. */
void gw_buf_consume(struct gw_buf *b, size_t n);
/* Takes the memory out (caller frees); the buffer is empty afterwards. */
char *gw_buf_steal(struct gw_buf *b, size_t *len);

#endif
