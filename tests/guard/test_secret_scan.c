/*
 * test_secret_scan - the secret-scan guard: each kind of credential found and the near misses
 * left alone, block naming the kind, answers redacted at every split (a PEM block across many
 * deltas too), upstream error messages scrubbed, and its config.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"

#define OPENAI "sk-proj-HgaKwVJ7faC9qEwjky40UVsWmflzdE1F8ResqEDu"
#define ANTHROPIC "sk-ant-api03-n5kxsC7tVO-HbkQfyy-KV5zjR3j1twdTKWTddB_XhkAS1voQG6yyzyN9zHYI"
#define GITHUB "ghp_U8JZpDE0iGXlD6gNCFbaEPFjbD0kH8Oool8D"
#define GOOGLE "AIzayGcFRl1SPnXNYvMIHa-2o76umfXfKm-r5kJ"
#define AWS "AKIAIOSFODNN7EXAMPLE"
#define JWT                                                                                        \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwia"   \
    "WF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
#define PEM                                                                                        \
    "-----BEGIN RSA PRIVATE KEY-----\n"                                                            \
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"                           \
    "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n"                                               \
    "-----END RSA PRIVATE KEY-----"
#define RANDOM "Zx8Kq2Lm9Vb4Nc7Hj1Tg6Rf3Yd5Ws0Pe"

static void expect_input(struct gw_guard_chain *c, const char *in, const char *want)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "input", in);
    char *body = cJSON_PrintUnformatted(b), *out;
    cJSON_Delete(b);
    struct gh_result r;
    gh_request(c, body, &out, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW);
    cJSON *o = cJSON_Parse(out);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "input")->valuestring, want);
    cJSON_Delete(o);
    free(out);
    free(body);
    gh_result_free(&r);
}

Test(secret_scan, finds_each_kind)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"secret-scan\"}]");
    expect_input(c, "key " OPENAI " ok", "key [SECRET] ok");
    expect_input(c, "x-api-key: " ANTHROPIC, "x-api-key: [SECRET]");
    expect_input(c, "export GITHUB_TOKEN=" GITHUB ";", "export GITHUB_TOKEN=[SECRET];");
    expect_input(c, "?key=" GOOGLE "&alt", "?key=[SECRET]&alt");
    expect_input(c, "aws " AWS ".", "aws [SECRET].");
    expect_input(c, "Bearer " JWT, "Bearer [SECRET]");
    expect_input(c, "here:\n" PEM "\nthanks", "here:\n[SECRET]\nthanks");
    expect_input(c, "token: " RANDOM, "token: [SECRET]");
    expect_input(c, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "[SECRET]");
    gw_guard_chain_free(c);
}

Test(secret_scan, near_misses)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"secret-scan\"}]");
    const char *keep[] = {
        "import sk-learn; task-force-alpha-bravo-charlie-delta-echo",
        "sk-this-is-a-long-hyphenated-phrase-here-and-more",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "path /usr/local/lib/python3/site-packages/numpy/core",
        "internationalization and counterrevolutionaries",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "eyJ alone, AKIA123 short, ghp_short",
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        expect_input(c, keep[i], keep[i]);
    gw_guard_chain_free(c);
}

Test(secret_scan, block_names_the_kind)
{
    struct gw_guard_chain *c =
        gh_chain("[{\"name\":\"secret-scan\",\"config\":{\"action\":\"block\"}}]");
    struct gh_result r;
    gh_request(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"use " ANTHROPIC "\"}]}", NULL,
               &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "request blocked by guardrail 'secret-scan': Anthropic API key in "
                              "messages[0].content");
    gh_result_free(&r);
    gh_every_split_deny(c, "the key is " OPENAI " okay", "sk-proj");
    gw_guard_chain_free(c);
}

Test(secret_scan, answers_at_every_split)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"secret-scan\"}]");
    gh_every_split(c, "use " OPENAI " then", "use [SECRET] then");
    gh_every_split(c, "jwt: " JWT ".", "jwt: [SECRET].");
    gh_every_split(c, "clé « " GITHUB " » ok ✓", "clé « [SECRET] » ok ✓");
    gh_every_split(c, "key:\n" PEM "\ndone", "key:\n[SECRET]\ndone");
    gw_guard_chain_free(c);
}

Test(secret_scan, detect_and_entropy_settings)
{
    struct gw_guard_chain *c =
        gh_chain("[{\"name\":\"secret-scan\",\"config\":{\"detect\":[\"jwt\"],"
                 "\"replacement\":\"<jwt>\"}}]");
    expect_input(c, OPENAI " " JWT, OPENAI " <jwt>");
    gw_guard_chain_free(c);
    c = gh_chain("[{\"name\":\"secret-scan\",\"config\":{\"detect\":[\"entropy\"],"
                 "\"min_length\":40}}]");
    expect_input(c, RANDOM, RANDOM); /* 32 < 40 */
    gw_guard_chain_free(c);
}

Test(secret_scan, error_messages_are_scrubbed)
{
    struct gw_guard_chain *c =
        gh_chain("[{\"name\":\"secret-scan\",\"config\":{\"action\":\"block\"}}]");
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "r", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    struct aigw_error e;
    aigw_error_init(&e);
    e.message = "Incorrect API key provided: " OPENAI ". You can find your API key at ...";
    cr_assert_eq(gw_guard_on_error(run, &e), 0);
    cr_assert_str_eq(e.message, "Incorrect API key provided: [SECRET]. You can find your API key "
                                "at ...");
    gw_guard_run_free(run);
    gw_guard_chain_free(c);
}

Test(secret_scan, config_errors)
{
    cr_assert_str_eq(
        gh_chain_err("[{\"name\":\"secret-scan\",\"config\":{\"detect\":[\"dna\"]}}]"),
        "guardrails[0] (secret-scan): config.detect[0]: not one of the allowed values");
    cr_assert_str_eq(
        gh_chain_err("[{\"name\":\"secret-scan\",\"config\":{\"min_length\":8}}]"),
        "guardrails[0] (secret-scan): config.min_length: the value must be at least 16");
}

/* Every token start inside a run used to walk the run to its end (and measure its entropy):
 * "NAME=NAME=...", "a/b/c/...", a repetitive base64-looking run were quadratic, 800 KB held
 * a worker for 59 s. 1.2 MB of each now passes at once (the timeout is a hang guard; the old
 * code needs minutes), and a key at the end of such a run is still found where it starts. */
static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * times + tl + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * times, tail, tl + 1);
    return s;
}

Test(secret_scan, long_runs_with_many_starts_cost_one_pass, .timeout = 60)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"secret-scan\"}]");
    static const char *const units[] = {"key=", "ab/", "aB1/", "aB1+", "Ab.1=", "x-y+"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        char *s = repeat(units[u], 1200000 / strlen(units[u]), "");
        expect_input(c, s, s);
        free(s);
    }
    /* The run's entropy is low; only the token after its last '/' is random. */
    char *s = repeat("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/", 3, RANDOM);
    char *want = repeat("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/", 3, "[SECRET]");
    expect_input(c, s, want);
    free(s);
    free(want);
    /* The first start whose token passes: 13 "ab/" and the key have 4.04 bits a character,
     * 14 of them 3.98. */
    s = repeat("ab/", 20, RANDOM " and " RANDOM);
    want = repeat("ab/", 7, "[SECRET] and [SECRET]");
    expect_input(c, s, want);
    free(s);
    free(want);
    gw_guard_chain_free(c);
}
