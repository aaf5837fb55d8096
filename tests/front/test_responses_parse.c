/* Responses parse: golden requests -> the internal chat request, and every refusal. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "front/tokens.h"
#include "resp_util.h"

static void assert_json_eq(const cJSON *got, const cJSON *want, const char *what)
{
    char *g = cJSON_PrintUnformatted(got), *w = cJSON_PrintUnformatted(want);
    cr_assert(cJSON_Compare(got, want, 1), "%s:\n got %s\nwant %s", what, g, w);
    free(g);
    free(w);
}

/* Parses <name>.request.json and compares with <name>.expect.json. */
static void golden(const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "%s.request.json", name);
    size_t len;
    char *body = ru_fixture(file, &len);
    snprintf(file, sizeof file, "%s.expect.json", name);
    cJSON *want = ru_fixture_json(file);
    struct gw_parsed p;
    struct gw_front_err err;
    int rc = ru_parse(body, len, &p, &err);
    cr_assert_eq(rc, 0, "%s: %s", name, err.message);
    struct gw_resp_ctx *ctx = p.ctx;
    assert_json_eq(p.body, cJSON_GetObjectItem(want, "body"), name);
    cr_assert_eq(p.stream, cJSON_IsTrue(cJSON_GetObjectItem(want, "stream")));
    cr_assert_eq(p.include_usage, p.stream);
    cr_assert_eq(p.op, AIGW_OP_CHAT);
    cr_assert_str_eq(p.model, cJSON_GetObjectItem(p.body, "model")->valuestring);
    cr_assert_str_eq(p.dropped_tools, cJSON_GetObjectItem(want, "dropped_tools")->valuestring);
    cr_assert_eq(ctx->store, cJSON_IsTrue(cJSON_GetObjectItem(want, "store")));
    cr_assert_not_null(p.native, "the client's body is kept for a Responses-speaking target");
    cr_assert(strncmp(ctx->id, "resp_", 5) == 0 && strlen(ctx->id) == 53);
    /* every input item got an id, unique, with its type's prefix */
    const cJSON *it;
    cJSON_ArrayForEach(it, ctx->input_items)
    {
        const char *id = cJSON_GetObjectItem(it, "id")->valuestring;
        const char *type = cJSON_GetObjectItem(it, "type")->valuestring;
        cr_assert(!strcmp(type, "message") ? !strncmp(id, "msg_", 4) || strchr(id, '_') : 1);
        for (const cJSON *o = it->next; o; o = o->next)
            cr_assert_str_neq(id, cJSON_GetObjectItem(o, "id")->valuestring);
    }
    const cJSON *items = cJSON_GetObjectItem(want, "input_items");
    if (items) {
        cJSON *copy = cJSON_Duplicate(ctx->input_items, 1);
        cJSON *c;
        cJSON_ArrayForEach(c, copy)
        {
            const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
            cr_assert(!strncmp(id, "msg_", 4), "minted message id %s", id);
            cJSON_DeleteItemFromObject(c, "id");
        }
        assert_json_eq(copy, items, "input_items");
        cJSON_Delete(copy);
    }
    ru_parsed_free(&p);
    cJSON_Delete(want);
    free(body);
}

Test(responses_parse, golden_simple_string_input)
{
    golden("simple");
}

Test(responses_parse, golden_items_tools_custom_namespace_builtins)
{
    golden("tools");
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A response id is resp_ and 48 hex digits, the first 12 the milliseconds it was made at: the
 * stored responses' id index takes new ids at its end (random ids made each insert read and
 * write a random page of it). The rest is random: two ids of one millisecond differ. */
