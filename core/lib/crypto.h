/*
 * crypto - hashing, HMAC, encodings and RS256 on OpenSSL's libcrypto, offered to plugins via
 * the host table (SigV4 for Bedrock, service-account JWTs for Vertex).
 * Threading: stateless; any thread.
 */
#ifndef GW_CRYPTO_H
#define GW_CRYPTO_H

#include <stddef.h>

void gw_sha256(const void *data, size_t len, unsigned char out[32]);
int gw_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                   unsigned char out[32]);
void gw_hex(const unsigned char *in, size_t len, char *out);
/* Encoded length for n input bytes, including the NUL. */
size_t gw_base64_encoded_size(size_t n);
size_t gw_base64_encode(const void *data, size_t len, int url_safe, char *out);
/* Decodes standard or URL-safe base64, padding optional, whitespace rejected.
 * out must hold len*3/4+3 bytes. Returns 0 and *out_len, or -1 on bad input. */
int gw_base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len);
/* RS256 signature of data; writes base64url (no padding) into out (outsize). 0 or -1. */
int gw_rs256_sign(const char *pem_key, const void *data, size_t len, char *out, size_t outsize);
/* n bytes from the kernel's CSPRNG (through a per-thread pool for n <= 128); all zero only
 * when every source failed (callers that need nonzero ids check). */
void gw_random_bytes(void *out, size_t n);
/* 16 random bytes as 32 hex chars + NUL (request ids). */
void gw_random_hex(char out[33]);
/* The wall clock's milliseconds as 12 hex digits + NUL: an id that starts with them sorts after
 * those made before it, so a database index of such ids takes each new one at its end instead
 * of on a random page (with fully random ids, most of an insert's cost was reading and writing
 * index pages). */
void gw_time_hex(char out[13]);
/* 1 when a and b are equal strings; the time taken depends on their lengths only, never on
 * where they differ (tokens, secrets). */
int gw_ct_streq(const char *a, const char *b);

#endif
