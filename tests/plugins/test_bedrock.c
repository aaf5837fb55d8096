/*
 * test_bedrock - the bedrock plugin through the real loader, exchange and renderer: SigV4
 * (AWS's published suite and the Bedrock vector), endpoint and auth, Converse request
 * translation, responses, ConverseStream event-streams (built here with a tiny encoder, fed
 * whole and split at every byte), in-stream exceptions, errors, embeddings, secrets, and a
 * replay of the shared real recordings when present.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/eventstream.h"
#include "plugin/host.h"
#include "plugins/bedrock/sigv4.h"
#include "plugins/harness.h"
#include "plugins/testutil.h"

#define at(root, path) tu_at(root, path)
#define str_at(root, path) tu_str_at(root, path)
#define num_at(root, path) tu_num_at(root, path)
#define assert_json(got, expected) tu_assert_json(got, expected)

#define SECRET "CANARY-SECRET-wJalrXUtnFEMIK7MDENG"
#define TOKEN "CANARY-TOKEN-FwoGZXIvYXdzEXAMPLE"
#define BEARER "CANARY-BEARER-ABSKQmVkcm9ja0FQSUtleQ"
#define CHAT AIGW_OP_CHAT
#define EVS_HDRS "Content-Type: application/vnd.amazon.eventstream\r\nx-amzn-RequestId: rid-1\r\n"

static void env_default(void)
{
    ph_unenv("AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION", NULL);
    ph_env("AWS_REGION", "us-west-2", "AWS_ACCESS_KEY_ID", "AKIDTEST", "AWS_SECRET_ACCESS_KEY",
           SECRET, "AWS_SESSION_TOKEN", TOKEN, "BEDROCK_BASE_URL", "http://mock.test:8443/", NULL);
}

static struct ph_call *begin_op(int op, const char *json)
{
    env_default();
    return ph_begin("bedrock", op, json);
}

static struct ph_call *begin(const char *json)
{
    return begin_op(CHAT, json);
}

static void assert_usage(struct ph_call *c, double prompt, double completion, double cached)
{
    cJSON *u = ph_usage(c);
    cr_assert_not_null(u, "no usage in %s", ph_output(c));
    cr_assert_eq(num_at(u, "prompt_tokens"), prompt);
    cr_assert_eq(num_at(u, "completion_tokens"), completion);
    cr_assert_eq(num_at(u, "total_tokens"), prompt + completion);
    if (cached >= 0)
        cr_assert_eq(num_at(u, "prompt_tokens_details.cached_tokens"), cached);
}

static void assert_no_secret(struct ph_call *c)
{
    cr_assert_null(strstr(ph_output(c), SECRET));
    cr_assert_null(strstr(ph_output(c), TOKEN));
    cr_assert_null(strstr(ph_output(c), BEARER));
}

/* ---- SigV4: AWS's published test suite (aws4_testsuite; also in the AWS SDKs' fixtures) ---- */

static struct sigv4_crypto host_crypto(void)
{
    const struct aigw_host *h = gw_host();
    struct sigv4_crypto c = {h->sha256, h->hmac_sha256, h->hex};
    return c;
}

struct suite_case {
    const char *method, *path, *query, *body;
    struct sigv4_header headers[4];
    size_t nheaders;
    const char *signature;
};

#define SUITE_DATE "20150830T123600Z"
#define HOST_H                                                                                     \
    {                                                                                              \
        "Host", "example.amazonaws.com"                                                            \
    }
#define DATE_H                                                                                     \
    {                                                                                              \
        "X-Amz-Date", SUITE_DATE                                                                   \
    }

Test(sigv4, aws_test_suite)
{
    static const struct suite_case cases[] = {
        {"GET",
         "/",
         NULL,
         "",
         {HOST_H, DATE_H},
         2,
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}, /* get-vanilla */
        {"POST",
         "/",
         NULL,
         "",
         {HOST_H, DATE_H},
         2,
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"}, /* post-vanilla */
        {"GET",
         "/",
         "Param2=value2&Param1=value1",
         "",
         {HOST_H, DATE_H},
         2,
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        {"POST",
         "/",
         NULL,
         "Param1=value1",
         {{"Content-Type", "application/x-www-form-urlencoded"}, HOST_H, DATE_H},
         3,
         "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
        {"GET",
         "/example space/",
         NULL,
         "",
         {HOST_H, DATE_H},
         2,
         "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"}, /* get-space */
        {"GET",
         "/\xe1\x88\xb4",
         NULL,
         "",
         {HOST_H, DATE_H},
         2,
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"}, /* get-utf8 */
        {"POST",
         "/",
         NULL,
         "",
         {HOST_H,
          DATE_H,
          {"X-Amz-Security-Token",
           "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMi"
           "cRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZam"
           "pKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7"
           "ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/"
           "oLxBA=="}},
         3,
         "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    };
    struct sigv4_crypto cr = host_crypto();
    struct sigv4_scope s = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                            "service", SUITE_DATE};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct suite_case *k = &cases[i];
        char hash[65], auth[1024], want[1024];
        sigv4_payload_hash(&cr, k->body, strlen(k->body), hash);
        struct sigv4_request r = {k->method, k->path, k->query, k->headers, k->nheaders, hash};
        cr_assert_eq(sigv4_authorization(&cr, &s, &r, auth, sizeof auth), 0);
        char sh[256];
        cr_assert_eq(sigv4_signed_headers(&r, sh, sizeof sh), 0);
        snprintf(want, sizeof want,
                 "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                 "aws4_request, SignedHeaders=%s, Signature=%s",
                 sh, k->signature);
        cr_assert_str_eq(auth, want, "case %zu", i);
    }
}

Test(sigv4, post_vanilla_steps)
{
    struct sigv4_crypto cr = host_crypto();
    struct sigv4_header h[] = {{"X-Amz-Date", SUITE_DATE}, {"Host", "example.amazonaws.com"}};
    char hash[65], creq[1024], sts[512];
    size_t n;
    sigv4_payload_hash(&cr, "", 0, hash);
    cr_assert_str_eq(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    struct sigv4_request r = {"POST", "/", NULL, h, 2, hash};
    cr_assert_eq(sigv4_canonical_request(&r, creq, sizeof creq, &n), 0);
    cr_assert_str_eq(creq, "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                           "host;x-amz-date\n"
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cr_assert_eq(n, strlen(creq));
    struct sigv4_scope s = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                            "service", SUITE_DATE};
    cr_assert_eq(sigv4_string_to_sign(&cr, &s, creq, n, sts, sizeof sts), 0);
    cr_assert_str_eq(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/"
                          "aws4_request\n"
                          "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87");
    /* Too small an output buffer is an error, never a truncated value. */
    cr_assert_eq(sigv4_canonical_request(&r, creq, 40, &n), AIGW_ETOOBIG);
    char small[32];
    cr_assert_eq(sigv4_authorization(&cr, &s, &r, small, sizeof small), AIGW_ETOOBIG);
}

Test(sigv4, header_values_trimmed_and_joined)
{
    struct sigv4_header h[] = {
        {"My-Header1", "  a   b \t c  "}, {"host", "h"}, {"my-header1", "second"}};
    char creq[512];
    struct sigv4_request r = {"GET", "", NULL, h, 3, "00"};
    cr_assert_eq(sigv4_canonical_request(&r, creq, sizeof creq, NULL), 0);
    cr_assert_str_eq(creq, "GET\n/\n\nhost:h\nmy-header1:a b c,second\n\nhost;my-header1\n00");
}

Test(sigv4, amz_date)
{
    char d[17];
    cr_assert_eq(sigv4_amz_date(1440938160, d), 0);
    cr_assert_str_eq(d, SUITE_DATE);
    cr_assert_eq(sigv4_amz_date(1714564800, d), 0);
    cr_assert_str_eq(d, "20240501T120000Z");
    cr_assert_eq(sigv4_amz_date(951782400, d), 0); /* leap day */
    cr_assert_str_eq(d, "20000229T000000Z");
    cr_assert_eq(sigv4_amz_date(0, d), 0);
    cr_assert_str_eq(d, "19700101T000000Z");
}

/* The vector in the notes (§7.2): botocore signing a Converse call; note "%253A". */
Test(sigv4, bedrock_converse_vector)
{
    struct sigv4_crypto cr = host_crypto();
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}],"
                       "\"inferenceConfig\":{\"maxTokens\":256}}";
    char hash[65], creq[2048], auth[1024];
    sigv4_payload_hash(&cr, body, strlen(body), hash);
    cr_assert_str_eq(hash, "d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1");
    struct sigv4_header h[] = {{"Content-Type", "application/json"},
                               {"Host", "bedrock-runtime.us-east-1.amazonaws.com"},
                               {"X-Amz-Date", "20240501T120000Z"},
                               {"X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"}};
    struct sigv4_request r = {
        "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", NULL, h, 3, hash};
    cr_assert_eq(sigv4_canonical_request(&r, creq, sizeof creq, NULL), 0);
    cr_assert_str_eq(creq, "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n"
                           "content-type:application/json\n"
                           "host:bedrock-runtime.us-east-1.amazonaws.com\n"
                           "x-amz-date:20240501T120000Z\n\ncontent-type;host;x-amz-date\n"
                           "d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1");
    struct sigv4_scope s = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
                            "bedrock", "20240501T120000Z"};
    cr_assert_eq(sigv4_authorization(&cr, &s, &r, auth, sizeof auth), 0);
    cr_assert_str_eq(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/"
                           "aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
                           "553ec5d0a93f78870e92bf4b41e87b3eac6105181bbd1c14d3c72c0a130eeda1");
    r.nheaders = 4;
    cr_assert_eq(sigv4_authorization(&cr, &s, &r, auth, sizeof auth), 0);
    cr_assert_str_eq(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/"
                           "aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                           "x-amz-security-token, Signature="
                           "f24c8f5eb690193e82073287ba7341625effe1612fe4eb423a7b5f8364d090fd");
}

/* ---- endpoint and auth ------------------------------------------------------------------- */

/* Re-derives the signature the plugin should have sent, step by step with the host's HMAC,
 * from the canonical request written out literally (so sigv4.c is not checking itself). */
static void expect_signed(struct ph_call *c, const char *canonical_path, const char *host)
{
    const struct aigw_host *h = gw_host();
    const char *date = ph_header(c, "X-Amz-Date");
    unsigned char d[32], k1[32], k2[32], k3[32], k4[32];
    char hash[65], creq_hash[65], creq[8192], sts[512], sig[65], want[1024];
    cr_assert_not_null(date);
    cr_assert_eq(strlen(date), 16);
    h->sha256(ph_body(c), ph_body_len(c), d);
    h->hex(d, 32, hash);
    snprintf(creq, sizeof creq,
             "POST\n%s\n\ncontent-type:application/json\nhost:%s\nx-amz-date:%s\n"
             "x-amz-security-token:%s\n\ncontent-type;host;x-amz-date;x-amz-security-token\n%s",
             canonical_path, host, date, TOKEN, hash);
    h->sha256(creq, strlen(creq), d);
    h->hex(d, 32, creq_hash);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%.8s/us-west-2/bedrock/aws4_request\n%s", date,
             date, creq_hash);
    char k0[128];
    snprintf(k0, sizeof k0, "AWS4%s", SECRET);
    h->hmac_sha256(k0, strlen(k0), date, 8, k1);
    h->hmac_sha256(k1, 32, "us-west-2", 9, k2);
    h->hmac_sha256(k2, 32, "bedrock", 7, k3);
    h->hmac_sha256(k3, 32, "aws4_request", 12, k4);
    h->hmac_sha256(k4, 32, sts, strlen(sts), d);
    h->hex(d, 32, sig);
    snprintf(want, sizeof want,
             "AWS4-HMAC-SHA256 Credential=AKIDTEST/%.8s/us-west-2/bedrock/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=%s",
             date, sig);
    cr_assert_str_eq(ph_header(c, "Authorization"), want);
}

Test(bedrock_request, converse_url_and_sigv4)
{
    struct ph_call *c = begin("{\"model\":\"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0\","
                              "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), "http://mock.test:8443/model/"
                                "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse");
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/json");
    cr_assert_str_eq(ph_header(c, "Accept"), "application/json");
    cr_assert_str_eq(ph_header(c, "X-Amz-Security-Token"), TOKEN);
    cr_assert_null(ph_header(c, "X-Amz-Content-Sha256"));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    expect_signed(c, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%253A0/converse",
                  "mock.test:8443");
    assert_json(ph_body_json(c),
                "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"Hi\"}]}]}");
    cr_assert_null(strstr(ph_url(c), SECRET));
    ph_free(c);
}

Test(bedrock_request, arn_stream_and_base_prefix)
{
    env_default();
    ph_env("BEDROCK_BASE_URL", "https://proxy.test:443/aws/", NULL);
    struct ph_call *c =
        ph_begin("bedrock", CHAT,
                 "{\"model\":\"arn:aws:bedrock:us-west-2:123456789012:inference-profile/"
                 "us.amazon.nova-lite-v1:0\",\"stream\":true,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_url(c), "https://proxy.test:443/aws/model/arn%3Aaws%3Abedrock%3Aus-west-2"
                                "%3A123456789012%3Ainference-profile%2Fus.amazon.nova-lite-v1%3A0"
                                "/converse-stream");
    cr_assert_str_eq(ph_header(c, "Accept"), "application/vnd.amazon.eventstream");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_EVENTSTREAM);
    /* Host without the default port, path encoded a second time. */
    expect_signed(c,
                  "/aws/model/arn%253Aaws%253Abedrock%253Aus-west-2%253A123456789012%253A"
                  "inference-profile%252Fus.amazon.nova-lite-v1%253A0/converse-stream",
                  "proxy.test");
    ph_free(c);
}

