/*
 * test_ollama - the Ollama native-API plugin through the real loader, exchange and renderer:
 * request translation (options, images, tools, format, think), non-stream and NDJSON streams
 * (whole and split at every byte), tool calls, usage, errors before and during a stream,
 * embeddings, the model list, secrets, and a replay of the shared recordings when present.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/harness.h"
#include "plugins/testutil.h"

#define J(s) tu_json(s)
#define at(o, path) tu_at(o, path)
#define expect_str(o, path, want) tu_expect_str(o, path, want)
#define expect_num(o, path, want) tu_expect_num(o, path, want)
#define expect_absent(o, path) tu_expect_absent(o, path)

#define CANARY "sk-CANARY-1234"
#define HOST "http://mock.test:11434"
#define ND_HDR "Content-Type: application/x-ndjson\r\n"
#define JSON_HDR "Content-Type: application/json; charset=utf-8\r\n"

static void setup(void)
{
    ph_env("OLLAMA_HOST", HOST "/", NULL);
    ph_unenv("OLLAMA_BASE_URL", "OLLAMA_API_KEY", NULL);
}

TestSuite(ollama, .init = setup);

static void expect_usage(struct ph_call *c, double prompt, double completion)
{
    cJSON *u = ph_usage(c);
    cr_assert_not_null(u, "no usage in %s", ph_output(c));
    expect_num(u, "prompt_tokens", prompt);
    expect_num(u, "completion_tokens", completion);
    expect_num(u, "total_tokens", prompt + completion);
    expect_absent(u, "prompt_tokens_details");
}

static int starts_ends(const char *s, const char *pre, const char *suf)
{
    size_t n = strlen(s), a = strlen(pre), b = strlen(suf);
    return n > a + b && strncmp(s, pre, a) == 0 && strcmp(s + n - b, suf) == 0;
}

static const char *CHAT = "{'model':'ollama/llama3.2','messages':[{'role':'user','content':'x'}]}";
static const char *STREAM = "{'model':'llama3.2','stream':true,"
                            "'stream_options':{'include_usage':true},"
                            "'messages':[{'role':'user','content':'x'}]}";

static struct ph_call *chat_fixture(const char *fixture)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, fixture, 0), 0);
    cr_assert_eq(ph_client_status(c), 200);
    return c;
}

static struct ph_call *stream_fixture(const char *fixture, size_t split)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(STREAM));
    cr_assert_eq(ph_respond_file(c, 200, ND_HDR, fixture, split), 0);
    cr_assert_eq(ph_client_status(c), 200);
    cr_assert(ph_sse_done(c), "stream did not end with [DONE]: %s", ph_output(c));
    return c;
}

/* Ollama stamps every line, so even "created" must match exactly between the two runs. */
static void expect_split_identical(const char *fixture)
{
    tu_expect_split_identical(stream_fixture, fixture, 0);
}

/* ---- request translation ---------------------------------------------------------------- */

Test(ollama, request_basic)
{
    struct ph_call *c = ph_begin(
        "ollama", AIGW_OP_CHAT,
        J("{'model':'ollama/llama3.2','messages':["
          "{'role':'system','content':'Be brief.'},"
          "{'role':'developer','content':'Use metric units.'},"
          "{'role':'user','content':'Hi','name':'bob'}],"
          "'temperature':0.2,'top_p':0.8,'seed':11,'max_tokens':40,'max_completion_tokens':60,"
          "'frequency_penalty':0.5,'presence_penalty':0.25,'stop':'END','top_k':30,"
          "'num_ctx':8192,'min_p':0.05,'repeat_penalty':1.1,"
          "'options':{'num_gpu':1,'temperature':9},'keep_alive':'10m','n':1,'user':'u',"
          "'logit_bias':{'1':2},'parallel_tool_calls':false}"));
    cJSON *b = ph_body_json(c);

    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), HOST "/api/chat");
    cr_assert_null(ph_header(c, "Authorization"));
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/json");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    expect_str(b, "model", "llama3.2");
    cr_assert(cJSON_IsFalse(at(b, "stream")), "stream must be sent as false");
    cr_assert_eq(cJSON_GetArraySize(at(b, "messages")), 3);
    expect_str(b, "messages.0.role", "system");
    expect_str(b, "messages.0.content", "Be brief.");
    expect_str(b, "messages.1.role", "system");
    expect_str(b, "messages.1.content", "Use metric units.");
    expect_str(b, "messages.2.role", "user");
    expect_str(b, "messages.2.content", "Hi");
    expect_absent(b, "messages.2.name");
    expect_absent(b, "messages.2.images");
    expect_num(b, "options.temperature", 0.2);
    expect_num(b, "options.top_p", 0.8);
    expect_num(b, "options.seed", 11);
    expect_num(b, "options.num_predict", 60);
    expect_num(b, "options.frequency_penalty", 0.5);
    expect_num(b, "options.presence_penalty", 0.25);
    expect_num(b, "options.top_k", 30);
    expect_num(b, "options.num_ctx", 8192);
    expect_num(b, "options.min_p", 0.05);
    expect_num(b, "options.repeat_penalty", 1.1);
    expect_num(b, "options.num_gpu", 1);
    cr_assert_eq(cJSON_GetArraySize(at(b, "options.stop")), 1);
    expect_str(b, "options.stop.0", "END");
    expect_str(b, "keep_alive", "10m");
    expect_absent(b, "temperature");
    expect_absent(b, "max_tokens");
    expect_absent(b, "num_ctx");
    expect_absent(b, "stop");
    expect_absent(b, "n");
    expect_absent(b, "user");
    expect_absent(b, "logit_bias");
    expect_absent(b, "parallel_tool_calls");
    expect_absent(b, "tools");
    expect_absent(b, "format");
    expect_absent(b, "think");
    ph_free(c);
}

