/*
 * The response cache through the real aigw binary and the mock provider: a repeated request
 * never reaches the upstream; a hit replays the same text, reasoning, tool calls and usage
 * streamed or not, whichever way the stored answer came, in the OpenAI chat, Responses and
 * Anthropic Messages dialects (each read as its SDKs read it); two gateway keys never share an
 * answer under scope "key"; the request's headers skip the lookup or the store; only whole,
 * successful answers are kept; a hit costs $0 in the log and counts in the metrics, and a
 * keyed hit names no provider nor counts its replayed usage as a provider's or the key's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cache/answer.h"
#include "e2e/e2e.h"
#include "front/anth_check.h"
#include "lib/buf.h"

#define ON "{\"cache\":{\"enabled\":true}}"

/* A non-stream answer with reasoning, text, two tool calls and detailed usage. */
static const char chat_doc[] =
    "{\"id\":\"chatcmpl-up1\",\"object\":\"chat.completion\",\"created\":1735689601,"
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Checking both.\",\"reasoning_content\":\"Weather, then time."
    "\",\"tool_calls\":[{\"id\":\"call_A1\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Porto\\\"}\"}},{\"id\":\"call_B2\","
    "\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":"
    "\\\"UTC\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":81,"
    "\"completion_tokens\":40,\"total_tokens\":121,\"prompt_tokens_details\":{\"cached_tokens\":"
    "64},\"completion_tokens_details\":{\"reasoning_tokens\":12}}}";

#define EV(delta, fin)                                                                             \
    "data: {\"id\":\"chatcmpl-up2\",\"object\":\"chat.completion.chunk\",\"created\":1735689701,"  \
    "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":" delta                   \
    ",\"finish_reason\":" fin "}]}\n\n"

/* The same kind of answer as a stream, in many pieces. */
static const char chat_sse[] = EV("{\"role\":\"assistant\",\"reasoning_content\":\"Think \"}",
                                  "null") EV("{\"reasoning_content\":\"hard.\"}", "null")
    EV("{\"content\":\"Here \"}", "null") EV("{\"content\":\"you go: \\u00e9\"}", "null") EV(
        "{\"tool_calls\":[{\"index\":0,\"id\":\"call_S1\",\"type\":\"function\",\"function\":"
        "{\"name\":\"get_weather\",\"arguments\":\"\"}}]}",
        "null") EV("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]}",
                   "null")
        EV("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Oslo\\\"}\"}}]}",
           "null")
            EV("{}",
               "\"tool_calls\"") "data: "
                                 "{\"id\":\"chatcmpl-up2\",\"object\":\"chat.completion.chunk\","
                                 "\"created\":1735689701,"
                                 "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{"
                                 "\"prompt_tokens\":90,"
                                 "\"completion_tokens\":33,\"total_tokens\":123,\"prompt_tokens_"
                                 "details\":{\"cached_tokens\":"
                                 "0},\"completion_tokens_details\":{\"reasoning_tokens\":7}}}\n\n"
                                 "data: [DONE]\n\n";

static struct mock *chat_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cJSON *sse = cJSON_CreateString(chat_sse);
    char *body = cJSON_PrintUnformatted(sse);
    cr_assert_eq(mock_add_route_json(
                     m, e2e_strf("{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                 "\"match_body\":{\"stream\":true},\"headers\":{\"content-type\":"
                                 "\"text/event-stream\"},\"body\":%s}",
                                 body)),
                 0);
    cr_assert_eq(mock_add_route_json(m, e2e_strf("{\"method\":\"POST\",\"path\":"
                                                 "\"/v1/chat/completions\",\"body\":%s}",
                                                 chat_doc)),
                 0);
    cJSON_free(body);
    cJSON_Delete(sse);
    return m;
}

static struct e2e_gw *gw_on(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=sk-up",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
}

