/* crypto: known-answer vectors for the primitives plugins sign with. */
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lib/crc32c.h"
#include "lib/crypto.h"
#include "lib/utf8.h"

Test(crypto, sha256_and_hmac_vectors)
{
    unsigned char d[32];
    char hex[65];
    gw_sha256("abc", 3, d);
    gw_hex(d, 32, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* RFC 4231 test case 2 */
    cr_assert_eq(gw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d), 0);
    gw_hex(d, 32, hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

Test(crypto, base64_round_trips_both_alphabets)
{
    const unsigned char in[] = {0xfb, 0xff, 0x00, 'a', 'b'};
    for (int url = 0; url <= 1; url++) {
        char enc[64];
        gw_base64_encode(in, sizeof in, url, enc);
        cr_assert_str_eq(enc, url ? "-_8AYWI" : "+/8AYWI=");
        unsigned char dec[64];
        size_t n;
        cr_assert_eq(gw_base64_decode(enc, strlen(enc), dec, &n), 0);
        cr_assert_eq(n, sizeof in);
        cr_assert_eq(memcmp(dec, in, n), 0);
    }
    unsigned char dec[8];
    size_t n;
    cr_assert_lt(gw_base64_decode("ab!d", 4, dec, &n), 0);
}

Test(crypto, rs256_signature_verifies)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    cr_assert_not_null(key);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    char *pem;
    long len = BIO_get_mem_data(b, &pem);
    char *pemz = strndup(pem, (size_t)len);
    char sig[1024];
    cr_assert_eq(gw_rs256_sign(pemz, "header.claims", 13, sig, sizeof sig), 0);
    unsigned char raw[512];
    size_t rl;
    cr_assert_eq(gw_base64_decode(sig, strlen(sig), raw, &rl), 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    cr_assert_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    cr_assert_eq(EVP_DigestVerify(md, raw, rl, (const unsigned char *)"header.claims", 13), 1);
    cr_assert_lt(gw_rs256_sign("not a key", "x", 1, sig, sizeof sig), 0);
    EVP_MD_CTX_free(md);
    free(pemz);
    BIO_free(b);
    EVP_PKEY_free(key);
}

Test(utf8, validation)
{
    cr_assert_eq(gw_utf8_invalid_at("h\xc3\xa9llo \xf0\x9f\x98\x80", 11), (size_t)-1);
    cr_assert_eq(gw_utf8_invalid_at("ab\xc0\xaf", 4), 2);         /* overlong */
    cr_assert_eq(gw_utf8_invalid_at("a\xed\xa0\x80", 4), 1);      /* surrogate */
    cr_assert_eq(gw_utf8_invalid_at("abc\xe2\x82", 5), 3);        /* truncated */
}

/* The ASCII runs are skipped a word at a time: a bad or multi-byte sequence at every offset
 * around the word boundaries, and a truncated one at the very end, is still found where the
 * byte-wise scan finds it. */
Test(utf8, every_offset_past_ascii_runs)
{
    static const struct {
        const char *seq;
        size_t len;
        int bad;
    } cases[] = {
        {"\xc0\xaf", 2, 1}, {"\xed\xa0\x80", 3, 1}, {"\xff", 1, 1},
        {"\xc3\xa9", 2, 0}, {"\xf0\x9f\x98\x80", 4, 0},
    };
    char buf[64];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t at = 0; at + cases[c].len + 3 <= sizeof buf; at++) {
            memset(buf, 'a', sizeof buf);
            memcpy(buf + at, cases[c].seq, cases[c].len);
            size_t want = cases[c].bad ? at : (size_t)-1;
            cr_assert_eq(gw_utf8_invalid_at(buf, sizeof buf), want, "case %zu at %zu", c, at);
            /* cut inside the sequence: truncated, so invalid where it starts */
            if (cases[c].len > 1)
                cr_assert_eq(gw_utf8_invalid_at(buf, at + cases[c].len - 1), at,
                             "case %zu cut at %zu", c, at);
        }
    }
    memset(buf, 'a', sizeof buf);
    for (size_t n = 0; n <= sizeof buf; n++)
        cr_assert_eq(gw_utf8_invalid_at(buf, n), (size_t)-1);
}

Test(utf8, repair)
{
    char out[64];
    size_t n = gw_utf8_repair("h\xc3\xa9", 3, out);
    cr_assert_eq(n, 3, "valid text is copied as it is");
    cr_assert_eq(memcmp(out, "h\xc3\xa9", 3), 0);
    n = gw_utf8_repair("a\377\376b\303", 5, out); /* two stray bytes, a cut sequence */
    cr_assert_eq(n, 11);
    cr_assert_eq(memcmp(out, "a\357\277\275\357\277\275b\357\277\275", 11), 0);
    cr_assert_eq(gw_utf8_invalid_at(out, n), (size_t)-1);
    /* A surrogate: its three bytes start no valid sequence, each becomes U+FFFD (3 x 3). */
    cr_assert_eq(gw_utf8_repair("\xed\xa0\x80", 3, out), 9);
    cr_assert_eq(gw_utf8_repair("", 0, out), 0);
}

/* Ids come from a per-thread pool refilled every 32 ids: across several refills every id is
 * 32 lowercase hex digits and none repeats (a pool served twice would repeat). */
Test(crypto, random_ids_are_hex_and_distinct)
{
    enum { N = 200 };
    static char ids[N][33];
    for (int i = 0; i < N; i++) {
        gw_random_hex(ids[i]);
        cr_assert_eq(strlen(ids[i]), 32);
        cr_assert_eq(strspn(ids[i], "0123456789abcdef"), 32);
        cr_assert_str_neq(ids[i], "00000000000000000000000000000000");
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(ids[i], ids[j]);
    }
}

/* CRC-32C: RFC 3720 B.4 vectors and the standard check value, by the CPU's instruction and by
 * table, whole and in pieces of every split. */
Test(crypto, crc32c_vectors_and_chaining)
{
    unsigned char zeros[32] = {0}, ones[32], inc[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++)
        inc[i] = (unsigned char)i;
    cr_assert_eq(gw_crc32c(0, "123456789", 9), 0xe3069283u);
    cr_assert_eq(gw_crc32c(0, zeros, 32), 0x8a9136aau);
    cr_assert_eq(gw_crc32c(0, ones, 32), 0x62a8ab43u);
    cr_assert_eq(gw_crc32c(0, inc, 32), 0x46dd794eu);
    cr_assert_eq(gw_crc32c_portable(0, inc, 32), 0x46dd794eu);
    cr_assert_eq(gw_crc32c(0, "", 0), 0);
    unsigned char big[1031];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 131 + 7);
    uint32_t whole = gw_crc32c_portable(0, big, sizeof big);
    cr_assert_eq(gw_crc32c(0, big, sizeof big), whole);
    for (size_t cut = 0; cut <= 20; cut++)
        cr_assert_eq(gw_crc32c(gw_crc32c(0, big, cut), big + cut, sizeof big - cut), whole,
                     "split at %zu", cut);
}
