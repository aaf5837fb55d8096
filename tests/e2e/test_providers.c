/*
 * End-to-end test per provider: the real aigw binary, configured only through that
 * provider's environment variables, in front of the mock provider serving the provider's
 * own fixture bodies at its native path. Each row of the table gets a non-streaming and a
 * streaming round trip, and the request aigw sent upstream is checked (path, credentials,
 * model id). The plugin tests cover the mappings in depth; this proves the wiring: plugin
 * loading, env configuration, URL building, framing (SSE, NDJSON, AWS event-stream, CRLF),
 * multi-step calls (Replicate create -> stream) and the core's rendering of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define MAX_ENV 6
#define MAX_ROUTES 4

struct prov {
    const char *vkey;
    /* "NAME=value"; "{{base}}" becomes the mock's URL. A required endpoint variable is set
     * to an unreachable host, so a passing row proves <PREFIX>_BASE_URL overrides it. */
    const char *env[MAX_ENV];
    const char *routes[MAX_ROUTES]; /* mock_add_route_json texts, tried in order */
    const char *model;              /* what the client asks for */
    const char *chat_path;          /* expected upstream path, non-streaming */
    const char *stream_path;        /* expected upstream path of the first stream request */
    const char *auth_header;        /* the credential header aigw must send upstream */
    const char *auth_prefix;        /* its value starts with this */
    const char *body_model;         /* expected "model" in the upstream body, or NULL */
    const char *text;               /* choices[0].message.content of chat fixture */
    const char *stream_text;        /* concatenated deltas of the stream fixture */
};

#define KEY "sk-e2e-prov-0001"
#define OAI_ROUTES(dir)                                                                            \
    {                                                                                              \
        "{\"name\":\"stream\",\"method\":\"POST\",\"path\":\"/v1/chat/completions\","              \
        "\"match_body\":{\"stream\":true},\"body_file\":\"" dir "/stream_text.sse\"}",             \
            "{\"name\":\"chat\",\"method\":\"POST\",\"path\":\"/v1/chat/completions\","            \
            "\"body_file\":\"" dir "/chat.json\"}"                                                 \
    }
/* The OpenAI-wire providers built on plugins/oaiwire: <PREFIX>_API_KEY, <PREFIX>_BASE_URL. */
#define OAI_ROW(vk, prefix, base_suffix, mdl, txt, stxt)                                           \
    {                                                                                              \
        .vkey = vk, .env = {prefix "_API_KEY=" KEY, prefix "_BASE_URL={{base}}" base_suffix},      \
        .routes = OAI_ROUTES(vk), .model = mdl, .chat_path = "/v1/chat/completions",               \
        .stream_path = "/v1/chat/completions", .auth_header = "authorization",                     \
        .auth_prefix = "Bearer " KEY, .body_model = mdl, .text = txt, .stream_text = stxt          \
    }

#define VX_PATH "/v1/projects/e2e-proj/locations/us-central1/publishers/google/models/"
#define RP_PATH "/v1/models/meta/meta-llama-3-8b-instruct/predictions"