#define ASK(extra)                                                                                 \
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"    \
    "{\"role\":\"user\",\"content\":\"Weather and time in Porto?\"}]" extra "}"
/* The same request spelled another way: keys reordered, numbers respelled, stream on. */
#define ASK_STREAM                                                                                 \
    "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"content\":"     \
    "\"Be brief.\",\"role\":\"system\"},{\"content\":\"Weather and time in Porto?\",\"role\":"     \
    "\"user\"}],\"model\":\"gpt-4o-mini\"}"

static const char *cache_header(struct e2e_resp *r)
{
    const char *v = e2e_resp_header(r, "X-Gateway-Cache");
    return v ? v : "(none)";
}

Test(cache_e2e, the_second_identical_request_never_reaches_the_upstream)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    cr_assert_str_eq(cache_header(b), "hit", "%s\n%s", b->body, e2e_gw_log(gw));
    cr_assert_eq(mock_request_count(m), 1, "the hit never went upstream");
    struct answer x, y;
    answer_of_json(a, &x);
    answer_of_json(b, &y);
    answer_same(&x, &y, "non-stream hit of a non-stream answer");
    cr_assert_eq(x.ntools, 2);
    cr_assert_str_eq(x.reasoning, "Weather, then time.");
    cr_assert_str_eq(e2e_resp_header(b, "X-Gateway-Cost"), "0.00000000", "a hit costs nothing");
    const cJSON *ida = cJSON_GetObjectItem(e2e_resp_json(a), "id");
    const cJSON *idb = cJSON_GetObjectItem(e2e_resp_json(b), "id");
    cr_assert_str_neq(ida->valuestring, idb->valuestring, "each answer has its own id");
    cr_assert_str_eq(cJSON_GetObjectItem(e2e_resp_json(b), "model")->valuestring,
                     "gpt-4o-2024-08-06", "the model that answered");
    /* The log says so, with the cost it really had. */
    cr_assert_eq(e2e_gw_wait_log(gw, "\"cost_usd\":0.00000000,\"cache\":\"hit\"", 5000), 0, "%s",
                 e2e_gw_log(gw));
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    cr_assert(strstr(met->body, "aigw_cache_lookups_total{result=\"hit\"} 1"), "%s", met->body);
    cr_assert(strstr(met->body, "aigw_cache_lookups_total{result=\"miss\"} 1"), "%s", met->body);
    cr_assert(strstr(met->body, "aigw_cache_bytes "), "%s", met->body);
    cr_assert(!strstr(met->body, "aigw_cache_bytes 0\n"), "the entry's bytes are counted");
    e2e_resp_free(met);
    e2e_resp_free(a);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, a_non_stream_answer_replays_as_a_well_formed_stream)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    struct e2e_resp *b = e2e_stream(gw, "/v1/chat/completions", ASK_STREAM, NULL, NULL);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    cr_assert_eq(mock_request_count(m), 1);
    struct answer x, y;
    answer_of_json(a, &x);
    answer_of_stream(b, &y);
    answer_same(&x, &y, "stream hit of a non-stream answer");
    e2e_resp_free(a);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, a_stream_answer_replays_as_a_document_and_as_a_stream)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    struct e2e_resp *a = e2e_stream(gw, "/v1/chat/completions", ASK_STREAM, NULL, NULL);
    cr_assert_str_eq(cache_header(a), "miss");
    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    struct e2e_resp *c = e2e_stream(gw, "/v1/chat/completions", ASK_STREAM, NULL, NULL);
    cr_assert_str_eq(cache_header(c), "hit");
    cr_assert_eq(mock_request_count(m), 1);
    struct answer x, y, z;
    answer_of_stream(a, &x);
    answer_of_json(b, &y);
    answer_of_stream(c, &z);
    cr_assert_str_eq(x.content, "Here you go: \xc3\xa9");
    cr_assert_str_eq(x.reasoning, "Think hard.");
    cr_assert_str_eq(x.tools[0].args, "{\"city\":\"Oslo\"}");
    answer_same(&x, &y, "non-stream hit of a stream answer");
    answer_same(&x, &z, "stream hit of a stream answer");
    /* Piece by piece: the replayed stream has as many content events as the original. */
    cr_assert_eq(a->n_events, c->n_events, "%s\n---\n%s", a->body, c->body);
    e2e_resp_free(a);
    e2e_resp_free(b);
    e2e_resp_free(c);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, what_changes_the_answer_misses)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    static const char *const asks[] = {
        ASK(""),
        ASK(",\"temperature\":0"),
        ASK(",\"temperature\":0.5"),
        ASK(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"Be long.\"},"
        "{\"role\":\"user\",\"content\":\"Weather and time in Porto?\"}]}",
        "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":\"Weather and time in Porto?\"}]}",
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", asks[i], NULL);
        cr_assert_str_eq(cache_header(r), "miss", "request %zu: %s", i, r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), (int)(sizeof asks / sizeof asks[0]));
    /* The same spelled differently: a hit. */
    struct e2e_resp *r =
        e2e_post(gw, "/v1/chat/completions", ASK(",\"user\":\"carol\",\"temperature\":5e-1"), NULL);
    cr_assert_str_eq(cache_header(r), "hit");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, two_keys_never_share_an_answer_unless_the_scope_is_global)
{
    struct mock *m = chat_mock();
    const char *keys = "\"auth\":{\"api_keys\":[\"sk-gw-alice-0001\",\"sk-gw-bob-00002\"]}";
    struct e2e_gw *gw = gw_on(m, e2e_strf("{%s,\"cache\":{\"enabled\":true}}", keys));
    const char *alice = "Authorization: Bearer sk-gw-alice-0001";
    const char *bob = "Authorization: Bearer sk-gw-bob-00002";
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ASK(""), alice);
    cr_assert_str_eq(cache_header(r), "miss");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), bob);
    cr_assert_str_eq(cache_header(r), "miss", "bob never sees alice's answer");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), "x-api-key: sk-gw-alice-0001");
    cr_assert_str_eq(cache_header(r), "hit", "alice's key, however she sends it");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 2);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);

    gw = gw_on(m, e2e_strf("{%s,\"cache\":{\"enabled\":true,\"scope\":\"global\"}}", keys));
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), alice);
    cr_assert_str_eq(cache_header(r), "miss");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), bob);
    cr_assert_str_eq(cache_header(r), "hit", "scope global shares");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 3);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, request_headers_skip_the_lookup_or_the_store)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ASK(""), "Cache-Control: no-store");
    cr_assert_str_eq(cache_header(r), "miss");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    cr_assert_str_eq(cache_header(r), "miss", "no-store kept nothing");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), "X-Gateway-Cache: bypass");
    cr_assert_str_eq(cache_header(r), "bypass");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), "Cache-Control: max-age=0, no-cache");
    cr_assert_str_eq(cache_header(r), "bypass");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 4, "every one of them went upstream");
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    cr_assert_str_eq(cache_header(r), "hit");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 4);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Two requests for `model` through a mock answering with route (JSON text): both reach the
 * upstream, since the first answer was not kept. */
