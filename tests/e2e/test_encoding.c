/*
 * Compressed request bodies through the real aigw binary: chat, Anthropic Messages and
 * Responses bodies sent with Content-Encoding (zstd as the Codex CLI sends it, gzip, raw
 * deflate, br, and a stack) reach the mock upstream as the plain JSON with no
 * Content-Encoding; an unknown coding is a 415, an undecodable body a 400 and one that
 * expands past max_body_bytes a 413, each in the caller's error shape, and none of them
 * reaches the upstream. Every body is compressed here with the libraries' encoders.
 */
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <criterion/criterion.h>
#include <zlib.h>
#include <zstd.h>

#include "e2e/e2e.h"

#define KEY "sk-e2e-encoding-0001"
#define AHDR "anthropic-version: 2023-06-01\nx-api-key: client-key-ignored"

struct blob {
    char *p;
    size_t n;
};

static struct blob zstd_of(const char *s, size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    struct blob b = {malloc(bound), 0};
    b.n = ZSTD_compress(b.p, bound, s, n, 3);
    cr_assert(!ZSTD_isError(b.n));
    return b;
}

/* wbits: 16 + 15 gzip, -15 raw deflate. */
static struct blob z_of(const char *s, size_t n, int wbits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n) + 32;
    struct blob b = {malloc(cap), 0};
    z.next_in = (unsigned char *)s;
    z.avail_in = (unsigned)n;
    z.next_out = (unsigned char *)b.p;
    z.avail_out = (unsigned)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    b.n = cap - z.avail_out;
    deflateEnd(&z);
    return b;
}

static struct blob br_of(const char *s, size_t n)
{
    size_t k = BrotliEncoderMaxCompressedSize(n);
    struct blob b = {malloc(k), k};
    cr_assert(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n,
                                    (const uint8_t *)s, &b.n, (uint8_t *)b.p));
    return b;
}

/* A frame of zeros streamed (no size stated) that expands to `to` bytes. */
static struct blob zstd_bomb(size_t to)
{
    static char zeros[1 << 16];
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    size_t cap = 1 << 20, used = 0;
    char *out = malloc(cap);
    for (size_t sent = 0; sent < to; sent += sizeof zeros) {
        ZSTD_inBuffer ib = {zeros, sizeof zeros, 0};
        int last = sent + sizeof zeros >= to;
        size_t left;
        do {
            ZSTD_outBuffer ob = {out + used, cap - used, 0};
            left = ZSTD_compressStream2(cc, &ob, &ib, last ? ZSTD_e_end : ZSTD_e_continue);
            cr_assert(!ZSTD_isError(left));
            used += ob.pos;
            cr_assert_lt(used, cap);
        } while (ib.pos < ib.size || (last && left));
    }
    ZSTD_freeCCtx(cc);
    struct blob b = {out, used};
    return b;
}

static struct mock *openai_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    return m;
}

static struct e2e_gw *gw_for(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=" KEY,
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
}

static struct e2e_resp *post(struct e2e_gw *gw, const char *path, struct blob b, const char *coding,
                             const char *more)
{
    const char *h =
        e2e_strf("Content-Encoding: %s%s%s", coding, more ? "\n" : "", more ? more : "");
    return e2e_request_n("POST", e2e_strf("%s%s", e2e_gw_url(gw), path), b.p, b.n, h, 0);
}

/* The upstream's request i: the plain JSON, with what the client wrote in it, and no
 * Content-Encoding of the client's. */
static void upstream_plain(struct mock *m, int i, const char *says)
{
    cr_assert_eq(mock_wait_requests(m, i + 1, 5000), 0);
    const struct mock_req *up = mock_request(m, i);
    cr_assert_not_null(mock_req_json(up), "upstream body not JSON: %.*s",
                       (int)mock_req_body_len(up), mock_req_body(up));
    cr_assert_not_null(strstr(mock_req_body(up), says), "%s", mock_req_body(up));
    cr_assert_null(mock_req_header(up, "content-encoding"), "%s",
                   mock_req_header(up, "content-encoding"));
    mock_req_free(up);
}