static const struct prov provs[] = {
    OAI_ROW("openai", "OPENAI", "/v1", "gpt-4o-mini", "The capital of Portugal is Lisbon.",
            "Lisbon sits on the Tagus \xc3\xa9 \"river\"."),
    {.vkey = "azure-openai",
     .env = {"AZURE_OPENAI_API_KEY=" KEY, "AZURE_OPENAI_BASE_URL={{base}}",
             "AZURE_OPENAI_ENDPOINT=https://e2e.invalid", "AZURE_OPENAI_DEPLOYMENT=e2e-dep"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/openai/deployments/*/chat/completions\","
                "\"match_body\":{\"stream\":true},"
                "\"body_file\":\"azure-openai/stream_text.sse\"}",
                "{\"method\":\"POST\",\"path\":\"/openai/deployments/*/chat/completions\","
                "\"body_file\":\"azure-openai/chat.json\"}"},
     .model = "gpt-4o",
     .chat_path = "/openai/deployments/e2e-dep/chat/completions",
     .stream_path = "/openai/deployments/e2e-dep/chat/completions",
     .auth_header = "api-key",
     .auth_prefix = KEY,
     .text = "Arr, a parrot needs a roomy cage and fresh fruit every day.",
     .stream_text = "Ahoy, matey!"},
    {.vkey = "azure-foundry",
     .env = {"AZURE_FOUNDRY_API_KEY=" KEY, "AZURE_FOUNDRY_BASE_URL={{base}}",
             "AZURE_FOUNDRY_ENDPOINT=https://e2e.invalid"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/models/chat/completions\","
                "\"match_body\":{\"stream\":true},"
                "\"body_file\":\"azure-foundry/stream_text.sse\"}",
                "{\"method\":\"POST\",\"path\":\"/models/chat/completions\","
                "\"body_file\":\"azure-foundry/chat.json\"}"},
     .model = "Phi-4",
     .chat_path = "/models/chat/completions",
     .stream_path = "/models/chat/completions",
     .auth_header = "api-key",
     .auth_prefix = KEY,
     .body_model = "Phi-4",
     .text = "Two plus two equals four.",
     .stream_text = "Red, green, blue."},
    OAI_ROW("mistral", "MISTRAL", "/v1", "mistral-small-latest",
            "Lyon sits where the Rh\xc3\xb4ne meets the Sa\xc3\xb4ne.",
            "Bonjour, je suis pr\xc3\xaat."),
    OAI_ROW("groq", "GROQ", "/v1", "llama-3.3-70b-versatile",
            "A haiku has three lines: five, seven and five syllables.", "Fast tokens, quickly."),
    OAI_ROW("deepseek", "DEEPSEEK", "/v1", "deepseek-chat", "Tea steeps best just below boiling.",
            "Slow and steady."),
    OAI_ROW("together", "TOGETHER", "/v1", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "Honey never spoils if it is sealed.", "Bees dance to share directions."),
    OAI_ROW("perplexity", "PERPLEXITY", "/v1", "sonar",
            "The Pacific is the largest ocean, covering about a third of the planet.[1][2]",
            "Pacific, then Atlantic.[1]"),
    OAI_ROW("fireworks", "FIREWORKS", "/v1", "accounts/fireworks/models/llama-v3p1-70b-instruct",
            "Fireflies glow by bioluminescence.", "Glowworms glow too."),
    OAI_ROW("ai21", "AI21", "/v1", "jamba-mini", "A jamba is a stone pillar beside a doorway.",
            "Mamba layers plus attention."),
    OAI_ROW("xai", "XAI", "/v1", "grok-3-mini", "Saturn's rings are mostly water ice.",
            "Ice and rock orbit Saturn"),
    OAI_ROW("hugging-face", "HUGGING_FACE", "", "meta-llama/Llama-3.1-8B-Instruct",
            "Transformers attend to every token at once.", "Open weights win."),
    {.vkey = "anthropic",
     .env = {"ANTHROPIC_API_KEY=" KEY, "ANTHROPIC_BASE_URL={{base}}"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/v1/messages\",\"match_body\":{\"stream\":true},"
                "\"match_headers\":{\"anthropic-version\":\"*\"},"
                "\"body_file\":\"anthropic/stream_text.sse\"}",
                "{\"method\":\"POST\",\"path\":\"/v1/messages\","
                "\"match_headers\":{\"anthropic-version\":\"*\"},"
                "\"body_file\":\"anthropic/chat.json\"}"},
     .model = "claude-sonnet-4-5",
     .chat_path = "/v1/messages",
     .stream_path = "/v1/messages",
     .auth_header = "x-api-key",
     .auth_prefix = KEY,
     .body_model = "claude-sonnet-4-5",
     .text = "The capital of Norway is Oslo. It sits at the head of the Oslofjord.",
     .stream_text = "Bl\xc3\xa5"
                    "b\xc3\xa6r grow wild in \"Norway\",\nmostly in August."},
    {.vkey = "gemini",
     .env = {"GEMINI_API_KEY=" KEY, "GEMINI_BASE_URL={{base}}"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/v1beta/models/*:streamGenerateContent\","
                "\"match_query\":{\"alt\":\"sse\"},\"body_file\":\"gemini/stream_text.sse\"}",
                "{\"method\":\"POST\",\"path\":\"/v1beta/models/*:generateContent\","
                "\"body_file\":\"gemini/chat.json\"}"},
     .model = "gemini-2.5-flash",
     .chat_path = "/v1beta/models/gemini-2.5-flash:generateContent",
     .stream_path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
     .auth_header = "x-goog-api-key",
     .auth_prefix = KEY,
     .text = "The tallest mountain in the Alps is Mont Blanc, at about 4,806 metres.",
     .stream_text = "Bonjour et bienvenue \xc3\xa0 Paris !"},
    {.vkey = "vertex-ai",
     .env = {"VERTEX_AI_PROJECT_ID=e2e-proj", "VERTEX_AI_REGION=us-central1",
             "VERTEX_AI_BASE_URL={{base}}", "VERTEX_AI_ACCESS_TOKEN=ya29.e2e-token"},
     .routes = {"{\"method\":\"POST\",\"path\":\"" VX_PATH "*:streamGenerateContent\","
                "\"match_query\":{\"alt\":\"sse\"},\"body_file\":\"vertex-ai/stream_text.sse\"}",
                "{\"method\":\"POST\",\"path\":\"" VX_PATH "*:generateContent\","
                "\"body_file\":\"vertex-ai/chat.json\"}"},
     .model = "gemini-2.5-flash",
     .chat_path = VX_PATH "gemini-2.5-flash:generateContent",
     .stream_path = VX_PATH "gemini-2.5-flash:streamGenerateContent",
     .auth_header = "authorization",
     .auth_prefix = "Bearer ya29.e2e-token",
     .text = "A haiku about rain:\nSoft drops on tin roofs\nthe garden drinks in silence\n"
             "evening smells of earth",
     .stream_text = "Hello from Vertex."},
    {.vkey = "cohere",
     .env = {"COHERE_API_KEY=" KEY, "COHERE_BASE_URL={{base}}"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/v2/chat\",\"match_body\":{\"stream\":true},"
                "\"body_file\":\"cohere/stream_text.sse\"}",
                "{\"method\":\"POST\",\"path\":\"/v2/chat\",\"body_file\":\"cohere/chat.json\"}"},
     .model = "command-a-03-2025",
     .chat_path = "/v2/chat",
     .stream_path = "/v2/chat",
     .auth_header = "authorization",
     .auth_prefix = "Bearer " KEY,
     .body_model = "command-a-03-2025",
     .text = "Paris is the capital of France.",
     .stream_text = "Bonjour! Here are three colours:\n\nred, green, blue."},
    {.vkey = "ollama",
     .env = {"OLLAMA_API_KEY=" KEY, "OLLAMA_BASE_URL={{base}}", "OLLAMA_HOST=e2e.invalid:11434"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/api/chat\",\"match_body\":{\"stream\":true},"
                "\"body_file\":\"ollama/stream_text.ndjson\"}",
                "{\"method\":\"POST\",\"path\":\"/api/chat\",\"body_file\":\"ollama/chat.json\"}"},
     .model = "llama3.2",
     .chat_path = "/api/chat",
     .stream_path = "/api/chat",
     .auth_header = "authorization",
     .auth_prefix = "Bearer " KEY,
     .body_model = "llama3.2",
     .text = "The sky looks blue because air scatters short wavelengths most.",
     .stream_text = "Why did the chicken cross the road?\nTo get to the other side "
                    "\xc3\xa9t\xc3\xa9 \xf0\x9f\x90\x94."},
    {.vkey = "bedrock",
     .env = {"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDE2ETEST0001",
             "AWS_SECRET_ACCESS_KEY=e2e-secret-0001", "BEDROCK_BASE_URL={{base}}"},
     .routes = {"{\"method\":\"POST\",\"path\":\"/model/*/converse-stream\","
                "\"body_file\":\"bedrock/stream_text.eventstream\"}",
                "{\"method\":\"POST\",\"path\":\"/model/*/converse\","
                "\"body_file\":\"bedrock/chat.json\"}"},
     .model = "meta.llama3-8b-instruct-v1",
     .chat_path = "/model/meta.llama3-8b-instruct-v1/converse",
     .stream_path = "/model/meta.llama3-8b-instruct-v1/converse-stream",
     .auth_header = "authorization",
     .auth_prefix = "AWS4-HMAC-SHA256 Credential=AKIDE2ETEST0001/",
     .text = "Oslo is the capital of Norway.\nIt sits at the head of the Oslofjord.",
     .stream_text = "Hello from Bedrock.\nLine two: na\xc3\xafve caf\xc3\xa9"},
    {.vkey = "replicate",
     .env = {"REPLICATE_API_TOKEN=r8_e2e0001", "REPLICATE_BASE_URL={{base}}"},
     .routes = {"{\"method\":\"POST\",\"path\":\"" RP_PATH "\",\"match_body\":{\"stream\":true},"
                "\"status\":201,\"body\":{\"id\":\"p1\",\"status\":\"starting\",\"urls\":"
                "{\"get\":\"{{base}}/v1/predictions/p1\",\"stream\":\"{{base}}/v1/streams/p1\"}}}",
                "{\"method\":\"POST\",\"path\":\"" RP_PATH "\",\"status\":201,"
                "\"headers\":{\"preference-applied\":\"wait\"},"
                "\"body_file\":\"replicate/prediction_succeeded.json\"}",
                "{\"method\":\"GET\",\"path\":\"/v1/streams/p1\","
                "\"body_file\":\"replicate/stream_text.sse\"}",
                /* after the stream: the prediction's final state, for its token counts */
                "{\"method\":\"GET\",\"path\":\"/v1/predictions/p1\","
                "\"body_file\":\"replicate/prediction_succeeded.json\"}"},
     .model = "meta/meta-llama-3-8b-instruct",
     .chat_path = RP_PATH,
     .stream_path = RP_PATH,
     .auth_header = "authorization",
     .auth_prefix = "Bearer r8_e2e0001",
     .text = "\n\nThe Geirangerfjord is\nin Norway.",
     .stream_text = "One, two, three."},
};

