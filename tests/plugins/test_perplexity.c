/* The perplexity plugin through the real loader, exchange and renderer (fixtures:
 * perplexity/). */
#include <string.h>

#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "catalog/catalog.h"
#include "catalog/cost.h"
#include "plugins/oaiwire_checks.h"

#define URL "http://mock.invalid/chat/completions"

OC_SUITE(perplexity, "PERPLEXITY", "http://mock.invalid");

/* No function calling, one choice, strict user/assistant alternation, text-only content. */
Test(perplexity, request_fits_sonar)
{
    struct ph_call *c = oc_begin_file("perplexity", AIGW_OP_CHAT, "perplexity/request_full.json");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_SSE, "sonar-pro");
    const cJSON *msgs = oc_get(b, "messages"), *m;

    oc_absent_all(b, "tools tool_choice parallel_tool_calls logprobs top_logprobs logit_bias "
                     "seed n stop user store stream_options max_completion_tokens");
    cr_assert_eq(oc_num(b, "max_tokens"), 200);
    cr_assert_str_eq(oc_str(b, "reasoning_effort"), "low");
    cr_assert_eq(cJSON_GetArraySize(oc_get(b, "search_domain_filter")), 1);
    /* system, then one user turn: parts flattened, the tool turn folded in as user text. */
    cr_assert_eq(cJSON_GetArraySize(msgs), 2, "%s", ph_body(c));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    m = cJSON_GetArrayItem(msgs, 1);
    cr_assert_str_eq(oc_str(m, "role"), "user");
    cr_assert_str_eq(oc_str(m, "content"),
                     "Compare\noceans\n\nPacific: 165M km2\n\nWhich is largest?");
    oc_absent_all(m, "name tool_call_id");
    ph_free(c);
}

/* Sonar takes system messages only at the head ("After the (optional) system message(s),
 * user and assistant roles should be alternating"): a system turn later in the history (agent
 * frameworks insert them) joins the leading one, and the user turns it split up merge. */
Test(perplexity, late_system_message_joins_the_head)
{
    struct ph_call *c = ph_begin("perplexity", AIGW_OP_CHAT,
                                 "{\"model\":\"sonar\",\"messages\":["
                                 "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                                 "{\"role\":\"user\",\"content\":\"Hi\"},"
                                 "{\"role\":\"system\",\"content\":\"Answer in French.\"},"
                                 "{\"role\":\"user\",\"content\":\"Capital of Peru?\"}]}");
    cJSON *b = oc_request_is(c, URL, AIGW_FRAMING_JSON, "sonar");
    const cJSON *msgs = oc_get(b, "messages");

    cr_assert_eq(cJSON_GetArraySize(msgs), 2, "%s", ph_body(c));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "content"),
                     "Be brief.\n\nAnswer in French.");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 1), "role"), "user");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 1), "content"), "Hi\n\nCapital of Peru?");
    ph_free(c);

    /* No system message at the head: the late one becomes the head. */
    c = ph_begin("perplexity", AIGW_OP_CHAT,
                 "{\"model\":\"sonar\",\"messages\":["
                 "{\"role\":\"user\",\"content\":\"Hi\"},"
                 "{\"role\":\"assistant\",\"content\":\"Hello\"},"
                 "{\"role\":\"developer\",\"content\":\"Answer in French.\"},"
                 "{\"role\":\"user\",\"content\":\"Capital of Peru?\"}]}");
    msgs = oc_get(ph_body_json(c), "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 4, "%s", ph_body(c));
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 0), "role"), "system");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 1), "role"), "user");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 2), "role"), "assistant");
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(msgs, 3), "role"), "user");
    ph_free(c);
}

/* Sonar's response_format knows text, json_schema (schema only) and regex: json_object is a
 * 400 ("ResponseFormatJSONSchema -> type: Input should be 'json_schema'"), so it asks for
 * any JSON object through a schema; OpenAI's name / strict around a schema are left out. */
Test(perplexity, response_format_as_sonar_takes_it)
{
    struct ph_call *c = ph_begin("perplexity", AIGW_OP_CHAT,
                                 "{\"model\":\"sonar\",\"response_format\":{\"type\":"
                                 "\"json_object\"},\"messages\":[{\"role\":\"user\","
                                 "\"content\":\"Facts as JSON\"}]}");
    const cJSON *rf = oc_get(ph_body_json(c), "response_format");
    cr_assert_str_eq(oc_str(rf, "type"), "json_schema");
    cr_assert_str_eq(oc_str(oc_get(oc_get(rf, "json_schema"), "schema"), "type"), "object");
    ph_free(c);

    c = ph_begin("perplexity", AIGW_OP_CHAT,
                 "{\"model\":\"sonar\",\"response_format\":{\"type\":\"json_schema\","
                 "\"json_schema\":{\"name\":\"facts\",\"strict\":true,\"schema\":{"
                 "\"type\":\"object\",\"required\":[\"a\"]}}},"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"Facts\"}]}");
    rf = oc_get(ph_body_json(c), "response_format");
    cr_assert_str_eq(oc_str(rf, "type"), "json_schema");
    oc_absent_all(oc_get(rf, "json_schema"), "name strict");
    cr_assert_eq(
        cJSON_GetArraySize(oc_get(oc_get(oc_get(rf, "json_schema"), "schema"), "required")), 1);
    ph_free(c);
}

