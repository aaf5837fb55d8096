/*
 * libFuzzer target for lib/coding (compressed request bodies). The first byte picks what
 * the rest is: 0-4 a body under a Content-Encoding (none, gzip, deflate, zstd, br; 5 the
 * stack "gzip, zstd"), decoded at a 4 KiB cap; 6 and 7 plain bytes that are compressed here
 * (zstd, gzip) and must decode back to themselves; 8 and up a Content-Encoding value.
 * Checks for any input: decoding returns 0 with at most the cap, NUL-terminated, or an
 * error with nothing kept; a header parse keeps at most GW_CODING_MAX_LAYERS codings and
 * names an unknown one in printable bytes only.
 * Coverage-guided: tests/fuzz/run-libfuzzer SECONDS coding (the lf_coding build).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/coding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 4096

static void decode_any(int mode, const char *p, size_t n)
{
    static const struct gw_codings pick[] = {
        {0, {0}},
        {1, {GW_CODING_GZIP}},
        {1, {GW_CODING_DEFLATE}},
        {1, {GW_CODING_ZSTD}},
        {1, {GW_CODING_BR}},
        {2, {GW_CODING_GZIP, GW_CODING_ZSTD}},
    };
    struct gw_buf out;
    gw_buf_init(&out, 0);
    int rc = gw_coding_decode(&pick[mode], p, n, CAP, &out);
    if (rc == 0) {
        if (out.len > CAP || (out.ptr && out.ptr[out.len] != '\0'))
            abort();
    } else if ((rc != AIGW_EINVAL && rc != AIGW_ETOOBIG && rc != AIGW_ENOMEM) || out.ptr) {
        abort();
    }
    gw_buf_free(&out);
}

/* Compressed here, decoded there: the bytes come back exactly. */
static void round_trip(int zstd, const char *p, size_t n)
{
    char enc[16384];
    size_t k;
    /* Random bytes barely compress: more than this would not fit enc, a failure of the
     * target's own buffer, not of the decoder (libFuzzer's inputs stay at 4 KiB; the driver's
     * mutations may grow past it). */
    if (n > sizeof enc / 2)
        return;
    if (zstd) {
        k = ZSTD_compress(enc, sizeof enc, p, n, 3);
        if (ZSTD_isError(k))
            abort();
    } else {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            abort();
        z.next_in = (unsigned char *)p;
        z.avail_in = (unsigned)n;
        z.next_out = (unsigned char *)enc;
        z.avail_out = sizeof enc;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            abort();
        k = sizeof enc - z.avail_out;
        deflateEnd(&z);
    }
    struct gw_codings c = {1, {zstd ? GW_CODING_ZSTD : GW_CODING_GZIP}};
    struct gw_buf out;
    gw_buf_init(&out, 0);
    int rc = gw_coding_decode(&c, enc, k, n > CAP ? n : CAP, &out);
    if (rc != 0 || out.len != n || (n && memcmp(out.ptr, p, n)))
        abort();
    gw_buf_free(&out);
}

static void header(const char *p, size_t n)
{
    struct gw_codings c = {0, {0}};
    char bad[16];
    int rc = gw_coding_parse(p, n, &c, bad, sizeof bad);
    if (c.n < 0 || c.n > GW_CODING_MAX_LAYERS)
        abort();
    if (rc == AIGW_EINVAL) {
        if (!bad[0] || strlen(bad) >= sizeof bad)
            abort();
        for (const char *b = bad; *b; b++)
            if (*b <= 0x20 || *b >= 0x7f)
                abort();
    } else if (rc != 0 && rc != AIGW_ETOOBIG) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (mode <= 5)
        decode_any(mode, p, n);
    else if (mode <= 7)
        round_trip(mode == 6, p, n);
    else
        header(p, n);
    return 0;
}