static const struct prov *find(const char *vkey)
{
    for (size_t i = 0; i < sizeof provs / sizeof provs[0]; i++)
        if (strcmp(provs[i].vkey, vkey) == 0)
            return &provs[i];
    cr_assert_fail("no table row for %s", vkey);
    return NULL;
}

/* s with every "{{base}}" replaced by the mock's URL (process lifetime, like e2e_strf). */
static const char *subst(const char *s, const char *base)
{
    const char *hit = strstr(s, "{{base}}");
    if (!hit)
        return s;
    return e2e_strf("%.*s%s%s", (int)(hit - s), s, base, subst(hit + 8, base));
}

static struct mock *start_mock(const struct prov *p)
{
    struct mock *m = e2e_mock(NULL);
    for (int i = 0; i < MAX_ROUTES && p->routes[i]; i++)
        cr_assert_eq(mock_add_route_json(m, p->routes[i]), 0, "%s route %d", p->vkey, i);
    return m;
}

static struct e2e_gw *start_gw(const struct prov *p, struct mock *m)
{
    static const char *env[MAX_ENV + 1];
    int n = 0;
    for (; n < MAX_ENV && p->env[n]; n++)
        env[n] = subst(p->env[n], mock_url(m));
    env[n] = NULL;
    return e2e_gw_start_opts(&(struct e2e_gw_opts){.env = env});
}

