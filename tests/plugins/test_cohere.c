/*
 * test_cohere - the Cohere v2 plugin through the real loader, exchange and renderer:
 * request translation, non-stream and streamed answers (whole and split at every byte),
 * tool calls, citations, usage, errors, embeddings, secrets, and a replay of the shared
 * real recordings when present.
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
#define norm(s) tu_blank_created(s)

#define CANARY "sk-CANARY-1234"
#define BASE "http://mock.test"
#define SSE_HDR "Content-Type: text/event-stream\r\n"
#define JSON_HDR "Content-Type: application/json\r\n"

static void setup(void)
{
    ph_env("COHERE_API_KEY", CANARY, "COHERE_BASE_URL", BASE "/", NULL);
    ph_unenv("COHERE_EMBED_INPUT_TYPE", NULL);
}

TestSuite(cohere, .init = setup);

static void expect_usage(struct ph_call *c, double prompt, double completion, double cached)
{
    cJSON *u = ph_usage(c);
    cr_assert_not_null(u, "no usage in %s", ph_output(c));
    expect_num(u, "prompt_tokens", prompt);
    expect_num(u, "completion_tokens", completion);
    expect_num(u, "total_tokens", prompt + completion);
    if (cached >= 0)
        expect_num(u, "prompt_tokens_details.cached_tokens", cached);
    else
        expect_absent(u, "prompt_tokens_details");
}

static struct ph_call *stream_fixture(const char *fixture, size_t split)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'command-a-03-2025','stream':true,"
                                   "'stream_options':{'include_usage':true},"
                                   "'messages':[{'role':'user','content':'hi'}]}"));
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, fixture, split), 0);
    cr_assert_eq(ph_client_status(c), 200);
    cr_assert(ph_sse_done(c), "stream did not end with [DONE]: %s", ph_output(c));
    cr_assert_null(strstr(ph_output(c), CANARY));
    return c;
}

/* Cohere sends no timestamp, so "created" is the host's clock and differs between runs. */
static void expect_split_identical(const char *fixture)
{
    tu_expect_split_identical(stream_fixture, fixture, 1);
}

static struct ph_call *chat_fixture(const char *fixture)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'command-a-03-2025',"
                                   "'messages':[{'role':'user','content':'hi'}]}"));
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, fixture, 0), 0);
    cr_assert_null(strstr(ph_output(c), CANARY));
    return c;
}

/* ---- request translation ---------------------------------------------------------------- */

Test(cohere, request_basic)
{
    struct ph_call *c =
        ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'cohere/command-a-03-2025','messages':["
                   "{'role':'system','content':'Be brief.'},"
                   "{'role':'developer','content':[{'type':'text','text':'Answer '},"
                   "{'type':'text','text':'in French.'}]},"
                   "{'role':'user','content':'Capital of France?','name':'alice'}],"
                   "'temperature':0.3,'top_p':0.9,'top_k':40,'seed':7,'max_tokens':50,"
                   "'max_completion_tokens':64,'frequency_penalty':0.5,'presence_penalty':0.25,"
                   "'stop':'END','n':1,'user':'u-1','logit_bias':{'50256':-100},"
                   "'parallel_tool_calls':true,'logprobs':false}"));
    cJSON *b = ph_body_json(c);

    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), BASE "/v2/chat");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/json");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    expect_str(b, "model", "command-a-03-2025");
    cr_assert(cJSON_IsFalse(at(b, "stream")));
    cr_assert_eq(cJSON_GetArraySize(at(b, "messages")), 3);
    expect_str(b, "messages.0.role", "system");
    expect_str(b, "messages.0.content", "Be brief.");
    expect_str(b, "messages.1.role", "system");
    expect_str(b, "messages.1.content", "Answer in French.");
    expect_str(b, "messages.2.role", "user");
    expect_str(b, "messages.2.content", "Capital of France?");
    expect_absent(b, "messages.2.name");
    expect_num(b, "temperature", 0.3);
    expect_num(b, "p", 0.9);
    expect_num(b, "k", 40);
    expect_num(b, "seed", 7);
    expect_num(b, "max_tokens", 64);
    expect_num(b, "frequency_penalty", 0.5);
    expect_num(b, "presence_penalty", 0.25);
    cr_assert_eq(cJSON_GetArraySize(at(b, "stop_sequences")), 1);
    expect_str(b, "stop_sequences.0", "END");
    expect_absent(b, "top_p");
    expect_absent(b, "top_k");
    expect_absent(b, "stop");
    expect_absent(b, "n");
    expect_absent(b, "user");
    expect_absent(b, "logit_bias");
    expect_absent(b, "parallel_tool_calls");
    expect_absent(b, "logprobs");
    expect_absent(b, "max_completion_tokens");
    expect_absent(b, "tools");
    expect_absent(b, "response_format");
    ph_free(c);
}

