/*
 * The response cache's key: the same request spelled differently is one key (key order,
 * number spelling, stream on or off, fields that change nothing about the answer), and
 * anything that changes the answer (temperature, tools, the system prompt, the model, the
 * caller, the endpoint) is another. Through raw JSON and through the real dialects' parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "cache/cache.h"
#include "cache/key.h"
#include "front/dialect.h"
#include "front/openai.h"
#include "front/responses.h"

static void key_of(const char *json, const char *scope, const char *endpoint,
                   unsigned char out[GW_CACHE_KEY_BYTES])
{
    cJSON *body = cJSON_Parse(json);
    cr_assert_not_null(body, "%s", json);
    const cJSON *m = cJSON_GetObjectItem(body, "model");
    struct gw_cache_key_in in = {
        .scope = scope,
        .endpoint = endpoint,
        .model = cJSON_IsString(m) ? m->valuestring : "",
        .body = body,
    };
    cr_assert_eq(gw_cache_key(&in, out), 0);
    cJSON_Delete(body);
}

static int same(const char *a, const char *b)
{
    unsigned char ka[GW_CACHE_KEY_BYTES], kb[GW_CACHE_KEY_BYTES];
    key_of(a, "k1", "chat", ka);
    key_of(b, "k1", "chat", kb);
    return memcmp(ka, kb, sizeof ka) == 0;
}

static char *canon(const char *json, int top)
{
    cJSON *v = cJSON_Parse(json);
    cr_assert_not_null(v, "%s", json);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    cr_assert_eq(gw_cache_canon(v, top, &b), 0);
    cJSON_Delete(v);
    char *s = strdup(b.ptr ? b.ptr : "");
    gw_buf_free(&b);
    return s;
}

#define BASE                                                                                       \
    "\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"     \
    "{\"role\":\"user\",\"content\":\"hi\"}]"

Test(cache_key, canonical_form_is_sorted_compact_and_one_spelling_per_number)
{
    char *s = canon("{ \"b\" : [3, 1.50, -0, 2e3, 1e-7, 0.1], \"a\": {\"y\":true, \"x\":null},"
                    " \"c\": \"q\\\"\\u00e9\\n\\u0001\" }",
                    0);
    cr_assert_str_eq(s, "{\"a\":{\"x\":null,\"y\":true},\"b\":[3,1.5,0,2000,1e-07,0.1],"
                        "\"c\":\"q\\\"\xc3\xa9\\u000a\\u0001\"}");
    free(s);
}

Test(cache_key, top_level_ignored_fields_are_left_out_only_at_the_top)
{
    char *s = canon("{\"stream\":true,\"user\":\"u1\",\"metadata\":{\"a\":1},\"n\":1,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"user\":\"kept\"}]}",
                    1);
    cr_assert_str_eq(s, "{\"messages\":[{\"content\":\"x\",\"role\":\"user\",\"user\":\"kept\"}],"
                        "\"n\":1}");
    free(s);
}

Test(cache_key, a_key_given_twice_keeps_both_in_order)
{
    char *s = canon("{\"b\":1,\"a\":2,\"b\":3}", 0);
    cr_assert_str_eq(s, "{\"a\":2,\"b\":1,\"b\":3}");
    free(s);
    cr_assert(!same("{" BASE ",\"n\":1,\"n\":2}", "{" BASE ",\"n\":2,\"n\":1}"));
}

Test(cache_key, the_same_request_spelled_differently_is_one_key)
{
    const char *a = "{" BASE ",\"temperature\":0.7,\"max_tokens\":100}";
    /* Key order, whitespace, number spelling. */
    cr_assert(same(a, "{\"max_tokens\": 1e2, \"temperature\": 0.70, " BASE "}"));
    cr_assert(same(a, "{\"temperature\":7e-1,\"max_tokens\":100.0," BASE "}"));
    /* Escapes in strings. */
    cr_assert(same("{" BASE ",\"stop\":[\"\\u0041\"]}", "{" BASE ",\"stop\":[\"A\"]}"));
    /* Delivery, and who asked. */
    cr_assert(same(a, "{" BASE ",\"temperature\":0.7,\"max_tokens\":100,\"stream\":true,"
                      "\"stream_options\":{\"include_usage\":true}}"));
    cr_assert(same(a, "{" BASE ",\"temperature\":0.7,\"max_tokens\":100,\"user\":\"alice\","
                      "\"metadata\":{\"run\":\"7\"},\"store\":true,\"safety_identifier\":\"x\","
                      "\"prompt_cache_key\":\"p\",\"service_tier\":\"flex\"}"));
}