Test(bedrock_request, default_endpoint_from_region)
{
    env_default();
    ph_unenv("BEDROCK_BASE_URL", "AWS_REGION", "AWS_SESSION_TOKEN", NULL);
    ph_env("AWS_DEFAULT_REGION", "eu-central-1", NULL);
    struct ph_call *c = ph_begin("bedrock", CHAT,
                                 "{\"model\":\"amazon.nova-pro-v1:0\","
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_url(c), "https://bedrock-runtime.eu-central-1.amazonaws.com/model/"
                                "amazon.nova-pro-v1%3A0/converse");
    cr_assert_null(ph_header(c, "X-Amz-Security-Token"));
    const char *auth = ph_header(c, "Authorization");
    cr_assert_not_null(strstr(auth, "/eu-central-1/bedrock/aws4_request, "
                                    "SignedHeaders=content-type;host;x-amz-date, Signature="));
    ph_free(c);
}

Test(bedrock_request, bearer_api_key)
{
    env_default();
    ph_env("AWS_BEARER_TOKEN_BEDROCK", BEARER, NULL);
    struct ph_call *c = ph_begin("bedrock", CHAT,
                                 "{\"model\":\"meta.llama3-70b-instruct-v1:0\","
                                 "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " BEARER);
    cr_assert_null(ph_header(c, "X-Amz-Date"));
    cr_assert_null(ph_header(c, "X-Amz-Security-Token"));
    ph_free(c);
}

/* ---- Converse request translation ---------------------------------------------------------- */

Test(bedrock_request, full_translation)
{
    struct ph_call *c = begin(
        "{\"model\":\"bedrock/anthropic.claude-3-haiku-20240307-v1:0\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Use metric.\"}]},"
        "{\"role\":\"user\",\"content\":\"Weather in Oslo?\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And the time.\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/4AAQ\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}},"
        "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
        "\"arguments\":\"\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"12C\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_2\","
        "\"content\":[{\"type\":\"text\",\"text\":\"14:05\"}]},"
        "{\"role\":\"user\",\"content\":\"Thanks.\"}],"
        "\"max_tokens\":100,\"max_completion_tokens\":200,\"temperature\":0.5,\"top_p\":0.9,"
        "\"stop\":[\"END\",\"STOP\"],\"user\":\"u-1\",\"seed\":3,"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"description\":\"Current weather\",\"parameters\":{\"type\":\"object\","
        "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}],"
        "\"tool_choice\":\"required\"}");
    assert_json(
        ph_body_json(c),
        "{\"messages\":["
        "{\"role\":\"user\",\"content\":[{\"text\":\"Weather in Oslo?\"},{\"text\":\"And the "
        "time.\"},"
        "{\"image\":{\"format\":\"jpeg\",\"source\":{\"bytes\":\"/9j/4AAQ\"}}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"text\":\"Checking.\"},"
        "{\"toolUse\":{\"toolUseId\":\"call_1\",\"name\":\"get_weather\",\"input\":{\"city\":"
        "\"Oslo\"}}},"
        "{\"toolUse\":{\"toolUseId\":\"call_2\",\"name\":\"get_time\",\"input\":{}}}]},"
        "{\"role\":\"user\",\"content\":["
        "{\"toolResult\":{\"toolUseId\":\"call_1\",\"content\":[{\"text\":\"12C\"}]}},"
        "{\"toolResult\":{\"toolUseId\":\"call_2\",\"content\":[{\"text\":\"14:05\"}]}},"
        "{\"text\":\"Thanks.\"}]}],"
        "\"system\":[{\"text\":\"Be brief.\"},{\"text\":\"Use metric.\"}],"
        "\"inferenceConfig\":{\"maxTokens\":200,\"temperature\":0.5,"
        "\"stopSequences\":[\"END\",\"STOP\"]},"
        "\"toolConfig\":{\"tools\":["
        "{\"toolSpec\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
        "\"inputSchema\":{\"json\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
        "\"string\"}},"
        "\"required\":[\"city\"]}}}},"
        "{\"toolSpec\":{\"name\":\"get_time\",\"inputSchema\":{\"json\":{\"type\":\"object\","
        "\"properties\":{}}}}}],\"toolChoice\":{\"any\":{}}}}");
    ph_free(c);
}

/* response_format json_schema is Converse's outputConfig.textFormat, the schema as a JSON
 * string; the conforming answer is plain text, which the client gets as message content. */