Test(cohere, request_stream_and_stop_array)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'command-r','stream':true,"
                                   "'stream_options':{'include_usage':true},'max_tokens':10,"
                                   "'stop':['a','b'],'messages':[{'role':'user','content':'x'}]}"));
    cJSON *b = ph_body_json(c);

    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    cr_assert_str_eq(ph_header(c, "Accept"), "text/event-stream");
    cr_assert(cJSON_IsTrue(at(b, "stream")));
    expect_absent(b, "stream_options");
    expect_num(b, "max_tokens", 10);
    expect_str(b, "stop_sequences.0", "a");
    expect_str(b, "stop_sequences.1", "b");
    ph_free(c);
}

Test(cohere, request_images)
{
    struct ph_call *c =
        ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'command-a-vision','messages':[{'role':'user','content':["
                   "{'type':'text','text':'What is this?'},"
                   "{'type':'image_url','image_url':{'url':'data:image/png;base64,iVBORw0KGgo=',"
                   "'detail':'low'}},"
                   "{'type':'image_url','image_url':{'url':'https://example.test/cat.jpg'}}]}]}"));
    cJSON *b = ph_body_json(c);

    cr_assert_eq(cJSON_GetArraySize(at(b, "messages.0.content")), 3);
    expect_str(b, "messages.0.content.0.type", "text");
    expect_str(b, "messages.0.content.0.text", "What is this?");
    expect_str(b, "messages.0.content.1.type", "image_url");
    expect_str(b, "messages.0.content.1.image_url.url", "data:image/png;base64,iVBORw0KGgo=");
    expect_str(b, "messages.0.content.1.image_url.detail", "low");
    expect_str(b, "messages.0.content.2.image_url.url", "https://example.test/cat.jpg");
    expect_absent(b, "messages.0.content.2.image_url.detail");
    ph_free(c);
}

Test(cohere, request_tool_round_trip)
{
    struct ph_call *c = ph_begin(
        "cohere", AIGW_OP_CHAT,
        J("{'model':'command-a-03-2025','messages':["
          "{'role':'user','content':'Weather in Lyon?'},"
          "{'role':'assistant','content':null,'reasoning_content':'I will call the tool.',"
          "'tool_calls':[{'id':'call_1','type':'function','function':{'name':'get_forecast',"
          "'arguments':'{\\'city\\':\\'Lyon\\'}'}}]},"
          "{'role':'tool','tool_call_id':'call_1','content':[{'type':'text','text':'21C sunny'}]},"
          "{'role':'assistant','content':'It is 21C.'},"
          "{'role':'user','content':'Thanks'}],"
          "'tools':[{'type':'function','function':{'name':'get_forecast',"
          "'description':'Forecast','strict':true,'parameters':{'type':'object',"
          "'properties':{'city':{'type':'string'}},'required':['city']}}},"
          "{'type':'function','function':{'name':'get_time'}}],"
          "'tool_choice':'required'}"));
    cJSON *b = ph_body_json(c);

    cr_assert_eq(cJSON_GetArraySize(at(b, "messages")), 5);
    expect_str(b, "messages.1.role", "assistant");
    expect_absent(b, "messages.1.content");
    expect_str(b, "messages.1.tool_plan", "I will call the tool.");
    expect_str(b, "messages.1.tool_calls.0.id", "call_1");
    expect_str(b, "messages.1.tool_calls.0.type", "function");
    expect_str(b, "messages.1.tool_calls.0.function.name", "get_forecast");
    expect_str(b, "messages.1.tool_calls.0.function.arguments", "{\"city\":\"Lyon\"}");
    expect_str(b, "messages.2.role", "tool");
    expect_str(b, "messages.2.tool_call_id", "call_1");
    expect_str(b, "messages.2.content", "21C sunny");
    expect_str(b, "messages.3.role", "assistant");
    expect_str(b, "messages.3.content", "It is 21C.");
    expect_absent(b, "messages.3.tool_calls");
    expect_str(b, "messages.4.content", "Thanks");
    cr_assert_eq(cJSON_GetArraySize(at(b, "tools")), 2);
    expect_str(b, "tools.0.type", "function");
    expect_str(b, "tools.0.function.name", "get_forecast");
    expect_str(b, "tools.0.function.description", "Forecast");
    expect_str(b, "tools.0.function.parameters.required.0", "city");
    expect_absent(b, "tools.0.function.strict");
    expect_str(b, "tools.1.function.name", "get_time");
    expect_str(b, "tools.1.function.parameters.type", "object");
    expect_str(b, "tool_choice", "REQUIRED");
    ph_free(c);
}

/* Text said next to tool calls (Claude's "Let me check." and often GPT's): Cohere refuses
 * content beside tool_calls ("text content is not allowed when tool_calls are provided ...
 * use 'tool_plan'"), so the words become the tool plan, after any surfaced reasoning. */
Test(cohere, request_text_beside_tool_calls_is_the_plan)
{
    struct ph_call *c = ph_begin(
        "cohere", AIGW_OP_CHAT,
        J("{'model':'command-a-03-2025','messages':["
          "{'role':'user','content':'Weather in Lyon and Nice?'},"
          "{'role':'assistant','content':'Let me check Lyon.',"
          "'tool_calls':[{'id':'call_1','type':'function','function':{'name':'get_forecast',"
          "'arguments':'{}'}}]},"
          "{'role':'tool','tool_call_id':'call_1','content':'21C'},"
          "{'role':'assistant','content':[{'type':'text','text':'Now Nice.'}],"
          "'reasoning_content':'One city left.',"
          "'tool_calls':[{'id':'call_2','type':'function','function':{'name':'get_forecast',"
          "'arguments':'{}'}}]},"
          "{'role':'tool','tool_call_id':'call_2','content':'24C'}],"
          "'tools':[{'type':'function','function':{'name':'get_forecast'}}]}"));
    cJSON *b = ph_body_json(c);

    expect_absent(b, "messages.1.content");
    expect_str(b, "messages.1.tool_plan", "Let me check Lyon.");
    expect_absent(b, "messages.3.content");
    expect_str(b, "messages.3.tool_plan", "One city left.\n\nNow Nice.");
    expect_str(b, "messages.3.tool_calls.0.id", "call_2");
    ph_free(c);
}

Test(cohere, request_tool_choice_variants)
{
    static const char *tools = "'tools':[{'type':'function','function':{'name':'a'}},"
                               "{'type':'function','function':{'name':'b'}}]";
    char req[1024];
    struct ph_call *c;
    cJSON *b;
    int rc;

    snprintf(req, sizeof req,
             "{'model':'m','messages':[{'role':'user','content':'x'}],%s,"
             "'tool_choice':'none'}",
             tools);
    c = ph_begin("cohere", AIGW_OP_CHAT, J(req));
    b = ph_body_json(c);
    expect_str(b, "tool_choice", "NONE");
    cr_assert_eq(cJSON_GetArraySize(at(b, "tools")), 2);
    ph_free(c);

    snprintf(req, sizeof req,
             "{'model':'m','messages':[{'role':'user','content':'x'}],%s,"
             "'tool_choice':'auto'}",
             tools);
    c = ph_begin("cohere", AIGW_OP_CHAT, J(req));
    expect_absent(ph_body_json(c), "tool_choice");
    ph_free(c);

    snprintf(req, sizeof req,
             "{'model':'m','messages':[{'role':'user','content':'x'}],%s,"
             "'tool_choice':{'type':'function','function':{'name':'b'}}}",
             tools);
    c = ph_begin("cohere", AIGW_OP_CHAT, J(req));
    b = ph_body_json(c);
    expect_str(b, "tool_choice", "REQUIRED");
    cr_assert_eq(cJSON_GetArraySize(at(b, "tools")), 1);
    expect_str(b, "tools.0.function.name", "b");
    ph_free(c);

    snprintf(req, sizeof req,
             "{'model':'m','messages':[{'role':'user','content':'x'}],%s,"
             "'tool_choice':{'type':'function','function':{'name':'zzz'}}}",
             tools);
    c = ph_begin_rc("cohere", AIGW_OP_CHAT, J(req), &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

Test(cohere, request_response_format)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                                   "'response_format':{'type':'json_object'}}"));
    cJSON *b = ph_body_json(c);

    expect_str(b, "response_format.type", "json_object");
    expect_absent(b, "response_format.json_schema");
    ph_free(c);

    c = ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                   "'response_format':{'type':'json_schema','json_schema':{'name':'person',"
                   "'strict':true,'schema':{'type':'object','properties':{'name':"
                   "{'type':'string'}},'required':['name']}}}}"));
    b = ph_body_json(c);
    expect_str(b, "response_format.type", "json_object");
    expect_str(b, "response_format.json_schema.type", "object");
    expect_str(b, "response_format.json_schema.properties.name.type", "string");
    expect_str(b, "response_format.json_schema.required.0", "name");
    expect_absent(b, "response_format.json_schema.strict");
    expect_absent(b, "strict_tools");
    ph_free(c);

    c = ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'m','messages':[{'role':'user','content':'x'}],"
                   "'response_format':{'type':'text'}}"));
    expect_absent(ph_body_json(c), "response_format");
    ph_free(c);
}