static void not_kept(const char *route, const char *model, int stream)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, route), 0);
    struct e2e_gw *gw = gw_on(m, ON);
    const char *ask = e2e_strf("{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":"
                               "\"x\"}]%s}",
                               model, stream ? ",\"stream\":true" : "");
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = stream ? e2e_stream(gw, "/v1/chat/completions", ask, NULL, NULL)
                                    : e2e_post(gw, "/v1/chat/completions", ask, NULL);
        cr_assert_str_neq(cache_header(r), "hit", "%s: %s", model, r->body);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 2, "%s", model);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, only_whole_successful_answers_are_kept)
{
    /* An error. */
    not_kept("{\"method\":\"POST\",\"status\":400,\"body_file\":\"openai/error_400_context.json\"}",
             "m-error", 0);
    /* A content-filtered answer. */
    not_kept("{\"method\":\"POST\",\"body\":{\"id\":\"x\",\"object\":\"chat.completion\","
             "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
             "\"assistant\",\"content\":\"\"},\"finish_reason\":\"content_filter\"}],\"usage\":{"
             "\"prompt_tokens\":1,\"completion_tokens\":0,\"total_tokens\":1}}}",
             "m-filtered", 0);
    /* A stream cut after its first events. */
    not_kept("{\"method\":\"POST\",\"body_file\":\"openai/stream_text.sse\","
             "\"close_after_chunks\":2}",
             "m-cut", 1);
    /* An error event inside a 200 stream. */
    not_kept("{\"method\":\"POST\",\"body_file\":\"openai/stream_error_inband.sse\"}", "m-inband",
             1);
}