Test(bedrock_request, json_schema_becomes_output_config)
{
    struct ph_call *c =
        begin("{\"model\":\"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0\","
              "\"messages\":[{\"role\":\"user\",\"content\":\"Oslo?\"}],"
              "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
              "\"name\":\"city\",\"description\":\"A city\",\"strict\":true,"
              "\"schema\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
              "\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}}}}");
    const cJSON *body = ph_body_json(c);
    const cJSON *def = at(body, "outputConfig.textFormat.structure.jsonSchema");
    cr_assert_str_eq(str_at(body, "outputConfig.textFormat.type"), "json_schema");
    cr_assert_str_eq(str_at(def, "name"), "city");
    cr_assert_str_eq(str_at(def, "description"), "A city");
    cJSON *schema = cJSON_Parse(str_at(def, "schema"));
    cJSON *want = cJSON_Parse("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
                              "\"string\"}},\"required\":[\"name\"],"
                              "\"additionalProperties\":false}");
    cr_assert(cJSON_Compare(schema, want, 1), "%s", str_at(def, "schema"));
    cJSON_Delete(schema);
    cJSON_Delete(want);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(body, "toolConfig"));

    static const char answer[] =
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":"
        "\"{\\\"name\\\":\\\"Oslo\\\"}\"}]}},\"stopReason\":\"end_turn\","
        "\"usage\":{\"inputTokens\":9,\"outputTokens\":6,\"totalTokens\":15}}";
    cr_assert_eq(
        ph_respond(c, 200, "Content-Type: application/json\r\n", answer, strlen(answer), 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), "{\"name\":\"Oslo\"}");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    ph_free(c);
}

/* response_format json_object names no schema, which textFormat needs: the answer is asked of
 * a forced tool whose input is any object, and that input comes back as the message content,
 * with finish stop, as any JSON-mode answer. Thinking stays off (Claude refuses it under a
 * forced tool). */
#define JSON_OBJECT_REQ(stream)                                                                    \
    "{\"model\":\"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0\"," stream                  \
    "\"reasoning_effort\":\"high\",\"messages\":[{\"role\":\"user\",\"content\":\"Oslo?\"}],"      \
    "\"response_format\":{\"type\":\"json_object\"}}"