Test(responses_parse, response_ids_start_with_the_time_and_end_random)
{
    static const char body[] = "{\"model\":\"m\",\"input\":\"hi\"}";
    char first[64] = "";
    for (int i = 0; i < 2; i++) {
        struct gw_parsed p;
        struct gw_front_err err;
        uint64_t t0 = now_ms();
        cr_assert_eq(ru_parse(body, sizeof body - 1, &p, &err), 0, "%s", err.message);
        uint64_t t1 = now_ms();
        const char *id = ((struct gw_resp_ctx *)p.ctx)->id;
        cr_assert_eq(strlen(id), 53, "%s", id);
        cr_assert_eq(strncmp(id, "resp_", 5), 0);
        cr_assert_eq(strspn(id + 5, "0123456789abcdef"), 48, "%s", id);
        char ms[13];
        memcpy(ms, id + 5, 12);
        ms[12] = '\0';
        uint64_t at = strtoull(ms, NULL, 16);
        cr_assert(at >= t0 && at <= t1, "%s: %llu not in [%llu, %llu]", id,
                  (unsigned long long)at, (unsigned long long)t0, (unsigned long long)t1);
        if (i)
            cr_assert_str_neq(id + 17, first + 17, "the random part repeats");
        else
            snprintf(first, sizeof first, "%s", id);
        ru_parsed_free(&p);
    }
}

Test(responses_parse, tool_map_goes_both_ways)
{
    size_t len;
    char *body = ru_fixture("tools.request.json", &len);
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, len, &p, &err), 0);
    struct gw_resp_ctx *ctx = p.ctx;
    const struct gw_resp_tool *t = gw_resp_tool_by_flat(ctx, "agents__spawn");
    cr_assert_not_null(t);
    cr_assert_str_eq(t->name, "spawn");
    cr_assert_str_eq(t->ns, "agents");
    t = gw_resp_tool_by_flat(ctx, "apply_patch");
    cr_assert_eq(t->kind, GW_RESP_TOOL_CUSTOM);
    cr_assert_null(t->ns);
    cr_assert_eq(gw_resp_tool_by_flat(ctx, "get_weather")->kind, GW_RESP_TOOL_FUNCTION);
    cr_assert_null(gw_resp_tool_by_flat(ctx, "web_search"));
    cr_assert(ctx->want_encrypted);
    char flat[65];
    cr_assert_eq(gw_resp_flat_name(ctx, "agents", "wait", flat, sizeof flat), 0);
    cr_assert_str_eq(flat, "agents__wait");
    ru_parsed_free(&p);
    free(body);
}

static void parse_str(const char *json, struct gw_parsed *p, struct gw_front_err *err, int want)
{
    int rc = ru_parse(json, strlen(json), p, err);
    cr_assert_eq(rc, want, "%s -> %d (%s)", json, rc, err->message);
}

Test(responses_parse, namespace_names_too_long_or_odd_are_hashed_stably)
{
    const char *req = "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"namespace\","
                      "\"name\":\"a.very.long.namespace.name.with.dots.that.does.not.fit\","
                      "\"tools\":[{\"type\":\"function\",\"name\":\"do_the_thing_now\"}]}]}";
    struct gw_parsed p;
    struct gw_front_err err;
    parse_str(req, &p, &err, 0);
    const cJSON *fn = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(p.body, "tools"), 0), "function");
    const char *flat = cJSON_GetObjectItem(fn, "name")->valuestring;
    cr_assert(strlen(flat) <= 64);
    for (const char *c = flat; *c; c++)
        cr_assert(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *c),
                  "%s", flat);
    char again[65];
    gw_resp_flat_name(p.ctx, "a.very.long.namespace.name.with.dots.that.does.not.fit",
                      "do_the_thing_now", again, sizeof again);
    cr_assert_str_eq(again, flat);
    ru_parsed_free(&p);
}

Test(responses_parse, flat_name_colliding_with_a_function_is_hashed)
{
    const char *req = "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\","
                      "\"name\":\"ns__f\"},{\"type\":\"namespace\",\"name\":\"ns\",\"tools\":"
                      "[{\"type\":\"function\",\"name\":\"f\"}]}]}";
    struct gw_parsed p;
    struct gw_front_err err;
    parse_str(req, &p, &err, 0);
    cJSON *tools = cJSON_GetObjectItem(p.body, "tools");
    const char *a =
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 0), "function"), "name")
            ->valuestring;
    const char *b =
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 1), "function"), "name")
            ->valuestring;
    cr_assert_str_eq(a, "ns__f");
    cr_assert_str_neq(b, "ns__f");
    cr_assert_str_eq(gw_resp_tool_by_flat(p.ctx, b)->name, "f");
    ru_parsed_free(&p);
}