Test(ollama, request_minimal_has_no_options)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
    cJSON *b = ph_body_json(c);

    expect_absent(b, "options");
    expect_absent(b, "keep_alive");
    cr_assert(cJSON_IsFalse(at(b, "stream")));
    ph_free(c);
}

Test(ollama, request_stream)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT,
                                 J("{'model':'llama3.2','stream':true,'max_tokens':5,"
                                   "'stop':['a','b'],'stream_options':{'include_usage':true},"
                                   "'keep_alive':0,'messages':[{'role':'user','content':'x'}]}"));
    cJSON *b = ph_body_json(c);

    cr_assert_eq(ph_framing(c), AIGW_FRAMING_NDJSON);
    cr_assert(cJSON_IsTrue(at(b, "stream")));
    expect_absent(b, "stream_options");
    expect_num(b, "options.num_predict", 5);
    expect_str(b, "options.stop.1", "b");
    expect_num(b, "keep_alive", 0);
    ph_free(c);
}

Test(ollama, host_forms)
{
    static const struct {
        const char *env, *url;
    } cases[] = {
        {"127.0.0.1", "http://127.0.0.1:11434/api/chat"},
        {"localhost:9999", "http://localhost:9999/api/chat"},
        {"[::1]", "http://[::1]:11434/api/chat"},
        {"[::1]:8080", "http://[::1]:8080/api/chat"},
        {"https://ollama.example.test", "https://ollama.example.test/api/chat"},
        {"http://box:11434///", "http://box:11434/api/chat"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ph_call *c;
        ph_env("OLLAMA_HOST", cases[i].env, NULL);
        c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
        cr_assert_str_eq(ph_url(c), cases[i].url, "OLLAMA_HOST=%s", cases[i].env);
        ph_free(c);
    }
    ph_env("OLLAMA_BASE_URL", "http://proxy.test/ollama/", NULL);
    {
        struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
        cr_assert_str_eq(ph_url(c), "http://proxy.test/ollama/api/chat");
        ph_free(c);
    }
}

Test(ollama, auth_header_when_key_set)
{
    struct ph_call *c;

    ph_env("OLLAMA_API_KEY", CANARY, NULL);
    c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_null(strstr(ph_body(c), CANARY));
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "ollama/chat.json", 0), 0);
    cr_assert_null(strstr(ph_output(c), CANARY));
    ph_free(c);
}

