/* test_vertex_ai - the vertex-ai plugin through the real loader, exchange and renderer:
 * URL shapes per model family, the service-account token fetch (JWT checked with OpenSSL),
 * token caching and refresh, and both translations (Gemini and Claude). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "plugins/harness.h"
#include "plugins/testutil.h"

#define jget(o, path) tu_at(o, path)
#define jstr(o, path) tu_str_at(o, path)
#define jnum(o, path) tu_num_at(o, path)

#define CANARY "sk-CANARY-1234"
#define BASE "http://vertex.mock/v1/projects/aigw-test-project/locations/us-central1/publishers"
#define TOKEN_URL "http://token.mock/token"
#define SSE_HDR "Content-Type: text/event-stream\r\n"
#define JSON_HDR "Content-Type: application/json; charset=UTF-8\r\n"
#define GEMINI_REQ                                                                                 \
    "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
#define GEMINI_STREAM_REQ                                                                          \
    "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"stream_options\":{\"include_usage\":true}," \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
#define CLAUDE_REQ                                                                                 \
    "{\"model\":\"claude-sonnet-4-5@20250929\",\"max_tokens\":64,\"messages\":"                    \
    "[{\"role\":\"user\",\"content\":\"Hi\"}]}"
#define CLAUDE_STREAM_REQ                                                                          \
    "{\"model\":\"claude-sonnet-4-5@20250929\",\"max_tokens\":64,\"stream\":true,"                 \
    "\"stream_options\":{\"include_usage\":true},"                                                 \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"

/* ---- environments ------------------------------------------------------------------------- */

static void base_env(void)
{
    ph_unenv("VERTEX_AI_ACCESS_TOKEN", "VERTEX_AI_SERVICE_ACCOUNT_JSON",
             "GOOGLE_APPLICATION_CREDENTIALS", "VERTEX_AI_TOKEN_URL", "VERTEX_AI_BASE_URL",
             "VERTEX_AI_REGION", NULL);
    ph_env("VERTEX_AI_PROJECT_ID", "aigw-test-project", NULL);
}

static void token_env(void)
{
    base_env();
    ph_env("VERTEX_AI_BASE_URL", "http://vertex.mock/", "VERTEX_AI_REGION", "us-central1",
           "VERTEX_AI_ACCESS_TOKEN", CANARY, NULL);
}

static void sa_file_env(void)
{
    char path[4096];
    base_env();
    const char *src = getenv("AIGW_TEST_SRCDIR");
    cr_assert_not_null(src);
    snprintf(path, sizeof path, "%s/tests/fixtures/vertex-ai/service_account_TEST_ONLY.json", src);
    ph_env("VERTEX_AI_BASE_URL", "http://vertex.mock", "GOOGLE_APPLICATION_CREDENTIALS", path,
           "VERTEX_AI_TOKEN_URL", TOKEN_URL, NULL);
}

static void sa_inline_env(void)
{
    base_env();
    char *json = ph_fixture("vertex-ai/service_account_pkcs1_TEST_ONLY.json", NULL);
    ph_env("VERTEX_AI_BASE_URL", "http://vertex.mock", "VERTEX_AI_SERVICE_ACCOUNT_JSON", json,
           "VERTEX_AI_TOKEN_URL", TOKEN_URL, NULL);
    free(json);
}

static void user_env(void)
{
    char path[4096];
    base_env();
    snprintf(path, sizeof path, "%s/tests/fixtures/vertex-ai/authorized_user_TEST_ONLY.json",
             getenv("AIGW_TEST_SRCDIR"));
    ph_env("VERTEX_AI_BASE_URL", "http://vertex.mock", "GOOGLE_APPLICATION_CREDENTIALS", path,
           "VERTEX_AI_TOKEN_URL", TOKEN_URL, NULL);
}

static void region_default_env(void)
{
    base_env();
    ph_env("VERTEX_AI_ACCESS_TOKEN", CANARY, NULL);
}

static void region_global_env(void)
{
    region_default_env();
    ph_env("VERTEX_AI_REGION", "global", NULL);
}

static void region_eu_env(void)
{
    region_default_env();
    ph_env("VERTEX_AI_REGION", "eu", NULL);
}

TestSuite(vertex);

/* ---- helpers ------------------------------------------------------------------------------ */