Test(cache_key, what_changes_the_answer_is_another_key)
{
    const char *a = "{" BASE ",\"temperature\":0.7}";
    cr_assert(!same(a, "{" BASE ",\"temperature\":0.8}"));
    cr_assert(!same(a, "{" BASE "}"), "unset is not a value");
    cr_assert(!same(a, "{" BASE ",\"temperature\":null}"), "null is not unset");
    cr_assert(!same(a, "{" BASE ",\"temperature\":\"0.7\"}"), "a string is not a number");
    /* The system prompt, the message order. */
    cr_assert(!same(a, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\","
                       "\"content\":\"Be long.\"},{\"role\":\"user\",\"content\":\"hi\"}],"
                       "\"temperature\":0.7}"));
    cr_assert(!same(a, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"hi\"},{\"role\":\"system\",\"content\":\"Be brief.\"}],"
                       "\"temperature\":0.7}"));
    /* The model. */
    cr_assert(!same(a, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":"
                       "\"Be brief.\"},{\"role\":\"user\",\"content\":\"hi\"}],"
                       "\"temperature\":0.7}"));
    /* The tool list: one more tool, another description, another order. */
    const char *t1 = "{\"type\":\"function\",\"function\":{\"name\":\"a\",\"parameters\":{}}}";
    const char *t2 = "{\"type\":\"function\",\"function\":{\"name\":\"b\",\"parameters\":{}}}";
    char x[1024], y[1024];
    snprintf(x, sizeof x, "{" BASE ",\"tools\":[%s]}", t1);
    snprintf(y, sizeof y, "{" BASE ",\"tools\":[%s,%s]}", t1, t2);
    cr_assert(!same(x, y));
    snprintf(x, sizeof x, "{" BASE ",\"tools\":[%s,%s]}", t2, t1);
    cr_assert(!same(x, y));
    snprintf(x, sizeof x, "{" BASE ",\"tools\":[%s],\"tool_choice\":\"required\"}", t1);
    snprintf(y, sizeof y, "{" BASE ",\"tools\":[%s]}", t1);
    cr_assert(!same(x, y));
}

Test(cache_key, scope_endpoint_provider_and_native_body_are_in_the_key)
{
    const char *j = "{" BASE "}";
    unsigned char a[GW_CACHE_KEY_BYTES], b[GW_CACHE_KEY_BYTES];
    key_of(j, "cred:alice", "chat", a);
    key_of(j, "cred:bob", "chat", b);
    cr_assert(memcmp(a, b, sizeof a) != 0, "two callers never share a key");
    key_of(j, "", "chat", b);
    cr_assert(memcmp(a, b, sizeof a) != 0);
    key_of(j, "cred:alice", "responses", b);
    cr_assert(memcmp(a, b, sizeof a) != 0, "another endpoint");

    cJSON *body = cJSON_Parse(j);
    cJSON *native = cJSON_Parse("{\"thinking\":{\"type\":\"enabled\"}}");
    struct gw_cache_key_in in = {.scope = "s", .endpoint = "chat", .model = "m", .body = body};
    cr_assert_eq(gw_cache_key(&in, a), 0);
    in.provider = "openai";
    cr_assert_eq(gw_cache_key(&in, b), 0);
    cr_assert(memcmp(a, b, sizeof a) != 0, "X-Provider pins another target");
    in.provider = NULL;
    in.native = native;
    cr_assert_eq(gw_cache_key(&in, b), 0);
    cr_assert(memcmp(a, b, sizeof a) != 0, "the native body reaches native targets");
    /* Fields are length-prefixed: moving bytes from one to the next is another key. */
    struct gw_cache_key_in p = {.scope = "ab", .endpoint = "c", .model = "m", .body = body};
    struct gw_cache_key_in q = {.scope = "a", .endpoint = "bc", .model = "m", .body = body};
    cr_assert_eq(gw_cache_key(&p, a), 0);
    cr_assert_eq(gw_cache_key(&q, b), 0);
    cr_assert(memcmp(a, b, sizeof a) != 0);
    cJSON_Delete(body);
    cJSON_Delete(native);
}