Test(bedrock_request, json_object_is_a_forced_tool)
{
    struct ph_call *c = begin(JSON_OBJECT_REQ(""));
    const cJSON *body = ph_body_json(c);
    cr_assert_null(at(body, "outputConfig"));
    cr_assert_null(at(body, "additionalModelRequestFields"));
    assert_json(at(body, "toolConfig"),
                "{\"tools\":[{\"toolSpec\":{\"name\":\"json_answer\",\"description\":"
                "\"Give the whole answer as this tool's input: one JSON object.\","
                "\"inputSchema\":{\"json\":{\"type\":\"object\"}}}}],"
                "\"toolChoice\":{\"tool\":{\"name\":\"json_answer\"}}}");
    static const char answer[] =
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":{"
        "\"toolUseId\":\"tooluse_1\",\"name\":\"json_answer\",\"input\":{\"city\":\"Oslo\","
        "\"country\":\"Norway\"}}}]}},\"stopReason\":\"tool_use\","
        "\"usage\":{\"inputTokens\":9,\"outputTokens\":6,\"totalTokens\":15}}";
    cr_assert_eq(
        ph_respond(c, 200, "Content-Type: application/json\r\n", answer, strlen(answer), 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"),
                     "{\"city\":\"Oslo\",\"country\":\"Norway\"}");
    cr_assert_null(at(o, "choices.0.message.tool_calls"));
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    ph_free(c);
}

/* json_object beside the client's tools: OpenAI's model calls a tool or answers with an
 * object; Converse's "any" over the client's tools and the answer tool asks the same, where
 * the request used to go out without any JSON mode at all. */
#define JSON_WITH_TOOLS(choice)                                                                    \
    "{\"model\":\"bedrock/amazon.nova-lite-v1:0\","                                                \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Oslo?\"}]," choice                             \
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"                           \
    "\"response_format\":{\"type\":\"json_object\"}}"

Test(bedrock_request, json_object_beside_client_tools)
{
    static const char *const choices[] = {"", "\"tool_choice\":\"auto\","};
    for (size_t i = 0; i < 2; i++) {
        char req[1024];
        snprintf(req, sizeof req, JSON_WITH_TOOLS("%s"), choices[i]);
        struct ph_call *c = begin(req);
        const cJSON *body = ph_body_json(c);
        cr_assert_null(at(body, "outputConfig"));
        assert_json(at(body, "toolConfig.toolChoice"), "{\"any\":{}}");
        cr_assert_eq(cJSON_GetArraySize(at(body, "toolConfig.tools")), 2, "case %zu", i);
        cr_assert_str_eq(str_at(body, "toolConfig.tools.0.toolSpec.name"), "f");
        cr_assert_str_eq(str_at(body, "toolConfig.tools.1.toolSpec.name"), "json_answer");
        /* The model picked the answer tool: the client gets the object as its content. */
        static const char answer[] =
            "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":{"
            "\"toolUseId\":\"tooluse_2\",\"name\":\"json_answer\",\"input\":{\"city\":"
            "\"Oslo\"}}}]}},\"stopReason\":\"tool_use\","
            "\"usage\":{\"inputTokens\":9,\"outputTokens\":6,\"totalTokens\":15}}";
        cr_assert_eq(
            ph_respond(c, 200, "Content-Type: application/json\r\n", answer, strlen(answer), 0), 0);
        cJSON *o = ph_output_json(c);
        cr_assert_str_eq(str_at(o, "choices.0.message.content"), "{\"city\":\"Oslo\"}");
        cr_assert_null(at(o, "choices.0.message.tool_calls"));
        cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
        ph_free(c);
    }

    /* The model picked the client's tool: a tool call as ever. */
    struct ph_call *c = begin(JSON_WITH_TOOLS(""));
    static const char call[] =
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":{"
        "\"toolUseId\":\"tooluse_3\",\"name\":\"f\",\"input\":{}}}]}},"
        "\"stopReason\":\"tool_use\",\"usage\":{\"inputTokens\":9,\"outputTokens\":6,"
        "\"totalTokens\":15}}";
    cr_assert_eq(ph_respond(c, 200, "Content-Type: application/json\r\n", call, strlen(call), 0),
                 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.0.function.name"), "f");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "tool_calls");
    ph_free(c);

    /* tool_choice "none": no client tool may be called, so the answer tool is forced. */
    c = begin(JSON_WITH_TOOLS("\"tool_choice\":\"none\","));
    assert_json(at(ph_body_json(c), "toolConfig.toolChoice"),
                "{\"tool\":{\"name\":\"json_answer\"}}");
    ph_free(c);

    /* "required" or a named function: the answer is the client's tool call, which JSON mode
     * does not shape; the client's choice stands. */
    c = begin(JSON_WITH_TOOLS("\"tool_choice\":\"required\","));
    assert_json(at(ph_body_json(c), "toolConfig.toolChoice"), "{\"any\":{}}");
    cr_assert_eq(cJSON_GetArraySize(at(ph_body_json(c), "toolConfig.tools")), 1);
    ph_free(c);

    /* A client tool already named json_answer would be taken for the answer: refused. */
    int rc = 0;
    c = ph_begin_rc("bedrock", AIGW_OP_CHAT,
                    "{\"model\":\"bedrock/amazon.nova-lite-v1:0\",\"messages\":[{\"role\":"
                    "\"user\",\"content\":\"Oslo?\"}],\"tools\":[{\"type\":\"function\","
                    "\"function\":{\"name\":\"json_answer\"}}],\"response_format\":{\"type\":"
                    "\"json_object\"}}",
                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_not_null(strstr(ph_output(c), "json_answer"), "%s", ph_output(c));
    ph_free(c);
}

Test(bedrock_request, tool_choice_variants)
{
    static const char *const tools =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]";
    char req[1024];
    snprintf(req, sizeof req,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,"
             "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}",
             tools);
    struct ph_call *c = begin(req);
    assert_json(at(ph_body_json(c), "toolConfig.toolChoice"), "{\"tool\":{\"name\":\"f\"}}");
    ph_free(c);

    snprintf(req, sizeof req,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,"
             "\"tool_choice\":\"auto\",\"stop\":\"DONE\"}",
             tools);
    c = begin(req);
    assert_json(at(ph_body_json(c), "toolConfig.toolChoice"), "{\"auto\":{}}");
    assert_json(at(ph_body_json(c), "inferenceConfig"), "{\"stopSequences\":[\"DONE\"]}");
    ph_free(c);

    /* "none" without tool history: no toolConfig at all. */
    snprintf(req, sizeof req,
             "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s,"
             "\"tool_choice\":\"none\"}",
             tools);
    c = begin(req);
    cr_assert_null(at(ph_body_json(c), "toolConfig"));
    ph_free(c);
}

Test(bedrock_request, tool_history_without_tools_gets_stub_config)
{
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
              "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
              "{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":"
              "\"{}\"}},"
              "{\"id\":\"b\",\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":"
              "\"{}\"}}]},"
              "{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":\"1\"},"
              "{\"role\":\"tool\",\"tool_call_id\":\"b\",\"content\":\"2\"}]}");
    assert_json(at(ph_body_json(c), "toolConfig"),
                "{\"tools\":[{\"toolSpec\":{\"name\":\"lookup\",\"inputSchema\":{\"json\":"
                "{\"type\":\"object\",\"properties\":{}}}}}]}");
    cr_assert_eq(cJSON_GetArraySize(at(ph_body_json(c), "messages")), 3);
    ph_free(c);
}

Test(bedrock_request, refused_requests)
{
    static const struct {
        const char *json;
        int rc;
        int status;
        const char *why; /* in the client-visible message when set */
    } cases[] = {
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
         "\"image_url\":{\"url\":\"https://example.com/cat.png\"}}]}]}",
         AIGW_EINVAL, 400, "Bedrock accepts only inline images"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
         "\"image_url\":{\"url\":\"data:image/bmp;base64,Qk0=\"}}]}]}",
         AIGW_EINVAL, 400, NULL},
        {"{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         AIGW_ENOTSUP, 400, "Converse returns one choice (n must be 1)"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"x\",\"tool_calls\":"
         "[{\"id\":\"a\",\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}]}",
         AIGW_EINVAL, 400, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        env_default();
        struct ph_call *c = ph_begin_rc("bedrock", CHAT, cases[i].json, &rc);
        cr_assert_eq(rc, cases[i].rc, "case %zu: rc %d", i, rc);
        cr_assert_eq(ph_client_status(c), cases[i].status, "case %zu", i);
        if (cases[i].why)
            cr_assert_not_null(strstr(ph_output(c), cases[i].why), "case %zu: %s", i, ph_output(c));
        assert_no_secret(c);
        ph_free(c);
    }
}

/* Chat UIs open with the assistant's greeting; Converse refuses a conversation that does not
 * start with a user message ("A conversation must start with a user message"). A minimal user
 * turn goes in front, as the anthropic plugin does, instead of a 400 from Bedrock. */
Test(bedrock_request, assistant_first_gets_user_turn_in_front)
{
    struct ph_call *c = begin("{\"model\":\"anthropic.claude-3-haiku-20240307-v1:0\",\"messages\":["
                              "{\"role\":\"system\",\"content\":\"Be kind.\"},"
                              "{\"role\":\"assistant\",\"content\":\"Hi! How can I help?\"},"
                              "{\"role\":\"user\",\"content\":\"Weather?\"}]}");
    assert_json(at(ph_body_json(c), "messages"),
                "[{\"role\":\"user\",\"content\":[{\"text\":\".\"}]},"
                "{\"role\":\"assistant\",\"content\":[{\"text\":\"Hi! How can I help?\"}]},"
                "{\"role\":\"user\",\"content\":[{\"text\":\"Weather?\"}]}]");
    ph_free(c);
}

/* Only a system prompt: Converse needs a message, so the prompt becomes the user's (as the
 * gemini plugin does) instead of an empty messages array Bedrock refuses. */
Test(bedrock_request, only_system_prompt_becomes_user_turn)
{
    struct ph_call *c = begin("{\"model\":\"anthropic.claude-3-haiku-20240307-v1:0\",\"messages\":["
                              "{\"role\":\"system\",\"content\":\"Write a haiku.\"}]}");
    assert_json(ph_body_json(c), "{\"messages\":[{\"role\":\"user\",\"content\":"
                                 "[{\"text\":\"Write a haiku.\"}]}]}");
    ph_free(c);
}

/* Converse refuses a whitespace-only text block like an empty one ("The text field in the
 * ContentBlock object at messages.2.content.0 is blank"); agent histories carry them, e.g. an
 * assistant turn whose text before its tool calls was only "\n\n". */
Test(bedrock_request, blank_text_blocks_left_out)
{
    struct ph_call *c = begin(
        "{\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\",\"messages\":["
        "{\"role\":\"system\",\"content\":\" \\n\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"List files.\"},"
        "{\"type\":\"text\",\"text\":\"\\n\"}]},"
        "{\"role\":\"assistant\",\"content\":\"\\n\\n\",\"tool_calls\":[{\"id\":\"t1\","
        "\"type\":\"function\",\"function\":{\"name\":\"ls\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"a.txt\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"ls\"}}]}");
    cJSON *b = ph_body_json(c);
    cr_assert_null(at(b, "system"));
    assert_json(at(b, "messages"),
                "[{\"role\":\"user\",\"content\":[{\"text\":\"List files.\"}]},"
                "{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":\"t1\","
                "\"name\":\"ls\",\"input\":{}}}]},"
                "{\"role\":\"user\",\"content\":[{\"toolResult\":{\"toolUseId\":\"t1\","
                "\"content\":[{\"text\":\"a.txt\"}]}}]}]");
    ph_free(c);
}

/* OpenAI's temperature runs 0..2, Converse's inferenceConfig.temperature 0..1: a client's 1.3
 * was a ValidationException. It is clamped, as the anthropic plugin does for Claude. */
Test(bedrock_request, temperature_clamped_to_converse_range)
{
    struct ph_call *c = begin("{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\","
                              "\"temperature\":1.3,\"messages\":[{\"role\":\"user\",\"content\":"
                              "\"x\"}]}");
    assert_json(at(ph_body_json(c), "inferenceConfig"), "{\"temperature\":1}");
    ph_free(c);
    c = begin("{\"model\":\"us.amazon.nova-pro-v1:0\",\"temperature\":0.7,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json(at(ph_body_json(c), "inferenceConfig"), "{\"temperature\":0.7}");
    ph_free(c);
}

/* Claude 4.5 and later refuse temperature together with top_p ("`temperature` and `top_p`
 * cannot both be specified for this model"), and clients such as Open WebUI send both on every
 * request. Claude gets the temperature alone; other families keep both. */
Test(bedrock_request, claude_gets_temperature_or_top_p)
{
    struct ph_call *c = begin("{\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\","
                              "\"temperature\":0.4,\"top_p\":0.9,\"messages\":[{\"role\":\"user\","
                              "\"content\":\"x\"}]}");
    assert_json(at(ph_body_json(c), "inferenceConfig"), "{\"temperature\":0.4}");
    ph_free(c);
    c = begin("{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"top_p\":0.9,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json(at(ph_body_json(c), "inferenceConfig"), "{\"topP\":0.9}");
    ph_free(c);
    c = begin("{\"model\":\"us.amazon.nova-pro-v1:0\",\"temperature\":0.4,\"top_p\":0.9,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json(at(ph_body_json(c), "inferenceConfig"), "{\"temperature\":0.4,\"topP\":0.9}");
    ph_free(c);
}

/* Converse takes tool ids matching [a-zA-Z0-9_-]{1,64} only; histories carry others (Kimi's
 * "functions.get_weather:0", ids from another provider after a fallback or a model switch).
 * Such an id is rewritten, the same way in the call and in its result, and stays distinct. */
Test(bedrock_request, foreign_tool_ids_made_valid)
{
    struct ph_call *c = begin(
        "{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"x\"},"
        "{\"role\":\"assistant\",\"tool_calls\":["
        "{\"id\":\"functions.get_weather:0\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{}\"}},"
        "{\"id\":\"functions.get_weather:1\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{}\"}},"
        "{\"id\":\"call_ok-1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"functions.get_weather:0\",\"content\":\"a\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"functions.get_weather:1\",\"content\":\"b\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_ok-1\",\"content\":\"c\"}]}");
    const cJSON *m = at(ph_body_json(c), "messages");
    const char *u0 = str_at(m, "1.content.0.toolUse.toolUseId");
    const char *u1 = str_at(m, "1.content.1.toolUse.toolUseId");
    cr_assert_not_null(u0);
    cr_assert_not_null(u1);
    for (const char *p = u0; *p; p++)
        cr_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p),
                  "invalid id %s", u0);
    cr_assert(strlen(u0) <= 64);
    cr_assert_str_neq(u0, u1);
    cr_assert_str_eq(str_at(m, "2.content.0.toolResult.toolUseId"), u0);
    cr_assert_str_eq(str_at(m, "2.content.1.toolResult.toolUseId"), u1);
    cr_assert_str_eq(str_at(m, "1.content.2.toolUse.toolUseId"), "call_ok-1");
    cr_assert_str_eq(str_at(m, "2.content.2.toolResult.toolUseId"), "call_ok-1");
    ph_free(c);
}

/* top_k (sent by clients of OpenAI-compatible gateways) reaches Claude the way AWS documents
 * it for Converse: additionalModelRequestFields.top_k; thinking refuses it. */
Test(bedrock_request, top_k_for_claude)
{
    struct ph_call *c = begin("{\"model\":\"anthropic.claude-3-haiku-20240307-v1:0\",\"top_k\":50,"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json(at(ph_body_json(c), "additionalModelRequestFields"), "{\"top_k\":50}");
    ph_free(c);
    c = begin("{\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\",\"top_k\":50,"
              "\"reasoning_effort\":\"low\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json(at(ph_body_json(c), "additionalModelRequestFields"),
                "{\"reasoning_config\":{\"type\":\"enabled\",\"budget_tokens\":1024}}");
    ph_free(c);
    c = begin("{\"model\":\"us.amazon.nova-pro-v1:0\",\"top_k\":50,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_null(at(ph_body_json(c), "additionalModelRequestFields"));
    ph_free(c);
}

/* A file part (what /v1/messages makes of a PDF document block, and what chat clients send)
 * becomes a Converse document block: Bedrock reads PDFs, Office files and text natively. Its
 * name may hold only letters, digits, single spaces, hyphens, parentheses and brackets. */
Test(bedrock_request, file_parts_become_documents)
{
    struct ph_call *c = begin(
        "{\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\",\"messages\":[{\"role\":"
        "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Summarize both.\"},"
        "{\"type\":\"file\",\"file\":{\"filename\":\"Q3  report_v2 (final).pdf\","
        "\"file_data\":\"data:application/pdf;base64,JVBERi0x\"}},"
        "{\"type\":\"file\",\"file\":{\"file_data\":\"data:text/csv;base64,YSxiCg==\"}}]}]}");
    assert_json(at(ph_body_json(c), "messages"),
                "[{\"role\":\"user\",\"content\":[{\"text\":\"Summarize both.\"},"
                "{\"document\":{\"format\":\"pdf\",\"name\":\"Q3 report-v2 (final)\","
                "\"source\":{\"bytes\":\"JVBERi0x\"}}},"
                "{\"document\":{\"format\":\"csv\",\"name\":\"document 2\","
                "\"source\":{\"bytes\":\"YSxiCg==\"}}}]}]");
    ph_free(c);

    static const char *const refused[] = {
        /* OpenAI's file store: nothing Bedrock can read */
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\","
        "\"file\":{\"file_id\":\"file-abc\"}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\","
        "\"file\":{\"file_data\":\"data:application/zip;base64,UEsDBA==\"}}]}]}",
    };
    for (size_t i = 0; i < 2; i++) {
        int rc = 0;
        env_default();
        c = ph_begin_rc("bedrock", CHAT, refused[i], &rc);
        cr_assert(rc == AIGW_ENOTSUP || rc == AIGW_EINVAL, "case %zu: rc %d", i, rc);
        cr_assert_eq(ph_client_status(c), 400, "case %zu", i);
        ph_free(c);
    }
}

/* reasoning_effort (what /v1/responses makes of Codex's reasoning.effort) turns Claude's
 * extended thinking on through additionalModelRequestFields.reasoning_config, the form the
 * recorded Claude-on-Bedrock stream used. Thinking needs a budget below maxTokens and refuses
 * temperature / top_p and a forced tool. Other families get nothing they would reject. */
Test(bedrock_request, reasoning_effort_enables_claude_thinking)
{
    struct ph_call *c =
        begin("{\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\",\"reasoning_effort\":"
              "\"high\",\"temperature\":0.2,\"top_p\":0.5,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cJSON *b = ph_body_json(c);
    assert_json(at(b, "additionalModelRequestFields"),
                "{\"reasoning_config\":{\"type\":\"enabled\",\"budget_tokens\":16384}}");
    /* no client limit: the answer's share comes on top of the budget */
    assert_json(at(b, "inferenceConfig"), "{\"maxTokens\":20480}");
    ph_free(c);

    /* OpenAI's limit includes reasoning: the budget fits inside it */
    c = begin("{\"model\":\"anthropic.claude-3-7-sonnet-20250219-v1:0\",\"reasoning_effort\":"
              "\"medium\",\"max_completion_tokens\":3000,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    b = ph_body_json(c);
    assert_json(at(b, "additionalModelRequestFields"),
                "{\"reasoning_config\":{\"type\":\"enabled\",\"budget_tokens\":2999}}");
    assert_json(at(b, "inferenceConfig"), "{\"maxTokens\":3000}");
    ph_free(c);

    static const char *const without[] = {
        /* a limit too small for Claude's minimum budget */
        "{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"reasoning_effort\":\"low\","
        "\"max_tokens\":500,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        /* thinking refuses a forced tool */
        "{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"reasoning_effort\":\"low\","
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
        "\"tool_choice\":\"required\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"reasoning_effort\":"
        "\"minimal\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        /* a tool loop: the assistant turn would need its signed thinking block back */
        "{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"reasoning_effort\":\"low\","
        "\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\","
        "\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"r\"}]}",
        "{\"model\":\"us.amazon.nova-pro-v1:0\",\"reasoning_effort\":\"high\","
        "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof without / sizeof without[0]; i++) {
        c = begin(without[i]);
        cr_assert_null(at(ph_body_json(c), "additionalModelRequestFields"), "case %zu", i);
        ph_free(c);
    }
}

/* ---- Converse responses -------------------------------------------------------------------- */

static const char *const JSON_HDRS = "Content-Type: application/json\r\nx-amzn-RequestId: 7f3a\r\n";

Test(bedrock_response, text_and_usage)
{
    struct ph_call *c = begin("{\"model\":\"amazon.nova-lite-v1:0\","
                              "\"messages\":[{\"role\":\"user\",\"content\":\"Oslo?\"}]}");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "bedrock/chat.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "id"), "chatcmpl-7f3a");
    cr_assert_str_eq(str_at(o, "model"), "amazon.nova-lite-v1:0");
    cr_assert_str_eq(str_at(o, "choices.0.message.content"),
                     "Oslo is the capital of Norway.\nIt sits at the head of the Oslofjord.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    /* prompt = inputTokens + cacheRead + cacheWrite */
    assert_usage(c, 39, 19, 8);
    cr_assert_eq(num_at(o, "usage.prompt_tokens_details.cache_write_tokens"), 4);
    assert_no_secret(c);
    ph_free(c);
}

Test(bedrock_response, tool_use)
{
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "bedrock/chat_tools.json", 1), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), "Let me look both up.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "tool_calls");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.0.id"), "tooluse_A7c2LmQ0Rz");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.0.function.name"), "get_weather");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.0.function.arguments"),
                     "{\"city\":\"Oslo\",\"unit\":\"celsius\"}");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.1.function.name"), "get_time");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.1.function.arguments"), "{}");
    cr_assert_null(at(o, "choices.0.message.tool_calls.2"));
    assert_usage(c, 412, 77, 0);
    ph_free(c);
}