static void no_secret(struct ph_call *c)
{
    const char *o = ph_output(c);
    cr_assert_null(strstr(o, CANARY), "the token leaked: %s", o);
    cr_assert_null(strstr(o, "PRIVATE KEY"));
    cr_assert_null(strstr(o, "ya29."));
}

static void assert_usage(const cJSON *u, int prompt, int completion, int total, int cached,
                         int reasoning)
{
    cr_assert_not_null(u, "no usage");
    cr_assert_eq(jnum(u, "prompt_tokens"), prompt);
    cr_assert_eq(jnum(u, "completion_tokens"), completion);
    cr_assert_eq(jnum(u, "total_tokens"), total);
    if (cached >= 0)
        cr_assert_eq(jnum(u, "prompt_tokens_details.cached_tokens"), cached);
    if (reasoning >= 0)
        cr_assert_eq(jnum(u, "completion_tokens_details.reasoning_tokens"), reasoning);
}

static char *normalized(struct ph_call *c)
{
    const char *o = ph_output(c);
    char *s = malloc(strlen(o) + 1), *w = s;
    cr_assert_not_null(s);
    while (*o) {
        if (!strncmp(o, "\"created\":", 10)) {
            memcpy(w, "\"created\":0", 11);
            w += 11;
            o += 10;
            while (*o >= '0' && *o <= '9')
                o++;
            continue;
        }
        *w++ = *o++;
    }
    *w = 0;
    return s;
}

/* base64url (no padding) -> bytes; returns the length. */
static size_t b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        int v = ch >= 'A' && ch <= 'Z'   ? ch - 'A'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
                : ch >= '0' && ch <= '9' ? ch - '0' + 52
                : ch == '-'              ? 62
                : ch == '_'              ? 63
                                         : -1;
        cr_assert_geq(v, 0, "not base64url: %c", ch);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            cr_assert_lt(len, cap);
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    return len;
}

static char *b64url_text(const char *in, size_t n)
{
    unsigned char *buf = malloc(n + 1);
    cr_assert_not_null(buf);
    size_t len = b64url_decode(in, n, buf, n);
    buf[len] = 0;
    return (char *)buf;
}

static char *pem_of(const char *sa_json_text)
{
    cJSON *j = cJSON_Parse(sa_json_text);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "private_key");
    cr_assert(cJSON_IsString(k));
    char *pem = strdup(k->valuestring);
    cJSON_Delete(j);
    return pem;
}

static int rs256_verifies(const char *pem, const char *input, size_t ilen, const char *sig64,
                          size_t slen)
{
    unsigned char sig[1024];
    size_t n = b64url_decode(sig64, slen, sig, sizeof sig);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    cr_assert_not_null(key, "test key does not load");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, sig, n, (const unsigned char *)input, ilen) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return ok;
}

struct jwt {
    char *header; /* decoded JSON text */
    char *claims;
    cJSON *claims_json;
};

/* Check the token request the plugin built and return its decoded JWT; the signature is
 * verified against the key in sa_json_text. */
static struct jwt check_token_request(struct ph_call *c, const char *sa_json_text)
{
    static const char prefix[] =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    struct jwt j;
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), TOKEN_URL);
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/x-www-form-urlencoded");
    cr_assert_null(ph_header(c, "Authorization"));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    const char *body = ph_body(c);
    cr_assert_eq(strncmp(body, prefix, sizeof prefix - 1), 0, "token body: %s", body);
    const char *jwt = body + sizeof prefix - 1;
    const char *d1 = strchr(jwt, '.');
    cr_assert_not_null(d1);
    const char *d2 = strchr(d1 + 1, '.');
    cr_assert_not_null(d2);
    cr_assert_null(strchr(d2 + 1, '.'));
    cr_assert_null(strchr(jwt, '='), "JWT segments are unpadded");
    char *pem = pem_of(sa_json_text);
    cr_assert(rs256_verifies(pem, jwt, (size_t)(d2 - jwt), d2 + 1, strlen(d2 + 1)),
              "the JWT signature does not verify with the test key");
    /* A flipped byte in the signed part must not verify: the check can fail. */
    char *tampered = strndup(jwt, (size_t)(d2 - jwt));
    tampered[d1 - jwt + 3] ^= 1;
    cr_assert_not(rs256_verifies(pem, tampered, strlen(tampered), d2 + 1, strlen(d2 + 1)));
    free(tampered);
    free(pem);
    j.header = b64url_text(jwt, (size_t)(d1 - jwt));
    j.claims = b64url_text(d1 + 1, (size_t)(d2 - d1 - 1));
    j.claims_json = cJSON_Parse(j.claims);
    cr_assert_not_null(j.claims_json, "claims: %s", j.claims);
    return j;
}