static const char *request(const struct prov *p, int stream)
{
    return e2e_strf("{\"model\":\"%s\",%s\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                    p->model, stream ? "\"stream\":true," : "");
}

/* The first upstream request: path, credential, model id. */
static void check_upstream(const struct prov *p, struct mock *m, const char *path)
{
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *up = mock_request(m, 0);
    cr_assert_not_null(up);
    cr_assert_str_eq(mock_req_method(up), "POST");
    cr_assert_str_eq(mock_req_path(up), path, "%s: upstream path", p->vkey);
    const char *auth = mock_req_header(up, p->auth_header);
    cr_assert_not_null(auth, "%s: no %s header upstream", p->vkey, p->auth_header);
    cr_assert_eq(strncmp(auth, p->auth_prefix, strlen(p->auth_prefix)), 0, "%s: %s is \"%s\"",
                 p->vkey, p->auth_header, auth);
    if (p->body_model) {
        const cJSON *model = cJSON_GetObjectItem(mock_req_json(up), "model");
        cr_assert(cJSON_IsString(model), "%s: no model in the upstream body", p->vkey);
        cr_assert_str_eq(model->valuestring, p->body_model);
    }
    mock_req_free(up);
}

static void check_chat(const char *vkey)
{
    const struct prov *p = find(vkey);
    struct mock *m = start_mock(p);
    struct e2e_gw *gw = start_gw(p, m);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", request(p, 0), NULL);
    cr_assert_eq(r->status, 200, "%s: %s\n%s", vkey, r->body, e2e_gw_log(gw));
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), vkey);
    cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j, "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "object")->valuestring, "chat.completion");
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    cJSON *content = cJSON_GetObjectItem(cJSON_GetObjectItem(choice, "message"), "content");
    cr_assert(cJSON_IsString(content), "%s: %s", vkey, r->body);
    cr_assert_str_eq(content->valuestring, p->text, "%s", vkey);
    cr_assert_str_eq(cJSON_GetObjectItem(choice, "finish_reason")->valuestring, "stop");
    check_upstream(p, m, p->chat_path);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