Test(cohere, request_reasoning_effort)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'command-a-reasoning','reasoning_effort':'high',"
                                   "'messages':[{'role':'user','content':'x'}]}"));
    expect_str(ph_body_json(c), "thinking.type", "enabled");
    expect_absent(ph_body_json(c), "reasoning_effort");
    ph_free(c);
    c = ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'command-a-reasoning','reasoning_effort':'none',"
                   "'messages':[{'role':'user','content':'x'}]}"));
    expect_str(ph_body_json(c), "thinking.type", "disabled");
    ph_free(c);
}

Test(cohere, request_unsupported_part)
{
    int rc;
    struct ph_call *c =
        ph_begin_rc("cohere", AIGW_OP_CHAT,
                    J("{'model':'m','messages':[{'role':'user','content':[{'type':'input_audio',"
                      "'input_audio':{'data':'AAAA','format':'wav'}}]}]}"),
                    &rc);
    cJSON *o;

    cr_assert_eq(rc, AIGW_ENOTSUP);
    cr_assert_eq(ph_client_status(c), 400);
    o = ph_output_json(c);
    expect_str(o, "error.code", "unsupported");
    cr_assert_not_null(ph_error(c));
    cr_assert_str_eq(ph_error(c)->message, "Cohere accepts only text and image_url content parts");
    ph_free(c);
}