static void jwt_free(struct jwt *j)
{
    free(j->header);
    free(j->claims);
    cJSON_Delete(j->claims_json);
}

static void check_claims(const struct jwt *j)
{
    double iat = jnum(j->claims_json, "iat"), exp = jnum(j->claims_json, "exp");
    double now = (double)time(NULL);
    cr_assert(iat >= now - 5 && iat <= now + 1, "iat %f vs now %f", iat, now);
    cr_assert_eq(exp - iat, 3600);
    char want[512];
    snprintf(want, sizeof want,
             "{\"iss\":\"aigw-test-only@aigw-test-project.iam.gserviceaccount.com\","
             "\"scope\":\"https://www.googleapis.com/auth/cloud-platform\","
             "\"aud\":\"https://oauth2.googleapis.com/token\",\"iat\":%.0f,\"exp\":%.0f}",
             iat, exp);
    cr_assert_str_eq(j->claims, want);
}

/* ---- URL shapes --------------------------------------------------------------------------- */

Test(vertex, gemini_url_and_bearer, .init = token_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), BASE "/google/models/gemini-2.5-flash:generateContent");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_null(ph_header(c, "x-goog-api-key"));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    cr_assert_str_eq(jstr(ph_body_json(c), "contents.0.parts.0.text"), "Hi");
    cr_assert_null(strstr(ph_url(c), CANARY));
    ph_free(c);

    c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_STREAM_REQ);
    cr_assert_str_eq(ph_url(c),
                     BASE "/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON_SEQ);
    ph_free(c);

    c = ph_begin("vertex-ai", AIGW_OP_CHAT,
                 "{\"model\":\"publishers/google/models/gemini-2.0-flash-001\",\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_url(c), BASE "/google/models/gemini-2.0-flash-001:generateContent");
    ph_free(c);

    int rc = 0;
    c = ph_begin_rc("vertex-ai", AIGW_OP_CHAT,
                    "{\"model\":\"gemini-2.5-flash:x?y\",\"messages\":"
                    "[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_not_null(strstr(ph_output(c), "model id not usable in a Vertex AI URL"), "%s",
                       ph_output(c));
    ph_free(c);
}

Test(vertex, claude_url_and_body, .init = token_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_REQ);
    cr_assert_str_eq(ph_url(c), BASE "/anthropic/models/claude-sonnet-4-5@20250929:rawPredict");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_null(ph_header(c, "x-api-key"));
    cJSON *b = ph_body_json(c);
    cr_assert_str_eq(jstr(b, "anthropic_version"), "vertex-2023-10-16");
    cr_assert_null(jget(b, "model"));
    cr_assert_eq(jnum(b, "max_tokens"), 64);
    cr_assert_str_eq(jstr(b, "messages.0.role"), "user");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    ph_free(c);

    c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_STREAM_REQ);
    cr_assert_str_eq(ph_url(c),
                     BASE "/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict");
    cr_assert(cJSON_IsTrue(jget(ph_body_json(c), "stream")));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    ph_free(c);
}

Test(vertex, default_region_host, .init = region_default_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_url(c), "https://us-central1-aiplatform.googleapis.com/v1/projects/"
                                "aigw-test-project/locations/us-central1/publishers/google/"
                                "models/gemini-2.5-flash:generateContent");
    ph_free(c);
}

Test(vertex, global_host, .init = region_global_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_REQ);
    cr_assert_str_eq(ph_url(c), "https://aiplatform.googleapis.com/v1/projects/aigw-test-project/"
                                "locations/global/publishers/anthropic/models/"
                                "claude-sonnet-4-5@20250929:rawPredict");
    ph_free(c);
}

Test(vertex, multi_region_host, .init = region_eu_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_url(c), "https://aiplatform.eu.rep.googleapis.com/v1/projects/"
                                "aigw-test-project/locations/eu/publishers/google/models/"
                                "gemini-2.5-flash:generateContent");
    ph_free(c);
}

/* ---- Gemini on Vertex ---------------------------------------------------------------------- */