Test(responses_parse, allowed_tools_filters_and_sets_mode)
{
    const char *req =
        "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"a\"},"
        "{\"type\":\"function\",\"name\":\"b\"}],\"tool_choice\":{\"type\":\"allowed_tools\","
        "\"mode\":\"required\",\"tools\":[{\"type\":\"function\",\"name\":\"b\"}]}}";
    struct gw_parsed p;
    struct gw_front_err err;
    parse_str(req, &p, &err, 0);
    cJSON *tools = cJSON_GetObjectItem(p.body, "tools");
    cr_assert_eq(cJSON_GetArraySize(tools), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(p.body, "tool_choice")->valuestring, "required");
    ru_parsed_free(&p);
}

Test(responses_parse, only_builtin_tools_leave_no_tools_and_no_tool_choice)
{
    const char *req = "{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":\"auto\","
                      "\"parallel_tool_calls\":true,\"tools\":[{\"type\":\"web_search\"},"
                      "{\"type\":\"web_search\"},{\"type\":\"image_generation\"}]}";
    struct gw_parsed p;
    struct gw_front_err err;
    parse_str(req, &p, &err, 0);
    cr_assert_null(cJSON_GetObjectItem(p.body, "tools"));
    cr_assert_null(cJSON_GetObjectItem(p.body, "tool_choice"));
    cr_assert_null(cJSON_GetObjectItem(p.body, "parallel_tool_calls"));
    cr_assert_str_eq(p.dropped_tools, "web_search,image_generation");
    ru_parsed_free(&p);
}

/* An empty tool type once spun the parse forever (strstr of "" matches everywhere, and the
 * walk advanced by its length); a name with a comma or CR/LF split the list or the header. */
Test(responses_parse, dropped_tool_names_are_tokens_and_empty_ends, .timeout = 30)
{
    const char *req = "{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"\"},"
                      "{\"type\":\"\"},{\"type\":\"a,b\\r\\nX-Evil: 1\"},"
                      "{\"type\":\"namespace\",\"name\":\"n\",\"tools\":[{\"type\":\"\"},"
                      "{\"type\":\"web_search\"}]}]}";
    struct gw_parsed p;
    struct gw_front_err err;
    parse_str(req, &p, &err, 0);
    cr_assert_str_eq(p.dropped_tools, "unknown,a_b__X-Evil:_1,web_search");
    ru_parsed_free(&p);
}

Test(responses_parse, json_object_format_and_unknown_previous_id)
{
    struct gw_parsed p;
    struct gw_front_err err;
    parse_str("{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_object\"}}}",
              &p, &err, 0);
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(p.body, "response_format"), "type")->valuestring,
        "json_object");
    ru_parsed_free(&p);
    /* an id nobody stored is OpenAI's 400 previous_response_not_found */
    parse_str("{\"model\":\"m\",\"previous_response_id\":\"resp_x\"}", &p, &err, AIGW_EINVAL);
    cr_assert_eq(err.status, 400);
    cr_assert_str_eq(err.code, "previous_response_not_found");
    cr_assert_str_eq(err.param, "previous_response_id");
    cr_assert_str_eq(err.message, "Previous response with id 'resp_x' not found.");
    ru_parsed_free(&p);
}

/* A caller on an event loop (defer_store) gets GW_PARSE_STORE for a body whose conversation
 * is read from the store, having read nothing: the id nobody stored is not even looked for.
 * Any other body parses as it would without the flag. */