static void check_stream(const char *vkey)
{
    const struct prov *p = find(vkey);
    struct mock *m = start_mock(p);
    struct e2e_gw *gw = start_gw(p, m);
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", request(p, 1), NULL, NULL);
    cr_assert_eq(r->status, 200, "%s: %s\n%s", vkey, r->body, e2e_gw_log(gw));
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), vkey);
    const char *ct = e2e_resp_header(r, "Content-Type");
    cr_assert(ct && strncmp(ct, "text/event-stream", 17) == 0, "content type %s", ct);
    cr_assert_gt(r->n_events, 2, "%s: %s", vkey, r->body);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(e2e_resp_event_json(r, 0), "choices"), 0);
    cJSON *role = cJSON_GetObjectItem(cJSON_GetObjectItem(first, "delta"), "role");
    cr_assert(cJSON_IsString(role) && strcmp(role->valuestring, "assistant") == 0,
              "%s: first chunk %s", vkey, r->events[0]);
    int finishes = 0;
    for (int i = 0; i < r->n_events - 1; i++) {
        cJSON *ev = e2e_resp_event_json(r, i);
        cr_assert_not_null(ev, "%s: event %d is %s", vkey, i, r->events[i]);
        cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(ev, "choices"))
        {
            if (cJSON_IsString(cJSON_GetObjectItem(c, "finish_reason")))
                finishes++;
        }
    }
    cr_assert_eq(finishes, 1, "%s: %d finish_reason values\n%s", vkey, finishes, r->body);
    cr_assert(e2e_resp_done(r), "%s: no [DONE]\n%s", vkey, r->body);
    cr_assert_str_eq(e2e_resp_text(r), p->stream_text, "%s", vkey);
    check_upstream(p, m, p->stream_path);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