Test(cache_e2e, an_answer_after_a_retry_is_kept)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"times\":1,\"status\":500,"
                                        "\"body_file\":\"openai/error_500.json\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"body_file\":"
                                        "\"openai/stream_text.sse\"}"),
                 0);
    struct e2e_gw *gw = gw_on(m, ON);
    const char *ask = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":"
                      "\"user\",\"content\":\"x\"}]}";
    struct e2e_resp *a = e2e_stream(gw, "/v1/chat/completions", ask, NULL, NULL);
    struct e2e_resp *b = e2e_stream(gw, "/v1/chat/completions", ask, NULL, NULL);
    cr_assert_str_eq(cache_header(b), "hit", "%s\n%s", a->body, e2e_gw_log(gw));
    struct answer x, y;
    answer_of_stream(a, &x);
    answer_of_stream(b, &y);
    answer_same(&x, &y, "an answer that took two attempts");
    cr_assert_eq(mock_request_count(m), 2, "two attempts for the first, none for the second");
    e2e_resp_free(a);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, embeddings_are_cached_and_endpoints_can_be_left_out)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/embeddings\","
                                        "\"body_file\":\"openai/embeddings.json\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    struct e2e_gw *gw = gw_on(m, "{\"cache\":{\"enabled\":true,\"endpoints\":[\"embeddings\"]}}");
    const char *emb = "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"]}";
    struct e2e_resp *a = e2e_post(gw, "/v1/embeddings", emb, NULL);
    struct e2e_resp *b = e2e_post(gw, "/v1/embeddings", emb, NULL);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    char *da = cJSON_PrintUnformatted(cJSON_GetObjectItem(e2e_resp_json(a), "data"));
    char *db = cJSON_PrintUnformatted(cJSON_GetObjectItem(e2e_resp_json(b), "data"));
    cr_assert_str_eq(da, db, "the same vectors");
    cJSON_free(da);
    cJSON_free(db);
    e2e_resp_free(a);
    e2e_resp_free(b);
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
        cr_assert_null(e2e_resp_header(r, "X-Gateway-Cache"), "chat is not cached here");
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 3);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(cache_e2e, off_by_default)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, NULL);
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
        cr_assert_eq(r->status, 200);
        cr_assert_null(e2e_resp_header(r, "X-Gateway-Cache"));
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 2);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- the Responses API ------------------------------------------------------------------ */