Test(perplexity, citations_kept)
{
    struct ph_call *c = oc_begin_chat("perplexity", "sonar", 0);
    const cJSON *o = oc_chat(c, "perplexity/chat.json", NULL);
    cr_assert_eq(cJSON_GetArraySize(oc_get(o, "citations")), 3);
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(o, "search_results"), 1), "title"),
                     "Largest oceans ranked");
    ph_free(c);
}

/* Citations repeat on every upstream chunk; the client gets them once, on the finish. */
Test(perplexity, stream_citations_once)
{
    struct ph_call *c = oc_stream("perplexity", "sonar", 1, "perplexity/stream_text.sse");
    const cJSON *ev, *cit = NULL;
    int n = 0;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, "citations");
        if (v) {
            n++;
            cit = v;
        }
    }
    cr_assert_eq(n, 1, "%s", ph_output(c));
    cr_assert_eq(cJSON_GetArraySize(cit), 3);
    cr_assert_str_eq(cJSON_GetArrayItem(cit, 2)->valuestring, "https://example.com/atlas/water");
    ph_free(c);
}

/* Deep research's usage: the research pass's reasoning at the top of usage, outside
 * completion_tokens (19 + 98 = 117). */
#define DEEP_USAGE                                                                                 \
    "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":98,\"total_tokens\":117,"               \
    "\"citation_tokens\":1510,\"num_search_queries\":3,\"reasoning_tokens\":762}"

/* The client sees OpenAI's shape: reasoning inside completion_tokens and named in
 * completion_tokens_details; and the cost counts it at the catalog's reasoning price. */
static void deep_usage_is(const cJSON *u)
{
    char path[4096], err[512] = "";
    struct gw_catalog *cat = NULL;
    struct aigw_usage usage;
    double usd = -1;
    const char *src = getenv("AIGW_TEST_SRCDIR");

    oc_usage_is(u, 19, 860, 879);
    cr_assert_eq(oc_num(oc_get(u, "completion_tokens_details"), "reasoning_tokens"), 762);
    oc_absent(u, "reasoning_tokens");

    snprintf(path, sizeof path, "%s/catalog/models.json", src ? src : ".");
    cr_assert_eq(gw_catalog_load(path, &cat, err, sizeof err), 0, "%s", err);
    const struct gw_model *m = gw_catalog_find(cat, "perplexity", "sonar-deep-research");
    cr_assert_not_null(m);
    aigw_usage_init(&usage);
    usage.prompt_tokens = (int64_t)oc_num(u, "prompt_tokens");
    usage.completion_tokens = (int64_t)oc_num(u, "completion_tokens");
    usage.reasoning_tokens =
        (int64_t)oc_num(oc_get(u, "completion_tokens_details"), "reasoning_tokens");
    cr_assert_eq(gw_cost_usd(m, &usage, &usd), 0);
    /* $2 in, $8 out, $3 reasoning per million */
    cr_assert_float_eq(usd, (19 * 2.0 + 98 * 8.0 + 762 * 3.0) / 1e6, 1e-12, "%.9f", usd);
    gw_catalog_free(cat);
}

Test(perplexity, deep_research_reasoning_tokens)
{
    struct ph_call *c = oc_begin_chat("perplexity", "sonar-deep-research", 0);
    static const char body[] =
        "{\"id\":\"d1\",\"model\":\"sonar-deep-research\",\"created\":1767571400,"
        "\"object\":\"chat.completion\"," DEEP_USAGE ",\"choices\":[{\"index\":0,"
        "\"message\":{\"role\":\"assistant\",\"content\":\"Report.\"},"
        "\"finish_reason\":\"stop\"}]}";
    cr_assert_eq(ph_respond(c, 200, OC_JSON, body, strlen(body), 0), 0);
    deep_usage_is(oc_get(ph_output_json(c), "usage"));
    ph_free(c);
}

Test(perplexity, deep_research_stream_reasoning_tokens)
{
    static const char body[] =
        "data: {\"id\":\"d1\",\"model\":\"sonar-deep-research\",\"created\":1767571400,"
        "\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":19,"
        "\"completion_tokens\":1,\"total_tokens\":20},\"choices\":[{\"index\":0,"
        "\"delta\":{\"role\":\"assistant\",\"content\":\"Report.\"}}]}\n\n"
        "data: {\"id\":\"d1\",\"model\":\"sonar-deep-research\",\"created\":1767571400,"
        "\"object\":\"chat.completion.done\"," DEEP_USAGE ",\"choices\":[{\"index\":0,"
        "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    struct ph_call *c = oc_stream_body("perplexity", "sonar-deep-research", 1, body, strlen(body));
    cr_assert_str_eq(ph_stream_text(c), "Report.");
    deep_usage_is(ph_usage(c));
    ph_free(c);
}