Test(vertex, gemini_response, .init = token_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/chat.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "id"), "vxresp-haiku-0001");
    cr_assert_str_eq(jstr(o, "choices.0.message.content"),
                     "A haiku about rain:\nSoft drops on tin roofs\nthe garden drinks in "
                     "silence\nevening smells of earth");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "stop");
    assert_usage(ph_usage(c), 8, 49, 57, -1, 25);
    no_secret(c);
    ph_free(c);
}

Test(vertex, gemini_streams_whole_and_split, .init = token_env)
{
    char *want = NULL;
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_STREAM_REQ);
        cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "vertex-ai/stream_text.sse", split), 0);
        cr_assert_str_eq(ph_stream_text(c), "Hello from Vertex.");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert(ph_sse_done(c));
        /* intermediate usageMetadata held only trafficType: the final counts win */
        assert_usage(ph_usage(c), 4, 15, 19, -1, 12);
        char *got = normalized(c);
        if (!want)
            want = got;
        else {
            cr_assert_str_eq(got, want);
            free(got);
        }
        no_secret(c);
        ph_free(c);

        c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_STREAM_REQ);
        cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "vertex-ai/stream_tools.sse", split), 0);
        cr_assert_str_eq(ph_stream_tool_name(c, 0), "lookup_order");
        cr_assert_str_eq(ph_stream_tool_id(c, 0), "call_ols-0003_0");
        cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"order_id\":\"A-1009\"}");
        cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
        assert_usage(ph_usage(c), 40, 9, 49, -1, -1);
        ph_free(c);
    }
    free(want);
}

/* ---- Claude on Vertex ---------------------------------------------------------------------- */

Test(vertex, claude_response_and_stream, .init = token_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_REQ);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/claude_chat.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "choices.0.message.content"), "Vertex relays Claude too.");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "stop");
    assert_usage(ph_usage(c), 22, 9, 31, 5, -1);
    no_secret(c);
    ph_free(c);

    char *want = NULL;
    for (size_t split = 0; split <= 1; split++) {
        c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_STREAM_REQ);
        cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "vertex-ai/claude_stream_text.sse", split),
                     0);
        cr_assert_str_eq(ph_stream_text(c), "Streaming from Vertex.");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert(ph_sse_done(c));
        assert_usage(ph_usage(c), 21, 6, 27, -1, -1);
        char *got = normalized(c);
        if (!want)
            want = got;
        else {
            cr_assert_str_eq(got, want);
            free(got);
        }
        ph_free(c);
    }
    free(want);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void check_error(const char *req, int http, const char *fixture, int status,
                        const char *type, int retryable)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, req);
    cr_assert_eq(ph_respond_file(c, http, JSON_HDR, fixture, 0), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->status, status, "%s: %d", fixture, e->status);
    cr_assert_str_eq(e->type, type, "%s", fixture);
    cr_assert_eq(e->retryable, retryable, "%s", fixture);
    cr_assert_eq(ph_client_status(c), status);
    no_secret(c);
    ph_free(c);
}

Test(vertex, error_mapping, .init = token_env)
{
    check_error(GEMINI_REQ, 403, "vertex-ai/error_403.json", 403, "permission_error", 0);
    check_error(GEMINI_REQ, 429, "vertex-ai/error_429.json", 429, "rate_limit_error", 1);
    /* Claude models: Google's envelope for platform failures, Anthropic's for the model. */
    check_error(CLAUDE_REQ, 403, "vertex-ai/error_403.json", 403, "permission_error", 0);
    check_error(CLAUDE_REQ, 529, "vertex-ai/claude_error_overloaded.json", 503, "overloaded_error",
                1);
}

Test(vertex, token_echo_scrubbed, .init = token_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    const char *body = "{\"error\":{\"code\":401,\"status\":\"UNAUTHENTICATED\",\"message\":"
                       "\"Request had invalid authentication credentials: " CANARY "\"}}";
    cr_assert_eq(ph_respond(c, 401, JSON_HDR, body, strlen(body), 0), 0);
    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_str_eq(ph_error(c)->message,
                     "Request had invalid authentication credentials: [redacted]");
    no_secret(c);
    ph_free(c);
}

/* ---- service-account tokens ---------------------------------------------------------------- */