Test(bedrock_response, reasoning_and_length)
{
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "bedrock/chat_reasoning.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), "42");
    cr_assert_str_eq(str_at(o, "choices.0.message.reasoning_content"),
                     "The user wants a number. 6 times 7 is 42.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "length");
    assert_usage(c, 35, 64, -1);
    ph_free(c);
}

/* ---- errors --------------------------------------------------------------------------------- */

Test(bedrock_errors, mapped_by_error_type_header)
{
    static const struct {
        int upstream;
        const char *etype, *fixture;
        int status;
        const char *type, *code;
        int retryable;
        const char *message;
    } cases[] = {
        {400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
         "bedrock/error_400.json", 400, "invalid_request_error", "context_length_exceeded", 0,
         "The model returned the following errors: Input Tokens Exceeded: Number of input "
         "tokens exceeds maximum length. Please update the input to try again."},
        {403,
         "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/",
         "bedrock/error_403.json", 401, "authentication_error", "invalid_api_key", 0,
         "The security token included in the request is invalid."},
        {429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
         "bedrock/error_429.json", 429, "rate_limit_error", "rate_limit_exceeded", 1,
         "Too many requests, please wait before trying again."},
        {404, "ResourceNotFoundException", "bedrock/error_404.json", 404, "not_found_error",
         "model_not_found", 0, "The provided model identifier is invalid."},
        {500, "InternalServerException", "bedrock/error_429.json", 500, "server_error", NULL, 1,
         "Too many requests, please wait before trying again."},
        {503, NULL, "bedrock/error_403.json", 503, NULL, NULL, 1,
         "The security token included in the request is invalid."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ph_call *c =
            begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        char hdrs[512];
        snprintf(hdrs, sizeof hdrs, "Content-Type: application/json\r\n%s%s%s",
                 cases[i].etype ? "x-amzn-ErrorType: " : "", cases[i].etype ? cases[i].etype : "",
                 cases[i].etype ? "\r\n" : "");
        cr_assert_eq(ph_respond_file(c, cases[i].upstream, hdrs, cases[i].fixture, 0), 0);
        const struct aigw_error *e = ph_error(c);
        cr_assert_not_null(e, "case %zu", i);
        cr_assert_eq(e->status, cases[i].status, "case %zu: %d", i, e->status);
        cr_assert_eq(e->retryable, cases[i].retryable, "case %zu", i);
        cr_assert_eq(ph_client_status(c), cases[i].status);
        cJSON *o = ph_output_json(c);
        if (cases[i].type)
            cr_assert_str_eq(str_at(o, "error.type"), cases[i].type, "case %zu", i);
        if (cases[i].code)
            cr_assert_str_eq(str_at(o, "error.code"), cases[i].code, "case %zu", i);
        else
            cr_assert(cJSON_IsNull(at(o, "error.code")), "case %zu", i);
        cr_assert_str_eq(str_at(o, "error.message"), cases[i].message, "case %zu", i);
        assert_no_secret(c);
        ph_free(c);
    }
}

/* ---- ConverseStream: a tiny event-stream encoder ---------------------------------------- */

struct evs_out {
    char buf[16384];
    size_t len;
};

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static size_t str_header(unsigned char *p, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    p[0] = (unsigned char)nl;
    memcpy(p + 1, name, nl);
    p[1 + nl] = 7;
    p[2 + nl] = (unsigned char)(vl >> 8);
    p[3 + nl] = (unsigned char)vl;
    memcpy(p + 4 + nl, value, vl);
    return 4 + nl + vl;
}

/* kind: 'e' event (name = :event-type), 'x' exception (:exception-type), 'r' error
 * (:error-code = name, :error-message = payload, empty payload). */
static void evs_add(struct evs_out *o, char kind, const char *name, const char *payload)
{
    unsigned char h[1024];
    size_t hl = 0;
    if (kind == 'e') {
        hl += str_header(h + hl, ":event-type", name);
        hl += str_header(h + hl, ":content-type", "application/json");
        hl += str_header(h + hl, ":message-type", "event");
    } else if (kind == 'x') {
        hl += str_header(h + hl, ":exception-type", name);
        hl += str_header(h + hl, ":content-type", "application/json");
        hl += str_header(h + hl, ":message-type", "exception");
    } else {
        hl += str_header(h + hl, ":error-code", name);
        hl += str_header(h + hl, ":error-message", payload);
        hl += str_header(h + hl, ":message-type", "error");
        payload = "";
    }
    size_t pl = strlen(payload), total = 16 + hl + pl;
    cr_assert(o->len + total <= sizeof o->buf);
    unsigned char *m = (unsigned char *)o->buf + o->len;
    be32(m, (uint32_t)total);
    be32(m + 4, (uint32_t)hl);
    be32(m + 8, gw_crc32(0, m, 8));
    memcpy(m + 12, h, hl);
    memcpy(m + 12 + hl, payload, pl);
    be32(m + total - 4, gw_crc32(0, m, total - 4));
    o->len += total;
}

/* The client-visible stream with the per-response "created" stamps removed, for comparing
 * runs. */
static char *stream_digest(struct ph_call *c)
{
    cJSON *evs = cJSON_Duplicate(ph_sse_events(c), 1), *ev;
    cJSON_ArrayForEach(ev, evs)
    {
        cJSON_DeleteItemFromObject(ev, "created");
    }
    char *s = cJSON_PrintUnformatted(evs);
    cJSON_Delete(evs);
    return s;
}

/* Feeds the bytes whole and one byte at a time; asserts identical client output and returns
 * the whole-fed call for inspection. */
static struct ph_call *stream_both(const char *req, const char *bytes, size_t len)
{
    struct ph_call *one = begin(req);
    cr_assert_eq(ph_respond(one, 200, EVS_HDRS, bytes, len, 1), 0);
    struct ph_call *c = begin(req);
    cr_assert_eq(ph_respond(c, 200, EVS_HDRS, bytes, len, 0), 0);
    char *a = stream_digest(c), *b = stream_digest(one);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    cr_assert_str_eq(ph_output(c) + strlen(ph_output(c)) - 14, "data: [DONE]\n\n");
    ph_free(one);
    return c;
}

#define STREAM_REQ                                                                                 \
    "{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"stream\":true,"                  \
    "\"stream_options\":{\"include_usage\":true},"                                                 \
    "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"

Test(bedrock_stream, text_built_here)
{
    struct evs_out o = {.len = 0};
    evs_add(&o, 'e', "messageStart",
            "{\"p\":\"abcdefghijklmnopqrstuvwxyz\",\"role\":\"assistant\"}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Hel\"},\"p\":\"abcdef\"}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"lo\\n\\u00e9\"},\"p\":\"ab\"}");
    evs_add(&o, 'e', "contentBlockStop", "{\"contentBlockIndex\":0,\"p\":\"abcdefghijklmnop\"}");
    evs_add(&o, 'e', "messageStop", "{\"p\":\"abc\",\"stopReason\":\"stop_sequence\"}");
    evs_add(&o, 'e', "metadata",
            "{\"metrics\":{\"latencyMs\":100},\"p\":\"a\",\"usage\":{\"inputTokens\":5,"
            "\"outputTokens\":3,\"totalTokens\":8}}");
    struct ph_call *c = stream_both(STREAM_REQ, o.buf, o.len);
    cr_assert_str_eq(ph_stream_text(c), "Hello\n\xc3\xa9");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    assert_usage(c, 5, 3, -1);
    cr_assert(ph_sse_done(c));
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(ph_sse_events(c), 0), "id"), "chatcmpl-rid-1");
    assert_no_secret(c);
    ph_free(c);
}