Test(responses_parse, a_body_that_reads_the_store_is_deferred_unread)
{
    static const char *const deferred[] = {
        "{\"model\":\"m\",\"previous_response_id\":\"resp_x\",\"input\":\"more\"}",
        "{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"msg_x\"}]}", NULL};
    for (int i = 0; deferred[i]; i++) {
        struct gw_inbound in = {.body = deferred[i],
                                .len = strlen(deferred[i]),
                                .path = "/v1/responses",
                                .header = NULL,
                                .defer_store = 1};
        struct gw_parsed p;
        struct gw_front_err err;
        memset(&p, 0, sizeof p);
        cr_assert_eq(gw_responses_parse(&in, &p, &err), GW_PARSE_STORE, "%s: %s", deferred[i],
                     err.message);
        gw_parsed_free(&p);
    }
    const char *plain = "{\"model\":\"m\",\"input\":\"previous_response_id\"}";
    struct gw_inbound in = {
        .body = plain, .len = strlen(plain), .path = "/v1/responses", .defer_store = 1};
    struct gw_parsed p;
    struct gw_front_err err;
    memset(&p, 0, sizeof p);
    cr_assert_eq(gw_responses_parse(&in, &p, &err), 0, "%s", err.message);
    cr_assert_not_null(p.body);
    gw_parsed_free(&p);
}

struct bad {
    const char *body;
    const char *param;
    const char *code;
    int rc;
};

Test(responses_parse, refusals_name_the_field)
{
    static const struct bad cases[] = {
        {"[1]", NULL, NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":", NULL, "invalid_json", AIGW_EINVAL},
        {"{\"input\":\"x\"}", "model", NULL, AIGW_EINVAL},
        {"{\"model\":\"\",\"input\":\"x\"}", "model", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\"}", "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[]}", "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":5}", "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[5]}", "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[{\"type\":\"bogus\"}]}", "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "input", NULL,
         AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[{\"type\":\"function_call\",\"name\":\"f\","
         "\"arguments\":\"{}\"}]}",
         "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\"}]}",
         "input", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"input_image\",\"file_id\":\"file-1\"}]}]}",
         "input", "unsupported", AIGW_ENOTSUP},
        {"{\"model\":\"m\",\"input\":\"x\",\"stream\":\"yes\"}", "stream", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"temperature\":3}", "temperature", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":0}", "max_output_tokens", NULL,
         AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"truncation\":\"some\"}", "truncation", NULL,
         AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"background\":true}", "background", "unsupported",
         AIGW_ENOTSUP},
        {"{\"model\":\"m\",\"input\":\"x\",\"conversation\":\"conv_1\"}", "conversation",
         "unsupported", AIGW_ENOTSUP},
        {"{\"model\":\"m\",\"input\":\"x\",\"tools\":{}}", "tools", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\"}]}", "tools", NULL,
         AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"a\"},"
         "{\"type\":\"function\",\"name\":\"a\"}]}",
         "tools", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"a\"}],"
         "\"tool_choice\":\"sometimes\"}",
         "tool_choice", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"a\"}],"
         "\"tool_choice\":{\"type\":\"function\",\"name\":\"zz\"}}",
         "tool_choice", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"yaml\"}}}",
         "text.format.type", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_schema\"}}}",
         "text.format", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"reasoning\":{\"effort\":\"max\"}}", "reasoning.effort",
         NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"include\":[1]}", "include", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"a\":1}}", "metadata", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"1\":\"\",\"2\":\"\",\"3\":\"\","
         "\"4\":\"\",\"5\":\"\",\"6\":\"\",\"7\":\"\",\"8\":\"\",\"9\":\"\",\"10\":\"\","
         "\"11\":\"\",\"12\":\"\",\"13\":\"\",\"14\":\"\",\"15\":\"\",\"16\":\"\",\"17\":\"\"}}",
         "metadata", NULL, AIGW_EINVAL},
        {"{\"model\":\"m\",\"previous_response_id\":\"resp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
         "previous_response_id", "previous_response_not_found", AIGW_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_parsed p;
        struct gw_front_err err;
        int rc = ru_parse(cases[i].body, strlen(cases[i].body), &p, &err);
        cr_assert_eq(rc, cases[i].rc, "%s -> %d", cases[i].body, rc);
        cr_assert_eq(err.status, 400, "%s", cases[i].body);
        cr_assert(err.message[0], "%s explains itself", cases[i].body);
        if (cases[i].param)
            cr_assert(err.param && !strcmp(err.param, cases[i].param), "%s: param %s",
                      cases[i].body, err.param ? err.param : "(null)");
        if (cases[i].code)
            cr_assert(err.code && !strcmp(err.code, cases[i].code), "%s: code %s", cases[i].body,
                      err.code ? err.code : "(null)");
        ru_parsed_free(&p);
    }
}

Test(responses_parse, invalid_utf8_is_refused_with_its_offset)
{
    const char body[] = "{\"model\":\"m\",\"input\":\"\xff\"}";
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, sizeof body - 1, &p, &err), AIGW_EINVAL);
    cr_assert_str_eq(err.code, "invalid_utf8");
    cr_assert(strstr(err.message, "offset 22"), "%s", err.message);
    ru_parsed_free(&p);
}

/* The real request Codex 0.169 sent, from ../shared (skipped where absent; never copied). */
Test(responses_parse, conformance_recorded_codex_request)
{
    const char *dir = getenv("AIGW_SHARED_FIXTURES");
    char path[4096];
    if (!dir)
        cr_skip_test("shared fixtures absent");
    snprintf(path, sizeof path, "%s/../inbound/codex-cli-0.169.0.responses.request.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        cr_skip_test("shared fixtures absent");
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        gw_buf_append(&b, tmp, n);
    fclose(f);
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(b.ptr, b.len, &p, &err), 0, "%s", err.message);
    struct gw_resp_ctx *ctx = p.ctx;
    cr_assert(p.stream);
    cr_assert_eq(ctx->store, 0);
    cr_assert(ctx->want_encrypted);
    cr_assert(strstr(p.dropped_tools, "web_search"), "%s", p.dropped_tools);
    const struct gw_resp_tool *t = gw_resp_tool_by_flat(ctx, "multi_agent_v1__spawn_agent");
    cr_assert_not_null(t, "namespace tools are flattened");
    cr_assert_str_eq(t->ns, "multi_agent_v1");
    /* developer messages became system, user messages stayed */
    cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")->valuestring,
                     "system");
    cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
    cr_assert_str_eq(cJSON_GetObjectItem(last, "content")->valuestring, "Say PONG");
    cr_assert_str_eq(cJSON_GetObjectItem(p.body, "tool_choice")->valuestring, "auto");
    ru_parsed_free(&p);
    gw_buf_free(&b);
}