#define PROVIDER(id, vkey)                                                                         \
    Test(providers, id##_chat)                                                                     \
    {                                                                                              \
        check_chat(vkey);                                                                          \
    }                                                                                              \
    Test(providers, id##_stream)                                                                   \
    {                                                                                              \
        check_stream(vkey);                                                                        \
    }

PROVIDER(openai, "openai")
PROVIDER(azure_openai, "azure-openai")
PROVIDER(azure_foundry, "azure-foundry")
PROVIDER(mistral, "mistral")
PROVIDER(groq, "groq")
PROVIDER(deepseek, "deepseek")
PROVIDER(together, "together")
PROVIDER(perplexity, "perplexity")
PROVIDER(fireworks, "fireworks")
PROVIDER(ai21, "ai21")
PROVIDER(xai, "xai")
PROVIDER(hugging_face, "hugging-face")
PROVIDER(anthropic, "anthropic")
PROVIDER(gemini, "gemini")
PROVIDER(vertex_ai, "vertex-ai")
PROVIDER(cohere, "cohere")
PROVIDER(ollama, "ollama")
PROVIDER(bedrock, "bedrock")
PROVIDER(replicate, "replicate")

/* ---- Perplexity: the ledger takes the cost Perplexity states ------------------------------ */

/* The fixtures state $0.005 (a search fee, tokens free) and, for the stream, $0.00502 on the
 * last chunk after zeros: the access log, the header and so the ledger say that, not the
 * catalog's $1/M of the 53 or 15 tokens. */
static void check_stated_cost(int stream, const char *header, const char *logged)
{
    const struct prov *p = find("perplexity");
    struct mock *m = start_mock(p);
    struct e2e_gw *gw = start_gw(p, m);
    struct e2e_resp *r = stream ? e2e_stream(gw, "/v1/chat/completions", request(p, 1), NULL, NULL)
                                : e2e_post(gw, "/v1/chat/completions", request(p, 0), NULL);
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    if (header)
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Cost"), header);
    cr_assert_eq(e2e_gw_wait_log(gw, logged, 5000), 0, "%s", e2e_gw_log(gw));
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(providers, perplexity_stated_cost_is_the_ledger_cost)
{
    check_stated_cost(0, "0.00500000", "\"cost_usd\":0.00500000");
}

Test(providers, perplexity_stream_stated_cost_is_the_ledger_cost)
{
    check_stated_cost(1, NULL, "\"cost_usd\":0.00502000");
}

/* A guard's retry asks Perplexity twice and both answers are paid: the ledger takes the sum of
 * the two costs Perplexity states ($0.005 + $0.002), not the second answer's alone. */
#define PPLX_DOC(content, cost)                                                                    \
    "{\"id\":\"p1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"sonar\","             \
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" content "\"},"  \
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,"         \
    "\"total_tokens\":8,\"cost\":{\"total_cost\":" cost "}}}"

Test(providers, perplexity_stated_costs_of_a_guard_retry_add_up)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "first",
                                                        .method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .times = 1,
                                                        .headers = "Content-Type: "
                                                                   "application/json",
                                                        .body = PPLX_DOC("sure", "0.005")}),
                 0);
    cr_assert_eq(
        mock_add_route(
            m, &(struct mock_route){.name = "second",
                                    .method = "POST",
                                    .path = "/v1/chat/completions",
                                    .headers = "Content-Type: application/json",
                                    .body = PPLX_DOC("{\\\"city\\\":\\\"Oslo\\\"}", "0.002")}),
        0);
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    const char *cfg = e2e_strf(
        "{\"guard_dir\":\"%s/plugins/guards/.libs\",\"guardrails\":[{\"name\":\"json-schema\","
        "\"config\":{\"schema\":{\"type\":\"object\",\"required\":[\"city\"]},"
        "\"on_failure\":\"retry\"}}]}",
        b ? b : ".");
    struct e2e_gw *gw = e2e_gw_start(cfg, "PERPLEXITY_API_KEY=" KEY,
                                     e2e_strf("PERPLEXITY_BASE_URL=%s/v1", mock_url(m)), NULL);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
                                  "{\"model\":\"sonar\",\"messages\":[{\"role\":\"user\","
                                  "\"content\":\"Hi\"}]}",
                                  NULL);
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    cr_assert_eq(mock_request_count(m), 2);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Cost"), "0.00700000", "%s", e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_wait_log(gw, "\"cost_usd\":0.00700000", 5000), 0, "%s", e2e_gw_log(gw));
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- Fireworks: a workflow's images are made once, whatever happens to a later call ------- */

#define FW_PATH "/v1/workflows/accounts/fireworks/models/flux-1-schnell-fp8/text_to_image"

/* n=3 from a FLUX workflow is three calls, each making and billing one image. The second
 * call's connection breaks: the request fails saying so, and neither that call nor the first
 * is made again (a new attempt would make the first image twice). */
Test(providers, fireworks_failed_workflow_call_is_not_made_again)
{
    static const struct prov p = {
        .vkey = "fireworks",
        .env = {"FIREWORKS_API_KEY=" KEY, "FIREWORKS_BASE_URL={{base}}/v1"},
        .routes = {"{\"name\":\"first\",\"method\":\"POST\",\"path\":\"" FW_PATH "\","
                   "\"times\":1,\"body_file\":\"fireworks/images_workflow.json\"}",
                   "{\"name\":\"broken\",\"method\":\"POST\",\"path\":\"" FW_PATH "\","
                   "\"close_before_headers\":1}"},
    };
    struct mock *m = start_mock(&p);
    struct e2e_gw *gw = start_gw(&p, m);
    struct e2e_resp *r = e2e_post(gw, "/v1/images/generations",
                                  "{\"model\":\"accounts/fireworks/models/flux-1-schnell-fp8\","
                                  "\"prompt\":\"a lighthouse\",\"n\":3}",
                                  NULL);
    cr_assert_eq(r->status, 502, "%s\n%s", r->body, e2e_gw_log(gw));
    cJSON *err = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "code")->valuestring, "follow_up_failed", "%s",
                     r->body);
    cr_assert_eq(mock_route_hits(m, "first"), 1, "%s", e2e_gw_log(gw));
    /* libcurl may send a request once more by itself when a reused connection turns out
     * closed; aigw never does. */
    int broken = mock_route_hits(m, "broken");
    cr_assert(broken >= 1 && broken <= 2, "%d calls after the first", broken);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- Replicate: a prediction is created once, whatever happens to its polls ---------------- */

