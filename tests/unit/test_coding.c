/* lib/coding: Content-Encoding lists read, and each coding (and stacks of them) decoded
 * back, refused when unknown, corrupt or truncated, and cut at the cap when they expand
 * past it. Every compressed body is made here with the libraries' own encoders. */
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <criterion/criterion.h>
#include <zlib.h>
#include <zstd.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/coding.h"

static const char chat[] = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                           "\"content\":\"Hello, compressed world\"}]}";

/* ---- encoders ---------------------------------------------------------------------------- */

/* windowBits as zlib takes them: 16 + 15 gzip, 15 zlib, -15 raw deflate. */
static void z_encode(const void *p, size_t n, int wbits, struct gw_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gw_buf_init(out, 0);
    unsigned char chunk[16384];
    z.next_in = (unsigned char *)p;
    z.avail_in = (unsigned)n;
    int zr;
    do {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zr = deflate(&z, Z_FINISH);
        cr_assert(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
        cr_assert_eq(gw_buf_append(out, chunk, sizeof chunk - z.avail_out), 0);
    } while (zr != Z_STREAM_END);
    deflateEnd(&z);
}

static void zstd_encode(const void *p, size_t n, struct gw_buf *out)
{
    gw_buf_init(out, 0);
    size_t bound = ZSTD_compressBound(n);
    char *tmp = malloc(bound);
    size_t k = ZSTD_compress(tmp, bound, p, n, 3); /* what Codex sends: level 3 */
    cr_assert(!ZSTD_isError(k));
    cr_assert_eq(gw_buf_append(out, tmp, k), 0);
    free(tmp);
}

static void br_encode(const void *p, size_t n, struct gw_buf *out)
{
    gw_buf_init(out, 0);
    size_t k = BrotliEncoderMaxCompressedSize(n);
    uint8_t *tmp = malloc(k);
    cr_assert(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n, p, &k, tmp));
    cr_assert_eq(gw_buf_append(out, tmp, k), 0);
    free(tmp);
}

static void encode(enum gw_coding c, const void *p, size_t n, struct gw_buf *out)
{
    switch (c) {
    case GW_CODING_GZIP:
        z_encode(p, n, 16 + 15, out);
        break;
    case GW_CODING_DEFLATE:
        z_encode(p, n, 15, out);
        break;
    case GW_CODING_ZSTD:
        zstd_encode(p, n, out);
        break;
    case GW_CODING_BR:
        br_encode(p, n, out);
        break;
    }
}

static struct gw_codings one(enum gw_coding c)
{
    struct gw_codings cs = {1, {c}};
    return cs;
}

static const enum gw_coding all[] = {GW_CODING_GZIP, GW_CODING_DEFLATE, GW_CODING_ZSTD,
                                     GW_CODING_BR};

/* ---- the header -------------------------------------------------------------------------- */

static int parse(const char *v, struct gw_codings *c, char *bad, size_t badsize)
{
    c->n = 0;
    return gw_coding_parse(v, strlen(v), c, bad, badsize);
}

Test(coding, header_names_case_and_whitespace)
{
    struct gw_codings c;
    char bad[32];
    cr_assert_eq(parse("gzip", &c, bad, sizeof bad), 0);
    cr_assert(c.n == 1 && c.c[0] == GW_CODING_GZIP);
    cr_assert_eq(parse(" X-GZip ,\tZSTD , Br,deflate ", &c, bad, sizeof bad), 0);
    cr_assert_eq(c.n, 4);
    cr_assert(c.c[0] == GW_CODING_GZIP && c.c[1] == GW_CODING_ZSTD && c.c[2] == GW_CODING_BR &&
              c.c[3] == GW_CODING_DEFLATE);
    /* identity and empty list elements are nothing to undo (RFC 9110 5.6.1). */
    cr_assert_eq(parse("identity", &c, bad, sizeof bad), 0);
    cr_assert_eq(c.n, 0);
    cr_assert_eq(parse(" , ,Identity,, zstd ,", &c, bad, sizeof bad), 0);
    cr_assert(c.n == 1 && c.c[0] == GW_CODING_ZSTD);
    cr_assert_eq(parse("", &c, bad, sizeof bad), 0);
    cr_assert_eq(c.n, 0);
}

