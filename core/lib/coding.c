/* coding - content codings of a request body (see coding.h). */
#include "lib/coding.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "aigw/plugin.h"

/* ---- the header ------------------------------------------------------------------------ */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* The name as the client sent it, for the error message: cut, and only printable ASCII so
 * the message stays one clean line whatever arrived. */
static void copy_bad(const char *s, size_t n, char *bad, size_t badsize)
{
    if (!badsize)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < badsize; i++)
        bad[k++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    bad[k] = '\0';
}

static int one_name(const char *s, size_t n, struct gw_codings *out, char *bad, size_t badsize)
{
    enum gw_coding c;
    if (n == 0 || name_is(s, n, "identity"))
        return 0;
    if (name_is(s, n, "gzip") || name_is(s, n, "x-gzip"))
        c = GW_CODING_GZIP;
    else if (name_is(s, n, "deflate"))
        c = GW_CODING_DEFLATE;
    else if (name_is(s, n, "zstd"))
        c = GW_CODING_ZSTD;
    else if (name_is(s, n, "br"))
        c = GW_CODING_BR;
    else {
        copy_bad(s, n, bad, badsize);
        return AIGW_EINVAL;
    }
    if (out->n >= GW_CODING_MAX_LAYERS)
        return AIGW_ETOOBIG;
    out->c[out->n++] = c;
    return 0;
}

int gw_coding_parse(const char *v, size_t n, struct gw_codings *out, char *bad, size_t badsize)
{
    if (badsize)
        bad[0] = '\0';
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t a = start, b = i;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        int rc = one_name(v + a, b - a, out, bad, badsize);
        if (rc < 0)
            return rc;
        i++; /* past the comma, or past the end */
    }
    return 0;
}

/* ---- the output ------------------------------------------------------------------------- */

/* Room to write into at out's end. The buffer grows by doubling but never past cap + 1
 * bytes of content: one byte over the cap is how a decoder is seen to pass it, without a
 * second pass or a look-ahead. */
static int room(struct gw_buf *out, size_t cap, unsigned char **at, size_t *avail)
{
    size_t limit = cap + 1; /* content bytes; the NUL after them needs one more */
    if (out->len >= limit)
        return AIGW_ETOOBIG;
    if (out->size < out->len + 2) {
        size_t nsize = out->size ? out->size * 2 : 16384;
        if (nsize > limit + 1 || nsize < out->size)
            nsize = limit + 1;
        char *p = realloc(out->ptr, nsize);
        if (!p)
            return AIGW_ENOMEM;
        out->ptr = p;
        out->size = nsize;
    }
    *at = (unsigned char *)out->ptr + out->len;
    *avail = out->size - 1 - out->len;
    if (*avail > UINT_MAX)
        *avail = UINT_MAX; /* zlib counts in unsigned int */
    return 0;
}

/* The size to start with when the coding says how long its content is. */
static int presize(struct gw_buf *out, size_t cap, unsigned long long want)
{
    if (want > cap)
        return AIGW_ETOOBIG;
    char *p = realloc(out->ptr, (size_t)want + 2);
    if (!p)
        return AIGW_ENOMEM;
    out->ptr = p;
    out->size = (size_t)want + 2;
    return 0;
}

/* ---- gzip and deflate (zlib) ----------------------------------------------------------- */

/* windowBits: 16 + 15 gzip, 15 zlib-wrapped deflate, -15 raw deflate. gzip allows members
 * one after another (RFC 1952 2.2); anything else after the end is an error. */