static const char *err_field(struct e2e_resp *r, const char *k)
{
    const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    const cJSON *v = cJSON_GetObjectItem(e, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}"

Test(encoding_e2e, chat_each_coding_reaches_upstream_plain)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for(m, NULL);
    const char *codings[] = {"zstd", "gzip",       "x-gzip", "deflate",
                             "br",   "gzip, zstd", " ZSTD ", "identity"};
    for (int i = 0; i < (int)(sizeof codings / sizeof codings[0]); i++) {
        const char *says = e2e_strf("hello number %d", i);
        const char *json = e2e_strf(CHAT, says);
        size_t n = strlen(json);
        struct blob b;
        if (!strcmp(codings[i], "gzip") || !strcmp(codings[i], "x-gzip"))
            b = z_of(json, n, 16 + 15);
        else if (!strcmp(codings[i], "deflate"))
            b = z_of(json, n, -15); /* raw, as some clients send it */
        else if (!strcmp(codings[i], "br"))
            b = br_of(json, n);
        else if (!strcmp(codings[i], "gzip, zstd")) {
            struct blob g = z_of(json, n, 16 + 15);
            b = zstd_of(g.p, g.n);
            free(g.p);
        } else if (!strcmp(codings[i], "identity")) {
            b.p = strdup(json);
            b.n = n;
        } else
            b = zstd_of(json, n);
        struct e2e_resp *r = post(gw, "/v1/chat/completions", b, codings[i], NULL);
        cr_assert_eq(r->status, 200, "%s: %s\n%s", codings[i], r->body, e2e_gw_log(gw));
        cr_assert_not_null(cJSON_GetObjectItem(e2e_resp_json(r), "choices"));
        upstream_plain(m, i, says);
        e2e_resp_free(r);
        free(b.p);
    }
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

Test(encoding_e2e, chat_refusals_in_openai_shape)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for(m, "{\"max_body_bytes\": 65536}");
    const char *json = e2e_strf(CHAT, "hi");
    struct blob plain = {strdup(json), strlen(json)};

    struct e2e_resp *r = post(gw, "/v1/chat/completions", plain, "compress", NULL);
    cr_assert_eq(r->status, 415, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "unsupported_content_encoding");
    cr_assert_str_eq(err_field(r, "type"), "invalid_request_error");
    cr_assert_not_null(strstr(err_field(r, "message"), "'compress'"), "%s", r->body);
    cr_assert_not_null(strstr(err_field(r, "message"), "zstd"), "%s", r->body);
    e2e_resp_free(r);

    /* Plain JSON that claims to be gzip: not decodable, not read as JSON either. */
    r = post(gw, "/v1/chat/completions", plain, "gzip", NULL);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "invalid_content_encoding");
    cr_assert_not_null(strstr(err_field(r, "message"), "could not be decoded"), "%s", r->body);
    e2e_resp_free(r);

    struct blob z = zstd_of(json, strlen(json));
    struct blob cut = {z.p, z.n - 3};
    r = post(gw, "/v1/chat/completions", cut, "zstd", NULL);
    cr_assert_eq(r->status, 400, "truncated: %s", r->body);
    e2e_resp_free(r);

    /* 1 GiB of zeros in a few KB: refused once 64 KiB are decoded. */
    struct blob bomb = zstd_bomb((size_t)1 << 30);
    r = post(gw, "/v1/chat/completions", bomb, "zstd", NULL);
    cr_assert_eq(r->status, 413, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "request_too_large");
    cr_assert_not_null(strstr(err_field(r, "message"), "65536"), "%s", r->body);
    e2e_resp_free(r);

    cr_assert_eq(mock_request_count(m), 0, "a refused body reached the upstream");
    /* And the gateway still serves. */
    r = post(gw, "/v1/chat/completions", z, "zstd", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    free(plain.p);
    free(z.p);
    free(bomb.p);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

Test(encoding_e2e, anthropic_messages)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for(m, NULL);
    const char *json = "{\"model\":\"openai/gpt-4o-mini\",\"max_tokens\":64,\"messages\":[{"
                       "\"role\":\"user\",\"content\":\"anthropic zipped\"}]}";
    struct blob b = z_of(json, strlen(json), 16 + 15);
    struct e2e_resp *r = post(gw, "/v1/messages", b, "gzip", AHDR);
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    cr_assert_str_eq(cJSON_GetObjectItem(e2e_resp_json(r), "type")->valuestring, "message");
    upstream_plain(m, 0, "anthropic zipped");
    e2e_resp_free(r);

    r = post(gw, "/v1/messages", b, "gzip, lzma", AHDR);
    cr_assert_eq(r->status, 415, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error");
    cr_assert_str_eq(err_field(r, "type"), "invalid_request_error");
    cr_assert_not_null(strstr(err_field(r, "message"), "'lzma'"), "%s", r->body);
    e2e_resp_free(r);

    r = post(gw, "/v1/messages", b, "br", AHDR);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(e2e_resp_json(r), "type")->valuestring, "error");
    cr_assert_not_null(strstr(err_field(r, "message"), "could not be decoded"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1);
    free(b.p);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* As the Codex CLI sends them: zstd level 3 on /v1/responses. */
Test(encoding_e2e, responses_as_codex_sends_them)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for(m, "{\"max_body_bytes\": 65536}");
    const char *json = "{\"model\":\"gpt-4o-mini\",\"store\":false,\"instructions\":\"Be brief.\","
                       "\"input\":[{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":"
                       "\"input_text\",\"text\":\"codex compressed this\"}]}]}";
    struct blob b = zstd_of(json, strlen(json));
    struct e2e_resp *r = post(gw, "/v1/responses", b, "zstd", NULL);
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    cr_assert_str_eq(cJSON_GetObjectItem(e2e_resp_json(r), "object")->valuestring, "response");
    upstream_plain(m, 0, "codex compressed this");
    e2e_resp_free(r);

    r = post(gw, "/v1/responses", b, "snappy", NULL);
    cr_assert_eq(r->status, 415, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "unsupported_content_encoding");
    e2e_resp_free(r);

    struct blob bomb = zstd_bomb((size_t)256 << 20);
    r = post(gw, "/v1/responses", bomb, "zstd", NULL);
    cr_assert_eq(r->status, 413, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "request_too_large");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1);
    free(b.p);
    free(bomb.p);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* The decoded copy is a held body like any: with max_body_bytes_total at 1024, a small
 * frame that decodes to 2 KB is a 503 server_busy although max_body_bytes would take it,
 * and what it held is given back (the next requests are served). */
Test(encoding_e2e, decoded_copy_counts_against_the_total)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw = gw_for(m, "{\"max_body_bytes\": 65536, \"max_body_bytes_total\": 1024}");
    const char *big = e2e_strf(CHAT, e2e_letters(2000));
    struct blob b = zstd_of(big, strlen(big));
    cr_assert_lt(b.n, 512);
    struct e2e_resp *r = post(gw, "/v1/chat/completions", b, "zstd", NULL);
    cr_assert_eq(r->status, 503, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "server_busy");
    cr_assert_not_null(e2e_resp_header(r, "Retry-After"));
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0);
    const char *small = e2e_strf(CHAT, "fits");
    struct blob s = zstd_of(small, strlen(small));
    for (int i = 0; i < 3; i++) {
        r = post(gw, "/v1/chat/completions", s, "zstd", NULL);
        cr_assert_eq(r->status, 200, "%d: %s", i, r->body);
        e2e_resp_free(r);
    }
    free(b.p);
    free(s.p);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}

