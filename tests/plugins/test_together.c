/* The together plugin through the real loader, exchange and renderer (fixtures: together/). */
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/v1/chat/completions"
#define MODEL "meta-llama/Llama-3.3-70B-Instruct-Turbo"

OC_SUITE(together, "TOGETHER", "http://mock.invalid/v1");

/* logprobs as a count, stop as a list, the schema in response_format.schema. */
Test(together, request_speaks_togethers_dialect)
{
    struct ph_call *c = oc_begin_file("together", AIGW_OP_CHAT, "together/request_full.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, MODEL);
    const cJSON *rf = oc_get(b, "response_format"), *stop = oc_get(b, "stop");

    oc_absent_all(b, "max_completion_tokens top_logprobs store service_tier parallel_tool_calls "
                     "user stream_options");
    cr_assert_eq(oc_num(b, "max_tokens"), 300);
    cr_assert_eq(oc_num(b, "logprobs"), 3);
    cr_assert_eq(cJSON_GetArraySize(stop), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(stop, 0)->valuestring, "END");
    cr_assert_float_eq(oc_num(b, "frequency_penalty"), 0.5, 1e-9);
    cr_assert_str_eq(oc_str(rf, "type"), "json_schema");
    oc_absent(rf, "json_schema");
    cr_assert_str_eq(oc_str(oc_get(rf, "schema"), "type"), "object");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(b, "messages"), 0), "role"), "system");
    ph_free(c);
}

Test(together, logprobs_count)
{
    struct ph_call *c =
        ph_begin("together", AIGW_OP_CHAT,
                 "{\"model\":\"" MODEL "\",\"logprobs\":true,\"stop\":[\"a\",\"b\"],"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, MODEL);
    cr_assert_eq(oc_num(b, "logprobs"), 1);
    cr_assert_eq(cJSON_GetArraySize(oc_get(b, "stop")), 2);
    ph_free(c);
    c = ph_begin("together", AIGW_OP_CHAT,
                 "{\"model\":\"" MODEL "\",\"logprobs\":false,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"x\"}]}");
    oc_absent(ph_body_json(c), "logprobs");
    ph_free(c);
}

/* finish_reason "error" is a failed generation, never a clean stop. */
Test(together, finish_error_surfaces)
{
    struct ph_call *c = oc_begin_chat("together", MODEL, 0);
    ph_respond_file(c, 200, OC_JSON, "together/chat_finish_error.json", 0);
    cr_assert_geq(ph_client_status(c), 500, "%s", ph_output(c));
    cr_assert_str_eq(oc_str(oc_get(ph_output_json(c), "error"), "code"), "generation_error");
    cr_assert_eq(ph_error(c)->retryable, 1);
    oc_no_secret(c);
    ph_free(c);

    c = oc_stream("together", MODEL, 0, "together/stream_finish_error.sse");
    cr_assert_str_eq(ph_stream_text(c), "Rivers of Europe");
    cr_assert_null(ph_stream_finish(c), "%s", ph_output(c));
    cr_assert_not_null(strstr(ph_output(c), "\"generation_error\""), "%s", ph_output(c));
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

OC_EXPECTATION_TESTS(together, "together")