Test(coding, header_lines_append_in_order)
{
    struct gw_codings c = {0, {0}};
    cr_assert_eq(gw_coding_parse("gzip", 4, &c, NULL, 0), 0);
    cr_assert_eq(gw_coding_parse("br", 2, &c, NULL, 0), 0);
    cr_assert(c.n == 2 && c.c[0] == GW_CODING_GZIP && c.c[1] == GW_CODING_BR);
}

Test(coding, header_unknown_named_and_cut)
{
    struct gw_codings c;
    char bad[8];
    cr_assert_eq(parse("gzip, compress", &c, bad, sizeof bad), AIGW_EINVAL);
    cr_assert_str_eq(bad, "compres"); /* cut to the room given */
    char big[32];
    cr_assert_eq(parse("zstd;q=1", &c, big, sizeof big), AIGW_EINVAL);
    cr_assert_str_eq(big, "zstd;q=1");
    cr_assert_eq(parse("gzip\x01x", &c, big, sizeof big), AIGW_EINVAL);
    cr_assert_str_eq(big, "gzip?x", "only printable bytes are echoed");
    cr_assert_eq(parse("gzip zstd", &c, big, sizeof big), AIGW_EINVAL);
}

Test(coding, header_layers_capped)
{
    struct gw_codings c;
    cr_assert_eq(parse("gzip, gzip, gzip, gzip", &c, NULL, 0), 0);
    cr_assert_eq(c.n, GW_CODING_MAX_LAYERS);
    cr_assert_eq(parse("gzip, gzip, gzip, gzip, gzip", &c, NULL, 0), AIGW_ETOOBIG);
    cr_assert_eq(parse("gzip, identity, gzip, identity, gzip, gzip", &c, NULL, 0), 0);
}

/* ---- decoding ----------------------------------------------------------------------------- */

static void assert_decodes(const struct gw_codings *c, const struct gw_buf *enc, const char *want,
                           size_t wantn)
{
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_coding_decode(c, enc->ptr, enc->len, 1 << 20, &out), 0);
    cr_assert_eq(out.len, wantn);
    cr_assert_eq(memcmp(out.ptr, want, wantn), 0);
    cr_assert_eq(out.ptr[out.len], '\0', "terminated, as every body is for the parsers");
    gw_buf_free(&out);
}

Test(coding, each_coding_round_trips)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_buf enc;
        encode(all[i], chat, sizeof chat - 1, &enc);
        struct gw_codings c = one(all[i]);
        assert_decodes(&c, &enc, chat, sizeof chat - 1);
        gw_buf_free(&enc);
    }
}

Test(coding, no_coding_is_a_copy)
{
    struct gw_codings c = {0, {0}};
    struct gw_buf enc;
    gw_buf_init(&enc, 0);
    gw_buf_append(&enc, chat, sizeof chat - 1);
    assert_decodes(&c, &enc, chat, sizeof chat - 1);
    gw_buf_free(&enc);
}

Test(coding, raw_deflate_accepted_as_deflate)
{
    struct gw_buf enc;
    z_encode(chat, sizeof chat - 1, -15, &enc);
    struct gw_codings c = one(GW_CODING_DEFLATE);
    assert_decodes(&c, &enc, chat, sizeof chat - 1);
    gw_buf_free(&enc);
}

Test(coding, gzip_members_in_a_row)
{
    struct gw_buf a, b;
    z_encode("{\"model\":", 9, 16 + 15, &a);
    z_encode("\"m\"}", 4, 16 + 15, &b);
    gw_buf_append(&a, b.ptr, b.len);
    struct gw_codings c = one(GW_CODING_GZIP);
    assert_decodes(&c, &a, "{\"model\":\"m\"}", 13);
    gw_buf_free(&a);
    gw_buf_free(&b);
}