/* The admin API reads JSON bodies too: a gzip key request creates the key; an unknown
 * coding and a body that is not of its coding are refused and create nothing. */
Test(encoding_e2e, admin_api_bodies)
{
    struct mock *m = openai_mock();
    struct e2e_gw *gw =
        e2e_gw_start(NULL, "OPENAI_API_KEY=" KEY, e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                     "AIGW_ADMIN_KEY=admin-encoding-0001", NULL);
    const char *auth = "Authorization: Bearer admin-encoding-0001";
    const char *json = "{\"name\":\"zipped-key\"}";
    struct blob b = z_of(json, strlen(json), 16 + 15);
    struct e2e_resp *r = post(gw, "/admin/keys", b, "gzip", auth);
    cr_assert_eq(r->status, 201, "%s\n%s", r->body, e2e_gw_log(gw));
    cr_assert_not_null(strstr(r->body, "zipped-key"), "%s", r->body);
    e2e_resp_free(r);
    r = post(gw, "/admin/keys", b, "zstd", auth);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(err_field(r, "code"), "invalid_content_encoding");
    e2e_resp_free(r);
    r = post(gw, "/admin/keys", b, "gzip, pack200-gzip", auth);
    cr_assert_eq(r->status, 415, "%s", r->body);
    e2e_resp_free(r);
    r = e2e_request("GET", e2e_strf("%s/admin/keys", e2e_gw_url(gw)), NULL, auth, 0);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *first = strstr(r->body, "zipped-key");
    cr_assert(first && !strstr(first + 1, "zipped-key"), "one key made: %s", r->body);
    e2e_resp_free(r);
    free(b.p);
    cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
    mock_stop(m);
}