#define RASK(extra)                                                                                \
    "{\"model\":\"gpt-4o-mini\",\"input\":\"Weather and time in Porto?\",\"instructions\":"        \
    "\"Be brief.\",\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":"     \
    "{\"type\":\"object\"}}]" extra "}"

Test(cache_e2e, responses_replay_both_ways)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    /* Stored as a document, replayed as a stream. */
    struct e2e_resp *a = e2e_post(gw, "/v1/responses", RASK(""), NULL);
    struct e2e_resp *b = e2e_stream(gw, "/v1/responses", RASK(",\"stream\":true"), NULL, NULL);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    const cJSON *ra = responses_doc(a), *rb = responses_stream(b);
    responses_same(ra, rb, "a Responses stream replayed from a document");
    cr_assert_str_neq(cJSON_GetObjectItem(ra, "id")->valuestring,
                      cJSON_GetObjectItem(rb, "id")->valuestring);
    /* The replay is stored as a response of its own: GET finds it. */
    struct e2e_resp *g =
        e2e_get(gw, e2e_strf("/v1/responses/%s", cJSON_GetObjectItem(rb, "id")->valuestring), NULL);
    cr_assert_eq(g->status, 200, "%s", g->body);
    e2e_resp_free(g);
    /* Stored as a stream (another request), replayed as a document. */
    struct e2e_resp *c =
        e2e_stream(gw, "/v1/responses", RASK(",\"stream\":true,\"top_p\":1"), NULL, NULL);
    struct e2e_resp *d = e2e_post(gw, "/v1/responses", RASK(",\"top_p\":1.0"), NULL);
    cr_assert_str_eq(cache_header(c), "miss");
    cr_assert_str_eq(cache_header(d), "hit", "%s", d->body);
    responses_same(responses_stream(c), responses_doc(d), "a Responses document from a stream");
    cr_assert_eq(mock_request_count(m), 2);
    e2e_resp_free(a);
    e2e_resp_free(b);
    e2e_resp_free(c);
    e2e_resp_free(d);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- the Anthropic Messages API ---------------------------------------------------------- */

#define AHDR "anthropic-version: 2023-06-01\nx-api-key: sk-client-anthropic"
#define AASK(q, extra)                                                                             \
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":256,\"system\":\"Be brief.\",\"messages\":[{"       \
    "\"role\":\"user\",\"content\":\"" q "\"}],\"tools\":[{\"name\":\"get_weather\","              \
    "\"input_schema\":{\"type\":\"object\"}}]" extra "}"

/* The message a stream assembles to, read as the official SDKs read it (caller deletes). */
static cJSON *anthropic_stream(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    struct at_stream st;
    char why[256];
    memset(&st, 0, sizeof st);
    cr_assert_eq(at_check_sse(r->body, r->body_len, &st, why, sizeof why), 0, "%s\n%s", why,
                 r->body);
    return st.message;
}

static const cJSON *anthropic_doc(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    char why[256];
    cr_assert_eq(at_check_message(j, why, sizeof why), 0, "%s\n%s", why, r->body);
    return j;
}

static void same_json(const cJSON *a, const cJSON *b, const char *key, const char *what)
{
    char *x = cJSON_PrintUnformatted(cJSON_GetObjectItem(a, key));
    char *y = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, key));
    cr_assert(x && y && !strcmp(x, y), "%s: %s\n%s\nvs\n%s", what, key, x, y);
    cJSON_free(x);
    cJSON_free(y);
}

/* The content with what the dialect mints per message made comparable: a tool_use id's
 * per-message suffix ("toolu_<call id>_<8 hex>"), and the signature it gives reasoning that
 * came without one ("aigw:msg_..."). A signature the upstream sent is kept and compared. */
static cJSON *content_of(const cJSON *msg)
{
    cJSON *c = cJSON_Duplicate(cJSON_GetObjectItem(msg, "content"), 1);
    cJSON *b;
    cJSON_ArrayForEach(b, c)
    {
        cJSON *id = cJSON_GetObjectItem(b, "id");
        if (cJSON_IsString(id) && strrchr(id->valuestring, '_'))
            *strrchr(id->valuestring, '_') = '\0';
        cJSON *sig = cJSON_GetObjectItem(b, "signature");
        if (cJSON_IsString(sig) && !strncmp(sig->valuestring, "aigw:", 5))
            cJSON_DeleteItemFromObject(b, "signature");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "content", c);
    return o;
}

static void anthropic_same(const cJSON *a, const cJSON *b, const char *what)
{
    cJSON *ca = content_of(a), *cb = content_of(b);
    same_json(ca, cb, "content", what);
    cJSON_Delete(ca);
    cJSON_Delete(cb);
    same_json(a, b, "stop_reason", what);
    same_json(a, b, "model", what);
    const cJSON *ua = cJSON_GetObjectItem(a, "usage"), *ub = cJSON_GetObjectItem(b, "usage");
    same_json(ua, ub, "input_tokens", what);
    same_json(ua, ub, "output_tokens", what);
    cr_assert_gt(cJSON_GetArraySize(cJSON_GetObjectItem(a, "content")), 1, "%s", what);
}

