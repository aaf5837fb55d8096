/*
 * sigv4 - AWS Signature Version 4, as pure functions over caller-supplied crypto (the host's
 * sha256 / hmac_sha256 / hex) and an explicit timestamp, so tests can pin both and check the
 * result against AWS's published vectors.
 *
 * Canonical URI: the path is taken as sent on the wire and every segment is URI-encoded again
 * (non-S3 services double-encode: "%3A" on the wire is "%253A" in the canonical request).
 * Canonical query: pairs must already be URI-encoded; they are sorted by key, then value.
 * Header values are trimmed and inner whitespace runs collapsed; repeated names are joined
 * with ','.
 *
 * Threading: no state; any thread.
 */
#ifndef BEDROCK_SIGV4_H
#define BEDROCK_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#define SIGV4_MAX_HEADERS 32
#define SIGV4_MAX_QUERY 64

struct sigv4_crypto {
    void (*sha256)(const void *data, size_t len, unsigned char out[32]);
    int (*hmac_sha256)(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32]);
    void (*hex)(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
};

struct sigv4_header {
    const char *name; /* any case */
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *path;  /* as on the wire, e.g. "/model/x%3A0/converse"; NULL or "" means "/" */
    const char *query; /* without '?'; NULL or "" for none */
    const struct sigv4_header *headers; /* exactly the headers to sign, host and x-amz-date too */
    size_t nheaders;
    const char *payload_hash; /* lowercase hex SHA-256 of the body */
};

struct sigv4_scope {
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service;
    const char *amz_date; /* YYYYMMDD'T'HHMMSS'Z' */
};

/* UTC "YYYYMMDDTHHMMSSZ" for unix seconds. */
int sigv4_amz_date(int64_t unix_time, char out[17]);
/* Lowercase hex SHA-256 of the body. */
int sigv4_payload_hash(const struct sigv4_crypto *c, const void *body, size_t len, char out[65]);
/* The canonical request; *len receives its length. AIGW_ETOOBIG when cap is too small. */
int sigv4_canonical_request(const struct sigv4_request *r, char *out, size_t cap, size_t *len);
/* Sorted lowercase names of the signed headers joined by ';'. */
int sigv4_signed_headers(const struct sigv4_request *r, char *out, size_t cap);
int sigv4_string_to_sign(const struct sigv4_crypto *c, const struct sigv4_scope *s,
                         const char *creq, size_t creq_len, char *out, size_t cap);
int sigv4_signing_key(const struct sigv4_crypto *c, const struct sigv4_scope *s,
                      unsigned char out[32]);
/* The whole thing: the value of the Authorization header. */
int sigv4_authorization(const struct sigv4_crypto *c, const struct sigv4_scope *s,
                        const struct sigv4_request *r, char *out, size_t cap);

#endif