/* json_object's forced tool streams its input as toolUse deltas: the client gets them as
 * text, and finish stop. */
Test(bedrock_stream, json_object_tool_streams_as_text)
{
    struct evs_out o = {.len = 0};
    evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
    evs_add(&o, 'e', "contentBlockStart",
            "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"name\":\"json_answer\","
            "\"toolUseId\":\"t1\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{\\\"city\\\":\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"\\\"Oslo\\\"}\"}}}");
    evs_add(&o, 'e', "contentBlockStop", "{\"contentBlockIndex\":0}");
    evs_add(&o, 'e', "messageStop", "{\"stopReason\":\"tool_use\"}");
    evs_add(&o, 'e', "metadata",
            "{\"usage\":{\"inputTokens\":5,\"outputTokens\":3,\"totalTokens\":8}}");
    struct ph_call *c = stream_both(JSON_OBJECT_REQ("\"stream\":true,"), o.buf, o.len);
    cr_assert_str_eq(ph_stream_text(c), "{\"city\":\"Oslo\"}");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert_null(ph_stream_tool_name(c, 0));
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

Test(bedrock_stream, tools_built_here)
{
    struct evs_out o = {.len = 0};
    evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
    evs_add(
        &o, 'e', "contentBlockStart",
        "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"name\":\"f\",\"toolUseId\":\"t1\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{\\\"a\\\":\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"1}\"}}}");
    evs_add(&o, 'e', "contentBlockStop", "{\"contentBlockIndex\":0}");
    evs_add(
        &o, 'e', "contentBlockStart",
        "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"name\":\"g\",\"toolUseId\":\"t2\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}");
    evs_add(&o, 'e', "messageStop", "{\"stopReason\":\"tool_use\"}");
    evs_add(&o, 'e', "metadata", "{\"usage\":{\"inputTokens\":9,\"outputTokens\":4}}");
    struct ph_call *c = stream_both(STREAM_REQ, o.buf, o.len);
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "t1");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "f");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"a\":1}");
    cr_assert_str_eq(ph_stream_tool_id(c, 1), "t2");
    cr_assert_str_eq(ph_stream_tool_name(c, 1), "g");
    cr_assert_str_eq(ph_stream_tool_args(c, 1), "{}");
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    assert_usage(c, 9, 4, -1);
    ph_free(c);
}

/* A tool without parameters streams no input at all (Claude on Bedrock, like Anthropic's
 * own API): the client must still get "{}", as the non-streamed answer gives, not "" that
 * the OpenAI SDK's json.loads() and agent loops fail on. */
Test(bedrock_stream, tool_without_input_gets_empty_object)
{
    struct evs_out o = {.len = 0};
    evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
    evs_add(&o, 'e', "contentBlockStart",
            "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"name\":\"best_language_to_learn\","
            "\"toolUseId\":\"tooluse_a\"}}}");
    evs_add(&o, 'e', "contentBlockStop", "{\"contentBlockIndex\":0}");
    evs_add(&o, 'e', "contentBlockStart",
            "{\"contentBlockIndex\":1,\"start\":{\"toolUse\":{\"name\":\"now\","
            "\"toolUseId\":\"tooluse_b\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":1,\"delta\":{\"toolUse\":{\"input\":\"\"}}}");
    evs_add(&o, 'e', "contentBlockStop", "{\"contentBlockIndex\":1}");
    evs_add(&o, 'e', "messageStop", "{\"stopReason\":\"tool_use\"}");
    evs_add(&o, 'e', "metadata", "{\"usage\":{\"inputTokens\":9,\"outputTokens\":4}}");
    struct ph_call *c = stream_both(STREAM_REQ, o.buf, o.len);
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "best_language_to_learn");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{}");
    cr_assert_str_eq(ph_stream_tool_name(c, 1), "now");
    cr_assert_str_eq(ph_stream_tool_args(c, 1), "{}");
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    ph_free(c);
}

/* Bedrock's stopReason sometimes contradicts the content: end_turn next to toolUse blocks,
 * tool_use on a text-only message (both seen by AWS's Strands SDK, which repairs them). OpenAI
 * clients dispatch tools on finish_reason "tool_calls", so it follows the content. */