static int inflate_layer(const unsigned char *p, size_t n, int wbits, size_t cap,
                         struct gw_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, wbits) != Z_OK)
        return AIGW_ENOMEM;
    size_t fed = 0;
    int rc = 0;
    for (;;) {
        if (z.avail_in == 0 && fed < n) {
            size_t k = n - fed > UINT_MAX ? UINT_MAX : n - fed;
            z.next_in = (unsigned char *)p + fed;
            z.avail_in = (unsigned)k;
            fed += k;
        }
        unsigned char *at;
        size_t avail;
        if ((rc = room(out, cap, &at, &avail)) < 0)
            break;
        z.next_out = at;
        z.avail_out = (unsigned)avail;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len += avail - z.avail_out;
        if (out->len > cap) {
            rc = AIGW_ETOOBIG;
            break;
        }
        int input_left = z.avail_in > 0 || fed < n;
        if (zr == Z_STREAM_END) {
            if (!input_left)
                break;
            if (wbits <= 15 || inflateReset(&z) != Z_OK) {
                rc = AIGW_EINVAL; /* bytes after the end */
                break;
            }
            continue;
        }
        if (zr == Z_MEM_ERROR) {
            rc = AIGW_ENOMEM;
            break;
        }
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || (!input_left && z.avail_out > 0)) {
            rc = AIGW_EINVAL; /* corrupt, or the input ended before the stream did */
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

/* A zlib header (RFC 1950): method 8, a window of at most 32 KiB, the check bits. */
static int zlib_header(const unsigned char *p, size_t n)
{
    return n >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

/* "deflate" is zlib-wrapped (RFC 9110 8.4.1.2), but some clients send raw deflate as
 * browsers long accepted: what does not start as zlib, or fails as zlib, is tried raw. */
static int deflate_layer(const unsigned char *p, size_t n, size_t cap, struct gw_buf *out)
{
    if (zlib_header(p, n)) {
        int rc = inflate_layer(p, n, 15, cap, out);
        if (rc != AIGW_EINVAL)
            return rc;
        gw_buf_reset(out);
    }
    return inflate_layer(p, n, -15, cap, out);
}

/* ---- zstd ------------------------------------------------------------------------------- */

/* The largest window a frame may ask for: what the cap can need, never under 1 MiB (so a
 * streaming compressor's default window is taken for a small body) nor over zstd's own
 * default limit. The window is the decoder's memory besides the output. */
#define ZSTD_WINDOW_LOG_DEFAULT 27 /* zstd's own limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT) */

static int zstd_window_log(size_t cap)
{
    int lg = 20;
    while (lg < ZSTD_WINDOW_LOG_DEFAULT && ((size_t)1 << lg) < cap)
        lg++;
    return lg;
}

static int zstd_step(ZSTD_DCtx *d, ZSTD_inBuffer *in, size_t cap, struct gw_buf *out, int *done)
{
    unsigned char *at;
    size_t avail;
    int rc = room(out, cap, &at, &avail);
    if (rc < 0)
        return rc;
    ZSTD_outBuffer ob = {at, avail, 0};
    size_t zr = ZSTD_decompressStream(d, &ob, in);
    out->len += ob.pos;
    if (ZSTD_isError(zr))
        return ZSTD_getErrorCode(zr) == ZSTD_error_frameParameter_windowTooLarge ? AIGW_ETOOBIG
                                                                                 : AIGW_EINVAL;
    if (out->len > cap)
        return AIGW_ETOOBIG;
    if (in->pos == in->size) {
        if (zr == 0)
            *done = 1; /* every frame ended with the input */
        else if (ob.pos < ob.size)
            return AIGW_EINVAL; /* room left, input gone, the frame not over: truncated */
    }
    return 0;
}

static int zstd_layer(const unsigned char *p, size_t n, size_t cap, struct gw_buf *out)
{
    /* A single frame that states its size: one allocation, and a bomb refused unread. */
    unsigned long long sz = ZSTD_getFrameContentSize(p, n);
    if (sz != ZSTD_CONTENTSIZE_UNKNOWN && sz != ZSTD_CONTENTSIZE_ERROR &&
        ZSTD_findFrameCompressedSize(p, n) == n) {
        int rc = presize(out, cap, sz);
        if (rc < 0)
            return rc;
    }
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d)
        return AIGW_ENOMEM;
    int rc = 0, done = 0;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, zstd_window_log(cap))))
        rc = AIGW_ENOMEM;
    ZSTD_inBuffer in = {p, n, 0};
    while (!rc && !done)
        rc = zstd_step(d, &in, cap, out, &done);
    ZSTD_freeDCtx(d);
    return rc;
}

/* ---- br --------------------------------------------------------------------------------- */

static int br_layer(const unsigned char *p, size_t n, size_t cap, struct gw_buf *out)
{
    BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    if (!s)
        return AIGW_ENOMEM;
    const uint8_t *next_in = p;
    size_t avail_in = n;
    int rc = 0;
    for (;;) {
        unsigned char *at;
        size_t avail;
        if ((rc = room(out, cap, &at, &avail)) < 0)
            break;
        size_t avail_out = avail;
        uint8_t *next_out = at;
        BrotliDecoderResult br =
            BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, NULL);
        out->len += avail - avail_out;
        if (out->len > cap) {
            rc = AIGW_ETOOBIG;
            break;
        }
        if (br == BROTLI_DECODER_RESULT_SUCCESS) {
            rc = avail_in ? AIGW_EINVAL : 0; /* bytes after the end */
            break;
        }
        if (br != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
            rc = AIGW_EINVAL; /* corrupt, or it wants input there is no more of */
            break;
        }
    }
    BrotliDecoderDestroyInstance(s);
    return rc;
}

/* ---- the layers ------------------------------------------------------------------------- */

static int one_layer(enum gw_coding c, const char *p, size_t n, size_t cap, struct gw_buf *out)
{
    const unsigned char *u = (const unsigned char *)p;
    gw_buf_free(out);
    gw_buf_init(out, cap + 1);
    if (n == 0)
        return 0;
    switch (c) {
    case GW_CODING_GZIP:
        return inflate_layer(u, n, 16 + 15, cap, out);
    case GW_CODING_DEFLATE:
        return deflate_layer(u, n, cap, out);
    case GW_CODING_ZSTD:
        return zstd_layer(u, n, cap, out);
    case GW_CODING_BR:
        return br_layer(u, n, cap, out);
    }
    return AIGW_EINVAL;
}

int gw_coding_decode(const struct gw_codings *c, const char *p, size_t n, size_t cap,
                     struct gw_buf *out)
{
    gw_buf_free(out);
    gw_buf_init(out, cap ? cap : 1);
    if (c->n <= 0)
        return gw_buf_append(out, p, n);
    /* Last applied, first undone; each layer's output is the next one's input, and only the
     * two of them are held at once. */
    struct gw_buf in;
    gw_buf_init(&in, 1);
    const char *src = p;
    size_t srclen = n;
    int rc = 0;
    for (int i = c->n - 1; i >= 0 && rc == 0; i--) {
        rc = one_layer(c->c[i], src, srclen, cap, out);
        gw_buf_free(&in);
        if (rc == 0 && i > 0) {
            in = *out; /* the next layer reads this one's bytes */
            gw_buf_init(out, cap);
            src = in.ptr ? in.ptr : "";
            srclen = in.len;
        }
    }
    gw_buf_free(&in);
    if (rc < 0) {
        gw_buf_free(out);
        return rc;
    }
    if (out->ptr)
        out->ptr[out->len] = '\0';
    out->cap = cap;
    return 0;
}
