/* test_json_schema - the json-schema guard on final answers: valid, fenced, invalid (retry
 * when not streamed, deny when streamed or on_failure is block), not JSON, tool calls only,
 * and its config. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"

#define SCHEMA                                                                                     \
    "{\"type\":\"object\",\"required\":[\"name\",\"age\"],\"additionalProperties\":false,"         \
    "\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\",\"minimum\":0}}" \
    "}"

static struct gw_guard_chain *js(const char *extra)
{
    char json[1024];
    snprintf(json, sizeof json, "[{\"name\":\"json-schema\",\"config\":{\"schema\":" SCHEMA "%s}}]",
             extra ? extra : "");
    return gh_chain(json);
}

static void answer(struct gw_guard_chain *c, const char *text, int stream, struct gh_result *r)
{
    size_t n = strlen(text), cut = n / 2;
    gh_answer(c, text, n, &cut, n > 1 ? 1 : 0, stream, r);
}

Test(json_schema, valid_answers_pass)
{
    struct gw_guard_chain *c = js(NULL);
    struct gh_result r;
    answer(c, " {\"name\":\"Ann\",\"age\":3}\n", 0, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW, "%s", r.error ? r.error : "");
    cr_assert_str_eq(r.text, " {\"name\":\"Ann\",\"age\":3}\n");
    gh_result_free(&r);
    answer(c, "```json\n{\"name\":\"Ann\",\"age\":3}\n```", 1, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW, "%s", r.error ? r.error : "");
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(json_schema, invalid_answers_retry_or_deny)
{
    struct gw_guard_chain *c = js(NULL);
    struct gh_result r;
    answer(c, "{\"name\":\"Ann\",\"age\":\"three\"}", 0, &r);
    cr_assert_eq(r.verdict, GW_GUARD_RETRY);
    gh_result_free(&r);
    answer(c, "{\"name\":\"Ann\",\"age\":\"three\"}", 1, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert(strstr(r.error, "answer blocked by guardrail 'json-schema': Your previous answer did "
                              "not match the required JSON schema ($.age: expected integer, got "
                              "string)") == r.error,
              "%s", r.error);
    gh_result_free(&r);
    answer(c, "Sure! Here it is.", 0, &r);
    cr_assert_eq(r.verdict, GW_GUARD_RETRY);
    gh_result_free(&r);
    gw_guard_chain_free(c);

    c = js(",\"on_failure\":\"block\",\"allow_fences\":false");
    answer(c, "```json\n{\"name\":\"Ann\",\"age\":3}\n```", 0, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "answer blocked by guardrail 'json-schema': the answer does not "
                              "match the required JSON schema (the answer is not a JSON document)");
    gh_result_free(&r);
    answer(c, "{\"name\":\"Ann\",\"age\":3,\"x\":1}", 0, &r);
    cr_assert_str_eq(r.error, "answer blocked by guardrail 'json-schema': the answer does not "
                              "match the required JSON schema ($.x: not an allowed member)");
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

static int ignore(void *ud, const struct aigw_chunk *c)
{
    (void)ud;
    (void)c;
    return 0;
}

Test(json_schema, the_retry_note_quotes_the_schema)
{
    struct gw_guard_chain *c = js(NULL);
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "r", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    struct aigw_chunk t = aigw_chunk_init(AIGW_CHUNK_TEXT, 0),
                      f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    t.text = aigw_bytes_of("[]");
    f.finish = AIGW_FINISH_STOP;
    cr_assert_eq(gw_guard_on_request(run, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_chunk(run, &t, ignore, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_chunk(run, &f, ignore, NULL), GW_GUARD_RETRY);
    cJSON *body = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    cr_assert_eq(gw_guard_retry_body(run, body), 0);
    cJSON *msgs = cJSON_GetObjectItem(body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 3);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring,
                     "[]");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "content")->valuestring,
                     "Your previous answer did not match the required JSON schema ($: expected "
                     "object, got array). Answer again with only a JSON document that matches "
                     "this schema: " SCHEMA ".");
    cJSON_Delete(body);
    gw_guard_run_free(run);
    gw_guard_chain_free(c);
}

Test(json_schema, tool_calls_alone_are_not_judged)
{
    struct gw_guard_chain *c = js(NULL);
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "r", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    struct aigw_chunk tc = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
    struct aigw_chunk f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    tc.id = aigw_bytes_of("call_1");
    tc.name = aigw_bytes_of("f");
    tc.text = aigw_bytes_of("{}");
    f.finish = AIGW_FINISH_TOOL_CALLS;
    cr_assert_eq(gw_guard_on_request(run, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_chunk(run, &tc, ignore, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_chunk(run, &f, ignore, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_end(run, ignore, NULL), GW_GUARD_ALLOW);
    gw_guard_run_free(run);
    /* The content is the document judged, never a tool call's arguments (aigw.json(5)):
     * valid content passes beside arguments the schema would refuse. */
    run = gw_guard_run_new(c, &o);
    struct aigw_chunk t = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    t.text = aigw_bytes_of("{\"name\":\"Ann\",\"age\":3}");
    tc.text = aigw_bytes_of("{\"age\":\"three\"}");
    cr_assert_eq(gw_guard_on_chunk(run, &t, ignore, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_chunk(run, &tc, ignore, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_chunk(run, &f, ignore, NULL), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_on_end(run, ignore, NULL), GW_GUARD_ALLOW);
    gw_guard_run_free(run);
    /* An answer with nothing at all is judged (and is no document). */
    run = gw_guard_run_new(c, &o);
    cr_assert_eq(gw_guard_on_end(run, ignore, NULL), GW_GUARD_RETRY);
    gw_guard_run_free(run);
    gw_guard_chain_free(c);
}

Test(json_schema, config_errors)
{
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"json-schema\",\"config\":{}}]"),
                     "guardrails[0] (json-schema): config.schema: required");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"json-schema\",\"config\":{\"schema\":"
                                  "{\"oneOf\":[]}}}]"),
                     "guardrails[0] (json-schema): config: schema: oneOf: unsupported keyword "
                     "(see the subset in aigw.json(5))");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"json-schema\",\"stage\":\"input\",\"config\":"
                                  "{\"schema\":true}}]"),
                     "guardrails[0] (json-schema): stage: the guard only runs on the output");
}