Test(bedrock_stream, finish_follows_tool_calls_not_stop_reason)
{
    struct evs_out o = {.len = 0};
    evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Done.\"}}");
    evs_add(&o, 'e', "messageStop", "{\"stopReason\":\"tool_use\"}");
    evs_add(&o, 'e', "metadata", "{\"usage\":{\"inputTokens\":9,\"outputTokens\":4}}");
    struct ph_call *c = stream_both(STREAM_REQ, o.buf, o.len);
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    ph_free(c);

    o.len = 0;
    evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
    evs_add(
        &o, 'e', "contentBlockStart",
        "{\"contentBlockIndex\":0,\"start\":{\"toolUse\":{\"name\":\"f\",\"toolUseId\":\"t1\"}}}");
    evs_add(&o, 'e', "contentBlockDelta",
            "{\"contentBlockIndex\":0,\"delta\":{\"toolUse\":{\"input\":\"{}\"}}}");
    evs_add(&o, 'e', "contentBlockStop", "{\"contentBlockIndex\":0}");
    evs_add(&o, 'e', "messageStop", "{\"stopReason\":\"end_turn\"}");
    evs_add(&o, 'e', "metadata", "{\"usage\":{\"inputTokens\":9,\"outputTokens\":4}}");
    c = stream_both(STREAM_REQ, o.buf, o.len);
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    ph_free(c);

    static const char body[] =
        "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"toolUse\":{\"toolUseId\":"
        "\"t1\",\"name\":\"f\",\"input\":{}}}]}},\"stopReason\":\"end_turn\","
        "\"usage\":{\"inputTokens\":3,\"outputTokens\":2,\"totalTokens\":5}}";
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_eq(ph_respond(c, 200, "Content-Type: application/json\r\n", body, strlen(body), 0),
                 0);
    cr_assert_str_eq(str_at(ph_output_json(c), "choices.0.finish_reason"), "tool_calls");
    ph_free(c);
}

Test(bedrock_stream, exception_mid_stream)
{
    static const struct {
        char kind;
        const char *name, *payload, *type, *message;
        int status;
    } cases[] = {
        {'x', "throttlingException", "{\"message\":\"Slow down.\"}", "rate_limit_error",
         "Slow down.", 429},
        {'x', "validationException", "{\"message\":\"Bad input.\"}", "invalid_request_error",
         "Bad input.", 400},
        {'x', "serviceUnavailableException", "{\"message\":\"Busy.\"}", "server_error", "Busy.",
         503},
        {'x', "internalServerException", "{\"message\":\"Oops.\"}", "server_error", "Oops.", 500},
        {'r', "InternalFailure", "Something failed.", "server_error", "Something failed.", 502},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct evs_out o = {.len = 0};
        evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
        evs_add(&o, 'e', "contentBlockDelta",
                "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Part\"}}");
        evs_add(&o, cases[i].kind, cases[i].name, cases[i].payload);
        /* Nothing after the exception may reach the client. */
        evs_add(&o, 'e', "contentBlockDelta",
                "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"IGNORED\"}}");
        struct ph_call *c = stream_both(STREAM_REQ, o.buf, o.len);
        cr_assert_str_eq(ph_stream_text(c), "Part", "case %zu", i);
        const struct aigw_error *e = ph_error(c);
        cr_assert_not_null(e);
        cr_assert_eq(e->status, cases[i].status, "case %zu: %d", i, e->status);
        cr_assert_eq(e->retryable, cases[i].status != 400 && cases[i].status != 502, "case %zu", i);
        cJSON *evs = ph_sse_events(c);
        cJSON *last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
        cr_assert_str_eq(str_at(last, "error.type"), cases[i].type, "case %zu", i);
        cr_assert_str_eq(str_at(last, "error.message"), cases[i].message, "case %zu", i);
        cr_assert(ph_sse_done(c));
        cr_assert_null(strstr(ph_output(c), "IGNORED"));
        ph_free(c);
    }
}

Test(bedrock_stream, corrupt_and_truncated)
{
    struct evs_out o = {.len = 0};
    evs_add(&o, 'e', "messageStart", "{\"role\":\"assistant\"}");
    evs_add(&o, 'e', "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"ok\"}}");
    size_t first = o.len;
    evs_add(&o, 'e', "metadata", "{\"usage\":{\"inputTokens\":1,\"outputTokens\":1}}");

    struct ph_call *c = begin(STREAM_REQ);
    cr_assert_eq(ph_respond(c, 200, EVS_HDRS, o.buf, o.len - 3, 0), AIGW_EPROTO);
    cr_assert_str_eq(ph_stream_text(c), "ok");
    cr_assert(ph_sse_done(c));
    ph_free(c);

    o.buf[first + 20] ^= 0x40; /* a bit flip in the last message: its CRC fails */
    c = begin(STREAM_REQ);
    cr_assert_eq(ph_respond(c, 200, EVS_HDRS, o.buf, o.len, 1), AIGW_EPROTO);
    cr_assert_null(ph_usage(c));
    ph_free(c);
}

/* ---- the fixture event-streams (binary files the mock serves too) ---------------------- */

static struct ph_call *stream_fixture(const char *name)
{
    size_t len;
    char *bytes = ph_fixture(name, &len);
    struct ph_call *c = stream_both(STREAM_REQ, bytes, len);
    free(bytes);
    return c;
}

Test(bedrock_stream, fixture_text)
{
    struct ph_call *c = stream_fixture("bedrock/stream_text.eventstream");
    cr_assert_str_eq(ph_stream_text(c), "Hello from Bedrock.\nLine two: na\xc3\xafve caf\xc3\xa9");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    assert_usage(c, 21, 11, -1);
    ph_free(c);
}

Test(bedrock_stream, fixture_tools)
{
    struct ph_call *c = stream_fixture("bedrock/stream_tools.eventstream");
    cr_assert_str_eq(ph_stream_text(c), "Checking both.");
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "tooluse_Wq1xKc");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "get_weather");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"city\":\"Oslo\"}");
    cr_assert_str_eq(ph_stream_tool_id(c, 1), "tooluse_Pz9mTr");
    cr_assert_str_eq(ph_stream_tool_name(c, 1), "get_time");
    cr_assert_str_eq(ph_stream_tool_args(c, 1), "{\"tz\":\"Europe/Oslo\"}");
    cr_assert_null(ph_stream_tool_name(c, 2));
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    assert_usage(c, 150, 48, 100);
    ph_free(c);
}

Test(bedrock_stream, fixture_reasoning)
{
    struct ph_call *c = stream_fixture("bedrock/stream_reasoning.eventstream");
    cr_assert_str_eq(ph_stream_reasoning(c), "Two plus two is four.");
    cr_assert_str_eq(ph_stream_text(c), "4");
    cr_assert_str_eq(ph_stream_finish(c), "length");
    assert_usage(c, 12, 30, -1);
    ph_free(c);
}

Test(bedrock_stream, fixture_exception)
{
    struct ph_call *c = stream_fixture("bedrock/stream_exception.eventstream");
    cr_assert_str_eq(ph_stream_text(c), "Partial answer");
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->status, 429);
    cr_assert(e->retryable);
    cr_assert_str_eq(e->message, "Too many requests, please wait before trying again.");
    ph_free(c);
}

/* ---- embeddings ------------------------------------------------------------------------ */

Test(bedrock_embeddings, titan_one_request_per_input)
{
    struct ph_call *c =
        begin_op(AIGW_OP_EMBEDDINGS, "{\"model\":\"amazon.titan-embed-text-v2:0\","
                                     "\"input\":[\"first\",\"second\"],\"dimensions\":256}");
    cr_assert_str_eq(ph_url(c),
                     "http://mock.test:8443/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert_json(ph_body_json(c), "{\"inputText\":\"first\",\"dimensions\":256,\"normalize\":true}");
    expect_signed(c, "/model/amazon.titan-embed-text-v2%253A0/invoke", "mock.test:8443");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "bedrock/embed_titan.json", 0), AIGW_CONTINUE);
    assert_json(ph_body_json(c),
                "{\"inputText\":\"second\",\"dimensions\":256,\"normalize\":true}");
    expect_signed(c, "/model/amazon.titan-embed-text-v2%253A0/invoke", "mock.test:8443");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "bedrock/embed_titan.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), 2);
    cr_assert_eq(num_at(o, "data.1.index"), 1);
    cr_assert_eq(num_at(o, "data.0.embedding.1"), -0.0456);
    cr_assert_eq(num_at(o, "data.1.embedding.3"), 0.25);
    cr_assert_eq(num_at(o, "usage.prompt_tokens"), 10);
    assert_no_secret(c);
    ph_free(c);
}

/* The second input's request fails: the first input was embedded and billed, so neither that
 * request nor a new attempt (which would embed the first again) follows. */