Test(ollama, secret_echoed_by_upstream_is_scrubbed)
{
    static const char body[] = "{\"error\":\"unauthorized: key " CANARY " is not valid\"}";
    struct ph_call *c;

    ph_env("OLLAMA_API_KEY", CANARY, NULL);
    c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
    cr_assert_eq(ph_respond(c, 401, JSON_HDR, body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 401);
    expect_str(ph_output_json(c), "error.type", "authentication_error");
    cr_assert_null(strstr(ph_output(c), CANARY), "secret leaked: %s", ph_output(c));
    ph_free(c);
}

Test(ollama, request_images)
{
    struct ph_call *c = ph_begin(
        "ollama", AIGW_OP_CHAT,
        J("{'model':'llava','messages':[{'role':'user','content':["
          "{'type':'text','text':'What is in '},"
          "{'type':'image_url','image_url':{'url':'data:image/png;base64,iVBORw0KGgo='}},"
          "{'type':'text','text':'these pictures?'},"
          "{'type':'image_url','image_url':{'url':'data:image/jpeg;base64,/9j/4AAQ'}}]}]}"));
    cJSON *b = ph_body_json(c);

    expect_str(b, "messages.0.content", "What is in these pictures?");
    cr_assert_eq(cJSON_GetArraySize(at(b, "messages.0.images")), 2);
    expect_str(b, "messages.0.images.0", "iVBORw0KGgo=");
    expect_str(b, "messages.0.images.1", "/9j/4AAQ");
    ph_free(c);
}

Test(ollama, request_http_image_rejected)
{
    int rc;
    struct ph_call *c = ph_begin_rc(
        "ollama", AIGW_OP_CHAT,
        J("{'model':'llava','messages':[{'role':'user','content':["
          "{'type':'image_url','image_url':{'url':'https://example.test/cat.png'}}]}]}"),
        &rc);

    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    expect_str(ph_output_json(c), "error.type", "invalid_request_error");
    cr_assert_not_null(ph_error(c));
    cr_assert_not_null(strstr(ph_error(c)->message, "http(s) image URLs are not supported"), "%s",
                       ph_error(c)->message);
    cr_assert_not_null(strstr(ph_output(c), "http(s) image URLs are not supported"), "%s",
                       ph_output(c));
    ph_free(c);

    c = ph_begin_rc("ollama", AIGW_OP_CHAT,
                    J("{'model':'llava','messages':[{'role':'user','content':["
                      "{'type':'image_url','image_url':{'url':'data:text/plain,hello'}}]}]}"),
                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    ph_free(c);

    c = ph_begin_rc("ollama", AIGW_OP_CHAT,
                    J("{'model':'llava','messages':[{'role':'user','content':["
                      "{'type':'input_audio','input_audio':{'data':'AA','format':'wav'}}]}]}"),
                    &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    expect_str(ph_output_json(c), "error.code", "unsupported");
    ph_free(c);
}

Test(ollama, request_tool_round_trip)
{
    struct ph_call *c = ph_begin(
        "ollama", AIGW_OP_CHAT,
        J("{'model':'qwen3:8b','messages':["
          "{'role':'user','content':'Weather in Oslo?'},"
          "{'role':'assistant','content':null,'reasoning_content':'Need the tool.',"
          "'tool_calls':[{'id':'call_0','type':'function','function':{'name':'get_forecast',"
          "'arguments':'{\\'city\\':\\'Oslo\\',\\'days\\':3}'}},"
          "{'id':'call_1','type':'function','function':{'name':'get_time','arguments':''}}]},"
          "{'role':'tool','tool_call_id':'call_0','content':'-3C snow'},"
          "{'role':'tool','tool_call_id':'call_1','content':'09:00'},"
          "{'role':'assistant','content':'It is -3C.'},"
          "{'role':'user','content':'And the time in Rome?'},"
          "{'role':'assistant','content':'','tool_calls':[{'id':'call_0','type':'function',"
          "'function':{'name':'get_time','arguments':'{\\'tz\\':\\'Europe/Rome\\'}'}}]},"
          "{'role':'tool','tool_call_id':'call_0','content':'09:00'},"
          "{'role':'tool','tool_call_id':'call_unknown','content':'?'}],"
          "'tools':[{'type':'function','function':{'name':'get_forecast','strict':true,"
          "'description':'Forecast','parameters':{'type':'object','properties':"
          "{'city':{'type':'string'},'days':{'type':'integer'}}}}},"
          "{'type':'function','function':{'name':'get_time','parameters':{'type':'object'}}}],"
          "'tool_choice':'required'}"));
    cJSON *b = ph_body_json(c);

    cr_assert_eq(cJSON_GetArraySize(at(b, "messages")), 9);
    expect_str(b, "messages.1.role", "assistant");
    expect_str(b, "messages.1.content", "");
    expect_str(b, "messages.1.thinking", "Need the tool.");
    expect_str(b, "messages.1.tool_calls.0.function.name", "get_forecast");
    cr_assert(cJSON_IsObject(at(b, "messages.1.tool_calls.0.function.arguments")));
    expect_str(b, "messages.1.tool_calls.0.function.arguments.city", "Oslo");
    expect_num(b, "messages.1.tool_calls.0.function.arguments.days", 3);
    cr_assert(cJSON_IsObject(at(b, "messages.1.tool_calls.1.function.arguments")));
    cr_assert_null(at(b, "messages.1.tool_calls.1.function.arguments")->child);
    expect_str(b, "messages.2.role", "tool");
    expect_str(b, "messages.2.content", "-3C snow");
    expect_str(b, "messages.2.tool_name", "get_forecast");
    expect_absent(b, "messages.2.tool_call_id");
    expect_str(b, "messages.3.tool_name", "get_time");
    /* call_0 reused in a later turn: the nearest earlier assistant message decides. */
    expect_str(b, "messages.7.tool_name", "get_time");
    expect_absent(b, "messages.8.tool_name");
    cr_assert_eq(cJSON_GetArraySize(at(b, "tools")), 2);
    expect_str(b, "tools.0.type", "function");
    expect_str(b, "tools.0.function.name", "get_forecast");
    expect_str(b, "tools.0.function.description", "Forecast");
    expect_str(b, "tools.0.function.parameters.properties.days.type", "integer");
    expect_absent(b, "tools.0.function.strict");
    expect_absent(b, "tool_choice");
    ph_free(c);
}

Test(ollama, request_tool_choice_none_withholds_tools)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT,
                                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                                   "'tools':[{'type':'function','function':{'name':'a'}}],"
                                   "'tool_choice':'none'}"));
    expect_absent(ph_body_json(c), "tools");
    ph_free(c);
}