Test(coding, zstd_frames_in_a_row_and_streamed)
{
    /* A streaming compressor (as Codex's) states no content size. */
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    char tmp[512];
    ZSTD_outBuffer ob = {tmp, sizeof tmp, 0};
    ZSTD_inBuffer ib = {chat, sizeof chat - 1, 0};
    cr_assert_eq(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cc);
    struct gw_buf enc;
    gw_buf_init(&enc, 0);
    gw_buf_append(&enc, tmp, ob.pos);
    struct gw_codings c = one(GW_CODING_ZSTD);
    assert_decodes(&c, &enc, chat, sizeof chat - 1);
    struct gw_buf two;
    zstd_encode("[1,", 3, &two);
    struct gw_buf second;
    zstd_encode("2]", 2, &second);
    gw_buf_append(&two, second.ptr, second.len);
    assert_decodes(&c, &two, "[1,2]", 5);
    gw_buf_free(&enc);
    gw_buf_free(&two);
    gw_buf_free(&second);
}

Test(coding, stacked_undone_last_first)
{
    /* Content-Encoding: gzip, zstd, br: gzip was applied first, br last. */
    struct gw_buf g, z, b;
    encode(GW_CODING_GZIP, chat, sizeof chat - 1, &g);
    encode(GW_CODING_ZSTD, g.ptr, g.len, &z);
    encode(GW_CODING_BR, z.ptr, z.len, &b);
    struct gw_codings c = {3, {GW_CODING_GZIP, GW_CODING_ZSTD, GW_CODING_BR}};
    assert_decodes(&c, &b, chat, sizeof chat - 1);
    struct gw_codings wrong = {3, {GW_CODING_BR, GW_CODING_ZSTD, GW_CODING_GZIP}};
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_coding_decode(&wrong, b.ptr, b.len, 1 << 20, &out), AIGW_EINVAL);
    cr_assert_null(out.ptr);
    gw_buf_free(&g);
    gw_buf_free(&z);
    gw_buf_free(&b);
}

Test(coding, empty_body_is_empty)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_codings c = one(all[i]);
        struct gw_buf out;
        gw_buf_init(&out, 0);
        cr_assert_eq(gw_coding_decode(&c, "", 0, 1024, &out), 0);
        cr_assert_eq(out.len, 0);
        gw_buf_free(&out);
    }
}

Test(coding, not_compressed_is_refused)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_codings c = one(all[i]);
        struct gw_buf out;
        gw_buf_init(&out, 0);
        cr_assert_eq(gw_coding_decode(&c, chat, sizeof chat - 1, 1 << 20, &out), AIGW_EINVAL,
                     "coding %d took plain JSON", (int)all[i]);
        cr_assert_null(out.ptr, "nothing kept on failure");
    }
}

Test(coding, corrupt_is_refused)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_buf enc;
        encode(all[i], chat, sizeof chat - 1, &enc);
        /* The middle overwritten: what the frame's structure or check catches. */
        memset(enc.ptr + enc.len / 3, 0xff, enc.len / 3);
        struct gw_codings c = one(all[i]);
        struct gw_buf out;
        gw_buf_init(&out, 0);
        int rc = gw_coding_decode(&c, enc.ptr, enc.len, 1 << 20, &out);
        cr_assert(rc == AIGW_EINVAL, "coding %d: %d", (int)all[i], rc);
        gw_buf_free(&enc);
    }
}

Test(coding, truncated_is_refused_at_every_length)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_buf enc;
        encode(all[i], chat, sizeof chat - 1, &enc);
        struct gw_codings c = one(all[i]);
        for (size_t cut = 1; cut < enc.len; cut++) {
            struct gw_buf out;
            gw_buf_init(&out, 0);
            int rc = gw_coding_decode(&c, enc.ptr, cut, 1 << 20, &out);
            cr_assert(rc == AIGW_EINVAL, "coding %d cut at %zu of %zu: %d", (int)all[i], cut,
                      enc.len, rc);
        }
        gw_buf_free(&enc);
    }
}

Test(coding, bytes_after_the_end_are_refused)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_buf enc;
        encode(all[i], chat, sizeof chat - 1, &enc);
        gw_buf_append(&enc, "{}", 2);
        struct gw_codings c = one(all[i]);
        struct gw_buf out;
        gw_buf_init(&out, 0);
        cr_assert_eq(gw_coding_decode(&c, enc.ptr, enc.len, 1 << 20, &out), AIGW_EINVAL,
                     "coding %d", (int)all[i]);
        gw_buf_free(&enc);
    }
}