/* Members chat completions takes under the same names reach the upstream request: Codex's
 * prompt_cache_key (its conversation id) keeps OpenAI's prompt cache hitting between turns. */
Test(responses_parse, same_named_members_and_verbosity_reach_the_chat_body)
{
    const char *body = "{\"model\":\"m\",\"input\":\"x\",\"prompt_cache_key\":\"conv-1\","
                       "\"prompt_cache_retention\":\"24h\",\"safety_identifier\":\"u-9\","
                       "\"service_tier\":\"flex\",\"text\":{\"verbosity\":\"low\"}}";
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, strlen(body), &p, &err), 0, "%s", err.message);
    static const char *const want[][2] = {{"prompt_cache_key", "conv-1"},
                                          {"prompt_cache_retention", "24h"},
                                          {"safety_identifier", "u-9"},
                                          {"service_tier", "flex"},
                                          {"verbosity", "low"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cJSON *v = cJSON_GetObjectItem(p.body, want[i][0]);
        cr_assert(cJSON_IsString(v) && !strcmp(v->valuestring, want[i][1]), "%s", want[i][0]);
    }
    ru_parsed_free(&p);
    const char *bad[] = {"{\"model\":\"m\",\"input\":\"x\",\"text\":{\"verbosity\":\"loud\"}}",
                         "{\"model\":\"m\",\"input\":\"x\",\"prompt_cache_retention\":24}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(ru_parse(bad[i], strlen(bad[i]), &p, &err), AIGW_EINVAL, "%s", bad[i]);
        cr_assert_eq(err.status, 400);
        ru_parsed_free(&p);
    }
}

/* ---- compaction (responses_compact.c) ---- */

static int decode(const char *enc, struct gw_buf *out)
{
    gw_buf_reset(out);
    return gw_resp_compaction_decode(enc, strlen(enc), out);
}