Test(cache_e2e, anthropic_messages_replay_both_ways)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    /* Kept as a document, replayed as a stream. */
    struct e2e_resp *a = e2e_post(gw, "/v1/messages", AASK("Porto?", ""), AHDR);
    struct e2e_resp *b =
        e2e_stream(gw, "/v1/messages", AASK("Porto?", ",\"stream\":true"), AHDR, NULL);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    cJSON *sb = anthropic_stream(b);
    anthropic_same(anthropic_doc(a), sb, "an Anthropic stream replayed from a document");
    cJSON_Delete(sb);
    /* Kept as a stream, replayed as a document. */
    struct e2e_resp *c =
        e2e_stream(gw, "/v1/messages", AASK("Oslo?", ",\"stream\":true"), AHDR, NULL);
    struct e2e_resp *d = e2e_post(gw, "/v1/messages", AASK("Oslo?", ""), AHDR);
    cr_assert_str_eq(cache_header(c), "miss");
    cr_assert_str_eq(cache_header(d), "hit", "%s", d->body);
    cJSON *sc = anthropic_stream(c);
    anthropic_same(sc, anthropic_doc(d), "an Anthropic document replayed from a stream");
    cJSON_Delete(sc);
    cr_assert_eq(mock_request_count(m), 2);
    e2e_resp_free(a);
    e2e_resp_free(b);
    e2e_resp_free(c);
    e2e_resp_free(d);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- a stream longer than the relay -------------------------------------------------------- */

Test(cache_e2e, a_replayed_stream_longer_than_the_relay_goes_at_the_clients_pace)
{
    /* 3000 pieces: the stream is far larger than a 4 KiB relay (about 80 KiB with its room
     * for one write), so the replay must pause and go on as the client drains it. */
    struct gw_buf sse;
    gw_buf_init(&sse, 0);
    for (int i = 0; i < 3000; i++)
        gw_buf_printf(&sse,
                      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                      "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                      "\"piece %04d of the long answer. \"},\"finish_reason\":null}]}\n\n",
                      i);
    gw_buf_append_str(&sse,
                      "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                      "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},"
                      "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    cJSON *str = cJSON_CreateString(sse.ptr);
    char *body = cJSON_PrintUnformatted(str);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, e2e_strf("{\"method\":\"POST\",\"headers\":{"
                                                 "\"content-type\":\"text/event-stream\"},"
                                                 "\"body\":%s}",
                                                 body)),
                 0);
    cJSON_free(body);
    cJSON_Delete(str);
    gw_buf_free(&sse);
    struct e2e_gw *gw =
        gw_on(m, "{\"stream\":{\"buffer_bytes\":4096},\"cache\":{\"enabled\":true}}");
    const char *ask = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":"
                      "\"user\",\"content\":\"long\"}]}";
    struct e2e_resp *a = e2e_stream(gw, "/v1/chat/completions", ask, NULL, NULL);
    struct e2e_stream_opts slow = {.pause_after_bytes = 16384};
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), ask, NULL, &slow);
    cr_assert_eq(e2e_stream_wait_paused(s, 10000), 0, "the client stopped reading");
    e2e_stream_resume(s);
    struct e2e_resp *b = e2e_stream_finish(s, 30000);
    cr_assert_str_eq(cache_header(b), "hit", "%s", e2e_gw_log(gw));
    struct answer x, y;
    answer_of_stream(a, &x);
    answer_of_stream(b, &y);
    cr_assert_eq(strlen(x.content), sizeof x.content - 1, "the answer fills the test's buffer");
    answer_same(&x, &y, "a long stream, replayed");
    cr_assert_eq(a->n_events, b->n_events);
    cr_assert_gt(b->body_len, 300000, "far larger than the relay");
    cr_assert_eq(mock_request_count(m), 1);
    /* A client that stops reading and leaves during a replay was answered by a hit: counted
     * as one, once (a hit is counted when its answer ends, whoever ends it). */
    s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), ask, NULL, &slow);
    cr_assert_eq(e2e_stream_wait_paused(s, 10000), 0);
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    const char *hits = NULL;
    for (int64_t end = e2e_now_ms() + 10000; !hits && e2e_now_ms() < end;) {
        struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
        hits = strstr(met->body, "aigw_cache_lookups_total{result=\"hit\"} 2\n") ? "2" : NULL;
        e2e_resp_free(met);
    }
    cr_assert_not_null(hits, "the abandoned replay's hit was never counted");
    /* ... and logged: its request has an access-log line like every other. */
    int logged = 0;
    for (int64_t end = e2e_now_ms() + 10000; logged < 2 && e2e_now_ms() < end;) {
        logged = 0;
        for (const char *p = e2e_gw_log(gw); (p = strstr(p, "\"cache\":\"hit\"")); p++)
            logged++;
    }
    cr_assert_eq(logged, 2, "the abandoned replay has no log line\n%s", e2e_gw_log(gw));
    e2e_resp_free(a);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- a gateway key's hits --------------------------------------------------------------- */