#define RP_CREATE                                                                                  \
    "{\"name\":\"create\",\"method\":\"POST\",\"path\":\"" RP_PATH "\",\"status\":201,"            \
    "\"body\":{\"id\":\"p2\",\"status\":\"starting\",\"urls\":{\"get\":\"{{base}}/v1/predictions/" \
    "p2\"}}}"
#define RP_ENV                                                                                     \
    {                                                                                              \
        "REPLICATE_API_TOKEN=r8_e2e0001", "REPLICATE_BASE_URL={{base}}",                           \
            "REPLICATE_WAIT_SECONDS=0", "REPLICATE_POLL_INTERVAL_MS=10"                            \
    }

/* A poll whose connection breaks, then one answered 502, is sent again: the same prediction
 * is polled until it answers, and the create is never repeated (a second prediction would be
 * run and billed). */
Test(providers, replicate_failed_poll_polls_again)
{
    static const struct prov p = {
        .vkey = "replicate",
        .env = RP_ENV,
        .routes = {RP_CREATE,
                   "{\"name\":\"broken\",\"method\":\"GET\",\"path\":\"/v1/predictions/p2\","
                   "\"times\":1,\"close_before_headers\":1}",
                   "{\"name\":\"down\",\"method\":\"GET\",\"path\":\"/v1/predictions/p2\","
                   "\"times\":1,\"status\":502,\"body\":{\"title\":\"Bad Gateway\"}}",
                   "{\"name\":\"poll\",\"method\":\"GET\",\"path\":\"/v1/predictions/p2\","
                   "\"body_file\":\"replicate/prediction_succeeded.json\"}"},
        .model = "meta/meta-llama-3-8b-instruct",
    };
    struct mock *m = start_mock(&p);
    struct e2e_gw *gw = start_gw(&p, m);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", request(&p, 0), NULL);
    cr_assert_eq(r->status, 200, "%s\n%s", r->body, e2e_gw_log(gw));
    cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItem(e2e_resp_json(r), "choices"), 0);
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(choice, "message"), "content")->valuestring,
        "\n\nThe Geirangerfjord is\nin Norway.");
    cr_assert_eq(mock_route_hits(m, "create"), 1);
    cr_assert_eq(mock_route_hits(m, "broken"), 1);
    cr_assert_eq(mock_route_hits(m, "down"), 1);
    cr_assert_eq(mock_route_hits(m, "poll"), 1);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A prediction that cannot be polled any more: a few polls, then an error saying so, and no
 * second prediction. */
Test(providers, replicate_unpollable_prediction_is_not_created_again)
{
    static const struct prov p = {
        .vkey = "replicate",
        .env = RP_ENV,
        .routes = {RP_CREATE, "{\"name\":\"broken\",\"method\":\"GET\","
                              "\"path\":\"/v1/predictions/p2\",\"close_before_headers\":1}"},
        .model = "meta/meta-llama-3-8b-instruct",
    };
    struct mock *m = start_mock(&p);
    struct e2e_gw *gw = start_gw(&p, m);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", request(&p, 0), NULL);
    cr_assert_eq(r->status, 502, "%s\n%s", r->body, e2e_gw_log(gw));
    cJSON *err = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    cr_assert_str_eq(cJSON_GetObjectItem(err, "code")->valuestring, "follow_up_failed", "%s",
                     r->body);
    cr_assert_eq(mock_route_hits(m, "create"), 1, "%s", e2e_gw_log(gw));
    /* The poll and its GW_FOLLOW_UP_REPEATS (3) repeats, each of which libcurl may send a
     * second time by itself when a reused connection turns out closed. */
    int polls = mock_route_hits(m, "broken");
    cr_assert(polls >= 4 && polls <= 8, "%d polls", polls);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