Test(ollama, request_bad_tool_arguments)
{
    int rc;
    struct ph_call *c = ph_begin_rc(
        "ollama", AIGW_OP_CHAT,
        J("{'model':'m','messages':[{'role':'assistant','content':null,'tool_calls':[{'id':'a',"
          "'type':'function','function':{'name':'f','arguments':'not json'}}]}]}"),
        &rc);

    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

Test(ollama, request_format)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT,
                                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                                   "'response_format':{'type':'json_object'}}"));
    expect_str(ph_body_json(c), "format", "json");
    expect_absent(ph_body_json(c), "response_format");
    ph_free(c);

    c = ph_begin("ollama", AIGW_OP_CHAT,
                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                   "'response_format':{'type':'json_schema','json_schema':{'name':'p',"
                   "'strict':true,'schema':{'type':'object','properties':{'age':"
                   "{'type':'integer'}},'required':['age']}}}}"));
    cJSON *b = ph_body_json(c);
    cr_assert(cJSON_IsObject(at(b, "format")));
    expect_str(b, "format.type", "object");
    expect_str(b, "format.properties.age.type", "integer");
    expect_str(b, "format.required.0", "age");
    expect_absent(b, "format.name");
    ph_free(c);

    c = ph_begin("ollama", AIGW_OP_CHAT,
                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                   "'response_format':{'type':'text'}}"));
    expect_absent(ph_body_json(c), "format");
    ph_free(c);
}

Test(ollama, request_think)
{
    static const struct {
        const char *effort;
        const char *want; /* NULL: false */
    } cases[] = {{"none", NULL},       {"minimal", "low"}, {"low", "low"},
                 {"medium", "medium"}, {"high", "high"},   {"xhigh", "max"}};
    char req[256];
    size_t i;
    struct ph_call *c;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req, sizeof req,
                 "{'model':'m','reasoning_effort':'%s','messages':[{'role':'user','content':'x'}]}",
                 cases[i].effort);
        c = ph_begin("ollama", AIGW_OP_CHAT, J(req));
        if (cases[i].want)
            expect_str(ph_body_json(c), "think", cases[i].want);
        else
            cr_assert(cJSON_IsFalse(at(ph_body_json(c), "think")), "%s", cases[i].effort);
        expect_absent(ph_body_json(c), "reasoning_effort");
        ph_free(c);
    }
    c = ph_begin("ollama", AIGW_OP_CHAT,
                 J("{'model':'m','think':true,'reasoning_effort':'low',"
                   "'messages':[{'role':'user','content':'x'}]}"));
    cr_assert(cJSON_IsTrue(at(ph_body_json(c), "think")));
    ph_free(c);
}

/* ---- non-stream responses --------------------------------------------------------------- */

Test(ollama, chat_text)
{
    struct ph_call *c = chat_fixture("ollama/chat.json");
    cJSON *o = ph_output_json(c);

    expect_str(o, "object", "chat.completion");
    cr_assert(starts_ends(cJSON_GetStringValue(at(o, "id")), "chatcmpl-", ""), "id");
    expect_str(o, "model", "llama3.2");
    expect_num(o, "created", 1709634030);
    expect_str(o, "choices.0.message.role", "assistant");
    expect_str(o, "choices.0.message.content",
               "The sky looks blue because air scatters short wavelengths most.");
    expect_absent(o, "choices.0.message.tool_calls");
    expect_absent(o, "choices.0.message.reasoning_content");
    expect_str(o, "choices.0.finish_reason", "stop");
    expect_usage(c, 31, 14);
    ph_free(c);
}

Test(ollama, chat_tool_calls)
{
    struct ph_call *c = chat_fixture("ollama/chat_tools.json");
    cJSON *o = ph_output_json(c);
    const char *id0, *id1;

    expect_str(o, "model", "qwen3:8b");
    cr_assert(cJSON_IsNull(at(o, "choices.0.message.content")));
    cr_assert_eq(cJSON_GetArraySize(at(o, "choices.0.message.tool_calls")), 2);
    id0 = cJSON_GetStringValue(at(o, "choices.0.message.tool_calls.0.id"));
    id1 = cJSON_GetStringValue(at(o, "choices.0.message.tool_calls.1.id"));
    cr_assert(id0 && starts_ends(id0, "call_", "_0"), "id0 %s", id0 ? id0 : "(null)");
    cr_assert(id1 && starts_ends(id1, "call_", "_1"), "id1 %s", id1 ? id1 : "(null)");
    expect_str(o, "choices.0.message.tool_calls.0.type", "function");
    expect_str(o, "choices.0.message.tool_calls.0.function.name", "get_forecast");
    expect_str(o, "choices.0.message.tool_calls.0.function.arguments",
               "{\"city\":\"Oslo\",\"days\":3}");
    expect_str(o, "choices.0.message.tool_calls.1.function.name", "get_time");
    expect_str(o, "choices.0.message.tool_calls.1.function.arguments", "{\"tz\":\"Europe/Oslo\"}");
    expect_str(o, "choices.0.finish_reason", "tool_calls");
    expect_usage(c, 212, 37);
    ph_free(c);
}