Test(bedrock_embeddings, titan_failed_later_input_is_not_repeated)
{
    static const char err[] = "{\"message\":\"Service unavailable\"}";
    struct ph_call *c = begin_op(AIGW_OP_EMBEDDINGS, "{\"model\":\"amazon.titan-embed-text-v2:0\","
                                                     "\"input\":[\"first\",\"second\"]}");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "bedrock/embed_titan.json", 0), AIGW_CONTINUE);
    cr_assert_eq(ph_respond(c, 503, JSON_HDRS, err, sizeof err - 1, 0), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->retryable, 0);
    cr_assert_str_eq(e->code, "follow_up_failed");
    assert_no_secret(c);
    ph_free(c);
}

Test(bedrock_embeddings, cohere_batch)
{
    struct ph_call *c = begin_op(AIGW_OP_EMBEDDINGS, "{\"model\":\"cohere.embed-english-v3\","
                                                     "\"input\":[\"first text\",\"second text\"]}");
    assert_json(ph_body_json(c), "{\"texts\":[\"first text\",\"second text\"],"
                                 "\"input_type\":\"search_document\","
                                 "\"embedding_types\":[\"float\"]}");
    cr_assert_eq(ph_respond_file(c, 200,
                                 "Content-Type: application/json\r\n"
                                 "X-Amzn-Bedrock-Input-Token-Count: 6\r\n",
                                 "bedrock/embed_cohere.json", 0),
                 0);
    cJSON *o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), 2);
    cr_assert_eq(num_at(o, "data.1.embedding.2"), -1.5);
    cr_assert_eq(num_at(o, "usage.prompt_tokens"), 6);
    ph_free(c);
}

Test(bedrock_embeddings, unsupported_model)
{
    int rc = 0;
    env_default();
    struct ph_call *c = ph_begin_rc("bedrock", AIGW_OP_EMBEDDINGS,
                                    "{\"model\":\"amazon.nova-lite-v1:0\",\"input\":\"x\"}", &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    ph_free(c);
}

/* ---- conformance: the shared real recordings ---------------------------------------------- */

static char *shared(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bedrock/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s missing", path);
    char *b = malloc(1 << 20);
    cr_assert_not_null(b);
    *len = fread(b, 1, (1 << 20) - 1, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static const char *shared_dir(void)
{
    const char *dir = getenv("AIGW_SHARED_FIXTURES");
    char path[4096];
    if (!dir)
        return NULL;
    snprintf(path, sizeof path, "%s/bedrock", dir);
    FILE *probe = fopen(path, "r");
    if (!probe)
        return NULL;
    fclose(probe);
    return dir;
}

/* Expected text / finish / usage of a recording, from its decoded frames. */
struct expect {
    char text[8192];
    char reasoning[65536];
    int tools;
    const char *stop;
    double in, out;
};

static void append(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);
    snprintf(dst + n, cap - n, "%s", s);
}

static void expect_from_decoded(char *jsonl, struct expect *x)
{
    memset(x, 0, sizeof *x);
    char *line = jsonl;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        line = nl ? nl + 1 : NULL;
        cr_assert_not_null(j);
        const char *ev = str_at(j, "headers.:event-type");
        const char *t = str_at(j, "payload.delta.text");
        const char *r = str_at(j, "payload.delta.reasoningContent.text");
        if (t)
            append(x->text, sizeof x->text, t);
        if (r)
            append(x->reasoning, sizeof x->reasoning, r);
        if (at(j, "payload.start.toolUse"))
            x->tools++;
        const char *stop = str_at(j, "payload.stopReason");
        if (stop)
            x->stop = !strcmp(stop, "tool_use")     ? "tool_calls"
                      : !strcmp(stop, "max_tokens") ? "length"
                                                    : "stop";
        if (ev && !strcmp(ev, "metadata")) {
            x->in = num_at(j, "payload.usage.inputTokens");
            x->out = num_at(j, "payload.usage.outputTokens");
        }
        cJSON_Delete(j);
    }
}

Test(bedrock_conformance, recorded_streams)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");
    static const char *const names[] = {"converse_stream_text", "converse_stream_tool_use",
                                        "converse_stream_after_tool_result",
                                        "converse_stream_claude_reasoning"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char fn[256];
        size_t blen, jlen;
        snprintf(fn, sizeof fn, "%s.eventstream.bin", names[i]);
        char *bin = shared(dir, fn, &blen);
        snprintf(fn, sizeof fn, "%s.decoded.jsonl", names[i]);
        char *jl = shared(dir, fn, &jlen);
        struct expect *x = calloc(1, sizeof *x);
        expect_from_decoded(jl, x);

        struct ph_call *c = stream_both(STREAM_REQ, bin, blen);
        cr_assert_str_eq(ph_stream_text(c), x->text, "%s", names[i]);
        cr_assert_str_eq(ph_stream_reasoning(c), x->reasoning, "%s", names[i]);
        cr_assert(x->text[0] || x->tools, "%s: recording has output", names[i]);
        for (int t = 0; t < x->tools; t++) {
            cr_assert_not_null(ph_stream_tool_name(c, t));
            cJSON *args = cJSON_Parse(ph_stream_tool_args(c, t));
            cr_assert_not_null(args, "%s: tool %d args are JSON", names[i], t);
            cJSON_Delete(args);
        }
        cr_assert_str_eq(ph_stream_finish(c), x->stop, "%s", names[i]);
        assert_usage(c, x->in, x->out, -1);
        ph_free(c);
        free(x);
        free(bin);
        free(jl);
    }

    size_t blen;
    char *bin = shared(dir, "converse_stream_exception_SYNTHETIC.eventstream.bin", &blen);
    /* An exception before any output: the client gets a plain 429, not a broken stream. */
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = begin(STREAM_REQ);
        cr_assert_eq(ph_respond(c, 200, EVS_HDRS, bin, blen, split), 0);
        const struct aigw_error *e = ph_error(c);
        cr_assert_not_null(e);
        cr_assert_eq(e->status, 429);
        cr_assert(e->retryable);
        cr_assert_eq(ph_client_status(c), 429);
        cr_assert_str_eq(str_at(ph_output_json(c), "error.message"),
                         "Too many requests, please wait before trying again.");
        ph_free(c);
    }
    free(bin);
}

Test(bedrock_conformance, recorded_responses_and_errors)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");
    size_t len;
    char *body = shared(dir, "converse_response_text.json", &len);
    struct ph_call *c =
        begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_eq(ph_respond(c, 200, JSON_HDRS, body, len, 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_not_null(strstr(str_at(o, "choices.0.message.content"), "Berlin"));
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    assert_usage(c, 893, 52, 0);
    ph_free(c);
    free(body);

    body = shared(dir, "converse_response_parallel_tool_use.json", &len);
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_eq(ph_respond(c, 200, JSON_HDRS, body, len, 0), 0);
    o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "tool_calls");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.0.function.name"), "weather");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.1.function.name"),
                     "best_language_to_learn");
    cr_assert_str_eq(str_at(o, "choices.0.message.tool_calls.1.function.arguments"), "{}");
    assert_usage(c, 701, 97, 0);
    ph_free(c);
    free(body);

    body = shared(dir, "error_400_validation.json", &len);
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    ph_respond(c, 400, "x-amzn-ErrorType: ValidationException:http://internal.amazon.com/\r\n",
               body, len, 0);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.code"), "context_length_exceeded");
    ph_free(c);
    free(body);

    body = shared(dir, "error_403_invalid_token.json", &len);
    c = begin("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    ph_respond(c, 403,
               "X-Amzn-Errortype: UnrecognizedClientException:http://internal.amazon.com/coral/"
               "com.amazon.coral.service/\r\n",
               body, len, 0);
    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.type"), "authentication_error");
    ph_free(c);
    free(body);
}

/* What Bedrock cannot express is refused before signing anything, with the same document
 * for each: 400, invalid_request_error, code "unsupported" and the reason. */
Test(bedrock_request, unsupported_refusals_exact_client_error)
{
    static const struct {
        int op;
        const char *json;
        const char *why;
    } cases[] = {
        {CHAT, "{\"model\":\"m\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "Converse returns one choice (n must be 1)"},
        {CHAT,
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\","
         "\"input_audio\":{\"data\":\"AAAA\",\"format\":\"wav\"}}]}]}",
         "only text, image and file content parts are supported"},
        {CHAT,
         "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
         "\"tools\":[{\"type\":\"code_interpreter\"}]}",
         "only function tools are supported"},
        {AIGW_OP_EMBEDDINGS, "{\"model\":\"amazon.nova-lite-v1:0\",\"input\":\"x\"}",
         "embeddings need an amazon.titan-embed-* or cohere.embed-* model"},
        {AIGW_OP_EMBEDDINGS, "{\"model\":\"cohere.embed-english-v3\",\"input\":[[1,2,3]]}",
         "token-array inputs are not supported; send strings"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        env_default();
        struct ph_call *c = ph_begin_rc("bedrock", cases[i].op, cases[i].json, &rc);
        cr_assert_eq(rc, AIGW_ENOTSUP, "case %zu: rc %d", i, rc);
        tu_expect_error(c, 400, cases[i].why, "invalid_request_error", NULL, "unsupported");
        cr_assert_eq(ph_error(c)->retry_after_ms, -1, "case %zu", i);
        assert_no_secret(c);
        ph_free(c);
    }
}