Test(cohere, request_bad_role)
{
    int rc;
    struct ph_call *c =
        ph_begin_rc("cohere", AIGW_OP_CHAT,
                    J("{'model':'m','messages':[{'role':'wizard','content':'x'}]}"), &rc);

    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_not_null(strstr(ph_output(c), "unknown message role"), "%s", ph_output(c));
    ph_free(c);
}

/* ---- non-stream responses --------------------------------------------------------------- */

Test(cohere, chat_text)
{
    struct ph_call *c = chat_fixture("cohere/chat.json");
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 200);
    expect_str(o, "object", "chat.completion");
    expect_str(o, "id", "5f0c2a8e-1b7d-4c3e-9a61-7d2e4b8c9f10");
    expect_str(o, "model", "command-a-03-2025");
    cr_assert_eq(cJSON_GetArraySize(at(o, "choices")), 1);
    expect_str(o, "choices.0.message.role", "assistant");
    expect_str(o, "choices.0.message.content", "Paris is the capital of France.");
    expect_absent(o, "choices.0.message.tool_calls");
    expect_absent(o, "choices.0.message.reasoning_content");
    expect_str(o, "choices.0.finish_reason", "stop");
    expect_absent(o, "citations");
    expect_usage(c, 507, 9, 480);
    ph_free(c);
}

Test(cohere, chat_tool_calls)
{
    struct ph_call *c = chat_fixture("cohere/chat_tools.json");
    cJSON *o = ph_output_json(c);

    cr_assert(cJSON_IsNull(at(o, "choices.0.message.content")));
    expect_str(o, "choices.0.message.reasoning_content", "I will look up the forecast for Lyon.");
    cr_assert_eq(cJSON_GetArraySize(at(o, "choices.0.message.tool_calls")), 2);
    expect_str(o, "choices.0.message.tool_calls.0.id", "get_forecast_k2m9x1q7");
    expect_str(o, "choices.0.message.tool_calls.0.type", "function");
    expect_str(o, "choices.0.message.tool_calls.0.function.name", "get_forecast");
    expect_str(o, "choices.0.message.tool_calls.0.function.arguments",
               "{\"city\":\"Lyon\",\"days\":2}");
    expect_str(o, "choices.0.message.tool_calls.1.id", "get_time_p4z8w3r6");
    expect_str(o, "choices.0.message.tool_calls.1.function.name", "get_time");
    expect_str(o, "choices.0.message.tool_calls.1.function.arguments", "{\"tz\":\"Europe/Paris\"}");
    expect_str(o, "choices.0.finish_reason", "tool_calls");
    expect_usage(c, 1402, 70, 1344);
    ph_free(c);
}

Test(cohere, chat_citations)
{
    struct ph_call *c = chat_fixture("cohere/chat_citations.json");
    cJSON *o = ph_output_json(c);

    expect_str(o, "choices.0.message.content", "It is 21°C and sunny in Lyon.");
    cr_assert_eq(cJSON_GetArraySize(at(o, "citations")), 1);
    expect_str(o, "citations.0.text", "21°C and sunny");
    expect_num(o, "citations.0.start", 6);
    expect_str(o, "citations.0.sources.0.id", "get_forecast_k2m9x1q7:0");
    expect_usage(c, 1620, 19, 1536);
    ph_free(c);
}

Test(cohere, chat_length)
{
    struct ph_call *c = chat_fixture("cohere/chat_length.json");
    cJSON *o = ph_output_json(c);

    expect_str(o, "choices.0.message.content", "Once upon a");
    expect_str(o, "choices.0.finish_reason", "length");
    expect_usage(c, 498, 3, -1);
    ph_free(c);
}

Test(cohere, chat_finish_error_is_an_error)
{
    struct ph_call *c = chat_fixture("cohere/chat_finish_error.json");
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 502);
    expect_str(o, "error.type", "server_error");
    expect_str(o, "error.code", "upstream_error");
    cr_assert_not_null(ph_error(c));
    cr_assert_eq(ph_error(c)->retryable, 1);
    ph_free(c);
}

Test(cohere, chat_garbage_is_protocol_error)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'m','messages':[{'role':'user','content':'x'}]}"));
    static const char body[] = "<html>oops</html>";

    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, sizeof body - 1, 0), AIGW_EPROTO);
    cr_assert_eq(ph_client_status(c), 502);
    ph_free(c);
}

/* ---- streams ---------------------------------------------------------------------------- */