Test(vertex, service_account_jwt_then_cached_token, .init = sa_file_env)
{
    char *sa = ph_fixture("vertex-ai/service_account_TEST_ONLY.json", NULL);
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    struct jwt j = check_token_request(c, sa);
    cr_assert_str_eq(j.header,
                     "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"TEST-ONLY-kid-0001\"}");
    check_claims(&j);
    jwt_free(&j);

    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/token.json", 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "http://vertex.mock/v1/projects/aigw-test-project/locations/"
                                "us-central1/publishers/google/models/gemini-2.5-flash:"
                                "generateContent");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer ya29.TEST-ONLY-access-token-1");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/chat.json", 0), 0);
    cr_assert_str_eq(jstr(ph_output_json(c), "choices.0.finish_reason"), "stop");
    no_secret(c);
    ph_free(c);

    /* The token is cached by the host: the next call goes straight to the model. */
    c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_REQ);
    cr_assert_str_eq(ph_url(c), "http://vertex.mock/v1/projects/aigw-test-project/locations/"
                                "us-central1/publishers/anthropic/models/"
                                "claude-sonnet-4-5@20250929:rawPredict");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer ya29.TEST-ONLY-access-token-1");
    ph_free(c);
    free(sa);
}

Test(vertex, short_lived_token_is_refetched, .init = sa_file_env)
{
    char *sa = ph_fixture("vertex-ai/service_account_TEST_ONLY.json", NULL);
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_url(c), TOKEN_URL);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/token_short.json", 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer ya29.TEST-ONLY-short-lived");
    ph_free(c);

    /* expires_in 1: the cached token lapses within a second; wait for that, with a deadline. */
    int refetched = 0;
    time_t deadline = time(NULL) + 5;
    while (!refetched && time(NULL) <= deadline) {
        c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
        if (!strcmp(ph_url(c), TOKEN_URL)) {
            refetched = 1;
            struct jwt j = check_token_request(c, sa);
            check_claims(&j);
            jwt_free(&j);
            cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/token.json", 0),
                         AIGW_CONTINUE);
            cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer ya29.TEST-ONLY-access-token-1");
        } else {
            cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer ya29.TEST-ONLY-short-lived");
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        ph_free(c);
    }
    cr_assert(refetched, "the expired token was never refreshed");
    free(sa);
}

Test(vertex, inline_pkcs1_key, .init = sa_inline_env)
{
    char *sa = ph_fixture("vertex-ai/service_account_pkcs1_TEST_ONLY.json", NULL);
    cr_assert_not_null(strstr(sa, "BEGIN RSA PRIVATE KEY"));
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, CLAUDE_STREAM_REQ);
    struct jwt j = check_token_request(c, sa);
    cr_assert_str_eq(j.header,
                     "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"TEST-ONLY-kid-0002\"}");
    check_claims(&j);
    jwt_free(&j);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/token.json", 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "http://vertex.mock/v1/projects/aigw-test-project/locations/"
                                "us-central1/publishers/anthropic/models/"
                                "claude-sonnet-4-5@20250929:streamRawPredict");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "vertex-ai/claude_stream_text.sse", 1), 0);
    cr_assert_str_eq(ph_stream_text(c), "Streaming from Vertex.");
    no_secret(c);
    ph_free(c);
    free(sa);
}

Test(vertex, token_endpoint_error, .init = sa_file_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_url(c), TOKEN_URL);
    cr_assert_eq(ph_respond_file(c, 400, JSON_HDR, "vertex-ai/token_error.json", 0), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->status, 500);
    cr_assert_str_eq(e->code, "invalid_grant");
    cr_assert_str_eq(e->message, "Vertex AI token request failed: Invalid JWT Signature.");
    cr_assert_eq(e->retryable, 0);
    cr_assert_eq(ph_client_status(c), 500);
    no_secret(c);
    ph_free(c);

    /* Nothing was cached: the next call fetches again. */
    c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_url(c), TOKEN_URL);
    ph_free(c);
}

Test(vertex, authorized_user_refresh_grant, .init = user_env)
{
    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    cr_assert_str_eq(ph_url(c), TOKEN_URL);
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/x-www-form-urlencoded");
    cr_assert_str_eq(ph_body(c), "grant_type=refresh_token"
                                 "&refresh_token=1%2F%2FTEST-ONLY-refresh%2Btoken%2Fvalue"
                                 "&client_id=000000000000-testonly.apps.googleusercontent.com"
                                 "&client_secret=TEST-ONLY-client-secret");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "vertex-ai/token.json", 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer ya29.TEST-ONLY-access-token-1");
    ph_free(c);
}