Test(ollama, chat_thinking)
{
    struct ph_call *c = chat_fixture("ollama/chat_thinking.json");
    cJSON *o = ph_output_json(c);

    expect_str(o, "choices.0.message.content", "17 is prime.");
    expect_str(o, "choices.0.message.reasoning_content",
               "Check divisors up to 4: 2, 3 do not divide 17.");
    expect_num(o, "created", 1739170860);
    expect_str(o, "choices.0.finish_reason", "stop");
    expect_usage(c, 18, 29);
    ph_free(c);
}

Test(ollama, chat_error_in_200_body)
{
    static const char body[] = "{\"error\":\"model runner crashed\"}";
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));

    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 502);
    expect_str(ph_output_json(c), "error.message", "model runner crashed");
    ph_free(c);
}

Test(ollama, chat_garbage_is_protocol_error)
{
    static const char body[] = "[1,2,3]";
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));

    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, sizeof body - 1, 0), AIGW_EPROTO);
    cr_assert_eq(ph_client_status(c), 502);
    ph_free(c);
}

/* ---- streams ---------------------------------------------------------------------------- */

Test(ollama, stream_text)
{
    struct ph_call *c = stream_fixture("ollama/stream_text.ndjson", 0);
    cJSON *ev = ph_sse_events(c);

    cr_assert_str_eq(ph_stream_text(c),
                     "Why did the chicken cross the road?\nTo get to the other side été 🐔.");
    cr_assert_str_eq(ph_stream_reasoning(c), "");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    expect_str(ev, "0.model", "llama3.2");
    expect_num(ev, "0.created", 1709659230);
    expect_str(ev, "0.choices.0.delta.role", "assistant");
    expect_usage(c, 24, 19);
    cr_assert_null(ph_stream_tool_name(c, 0));
    ph_free(c);
    expect_split_identical("ollama/stream_text.ndjson");
}

Test(ollama, stream_tool_calls)
{
    struct ph_call *c = stream_fixture("ollama/stream_tools.ndjson", 0);
    const char *id0;

    cr_assert_str_eq(ph_stream_text(c), "");
    cr_assert_str_eq(ph_stream_reasoning(c), "The user wants the forecast.");
    id0 = ph_stream_tool_id(c, 0);
    cr_assert(id0 && starts_ends(id0, "call_", "_0"), "id0 %s", id0 ? id0 : "(null)");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "get_forecast");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"city\":\"Oslo\",\"days\":3}");
    cr_assert_str_eq(ph_stream_tool_id(c, 1), "call_x7k2");
    cr_assert_str_eq(ph_stream_tool_name(c, 1), "get_time");
    cr_assert_str_eq(ph_stream_tool_args(c, 1), "{\"tz\":\"Europe/Oslo\"}");
    cr_assert_null(ph_stream_tool_name(c, 2));
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    expect_usage(c, 215, 41);
    ph_free(c);
    expect_split_identical("ollama/stream_tools.ndjson");
}

Test(ollama, stream_thinking_and_length)
{
    struct ph_call *c = stream_fixture("ollama/stream_thinking.ndjson", 0);

    cr_assert_str_eq(ph_stream_reasoning(c), "Count to three.");
    cr_assert_str_eq(ph_stream_text(c), "1, 2, 3");
    cr_assert_str_eq(ph_stream_finish(c), "length");
    /* prompt_eval_count is left out by Ollama when the prompt was fully cached: 0. */
    expect_usage(c, 0, 12);
    ph_free(c);
    expect_split_identical("ollama/stream_thinking.ndjson");
}

Test(ollama, stream_error_midway)
{
    struct ph_call *c = stream_fixture("ollama/stream_error.ndjson", 0);
    cJSON *ev = ph_sse_events(c);
    const cJSON *last = cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 1);

    cr_assert_str_eq(ph_stream_text(c), "Once upon");
    cr_assert_null(ph_stream_finish(c));
    expect_str(last, "error.message",
               "an error was encountered while running the model: out of memory");
    expect_str(last, "error.type", "server_error");
    cr_assert_not_null(ph_error(c));
    ph_free(c);
    expect_split_identical("ollama/stream_error.ndjson");
}