#define ADMIN "admin-key-for-cache-tests-0123456789"

/* A key made through the admin API from body: its Authorization header (e2e_strf's). */
static const char *key_token(struct e2e_gw *gw, const char *body)
{
    struct e2e_resp *r = e2e_request("POST", e2e_strf("%s/admin/keys", e2e_gw_url(gw)), body,
                                     "Authorization: Bearer " ADMIN, 10000);
    cr_assert_eq(r->status, 201, "%s", r->body);
    const cJSON *key = cJSON_GetObjectItem(e2e_resp_json(r), "key");
    cr_assert(cJSON_IsString(key), "%s", r->body);
    const char *tok = e2e_strf("Authorization: Bearer %s", key->valuestring);
    e2e_resp_free(r);
    return tok;
}

/* A keyed request is routed when it is admitted (its allowlist is judged on the targets),
 * before the cache: its hit must still name no provider, count no provider tokens and no
 * provider request, as an anonymous hit does (aigw(8), the access log's "cache"). */
Test(cache_e2e, a_keyed_hit_names_no_provider_and_counts_no_provider_tokens)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = e2e_gw_start(
        "{\"cache\":{\"enabled\":true},\"catalog\":{\"overrides\":[{\"provider\":"
        "\"openai\",\"model\":\"gpt-4o-mini\",\"mode\":\"chat\",\"in\":1,\"out\":1}]}}",
        "OPENAI_API_KEY=sk-up", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
        "AIGW_ADMIN_KEY=" ADMIN, NULL);
    /* An allowlist: the key's requests are routed as they are admitted. */
    const char *auth = key_token(gw, "{\"name\":\"cache-test\",\"models\":[\"gpt-4o*\"]}");
    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK(""), auth);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    cr_assert_str_eq(e2e_resp_header(a, "X-Gateway-Provider"), "openai");
    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK(""), auth);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    cr_assert_eq(mock_request_count(m), 1);
    cr_assert_null(e2e_resp_header(b, "X-Gateway-Provider"), "no provider answered the hit");
    cr_assert_null(e2e_resp_header(b, "X-Gateway-Attempts"));
    cr_assert_not_null(e2e_resp_header(b, "X-Gateway-Key-Id"), "still the key's answer");
    cr_assert_eq(e2e_gw_wait_log(gw,
                                 "\"provider\":null,\"model\":\"gpt-4o-mini\","
                                 "\"stream\":false,\"attempts\":0",
                                 5000),
                 0, "%s", e2e_gw_log(gw));
    /* The provider reported 81 prompt tokens once: the hit's replayed usage is no report. */
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    cr_assert(strstr(met->body, "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\","
                                "kind=\"prompt\"} 81\n"),
              "%s", met->body);
    /* Nor as the key's: the ledger settles a hit at 0 tokens and $0, and so do the key's
     * metrics (the hit's 81 + 40 were a key's tokens counted twice). */
    const char *kid = e2e_resp_header(b, "X-Gateway-Key-Id");
    const char *kinds[] = {"prompt", "completion", "cached", "reasoning"};
    const int spent[] = {81, 40, 64, 12};
    for (int i = 0; i < 4; i++)
        cr_assert(strstr(met->body, e2e_strf("aigw_key_tokens_total{key=\"%s\",kind=\"%s\"} %d\n",
                                             kid, kinds[i], spent[i])),
                  "%s: %s", kinds[i], met->body);
    cr_assert(strstr(met->body, e2e_strf("aigw_key_cost_usd_total{key=\"%s\"} 0.000121000\n", kid)),
              "%s", met->body);
    e2e_resp_free(met);
    e2e_resp_free(a);
    e2e_resp_free(b);
    /* A budget routes at admission too: its hit is the same, and costs nothing. */
    auth = key_token(gw, "{\"name\":\"cache-budget\",\"budget_usd\":10}");
    a = e2e_post(gw, "/v1/chat/completions", ASK(""), auth);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    b = e2e_post(gw, "/v1/chat/completions", ASK(""), auth);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    cr_assert_null(e2e_resp_header(b, "X-Gateway-Provider"));
    cr_assert_str_eq(e2e_resp_header(b, "X-Gateway-Cost"), "0.00000000");
    cr_assert_eq(mock_request_count(m), 2);
    e2e_resp_free(a);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Cache-Control is a list (RFC 9110 5.3): sent as two field lines, it means both. A client
 * (or a proxy on its way) that adds no-store on a line of its own still keeps nothing. */