/* ---- conformance: real recordings ---------------------------------------------------------- */

static char *shared_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing shared fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

static const char *shared_dir(void)
{
    static char dir[4096];
    const char *root = getenv("AIGW_SHARED_FIXTURES");
    snprintf(dir, sizeof dir, "%s/vertex", root ? root : "/nonexistent");
    FILE *probe = fopen(dir, "r");
    if (!probe)
        return NULL;
    fclose(probe);
    return dir;
}

static struct ph_call *replay(const char *dir, const char *name, int http, int is_stream)
{
    size_t len;
    char *body = shared_file(dir, name, &len);
    struct ph_call *c =
        ph_begin("vertex-ai", AIGW_OP_CHAT, is_stream ? GEMINI_STREAM_REQ : GEMINI_REQ);
    cr_assert_eq(ph_respond(c, http, is_stream ? SSE_HDR : JSON_HDR, body, len, 0), 0, "%s", name);
    if (is_stream) {
        struct ph_call *d = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_STREAM_REQ);
        cr_assert_eq(ph_respond(d, http, SSE_HDR, body, len, 1), 0);
        char *a = normalized(c), *b = normalized(d);
        cr_assert_str_eq(a, b, "%s: split=1 differs", name);
        free(a);
        free(b);
        ph_free(d);
    }
    free(body);
    no_secret(c);
    return c;
}

Test(vertex, conformance_shared_recordings, .init = token_env)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");

    struct ph_call *c = replay(dir, "gemini_generate_content.json", 200, 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "choices.0.message.content"), "2 + 2 = **4**");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "stop");
    assert_usage(ph_usage(c), 9, 27, 36, -1, 19);
    ph_free(c);

    c = replay(dir, "gemini_unary-success-basic-reply-short.json", 200, 0);
    cr_assert_str_eq(jstr(ph_output_json(c), "choices.0.message.content"),
                     "Mountain View, California");
    assert_usage(ph_usage(c), 6, 7, 13, -1, -1);
    ph_free(c);

    c = replay(dir, "gemini_unary-success-usage-metadata.json", 200, 0);
    assert_usage(ph_usage(c), 6, 357, 363, -1, -1);
    ph_free(c);

    c = replay(dir, "gemini_unary-success-constraint-decoding-json.json", 200, 0);
    cJSON *parsed = cJSON_Parse(jstr(ph_output_json(c), "choices.0.message.content"));
    cr_assert(cJSON_IsArray(parsed), "constrained output is not the JSON array it should be");
    cJSON_Delete(parsed);
    ph_free(c);

    c = replay(dir, "gemini_unary-success-function-call-parallel-calls.json", 200, 0);
    o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(jget(o, "choices.0.message.tool_calls")), 3);
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.2.function.name"), "sum");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.2.function.arguments"),
                     "{\"y\":5,\"x\":6}");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.2.id"), "call_test-request_2");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "tool_calls");
    ph_free(c);

    c = replay(dir, "gemini_unary-success-function-call-with-arguments.json", 200, 0);
    cr_assert_str_eq(jstr(ph_output_json(c), "choices.0.message.tool_calls.0.function.arguments"),
                     "{\"y\":5,\"x\":4}");
    ph_free(c);

    c = replay(dir, "gemini_unary-failure-prompt-blocked-safety.json", 200, 0);
    cr_assert_str_eq(jstr(ph_output_json(c), "choices.0.finish_reason"), "content_filter");
    ph_free(c);

    c = replay(dir, "gemini_stream_function_call.sse", 200, 1);
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "weather");
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    assert_usage(ph_usage(c), 70, 60, 130, -1, 43);
    ph_free(c);

    c = replay(dir, "gemini_stream_after_function_response.sse", 200, 1);
    cr_assert_str_eq(ph_stream_text(c), "The weather in Berlin is 15\xc2\xb0"
                                        "C with a wind speed of 10 km/h.");
    assert_usage(ph_usage(c), 170, 22, 192, -1, -1);
    ph_free(c);

    c = replay(dir, "gemini_streaming-success-basic-reply-short.txt", 200, 1);
    cr_assert_str_eq(ph_stream_text(c), "Cheyenne");
    assert_usage(ph_usage(c), 6, 4, 10, -1, -1);
    ph_free(c);

    c = replay(dir, "gemini_streaming-success-function-call-short.txt", 200, 1);
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "getTemperature");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"city\":\"San Jose\"}");
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    ph_free(c);

    /* The recorded mid-stream failure: a bare JSON error object after two events. */
    c = replay(dir, "gemini_streaming-failure-error-mid-stream.txt", 200, 1);
    cr_assert_str_eq(ph_stream_text(c), "First Second ");
    cr_assert_not_null(ph_error(c), "the mid-stream error was lost");
    cr_assert_str_eq(ph_error(c)->code, "CANCELLED");
    cr_assert_str_eq(ph_error(c)->message, "The operation was cancelled.");
    cr_assert(ph_sse_done(c));
    ph_free(c);

    struct {
        const char *file;
        int http, status, retryable;
    } errs[] = {
        {"gemini_unary-failure-api-key.json", 400, 401, 0},
        {"gemini_unary-failure-iam-permission-denied.json", 403, 403, 0},
        {"gemini_unary-failure-model-not-found.json", 404, 404, 0},
        {"gemini_unary-failure-quota-exceeded.json", 429, 429, 1},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        c = replay(dir, errs[i].file, errs[i].http, 0);
        cr_assert_eq(ph_error(c)->status, errs[i].status, "%s", errs[i].file);
        cr_assert_eq(ph_error(c)->retryable, errs[i].retryable, "%s", errs[i].file);
        ph_free(c);
    }
}