Test(cohere, stream_text)
{
    struct ph_call *c = stream_fixture("cohere/stream_text.sse", 0);
    cJSON *ev = ph_sse_events(c);

    cr_assert_str_eq(ph_stream_text(c), "Bonjour! Here are three colours:\n\nred, green, blue.");
    cr_assert_str_eq(ph_stream_reasoning(c), "");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    expect_str(ev, "0.id", "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b");
    expect_str(ev, "0.object", "chat.completion.chunk");
    expect_str(ev, "0.choices.0.delta.role", "assistant");
    expect_usage(c, 505, 22, 480);
    cr_assert_null(ph_stream_tool_name(c, 0));
    ph_free(c);
    expect_split_identical("cohere/stream_text.sse");
}

Test(cohere, stream_without_include_usage_has_no_usage_chunk)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'m','stream':true,"
                                   "'messages':[{'role':'user','content':'x'}]}"));
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, "cohere/stream_text.sse", 0), 0);
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert_null(ph_usage(c));
    ph_free(c);
}

Test(cohere, stream_tool_calls)
{
    struct ph_call *c = stream_fixture("cohere/stream_tools.sse", 0);

    cr_assert_str_eq(ph_stream_text(c), "");
    cr_assert_str_eq(ph_stream_reasoning(c), "I will check the forecast and the time.");
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "get_forecast_h7t2v9k4");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "get_forecast");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"city\": \"Lyon\", \"days\": 2}");
    cr_assert_str_eq(ph_stream_tool_id(c, 1), "get_time_w5n1c8d3");
    cr_assert_str_eq(ph_stream_tool_name(c, 1), "get_time");
    cr_assert_str_eq(ph_stream_tool_args(c, 1), "{\"tz\": \"Europe/Paris\"}");
    cr_assert_null(ph_stream_tool_name(c, 2));
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    expect_usage(c, 1411, 73, 1344);
    ph_free(c);
    expect_split_identical("cohere/stream_tools.sse");
}

Test(cohere, stream_citations_on_final_chunk)
{
    struct ph_call *c = stream_fixture("cohere/stream_citations.sse", 0);
    cJSON *ev = ph_sse_events(c);
    const cJSON *e, *cites = NULL;
    int n = 0;

    cr_assert_str_eq(ph_stream_text(c), "It is 21°C and sunny in Lyon.");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cJSON_ArrayForEach(e, ev)
    {
        if (at(e, "citations")) {
            cites = at(e, "citations");
            n++;
            expect_str(e, "choices.0.finish_reason", "stop");
        }
    }
    cr_assert_eq(n, 1, "citations should ride on the finish chunk only");
    cr_assert_eq(cJSON_GetArraySize(cites), 1);
    expect_str(cites, "0.text", "21°C and sunny");
    expect_str(cites, "0.sources.0.tool_output.content", "Lyon: 21°C, sunny");
    expect_usage(c, 1633, 20, 1600);
    ph_free(c);
    expect_split_identical("cohere/stream_citations.sse");
}

Test(cohere, stream_error_midway)
{
    struct ph_call *c = stream_fixture("cohere/stream_finish_error.sse", 0);
    cJSON *ev = ph_sse_events(c);
    const cJSON *last = cJSON_GetArrayItem(ev, cJSON_GetArraySize(ev) - 1);

    cr_assert_str_eq(ph_stream_text(c), "The first part");
    cr_assert_null(ph_stream_finish(c));
    expect_str(last, "error.type", "server_error");
    expect_str(last, "error.code", "upstream_error");
    ph_free(c);
    expect_split_identical("cohere/stream_finish_error.sse");
}

Test(cohere, stream_malformed_frame)
{
    static const char body[] = "event: message-start\ndata: {not json\n\n";
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'m','stream':true,"
                                   "'messages':[{'role':'user','content':'x'}]}"));

    cr_assert_eq(ph_respond(c, 200, SSE_HDR, body, sizeof body - 1, 0), AIGW_EPROTO);
    cr_assert_eq(ph_client_status(c), 502);
    ph_free(c);
}

/* ---- errors ----------------------------------------------------------------------------- */

static struct ph_call *error_fixture(int status, const char *headers, const char *fixture,
                                     int stream)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 stream ? J("{'model':'m','stream':true,"
                                            "'messages':[{'role':'user','content':'x'}]}")
                                        : J("{'model':'m','messages':[{'role':'user',"
                                            "'content':'x'}]}"));
    cr_assert_eq(ph_respond_file(c, status, headers, fixture, 0), 0);
    cr_assert_not_null(ph_error(c));
    cr_assert_null(strstr(ph_output(c), CANARY));
    return c;
}

Test(cohere, error_401)
{
    struct ph_call *c = error_fixture(401, JSON_HDR, "cohere/error_401.json", 0);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 401);
    expect_str(o, "error.type", "authentication_error");
    expect_str(o, "error.code", "invalid_api_key");
    expect_str(o, "error.message", "invalid api token");
    cr_assert_eq(ph_error(c)->retryable, 0);
    ph_free(c);
}