Test(cache_key, hex_and_redis_names)
{
    unsigned char k[GW_CACHE_KEY_BYTES];
    for (int i = 0; i < GW_CACHE_KEY_BYTES; i++)
        k[i] = (unsigned char)(i * 7);
    char hex[GW_CACHE_KEY_HEX], name[GW_CACHE_REDIS_KEY_MAX];
    gw_cache_key_hex(k, hex);
    cr_assert_eq(strlen(hex), 64);
    cr_assert_eq(strncmp(hex, "00070e15", 8), 0);
    size_t n = gw_cache_redis_key(k, name);
    cr_assert_eq(n, strlen("aigw:cache:1:") + 64);
    cr_assert_eq(strncmp(name, "aigw:cache:1:00070e15", 21), 0);
}

/* ---- through the dialects' parsers --------------------------------------------------------- */

static const char *no_header(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

static void parsed_key(const struct gw_dialect *d, const char *path, const char *json,
                       unsigned char out[GW_CACHE_KEY_BYTES])
{
    struct gw_parsed p;
    memset(&p, 0, sizeof p);
    struct gw_front_err err;
    memset(&err, 0, sizeof err);
    struct gw_inbound in = {json, strlen(json), path, NULL, no_header, NULL, NULL, 0};
    cr_assert_eq(d->parse(&in, &p, &err), 0, "%s: %s", json, err.message);
    unsigned bit;
    const char *ep = gw_cache_endpoint(d->name, p.op, p.legacy, &bit);
    cr_assert_not_null(ep);
    struct gw_cache_key_in k = {"", ep, p.model, NULL, p.body, p.native};
    cr_assert_eq(gw_cache_key(&k, out), 0);
    gw_parsed_free(&p);
}

Test(cache_key, openai_chat_parse_is_stable_across_spellings)
{
    unsigned char a[GW_CACHE_KEY_BYTES], b[GW_CACHE_KEY_BYTES];
    parsed_key(&gw_dialect_openai_chat, "/v1/chat/completions",
               "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
               "\"temperature\":1}",
               a);
    parsed_key(&gw_dialect_openai_chat, "/v1/chat/completions",
               "{\"temperature\":1.0,\"stream\":true,\"messages\":[{\"content\":\"hi\","
               "\"role\":\"user\"}],\"model\":\"gpt-4o-mini\"}",
               b);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    parsed_key(&gw_dialect_openai_chat, "/v1/chat/completions",
               "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
               "\"temperature\":0}",
               b);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(cache_key, responses_parse_mints_nothing_into_the_key)
{
    /* Each parse mints a response id and item ids; none of them may reach the key. */
    const char *j = "{\"model\":\"gpt-4o-mini\",\"input\":\"hi\",\"instructions\":\"Be brief.\","
                    "\"store\":false}";
    unsigned char a[GW_CACHE_KEY_BYTES], b[GW_CACHE_KEY_BYTES];
    parsed_key(&gw_responses_dialect, "/v1/responses", j, a);
    parsed_key(&gw_responses_dialect, "/v1/responses", j, b);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    parsed_key(&gw_responses_dialect, "/v1/responses",
               "{\"model\":\"gpt-4o-mini\",\"input\":\"hi\",\"instructions\":\"Be long.\","
               "\"store\":false}",
               b);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(cache_key, legacy_completions_and_embeddings_have_their_endpoints)
{
    unsigned bit;
    cr_assert_str_eq(gw_cache_endpoint("openai", AIGW_OP_CHAT, 1, &bit), "completions");
    cr_assert_eq(bit, GW_CACHE_EP_COMPLETIONS);
    cr_assert_str_eq(gw_cache_endpoint("openai", AIGW_OP_EMBEDDINGS, 0, &bit), "embeddings");
    cr_assert_str_eq(gw_cache_endpoint("anthropic", AIGW_OP_CHAT, 0, &bit), "messages");
    cr_assert_str_eq(gw_cache_endpoint("responses", AIGW_OP_CHAT, 0, &bit), "responses");
    cr_assert_null(gw_cache_endpoint("openai", AIGW_OP_IMAGES, 0, &bit));
    cr_assert_null(gw_cache_endpoint("anthropic", AIGW_OP_COUNT_TOKENS, 0, &bit));
    cr_assert_eq(bit, 0);
}