/* A reasoning model's reasoning_tokens that may lie inside completion_tokens (it fits, and
 * the total is prompt + completion) are named, never added: counting them again would bill
 * the <think> text twice. */
Test(perplexity, reasoning_inside_completion_counts_once)
{
    struct ph_call *c = oc_begin_chat("perplexity", "sonar-reasoning-pro", 0);
    static const char body[] =
        "{\"id\":\"r1\",\"model\":\"sonar-reasoning-pro\",\"created\":1767571400,"
        "\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":12,"
        "\"completion_tokens\":300,\"total_tokens\":312,\"reasoning_tokens\":250},"
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"<think>Hmm.</think>Yes.\"},\"finish_reason\":\"stop\"}]}";
    cr_assert_eq(ph_respond(c, 200, OC_JSON, body, strlen(body), 0), 0);
    const cJSON *u = oc_get(ph_output_json(c), "usage");
    oc_usage_is(u, 12, 300, 312);
    cr_assert_eq(oc_num(oc_get(u, "completion_tokens_details"), "reasoning_tokens"), 250);
    cr_assert_eq(ph_ledger_usage(c)->completion_tokens, 300);
    ph_free(c);
    /* The same counts with a total that holds the reasoning beside completion: apart. */
    c = oc_begin_chat("perplexity", "sonar-reasoning-pro", 0);
    static const char apart[] =
        "{\"id\":\"r2\",\"model\":\"sonar-reasoning-pro\",\"created\":1767571400,"
        "\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":12,"
        "\"completion_tokens\":300,\"total_tokens\":562,\"reasoning_tokens\":250},"
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"Yes.\"},\"finish_reason\":\"stop\"}]}";
    cr_assert_eq(ph_respond(c, 200, OC_JSON, apart, strlen(apart), 0), 0);
    oc_usage_is(oc_get(ph_output_json(c), "usage"), 12, 550, 562);
    ph_free(c);
}

/* The cost the ledger gets for a request Perplexity stated a cost for: the statement, search
 * fee included, not the catalog's price of the tokens (11 + 42 tokens at $1/M = $0.000053
 * against an invoice of $0.005). */
static void ledger_cost_is(struct ph_call *c, const char *model, double invoice)
{
    char path[4096], err[512] = "";
    struct gw_catalog *cat = NULL;
    double usd = -1;
    const char *src = getenv("AIGW_TEST_SRCDIR");

    cr_assert_float_eq(ph_ledger_usage(c)->cost_usd, invoice, 1e-12, "%.9f",
                       ph_ledger_usage(c)->cost_usd);
    snprintf(path, sizeof path, "%s/catalog/models.json", src ? src : ".");
    cr_assert_eq(gw_catalog_load(path, &cat, err, sizeof err), 0, "%s", err);
    const struct gw_model *m = gw_catalog_find(cat, "perplexity", model);
    cr_assert_not_null(m);
    cr_assert_eq(gw_cost_usd(m, ph_ledger_usage(c), &usd), 0);
    cr_assert_float_eq(usd, invoice, 1e-12, "%.9f", usd);
    gw_catalog_free(cat);
}

Test(perplexity, stated_cost_reaches_the_ledger)
{
    struct ph_call *c = oc_begin_chat("perplexity", "sonar", 0);
    oc_chat(c, "perplexity/chat.json", NULL);
    cr_assert_eq(ph_ledger_usage(c)->prompt_tokens, 11);
    ledger_cost_is(c, "sonar", 0.005);
    ph_free(c);
}

/* Every chunk states 0 until the last, which states the whole: the zeros never win. */
Test(perplexity, stream_stated_cost_reaches_the_ledger)
{
    struct ph_call *c = oc_stream("perplexity", "sonar", 0, "perplexity/stream_text.sse");
    cr_assert_eq(ph_ledger_usage(c)->completion_tokens, 6);
    ledger_cost_is(c, "sonar", 0.00502);
    ph_free(c);
}

/* A Cloudflare page is never echoed; the integer code survives as text. */
Test(perplexity, error_bodies)
{
    struct ph_call *c = oc_begin_chat("perplexity", "sonar", 1);
    ph_respond_file(c, 403, "Content-Type: text/html\r\n", "perplexity/error_403.html", 0);
    cr_assert_null(strstr(ph_output(c), "cloudflare"), "%s", ph_output(c));
    ph_free(c);
    c = oc_begin_chat("perplexity", "sonar", 1);
    ph_respond_file(c, 400, OC_JSON, "perplexity/error_400_model.json", 0);
    cr_assert_str_eq(ph_error(c)->code, "400");
    ph_free(c);
}

OC_EXPECTATION_TESTS(perplexity, "perplexity")