Test(cohere, error_498_is_401)
{
    struct ph_call *c = error_fixture(498, JSON_HDR, "cohere/error_401.json", 0);

    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_eq(ph_error(c)->retryable, 0);
    ph_free(c);
}

Test(cohere, error_400_context)
{
    struct ph_call *c = error_fixture(400, JSON_HDR, "cohere/error_400_context.json", 0);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 400);
    expect_str(o, "error.type", "invalid_request_error");
    expect_str(o, "error.code", "context_length_exceeded");
    cr_assert_eq(ph_error(c)->retryable, 0);
    ph_free(c);
}

Test(cohere, error_429_before_stream)
{
    struct ph_call *c =
        error_fixture(429, JSON_HDR "Retry-After: 7\r\n", "cohere/error_429.json", 1);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 429);
    expect_str(o, "error.type", "rate_limit_error");
    expect_str(o, "error.code", "rate_limit_exceeded");
    cr_assert_eq(ph_error(c)->retryable, 1);
    cr_assert_eq(ph_error(c)->retry_after_ms, 7000);
    cr_assert_null(strstr(ph_output(c), "data:"));
    ph_free(c);
}

Test(cohere, error_500_retryable)
{
    struct ph_call *c = error_fixture(500, JSON_HDR, "cohere/error_500.json", 0);
    cJSON *o = ph_output_json(c);

    cr_assert_eq(ph_client_status(c), 500);
    expect_str(o, "error.type", "server_error");
    expect_str(o, "error.message",
               "internal server error, this has been reported to our developers");
    cr_assert_eq(ph_error(c)->retryable, 1);
    ph_free(c);
}

Test(cohere, error_non_json_body)
{
    static const char body[] = "upstream connect error";
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'m','messages':[{'role':'user','content':'x'}]}"));

    cr_assert_eq(ph_respond(c, 503, "Content-Type: text/plain\r\n", body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 503);
    cr_assert_eq(ph_error(c)->retryable, 1);
    cr_assert_str_eq(ph_error(c)->message, "Cohere returned HTTP 503");
    ph_free(c);
}

Test(cohere, secret_echoed_by_upstream_is_scrubbed)
{
    static const char body[] = "{\"id\":\"x\",\"message\":\"bad key " CANARY "\"}";
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'m','messages':[{'role':'user','content':'x'}]}"));

    cr_assert_eq(ph_respond(c, 401, JSON_HDR, body, sizeof body - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_null(strstr(ph_output(c), CANARY), "secret leaked: %s", ph_output(c));
    ph_free(c);
}

/* ---- embeddings ------------------------------------------------------------------------- */

Test(cohere, embeddings)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_EMBEDDINGS,
                                 J("{'model':'embed-v4.0','input':['first text','second text'],"
                                   "'dimensions':256,'encoding_format':'float','user':'u'}"));
    cJSON *b = ph_body_json(c), *o;

    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), BASE "/v2/embed");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    expect_str(b, "model", "embed-v4.0");
    cr_assert_eq(cJSON_GetArraySize(at(b, "texts")), 2);
    expect_str(b, "texts.0", "first text");
    expect_str(b, "texts.1", "second text");
    expect_str(b, "input_type", "search_document");
    cr_assert_eq(cJSON_GetArraySize(at(b, "embedding_types")), 1);
    expect_str(b, "embedding_types.0", "float");
    expect_num(b, "output_dimension", 256);
    expect_absent(b, "input");
    expect_absent(b, "dimensions");
    expect_absent(b, "user");

    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, "cohere/embed.json", 0), 0);
    o = ph_output_json(c);
    expect_str(o, "object", "list");
    expect_str(o, "model", "embed-v4.0");
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), 2);
    expect_str(o, "data.0.object", "embedding");
    expect_num(o, "data.0.index", 0);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data.0.embedding")), 4);
    expect_num(o, "data.0.embedding.0", 0.125);
    expect_num(o, "data.0.embedding.2", 0.0078125);
    expect_num(o, "data.1.index", 1);
    expect_num(o, "data.1.embedding.3", -0.0625);
    expect_num(o, "usage.prompt_tokens", 5);
    expect_num(o, "usage.total_tokens", 5);
    cr_assert_null(strstr(ph_output(c), CANARY));
    ph_free(c);
}

Test(cohere, embeddings_input_type)
{
    struct ph_call *c;

    ph_env("COHERE_EMBED_INPUT_TYPE", "search_query", NULL);
    c = ph_begin("cohere", AIGW_OP_EMBEDDINGS, J("{'model':'embed-v4.0','input':'one'}"));
    expect_str(ph_body_json(c), "input_type", "search_query");
    expect_str(ph_body_json(c), "texts.0", "one");
    cr_assert_eq(cJSON_GetArraySize(at(ph_body_json(c), "texts")), 1);
    expect_absent(ph_body_json(c), "output_dimension");
    ph_free(c);
    c = ph_begin("cohere", AIGW_OP_EMBEDDINGS,
                 J("{'model':'embed-v4.0','input':'one','input_type':'classification'}"));
    expect_str(ph_body_json(c), "input_type", "classification");
    ph_free(c);
}