Test(ollama, stream_without_include_usage_has_no_usage_chunk)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT,
                                 J("{'model':'llama3.2','stream':true,"
                                   "'messages':[{'role':'user','content':'x'}]}"));
    cr_assert_eq(ph_respond_file(c, 200, ND_HDR, "ollama/stream_text.ndjson", 0), 0);
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert_null(ph_usage(c));
    ph_free(c);
}

Test(ollama, stream_malformed_line)
{
    static const char body[] = "{\"model\":\"m\",\"message\":{\"content\":\"a\"},\"done\":false}\n"
                               "not json at all\n";
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(STREAM));

    cr_assert_eq(ph_respond(c, 200, ND_HDR, body, sizeof body - 1, 0), AIGW_EPROTO);
    ph_free(c);
}

/* ---- errors ----------------------------------------------------------------------------- */

static struct ph_call *error_fixture(int status, const char *headers, const char *fixture,
                                     int stream)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(stream ? STREAM : CHAT));
    cr_assert_eq(ph_respond_file(c, status, headers, fixture, 0), 0);
    cr_assert_not_null(ph_error(c));
    return c;
}

Test(ollama, error_404_model_not_found_before_stream)
{
    struct ph_call *c = error_fixture(404, JSON_HDR, "ollama/error_404.json", 1);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 404);
    expect_str(o, "error.type", "not_found_error");
    expect_str(o, "error.code", "model_not_found");
    expect_str(o, "error.message", "model 'mistery-model:7b' not found");
    cr_assert_eq(ph_error(c)->retryable, 0);
    cr_assert_null(strstr(ph_output(c), "data:"));
    ph_free(c);
}

Test(ollama, error_400)
{
    struct ph_call *c = error_fixture(400, JSON_HDR, "ollama/error_400.json", 0);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 400);
    expect_str(o, "error.type", "invalid_request_error");
    expect_str(o, "error.message", "invalid options: num_gpu must be a number");
    cr_assert_eq(ph_error(c)->retryable, 0);
    ph_free(c);
}

Test(ollama, error_500_retryable)
{
    struct ph_call *c = error_fixture(500, JSON_HDR, "ollama/error_500.json", 0);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 500);
    expect_str(o, "error.type", "server_error");
    cr_assert_eq(ph_error(c)->retryable, 1);
    ph_free(c);
}

Test(ollama, error_429_retry_after)
{
    static const char body[] = "{\"error\":\"too many requests\"}";
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));

    cr_assert_eq(ph_respond(c, 429, JSON_HDR "Retry-After: 3\r\n", body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 429);
    expect_str(ph_output_json(c), "error.type", "rate_limit_error");
    cr_assert_eq(ph_error(c)->retryable, 1);
    cr_assert_eq(ph_error(c)->retry_after_ms, 3000);
    ph_free(c);
}

Test(ollama, error_openai_shaped_from_proxy)
{
    static const char body[] =
        "{\"error\":{\"message\":\"Unauthorized\",\"type\":\"api_error\",\"param\":null,"
        "\"code\":null}}";
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));

    cr_assert_eq(ph_respond(c, 401, JSON_HDR, body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 401);
    expect_str(ph_output_json(c), "error.message", "Unauthorized");
    ph_free(c);
}

/* ---- embeddings and models -------------------------------------------------------------- */

Test(ollama, embeddings)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_EMBEDDINGS,
                                 J("{'model':'ollama/nomic-embed-text','input':['a','b'],"
                                   "'dimensions':4,'encoding_format':'float','user':'u',"
                                   "'keep_alive':'1m'}"));
    cJSON *b = ph_body_json(c), *o;

    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), HOST "/api/embed");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    expect_str(b, "model", "nomic-embed-text");
    expect_str(b, "input.0", "a");
    expect_str(b, "input.1", "b");
    expect_num(b, "dimensions", 4);
    expect_str(b, "keep_alive", "1m");
    expect_absent(b, "encoding_format");
    expect_absent(b, "user");

    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "ollama/embed.json", 0), 0);
    o = ph_output_json(c);
    expect_str(o, "object", "list");
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), 2);
    expect_num(o, "data.0.index", 0);
    expect_str(o, "data.0.object", "embedding");
    expect_num(o, "data.0.embedding.0", 0.5);
    expect_num(o, "data.0.embedding.3", 0.0625);
    expect_num(o, "data.1.index", 1);
    expect_num(o, "data.1.embedding.0", -0.75);
    expect_num(o, "usage.prompt_tokens", 9);
    expect_num(o, "usage.total_tokens", 9);
    ph_free(c);

    c = ph_begin("ollama", AIGW_OP_EMBEDDINGS, J("{'model':'nomic-embed-text','input':'one'}"));
    expect_str(ph_body_json(c), "input", "one");
    ph_free(c);
}