static void testkey_env(void)
{
    base_env();
    const char *dir = shared_dir();
    if (!dir)
        return;
    char *key = shared_file(dir, "service_account_TESTKEY.json", NULL);
    ph_env("VERTEX_AI_BASE_URL", "http://vertex.mock", "VERTEX_AI_SERVICE_ACCOUNT_JSON", key,
           "VERTEX_AI_TOKEN_URL", TOKEN_URL, NULL);
    free(key);
}

/* The published google-auth test key and the recorded assertion vector: our header is the
 * vector's byte for byte, our claims have its layout, and our signature verifies. */
Test(vertex, conformance_jwt_vector, .init = testkey_env)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");
    char *sa = shared_file(dir, "service_account_TESTKEY.json", NULL);
    char *vec_text = shared_file(dir, "jwt_bearer_assertion_vector.json", NULL);
    cJSON *vec = cJSON_Parse(vec_text);
    cr_assert_not_null(vec);

    struct ph_call *c = ph_begin("vertex-ai", AIGW_OP_CHAT, GEMINI_REQ);
    struct jwt j = check_token_request(c, sa);
    cr_assert_str_eq(j.header, jstr(vec, "header_json"));
    const char *body = strstr(ph_body(c), "assertion=") + 10;
    const char *vjwt = jstr(vec, "signing_input");
    size_t hlen = strcspn(vjwt, ".");
    cr_assert_eq(strncmp(body, vjwt, hlen + 1), 0, "header segment differs from the vector");
    /* Same claims with the vector's clock: identical text. */
    cJSON *cl = cJSON_Duplicate(j.claims_json, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(cl, "iss",
                                           cJSON_CreateString("service-account@example.com"));
    cJSON_ReplaceItemInObjectCaseSensitive(cl, "iat", cJSON_CreateNumber(1700000000));
    cJSON_ReplaceItemInObjectCaseSensitive(cl, "exp", cJSON_CreateNumber(1700003600));
    char *printed = cJSON_PrintUnformatted(cl);
    cr_assert_str_eq(printed, jstr(vec, "payload_json"));
    free(printed);
    cJSON_Delete(cl);
    jwt_free(&j);
    ph_free(c);
    cJSON_Delete(vec);
    free(vec_text);
    free(sa);
}

/* Claude on Vertex shares Anthropic's translation, refusals included. */
Test(vertex, claude_unsupported_refusal_exact_client_error, .init = token_env)
{
    int rc = 0;
    struct ph_call *c = ph_begin_rc("vertex-ai", AIGW_OP_CHAT,
                                    "{\"model\":\"claude-sonnet-4-5@20250929\",\"n\":3,"
                                    "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                                    &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    tu_expect_error(c, 400, "n > 1 (one choice per request)", "invalid_request_error", NULL,
                    "unsupported");
    ph_free(c);
}