/* aigw's encrypted_content: its prefix, then the summary's bytes; what is not UTF-8 a JSON
 * string could carry whole is damaged, and anything without the prefix is not ours. */
Test(responses_parse, compaction_content_round_trip_and_refusals)
{
    struct gw_buf enc, out;
    gw_buf_init(&enc, 0);
    gw_buf_init(&out, 0);
    const char summary[] = "Asked: fix main.c. Done: é \"quoted\".";
    cr_assert_eq(gw_resp_compaction_encode(summary, sizeof summary - 1, &enc), 0);
    cr_assert(!strncmp(enc.ptr, GW_RESP_COMPACTION_PREFIX, strlen(GW_RESP_COMPACTION_PREFIX)));
    cr_assert_eq(decode(enc.ptr, &out), 0);
    cr_assert_str_eq(out.ptr, summary);
    cr_assert_eq(decode("gAAAAABopaque", &out), AIGW_ENOTSUP, "OpenAI's own");
    cr_assert_eq(decode(GW_RESP_COMPACTION_PREFIX "@@", &out), AIGW_EINVAL);
    cr_assert_eq(decode(GW_RESP_COMPACTION_PREFIX "YQBi", &out), AIGW_EINVAL, "a\\0b");
    cr_assert_eq(decode(GW_RESP_COMPACTION_PREFIX "/w==", &out), AIGW_EINVAL, "0xff");
    cr_assert_eq(decode(GW_RESP_COMPACTION_PREFIX, &out), 0, "an empty summary");
    gw_buf_free(&enc);
    gw_buf_free(&out);
}

/* The client's own body a Responses-speaking target would get: aigw's item is a user message
 * there too (OpenAI cannot read it), OpenAI's own stays for OpenAI. */
Test(responses_parse, compaction_item_rewritten_in_the_native_body)
{
    const char *body = "{\"model\":\"m\",\"input\":[{\"type\":\"compaction\",\"encrypted_content\":"
                       "\"" GW_RESP_COMPACTION_PREFIX "aGk=\"},{\"type\":\"compaction\","
                       "\"encrypted_content\":\"gAAAA\"},{\"role\":\"user\",\"content\":\"go\"}]}";
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, strlen(body), &p, &err), 0, "%s", err.message);
    const cJSON *in = cJSON_GetObjectItem(p.native, "input");
    const cJSON *m = cJSON_GetArrayItem(in, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(m, "type")->valuestring, "message");
    cr_assert_str_eq(cJSON_GetObjectItem(m, "role")->valuestring, "user");
    const char *text =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "content"), 0), "text")
            ->valuestring;
    cr_assert(strstr(text, "summary") && !strcmp(text + strlen(text) - 2, "hi"), "%s", text);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(in, 1), "type")->valuestring,
                     "compaction");
    /* the chat request: the summary, then the user's turn; the foreign item left out */
    const cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 2);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content")->valuestring,
                     text);
    ru_parsed_free(&p);
}

static const char *no_header(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

/* /v1/responses/compact: one unary summary call, nothing kept, no native body. */
Test(responses_parse, compact_endpoint_is_a_unary_summary_call)
{
    const char *body = "{\"model\":\"m\",\"stream\":true,\"store\":true,\"input\":\"hi\","
                       "\"text\":{\"format\":{\"type\":\"json_object\"}}}";
    struct gw_inbound in = {
        .body = body, .len = strlen(body), .path = "/v1/responses/compact", .header = no_header};
    struct gw_parsed p;
    struct gw_front_err err;
    memset(&p, 0, sizeof p);
    cr_assert_eq(gw_responses_parse_as(&in, &p, &err, GW_RESP_COMPACT_ENDPOINT), 0, "%s",
                 err.message);
    struct gw_resp_ctx *ctx = p.ctx;
    cr_assert_eq(ctx->compact, GW_RESP_COMPACT_ENDPOINT);
    cr_assert_eq(ctx->store, 0);
    cr_assert_eq(p.stream, 0);
    cr_assert_null(cJSON_GetObjectItem(p.body, "stream"));
    cr_assert_null(cJSON_GetObjectItem(p.body, "response_format"));
    cr_assert_null(p.native);
    const cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 2);
    cr_assert(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")->valuestring,
                     "call no tools"));
    ru_parsed_free(&p);
}