Test(cohere, embeddings_token_arrays_rejected)
{
    int rc;
    struct ph_call *c = ph_begin_rc("cohere", AIGW_OP_EMBEDDINGS,
                                    J("{'model':'embed-v4.0','input':[[1,2,3]]}"), &rc);

    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
    c = ph_begin_rc("cohere", AIGW_OP_EMBEDDINGS, J("{'model':'embed-v4.0','input':[1,2,3]}"), &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    ph_free(c);
}

/* ---- conformance: the shared real recordings -------------------------------------------- */

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
    snprintf(dir, sizeof dir, "%s/cohere", root);
    d = opendir(dir);
    if (!d)
        return NULL;
    closedir(d);
    return dir;
}

static const char *expected_finish(const char *cohere_reason)
{
    if (strcmp(cohere_reason, "TOOL_CALL") == 0)
        return "tool_calls";
    if (strcmp(cohere_reason, "MAX_TOKENS") == 0)
        return "length";
    return "stop";
}

static void replay_chat(const char *dir, const char *name)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *c;
    cJSON *rec, *o;

    if (!body)
        return;
    rec = cJSON_Parse(body);
    cr_assert_not_null(rec);
    c = ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'command-a-03-2025','messages':[{'role':'user','content':'x'}]}"));
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, len, 0), 0, "%s", name);
    o = ph_output_json(c);
    cr_assert(cJSON_IsString(at(o, "choices.0.message.content")) ||
                  cJSON_GetArraySize(at(o, "choices.0.message.tool_calls")) > 0,
              "%s: neither text nor tool calls", name);
    expect_str(o, "choices.0.finish_reason",
               expected_finish(cJSON_GetStringValue(at(rec, "finish_reason"))));
    expect_usage(c, cJSON_GetNumberValue(at(rec, "usage.tokens.input_tokens")),
                 cJSON_GetNumberValue(at(rec, "usage.tokens.output_tokens")),
                 cJSON_GetNumberValue(at(rec, "usage.cached_tokens")));
    cJSON_Delete(rec);
    ph_free(c);
    free(body);
}

/* The last message-end event of a recorded stream, parsed. */
static cJSON *message_end(const char *sse)
{
    const char *p = strstr(sse, "\"type\":\"message-end\"");
    const char *start, *end;

    cr_assert_not_null(p, "no message-end");
    start = p;
    while (start > sse && start[-1] != '\n')
        start--;
    cr_assert_eq(strncmp(start, "data: ", 6), 0);
    start += 6;
    end = strchr(start, '\n');
    cr_assert_not_null(end);
    return cJSON_ParseWithLength(start, (size_t)(end - start));
}

static struct ph_call *replay_stream_once(const char *body, size_t len, size_t split)
{
    struct ph_call *c = ph_begin("cohere", AIGW_OP_CHAT,
                                 J("{'model':'command-a-03-2025','stream':true,"
                                   "'stream_options':{'include_usage':true},"
                                   "'messages':[{'role':'user','content':'x'}]}"));
    cr_assert_eq(ph_respond(c, 200, SSE_HDR, body, len, split), 0);
    cr_assert(ph_sse_done(c));
    return c;
}

static void replay_stream(const char *dir, const char *name)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *a, *b;
    cJSON *end;
    char *x, *y;

    if (!body)
        return;
    end = message_end(body);
    cr_assert_not_null(end);
    a = replay_stream_once(body, len, 0);
    b = replay_stream_once(body, len, 1);
    x = norm(ph_output(a));
    y = norm(ph_output(b));
    cr_assert_str_eq(x, y, "%s: split=1 differs", name);
    cr_assert(strlen(ph_stream_text(a)) > 0 || ph_stream_tool_name(a, 0) != NULL,
              "%s: neither text nor tool calls", name);
    cr_assert_str_eq(ph_stream_finish(a),
                     expected_finish(cJSON_GetStringValue(at(end, "delta.finish_reason"))));
    expect_usage(a, cJSON_GetNumberValue(at(end, "delta.usage.tokens.input_tokens")),
                 cJSON_GetNumberValue(at(end, "delta.usage.tokens.output_tokens")),
                 cJSON_GetNumberValue(at(end, "delta.usage.cached_tokens")));
    if (ph_stream_tool_name(a, 0)) {
        cJSON *args = cJSON_Parse(ph_stream_tool_args(a, 0));
        cr_assert_not_null(args, "%s: tool arguments are not JSON", name);
        cJSON_Delete(args);
    }
    free(x);
    free(y);
    cJSON_Delete(end);
    ph_free(a);
    ph_free(b);
    free(body);
}