Test(ollama, embeddings_token_arrays_rejected)
{
    int rc;
    struct ph_call *c = ph_begin_rc("ollama", AIGW_OP_EMBEDDINGS,
                                    J("{'model':'nomic-embed-text','input':[[1,2],[3]]}"), &rc);

    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

Test(ollama, models_list)
{
    struct ph_call *c = ph_begin("ollama", AIGW_OP_MODELS, "{}");
    cJSON *o;

    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), HOST "/api/tags");
    cr_assert_eq(ph_body_len(c), 0);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "ollama/tags.json", 0), 0);
    o = ph_output_json(c);
    expect_str(o, "object", "list");
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), 2);
    expect_str(o, "data.0.id", "qwen3:8b");
    expect_str(o, "data.1.id", "nomic-embed-text:latest");
    ph_free(c);
}

/* ---- conformance: the shared recordings ------------------------------------------------- */

static char *read_shared(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static const char *shared_dir(void)
{
    static char dir[4096];
    const char *root = getenv("AIGW_SHARED_FIXTURES");
    DIR *d;

    if (!root)
        return NULL;
    snprintf(dir, sizeof dir, "%s/ollama", root);
    d = opendir(dir);
    if (!d)
        return NULL;
    closedir(d);
    return dir;
}

/* The done:true object of a recording (the last line of a stream). */
static cJSON *final_object(const char *body)
{
    const char *p = body + strlen(body);

    while (p > body && (p[-1] == '\n' || p[-1] == '\r'))
        p--;
    while (p > body && p[-1] != '\n')
        p--;
    return cJSON_Parse(p);
}

static void replay_chat(const char *dir, const char *name)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *c;
    cJSON *rec, *o;
    int tools;

    if (!body)
        return;
    rec = cJSON_Parse(body);
    cr_assert_not_null(rec);
    tools = cJSON_GetArraySize(at(rec, "message.tool_calls"));
    c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, len, 0), 0, "%s", name);
    o = ph_output_json(c);
    if (tools) {
        cr_assert_eq(cJSON_GetArraySize(at(o, "choices.0.message.tool_calls")), tools);
        expect_str(o, "choices.0.finish_reason", "tool_calls");
    } else {
        expect_str(o, "choices.0.message.content",
                   cJSON_GetStringValue(at(rec, "message.content")));
        expect_str(o, "choices.0.finish_reason", "stop");
    }
    expect_usage(c, cJSON_GetNumberValue(at(rec, "prompt_eval_count")),
                 cJSON_GetNumberValue(at(rec, "eval_count")));
    cJSON_Delete(rec);
    ph_free(c);
    free(body);
}

static void replay_stream(const char *dir, const char *name)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *a, *b;
    cJSON *fin;

    if (!body)
        return;
    fin = final_object(body);
    cr_assert_not_null(fin, "%s: last line is not JSON", name);
    a = ph_begin("ollama", AIGW_OP_CHAT, J(STREAM));
    b = ph_begin("ollama", AIGW_OP_CHAT, J(STREAM));
    cr_assert_eq(ph_respond(a, 200, ND_HDR, body, len, 0), 0);
    cr_assert_eq(ph_respond(b, 200, ND_HDR, body, len, 1), 0);
    cr_assert_str_eq(ph_output(a), ph_output(b), "%s: split=1 differs", name);
    cr_assert(ph_sse_done(a));
    cr_assert(strlen(ph_stream_text(a)) > 0 || ph_stream_tool_name(a, 0) != NULL,
              "%s: neither text nor tool calls", name);
    cr_assert_str_eq(ph_stream_finish(a), ph_stream_tool_name(a, 0) ? "tool_calls" : "stop");
    expect_usage(a, cJSON_GetNumberValue(at(fin, "prompt_eval_count")),
                 cJSON_GetNumberValue(at(fin, "eval_count")));
    cJSON_Delete(fin);
    ph_free(a);
    ph_free(b);
    free(body);
}

static void replay_embed(const char *dir, const char *name)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *c;
    cJSON *rec, *o;

    if (!body)
        return;
    rec = cJSON_Parse(body);
    cr_assert_not_null(rec);
    c = ph_begin("ollama", AIGW_OP_EMBEDDINGS, J("{'model':'all-minilm','input':['a']}"));
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, len, 0), 0, "%s", name);
    o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), cJSON_GetArraySize(at(rec, "embeddings")));
    expect_num(o, "data.0.embedding.0", cJSON_GetNumberValue(at(rec, "embeddings.0.0")));
    if (at(rec, "prompt_eval_count"))
        expect_num(o, "usage.prompt_tokens", cJSON_GetNumberValue(at(rec, "prompt_eval_count")));
    cJSON_Delete(rec);
    ph_free(c);
    free(body);
}