static int count_parse(const char *body, struct gw_parsed *p, struct gw_front_err *err)
{
    struct gw_inbound in = {.body = body,
                            .len = strlen(body),
                            .path = "/v1/responses/input_tokens",
                            .header = no_header};
    memset(p, 0, sizeof *p);
    return gw_responses_parse_count(&in, p, err);
}

/* POST /v1/responses/input_tokens: the request /v1/responses would send, counted: nothing
 * streamed, stored or compacted, the client's body not kept for forwarding, and the local
 * estimate taken from the translated messages (an image priced as one, not by its bytes). */
Test(responses_parse, input_tokens_is_a_count_of_the_translated_request)
{
    char *big = calloc(1, 40100);
    memset(big, 'A', 40000);
    char *body = calloc(1, 41000);
    snprintf(body, 41000,
             "{\"model\":\"m\",\"stream\":true,\"store\":true,\"instructions\":\"Be brief.\","
             "\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":"
             "\"What is in this picture?\"},{\"type\":\"input_image\",\"image_url\":"
             "\"data:image/png;base64,%s\"}]},{\"type\":\"compaction_trigger\"}],"
             "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"s\",\"schema\":"
             "{\"type\":\"object\"}}}}",
             big);
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(count_parse(body, &p, &err), 0, "%s", err.message);
    struct gw_resp_ctx *ctx = p.ctx;
    cr_assert_eq(p.op, AIGW_OP_COUNT_TOKENS);
    cr_assert_eq(ctx->count, 1);
    cr_assert_eq(p.stream, 0);
    cr_assert_null(cJSON_GetObjectItem(p.body, "stream"));
    cr_assert_eq(ctx->store, 0, "a count is no response to keep");
    cr_assert_eq(ctx->compact, GW_RESP_COMPACT_NONE, "a trigger is not a summary call here");
    cr_assert_null(p.native, "nothing may forward the client's body to generate from");
    const cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 2, "instructions and the user message");
    cr_assert_eq(ctx->input_estimate, gw_tokens_chat(p.body));
    /* the image at 1,600, the texts, the schema, per-message overhead: not 10,000 for the
     * data URL's bytes */
    cr_assert(ctx->input_estimate > 1600 && ctx->input_estimate < 1700, "%lld",
              (long long)ctx->input_estimate);
    ru_parsed_free(&p);
    free(body);
    free(big);

    cr_assert_neq(count_parse("{\"input\":\"hi\"}", &p, &err), 0);
    cr_assert_eq(err.status, 400);
    cr_assert_str_eq(err.param, "model");
    ru_parsed_free(&p);
    cr_assert_neq(count_parse("{\"model\":\"m\",\"input\":\"hi\",\"background\":true}", &p, &err),
                  0, "what /v1/responses refuses, a count refuses too");
    ru_parsed_free(&p);
}

/* The chat-shaped estimate: each message, text part, tool call and tool counted. */
Test(responses_parse, chat_estimate_counts_every_part)
{
    cJSON *b = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}");
    int64_t one = gw_tokens_chat(b);
    cr_assert_eq(one, 1 + 3 + 2, "a base, a message, 8 ASCII characters");
    cJSON_AddItemToArray(cJSON_GetObjectItem(b, "messages"),
                         cJSON_Parse("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                                     "[{\"id\":\"c\",\"type\":\"function\",\"function\":"
                                     "{\"name\":\"shell\",\"arguments\":\"{\\\"cmd\\\":1}\"}}]}"));
    int64_t two = gw_tokens_chat(b);
    cr_assert_eq(two, one + 3 + 3 + 2 + 3, "a message, a call, its name and arguments");
    cJSON_AddItemToObject(b, "tools",
                          cJSON_Parse("[{\"type\":\"function\",\"function\":"
                                      "{\"name\":\"shell\"}}]"));
    cr_assert_gt(gw_tokens_chat(b), two);
    cJSON_Delete(b);
}
