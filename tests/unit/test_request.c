/* request: every bad input gets a 400 that names the field; good input is normalized. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "front/request.h"

static int parse(int kind, const char *body, struct gw_request_err *err)
{
    struct gw_parsed p;
    int rc = gw_request_parse(kind, body, strlen(body), &p, err);
    if (rc == 0)
        gw_parsed_free(&p);
    return rc;
}

Test(request, malformed_json_reports_the_byte_offset)
{
    struct gw_request_err e;
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\",\"messages\":[}", &e), 0);
    cr_assert_eq(e.status, 400);
    cr_assert(strstr(e.message, "byte offset 25"), "%s", e.message);
}

Test(request, invalid_utf8)
{
    struct gw_request_err e;
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\xff\"}", &e), 0);
    cr_assert_str_eq(e.code, "invalid_utf8");
    cr_assert(strstr(e.message, "byte offset 11"), "%s", e.message);
}

Test(request, missing_and_ill_typed_fields_name_the_param)
{
    struct gw_request_err e;
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", &e), 0);
    cr_assert_str_eq(e.param, "model");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\"}", &e), 0);
    cr_assert_str_eq(e.param, "messages");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                                      "\"content\":\"x\"}],\"temperature\":\"hot\"}", &e), 0);
    cr_assert_str_eq(e.param, "temperature");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"wizard\","
                                      "\"content\":\"x\"}]}", &e), 0);
    cr_assert_str_eq(e.param, "messages.role");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\","
                                      "\"content\":\"x\"}]}", &e), 0);
    cr_assert_str_eq(e.param, "messages.tool_call_id");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                                      "\"content\":\"x\"}],\"n\":0}", &e), 0);
    cr_assert_str_eq(e.param, "n");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                                      "\"content\":\"x\"}],\"stream\":\"yes\"}", &e), 0);
    cr_assert_str_eq(e.param, "stream");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "[1,2]", &e), 0);
    cr_assert_eq(e.status, 400);
}

/* A token cap under 1 was refused as max_tokens but passed on as max_completion_tokens, for
 * the provider to refuse in its own words (and admission to reserve no output for it). */
Test(request, a_token_cap_under_one_is_refused_by_either_name)
{
    static const char *const fields[] = {"max_tokens", "max_completion_tokens"};
    static const char *const values[] = {"0", "-3"};
    for (int f = 0; f < 2; f++)
        for (int v = 0; v < 2; v++) {
            char body[256];
            snprintf(body, sizeof body,
                     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                     "\"x\"}],\"%s\":%s}",
                     fields[f], values[v]);
            struct gw_request_err e;
            cr_assert_lt(parse(GW_ROUTE_CHAT, body, &e), 0, "%s", body);
            cr_assert_eq(e.status, 400);
            cr_assert_str_eq(e.param, fields[f]);
            cr_assert(strstr(e.message, "at least 1"), "%s", e.message);
        }
}

Test(request, valid_chat_with_stream_and_usage)
{
    struct gw_parsed p;
    struct gw_request_err e;
    const char *b = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}]}";
    cr_assert_eq(gw_request_parse(GW_ROUTE_CHAT, b, strlen(b), &p, &e), 0, "%s", e.message);
    cr_assert_eq(p.stream, 1);
    cr_assert_eq(p.include_usage, 1);
    cr_assert_str_eq(p.model, "m");
    gw_parsed_free(&p);
}

Test(request, legacy_prompt_becomes_one_user_message)
{
    struct gw_parsed p;
    struct gw_request_err e;
    const char *b = "{\"model\":\"m\",\"prompt\":\"Say hi\",\"echo\":false,\"max_tokens\":5}";
    cr_assert_eq(gw_request_parse(GW_ROUTE_COMPLETIONS, b, strlen(b), &p, &e), 0, "%s", e.message);
    cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 1);
    cJSON *m = cJSON_GetArrayItem(msgs, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(m, "role")->valuestring, "user");
    cr_assert_str_eq(cJSON_GetObjectItem(m, "content")->valuestring, "Say hi");
    cr_assert_null(cJSON_GetObjectItem(p.body, "prompt"));
    cr_assert_null(cJSON_GetObjectItem(p.body, "echo"));
    gw_parsed_free(&p);
}

Test(request, embeddings_and_images)
{
    struct gw_request_err e;
    cr_assert_eq(parse(GW_ROUTE_EMBEDDINGS, "{\"model\":\"e\",\"input\":[\"a\",\"b\"]}", &e), 0);
    cr_assert_lt(parse(GW_ROUTE_EMBEDDINGS, "{\"model\":\"e\",\"input\":[]}", &e), 0);
    cr_assert_str_eq(e.param, "input");
    cr_assert_lt(parse(GW_ROUTE_EMBEDDINGS, "{\"model\":\"e\",\"input\":\"a\",\"encoding_format\":\"hex\"}", &e), 0);
    cr_assert_str_eq(e.param, "encoding_format");
    cr_assert_eq(parse(GW_ROUTE_IMAGES, "{\"model\":\"i\",\"prompt\":\"a cat\",\"n\":2}", &e), 0);
    cr_assert_lt(parse(GW_ROUTE_IMAGES, "{\"model\":\"i\"}", &e), 0);
    cr_assert_str_eq(e.param, "prompt");
}

/* A repeated key is refused before any check reads the body (front/body.c): the checks read
 * one occurrence, a provider may read the other. */
Test(request, a_repeated_key_is_refused_at_any_level)
{
    static const char *const bodies[] = {
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"max_tokens\":0,\"max_tokens\":5}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2,\"n\":0}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"role\":\"x\",\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\","
        "\"tool_call_id\":1,\"tool_call_id\":\"c\"}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct gw_request_err e;
        cr_assert_eq(parse(GW_ROUTE_CHAT, bodies[i], &e), AIGW_EINVAL, "%s", bodies[i]);
        cr_assert_eq(e.status, 400);
        cr_assert_str_eq(e.code, "duplicate_key");
    }
}

/* The checks run in a fixed order: the first failing one names its param. */
Test(request, the_first_failing_check_is_reported)
{
    struct gw_request_err e;
    cr_assert_lt(parse(GW_ROUTE_CHAT,
                       "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                       "\"tools\":[{\"function\":{}}],\"temperature\":\"hot\"}",
                       &e),
                 0);
    cr_assert_str_eq(e.param, "tools"); /* the order of the checks is kept too */
}