static void replay_tags(const char *dir, const char *name)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *c;
    cJSON *rec, *o;
    int i, n;

    if (!body)
        return;
    rec = cJSON_Parse(body);
    cr_assert_not_null(rec);
    c = ph_begin("ollama", AIGW_OP_MODELS, "{}");
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, len, 0), 0);
    o = ph_output_json(c);
    n = cJSON_GetArraySize(at(rec, "models"));
    cr_assert(n > 0);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), n);
    for (i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "models.%d.name", i);
        const char *want = cJSON_GetStringValue(at(rec, p));
        snprintf(p, sizeof p, "data.%d.id", i);
        expect_str(o, p, want);
    }
    cJSON_Delete(rec);
    ph_free(c);
    free(body);
}

static void replay_errors(const char *dir)
{
    size_t len;
    char *body = read_shared(dir, "error.json", &len);
    struct ph_call *c;

    if (body) {
        c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
        cr_assert_eq(ph_respond(c, 500, JSON_HDR, body, len, 0), 0);
        cr_assert_eq(ph_client_status(c), 500);
        expect_str(ph_output_json(c), "error.message", "the model failed to generate a response");
        cr_assert_eq(ph_error(c)->retryable, 1);
        ph_free(c);
        free(body);
    }
    /* A /api/generate transcript: its lines carry "response", not "message", so only the
     * final error line means anything to the chat translator. Nothing reached the client
     * before it, so the client still gets a proper error status instead of a stream. */
    body = read_shared(dir, "error_midstream_generate.ndjson", &len);
    if (body) {
        c = ph_begin("ollama", AIGW_OP_CHAT, J(STREAM));
        cr_assert_eq(ph_respond(c, 200, ND_HDR, body, len, 1), 0);
        cr_assert_not_null(ph_error(c));
        cr_assert_str_eq(ph_error(c)->message, "an error was encountered while running the model");
        cr_assert_eq(ph_client_status(c), 502);
        expect_str(ph_output_json(c), "error.message",
                   "an error was encountered while running the model");
        ph_free(c);
        free(body);
    }
}

Test(ollama, conformance_shared_recordings)
{
    const char *dir = shared_dir();

    if (!dir)
        cr_skip_test("shared fixtures absent");
    replay_chat(dir, "chat_response.json");
    replay_chat(dir, "chat_response_tools.json");
    replay_stream(dir, "chat_stream.ndjson");
    replay_stream(dir, "chat_stream_tools.ndjson");
    replay_embed(dir, "embed_response.json");
    replay_embed(dir, "embed_response_multi.json");
    replay_tags(dir, "tags_response.json");
    replay_errors(dir);
}

/* Every request Ollama cannot express gets the same client document: 400,
 * invalid_request_error, code "unsupported" and the reason as the message. */
Test(ollama, unsupported_refusals_exact_client_error)
{
    static const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"{'model':'llava','messages':[{'role':'user','content':[{'type':'input_audio',"
         "'input_audio':{'data':'AA','format':'wav'}}]}]}",
         "Ollama accepts only text and image_url content parts"},
        {"{'model':'m','messages':[{'role':'user','content':'x'}],"
         "'tools':[{'type':'retrieval'}]}",
         "Ollama supports only function tools"},
        {"{'model':'m','messages':[{'role':'user','content':'x'}],"
         "'response_format':{'type':'grammar'}}",
         "unsupported response_format type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        struct ph_call *c = ph_begin_rc("ollama", AIGW_OP_CHAT, J(cases[i].json), &rc);
        cr_assert_eq(rc, AIGW_ENOTSUP, "case %zu: rc %d", i, rc);
        tu_expect_error(c, 400, cases[i].why, "invalid_request_error", NULL, "unsupported");
        cr_assert_eq(ph_error(c)->retry_after_ms, -1, "case %zu", i);
        ph_free(c);
    }
}

/* 429 and 5xx take their retry hint from host->retry_after_ms: every header form the host
 * reads, and nothing from a value that is no hint. */
Test(ollama, retry_after_forms_read_by_the_host)
{
    static const char body[] = "{\"error\":\"too many requests\"}";
    static const int statuses[] = {429, 503};
    char hdrs[512];
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < TU_RETRY_HINTS; i++) {
            struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
            snprintf(hdrs, sizeof hdrs, JSON_HDR "%s", tu_retry_hints[i].headers);
            cr_assert_eq(ph_respond(c, statuses[s], hdrs, body, sizeof body - 1, 0), 0);
            cr_assert_eq(ph_error(c)->retry_after_ms, tu_retry_hints[i].ms, "%d %s-> %lld",
                         statuses[s], tu_retry_hints[i].headers,
                         (long long)ph_error(c)->retry_after_ms);
            ph_free(c);
        }
    }
    struct ph_call *c = ph_begin("ollama", AIGW_OP_CHAT, J(CHAT));
    cr_assert_eq(
        ph_respond(c, 429, JSON_HDR "Retry-After: 3 seconds\r\n", body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_error(c)->retry_after_ms, -1);
    ph_free(c);
}