static void replay_error(const char *dir, const char *name, int status, const char *code)
{
    size_t len;
    char *body = read_shared(dir, name, &len);
    struct ph_call *c;

    if (!body)
        return;
    c = ph_begin("cohere", AIGW_OP_CHAT,
                 J("{'model':'m','messages':[{'role':'user','content':'x'}]}"));
    cr_assert_eq(ph_respond(c, status, JSON_HDR, body, len, 0), 0);
    cr_assert_eq(ph_client_status(c), status == 498 ? 401 : status);
    cr_assert_not_null(ph_error(c));
    cr_assert(ph_error(c)->message && ph_error(c)->message[0]);
    if (code)
        expect_str(ph_output_json(c), "error.code", code);
    ph_free(c);
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
    c = ph_begin("cohere", AIGW_OP_EMBEDDINGS, J("{'model':'embed-v4.0','input':['a']}"));
    cr_assert_eq(ph_respond(c, 200, JSON_HDR, body, len, 0), 0, "%s", name);
    o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")),
                 cJSON_GetArraySize(at(rec, "embeddings.float")));
    cr_assert_eq(cJSON_GetArraySize(at(o, "data.0.embedding")),
                 cJSON_GetArraySize(at(rec, "embeddings.float.0")));
    expect_num(o, "data.0.embedding.0", cJSON_GetNumberValue(at(rec, "embeddings.float.0.0")));
    expect_num(o, "usage.prompt_tokens",
               cJSON_GetNumberValue(at(rec, "meta.billed_units.input_tokens")));
    cJSON_Delete(rec);
    ph_free(c);
    free(body);
}

Test(cohere, conformance_shared_recordings)
{
    const char *dir = shared_dir();

    if (!dir)
        cr_skip_test("shared fixtures absent");
    replay_chat(dir, "v2_chat_response.json");
    replay_chat(dir, "v2_chat_response_tool_calls.json");
    replay_stream(dir, "v2_chat_stream_text.sse");
    replay_stream(dir, "v2_chat_stream_tool_call.sse");
    replay_stream(dir, "v2_chat_stream_after_tool_result.sse");
    replay_error(dir, "v2_error_401.json", 401, "invalid_api_key");
    replay_error(dir, "v2_error_400_context.json", 400, "context_length_exceeded");
    replay_embed(dir, "v2_embed_response.json");
    replay_embed(dir, "embed_response.json");
}

/* Every request Cohere cannot express gets the same client document: 400,
 * invalid_request_error, code "unsupported" and the reason as the message. */
Test(cohere, unsupported_refusals_exact_client_error)
{
    static const struct {
        const char *json;
        const char *why;
    } cases[] = {
        {"{'model':'m','messages':[{'role':'system','content':[{'type':'image_url',"
         "'image_url':{'url':'https://x/y.png'}}]},{'role':'user','content':'x'}]}",
         "only text parts are supported in system, assistant and tool messages"},
        {"{'model':'m','messages':[{'role':'user','content':[{'type':'input_audio',"
         "'input_audio':{'data':'AAAA','format':'wav'}}]}]}",
         "Cohere accepts only text and image_url content parts"},
        {"{'model':'m','messages':[{'role':'user','content':'x'},"
         "{'role':'function','name':'f','content':'r'}]}",
         "legacy function messages carry no call id; use tool messages"},
        {"{'model':'m','messages':[{'role':'user','content':'x'}],"
         "'tools':[{'type':'retrieval'}]}",
         "Cohere supports only function tools"},
        {"{'model':'m','messages':[{'role':'user','content':'x'}],"
         "'response_format':{'type':'grammar'}}",
         "unsupported response_format type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        struct ph_call *c = ph_begin_rc("cohere", AIGW_OP_CHAT, J(cases[i].json), &rc);
        cr_assert_eq(rc, AIGW_ENOTSUP, "case %zu: rc %d", i, rc);
        tu_expect_error(c, 400, cases[i].why, "invalid_request_error", NULL, "unsupported");
        cr_assert_eq(ph_error(c)->retryable, 0, "case %zu", i);
        cr_assert_eq(ph_error(c)->retry_after_ms, -1, "case %zu", i);
        ph_free(c);
    }
}

/* 429 and 5xx take their retry hint from host->retry_after_ms: every header form the host
 * reads, and nothing from a value that is no hint. */
Test(cohere, retry_after_forms_read_by_the_host)
{
    static const int statuses[] = {429, 503};
    char hdrs[512];
    for (size_t s = 0; s < 2; s++) {
        for (size_t i = 0; i < TU_RETRY_HINTS; i++) {
            snprintf(hdrs, sizeof hdrs, JSON_HDR "%s", tu_retry_hints[i].headers);
            struct ph_call *c = error_fixture(statuses[s], hdrs, "cohere/error_429.json", 0);
            cr_assert_eq(ph_error(c)->retry_after_ms, tu_retry_hints[i].ms, "%d %s-> %lld",
                         statuses[s], tu_retry_hints[i].headers,
                         (long long)ph_error(c)->retry_after_ms);
            ph_free(c);
        }
    }
    struct ph_call *c =
        error_fixture(429, JSON_HDR "Retry-After: soon\r\n", "cohere/error_429.json", 0);
    cr_assert_eq(ph_error(c)->retry_after_ms, -1);
    ph_free(c);
}