Test(coding, exactly_the_cap_passes_one_more_does_not)
{
    static char body[4096];
    memset(body, 'a', sizeof body);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct gw_buf enc;
        encode(all[i], body, sizeof body, &enc);
        struct gw_codings c = one(all[i]);
        struct gw_buf out;
        gw_buf_init(&out, 0);
        cr_assert_eq(gw_coding_decode(&c, enc.ptr, enc.len, sizeof body, &out), 0);
        cr_assert_eq(out.len, sizeof body);
        gw_buf_free(&out);
        cr_assert_eq(gw_coding_decode(&c, enc.ptr, enc.len, sizeof body - 1, &out), AIGW_ETOOBIG,
                     "coding %d", (int)all[i]);
        cr_assert_null(out.ptr);
        gw_buf_free(&enc);
    }
}

/* A bomb: a small frame of zeros that would expand to 1 GiB, streamed so that no header
 * states its size (the decoder has to find out by decoding). */
static void zstd_bomb(struct gw_buf *out, size_t expands_to)
{
    static char zeros[1 << 20];
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
    gw_buf_init(out, 0);
    char tmp[1 << 16];
    for (size_t sent = 0; sent < expands_to; sent += sizeof zeros) {
        ZSTD_inBuffer ib = {zeros, sizeof zeros, 0};
        int last = sent + sizeof zeros >= expands_to;
        size_t left;
        do {
            ZSTD_outBuffer ob = {tmp, sizeof tmp, 0};
            left = ZSTD_compressStream2(cc, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
            cr_assert(!ZSTD_isError(left));
            gw_buf_append(out, tmp, ob.pos);
        } while (ib.pos < ib.size || (last && left));
    }
    ZSTD_freeCCtx(cc);
}

Test(coding, zstd_bomb_cut_at_the_cap)
{
    struct gw_buf bomb;
    zstd_bomb(&bomb, (size_t)1 << 30);
    cr_assert_lt(bomb.len, 64 * 1024, "a small frame: %zu bytes", bomb.len);
    struct gw_codings c = one(GW_CODING_ZSTD);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_coding_decode(&c, bomb.ptr, bomb.len, 1 << 20, &out), AIGW_ETOOBIG);
    cr_assert_null(out.ptr);
    gw_buf_free(&bomb);
}

Test(coding, zstd_stated_size_over_the_cap_refused_unread)
{
    char *big = calloc(1, 8 << 20);
    struct gw_buf enc;
    zstd_encode(big, 8 << 20, &enc);
    free(big);
    cr_assert_eq(ZSTD_getFrameContentSize(enc.ptr, enc.len), 8u << 20);
    struct gw_codings c = one(GW_CODING_ZSTD);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_coding_decode(&c, enc.ptr, enc.len, 1 << 20, &out), AIGW_ETOOBIG);
    gw_buf_free(&enc);
}

Test(coding, gzip_and_br_bombs_cut_at_the_cap)
{
    size_t n = 64 << 20;
    char *zeros = calloc(1, n);
    struct gw_buf g, b;
    z_encode(zeros, n, 16 + 15, &g);
    br_encode(zeros, n, &b);
    free(zeros);
    struct gw_buf gg;
    z_encode(g.ptr, g.len, 16 + 15, &gg); /* and stacked: gzip of the gzip bomb */
    struct gw_codings c = one(GW_CODING_GZIP);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_coding_decode(&c, g.ptr, g.len, 1 << 20, &out), AIGW_ETOOBIG);
    c = one(GW_CODING_BR);
    cr_assert_eq(gw_coding_decode(&c, b.ptr, b.len, 1 << 20, &out), AIGW_ETOOBIG);
    struct gw_codings two = {2, {GW_CODING_GZIP, GW_CODING_GZIP}};
    cr_assert_eq(gw_coding_decode(&two, gg.ptr, gg.len, 1 << 20, &out), AIGW_ETOOBIG);
    cr_assert_null(out.ptr);
    gw_buf_free(&g);
    gw_buf_free(&gg);
    gw_buf_free(&b);
}