Test(cache_e2e, a_directive_on_a_second_cache_control_line_counts)
{
    struct mock *m = chat_mock();
    struct e2e_gw *gw = gw_on(m, ON);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ASK(""),
                                  "Cache-Control: max-age=0\nCache-Control: no-store");
    cr_assert_str_eq(cache_header(r), "miss", "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""), NULL);
    cr_assert_str_eq(cache_header(r), "miss", "no-store kept nothing");
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ASK(""),
                 "Cache-Control: max-age=0\nCache-Control: no-cache");
    cr_assert_str_eq(cache_header(r), "bypass", "no-cache skips the lookup");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 3);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A keyed request with an allowlist is routed as it is admitted; routing is where a circuit
 * breaker refuses a paused target. The cache comes first for it too (aigw.json(5)): a hit
 * needs no healthy provider, so an outage does not turn a key's cached answers into 503s. */
Test(cache_e2e, a_keyed_hit_needs_no_healthy_provider)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route_json(m, e2e_strf("{\"method\":\"POST\",\"times\":1,\"body\":%s}", chat_doc)),
        0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"status\":500,"
                                        "\"body_file\":\"openai/error_500.json\"}"),
                 0);
    struct e2e_gw *gw = e2e_gw_start(
        "{\"cache\":{\"enabled\":true},\"routing\":{\"max_attempts\":1,\"circuit_breaker\":{"
        "\"failure_threshold\":1,\"cooldown_ms\":600000}}}",
        "OPENAI_API_KEY=sk-up", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
        "AIGW_ADMIN_KEY=" ADMIN, NULL);
    const char *auth = key_token(gw, "{\"name\":\"cache-test\",\"models\":[\"gpt-4o*\"]}");
    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK(""), auth);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    cr_assert_eq(a->status, 200, "%s", a->body);
    e2e_resp_free(a);
    /* Another question fails upstream: the target's breaker opens. */
    struct e2e_resp *f = e2e_post(gw, "/v1/chat/completions", ASK(",\"seed\":7"), auth);
    cr_assert_eq(f->status, 500, "%s", f->body);
    e2e_resp_free(f);
    f = e2e_post(gw, "/v1/chat/completions", ASK(",\"seed\":8"), auth);
    cr_assert_eq(f->status, 503, "the breaker is open: %s", f->body);
    cr_assert(strstr(f->body, "circuit_open"), "%s", f->body);
    e2e_resp_free(f);
    int asked = mock_request_count(m);
    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK(""), auth);
    cr_assert_eq(b->status, 200, "%s", b->body);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    cr_assert_eq(mock_request_count(m), asked);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
