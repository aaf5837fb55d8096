/*
 * Spend that must not slip past a budget: what admission reserves and what the ledger
 * records, for requests that ask for several choices, and for streams cut before the
 * provider's usage report arrives (an OpenAI stream's report comes last; an Anthropic
 * stream's message_start counts one output token, message_delta the rest). The real aigw in
 * front of the mock provider, keys and spend through the admin API.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "gov/gov.h"

/* $0.001 a token each way, for both providers. */
#define PRICES                                                                                     \
    "\"catalog\":{\"overrides\":[{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\","              \
    "\"mode\":\"chat\",\"in\":1000,\"out\":1000},{\"provider\":\"anthropic\",\"model\":"           \
    "\"claude-3-5-haiku-20241022\",\"mode\":\"chat\",\"in\":1000,\"out\":1000}]}"

/* The price of a token, either way, in USD. */
#define TOKEN_USD 0.001

/* store: a store URL, or NULL for aigw's own temp store. */
static struct e2e_gw *spend_gw_at(struct mock *m, const char *store)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    return e2e_gw_start(e2e_strf("{\"threads\":1,%s%s}", PRICES,
                                 store ? e2e_strf(",\"store\":{\"url\":\"%s\"}", store) : ""),
                        "OPENAI_API_KEY=sk-upstream",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        "ANTHROPIC_API_KEY=sk-ant-upstream",
                        e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), "AIGW_ADMIN_KEY=" GOV_ADMIN,
                        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
}

static struct e2e_gw *spend_gw(struct mock *m)
{
    return spend_gw_at(m, NULL);
}

/* The key's committed spend (the ledger, through the admin API). */
static double spend_of(struct e2e_gw *gw, const char *id)
{
    struct e2e_resp *r = gov_admin(gw, "GET", e2e_strf("/admin/keys/%s", id), NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    const cJSON *s = cJSON_GetObjectItem(e2e_resp_json(r), "spend_usd");
    cr_assert(cJSON_IsNumber(s), "%s", r->body);
    double v = s->valuedouble;
    e2e_resp_free(r);
    return v;
}

/* Probes (each a round trip) until the spend reaches at least want; the last value read. The
 * ledger's writer commits in batches, so the row lands a moment after the answer. */
static double spend_reaching(struct e2e_gw *gw, const char *id, double want, int timeout_ms)
{
    int64_t t0 = e2e_now_ms();
    double v = spend_of(gw, id);
    while (v < want && e2e_now_ms() - t0 < timeout_ms)
        v = spend_of(gw, id);
    return v;
}

Test(spend, every_choice_of_n_is_reserved_and_clamped_against_the_budget)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = spend_gw(m);
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"n\",\"budget_usd\":1}", &k);
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
                                  "{\"model\":\"gpt-4o-mini\",\"n\":8,\"max_tokens\":1000,"
                                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                  auth);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    /* Eight answers of max_tokens each are billed: together they fit in the $1 granted. */
    const struct mock_req *up = mock_request(m, 0);
    const cJSON *mt = cJSON_GetObjectItem(mock_req_json(up), "max_tokens");
    const cJSON *n = cJSON_GetObjectItem(mock_req_json(up), "n");
    cr_assert(cJSON_IsNumber(mt) && cJSON_IsNumber(n) && n->valuedouble == 8, "%s",
              mock_req_body(up));
    cr_assert(mt->valuedouble >= 1 && mt->valuedouble * 8 * 0.001 <= 1.0,
              "8 choices of max_tokens %g can cost $%g of a $1 budget", mt->valuedouble,
              mt->valuedouble * 8 * 0.001);
    mock_req_free(up);

    /* The token limit counts every choice too: 8 x 200 is more than 1000 a minute. */
    gov_key_create(gw, "{\"name\":\"tpm\",\"tpm\":1000}", &k);
    r = e2e_post(gw, "/v1/chat/completions",
                 "{\"model\":\"gpt-4o-mini\",\"n\":8,\"max_tokens\":200,"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                 e2e_strf("Authorization: Bearer %s", k.token));
    cr_assert_eq(r->status, 429, "1600 tokens asked of a 1000 a minute key: %d %s", r->status,
                 r->body);
    cr_assert_str_eq(e2e_resp_header(r, "x-should-retry"), "false");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1, "the refused request never reached the provider");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- streams cut before their usage report ---------------------------------------------- */

/* What the mock sends of a recorded stream before it stalls: its first `chunks` events. */
struct cut_fixture {
    int64_t content_bytes; /* the answer's text in them, decoded (what the client is sent) */
    int64_t prompt_tokens; /* the prompt tokens they report; 0: none */
    int64_t output_tokens; /* the output tokens they report; 0: none */
};

static void cut_fixture_read(const char *name, int chunks, struct cut_fixture *f)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    const char *path = e2e_strf("%s/tests/fixtures/%s", src ? src : ".", name);
    FILE *fp = fopen(path, "rb");
    cr_assert(fp, "%s", path);
    memset(f, 0, sizeof *f);
    char line[8192];
    int seen = 0;
    while (seen < chunks && fgets(line, sizeof line, fp)) {
        if (strncmp(line, "data: ", 6))
            continue; /* one data line per event, in both recordings */
        seen++;
        cJSON *j = cJSON_Parse(line + 6);
        if (!j)
            continue; /* [DONE] */
        const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
        const cJSON *text = cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "delta"), "content");
        const cJSON *delta = cJSON_GetObjectItem(j, "delta"); /* Anthropic's text_delta */
        if (!cJSON_IsString(text))
            text = cJSON_GetObjectItem(delta, "text");
        if (cJSON_IsString(text))
            f->content_bytes += (int64_t)strlen(text->valuestring);
        const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "message"), "usage");
        const cJSON *in = cJSON_GetObjectItem(u, "input_tokens");
        const cJSON *out = cJSON_GetObjectItem(u, "output_tokens");
        if (cJSON_IsNumber(in))
            f->prompt_tokens = (int64_t)in->valuedouble;
        if (cJSON_IsNumber(out))
            f->output_tokens = (int64_t)out->valuedouble;
        cJSON_Delete(j);
    }
    fclose(fp);
    cr_assert_eq(seen, chunks, "%s has fewer than %d events", path, chunks);
    cr_assert_gt(f->content_bytes, 0, "%s: no answer text in its first %d events", path, chunks);
}

struct cut_case {
    const char *route; /* the mock's route: the recording, stalled after some events */
    const char *fixture;
    int chunks; /* events the mock sends before it stalls */
    const char *path;
    int anthropic;
    const char *last; /* a word of the last text the mock sends: the client leaves on it */
    const char *key;  /* the key's JSON; NULL: one with a budget */
};

/* Leaves (returns nonzero) on the event that carries the last text the upstream sends. */
static int leave_on(void *ud, int index, const char *data)
{
    (void)index;
    return strstr(data, (const char *)ud) != NULL;
}

/* The request's prompt: "hi", with max_tokens 100, so the reservation is its prompt estimate
 * and 100 output tokens. The estimate is the prompt's bytes / 4 + 1; counted here from the
 * strings alone, it is short by the few separators admission counts too. */
#define CUT_BODY(model)                                                                            \
    "{\"model\":\"" model "\",\"stream\":true,\"max_tokens\":100,"                                 \
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define CUT_MAX_TOKENS 100
#define CUT_PROMPT_BYTES (sizeof "user" - 1 + sizeof "hi" - 1)

/* The client reads the answer up to where the upstream stalls and leaves: the ledger, and
 * after a restart the key's spend, hold the prompt and the text it was sent (4 bytes a token
 * when the provider did not count it), not the prompt alone nor the whole reservation. */
static void cut_stream(const struct cut_case *c, const char *body)
{
    struct cut_fixture f;
    cut_fixture_read(c->fixture, c->chunks, &f);
    int64_t sent = (f.content_bytes + 3) / 4;
    int64_t out = sent > f.output_tokens ? sent : f.output_tokens;
    /* Without a reported prompt: admission's estimate, within two tokens of this. */
    int64_t prompt = f.prompt_tokens > 0 ? f.prompt_tokens : (int64_t)CUT_PROMPT_BYTES / 4 + 1;
    double tol = f.prompt_tokens > 0 ? TOKEN_USD / 2 : 2.5 * TOKEN_USD;
    double want = (double)(prompt + out) * TOKEN_USD;
    double prompt_only = (double)(prompt + f.output_tokens) * TOKEN_USD;
    double reserved = (double)(prompt + CUT_MAX_TOKENS) * TOKEN_USD;
    cr_assert_gt(want - prompt_only, 2 * tol, "the recording's text is long enough to tell");

    char *dir = gov_dir();
    const char *db = e2e_strf("%s/aigw.db", dir);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, c->route), 0);
    struct e2e_gw *gw = spend_gw_at(m, e2e_strf("sqlite:%s", db));
    struct gov_key k;
    gov_key_create(gw, c->key ? c->key : "{\"name\":\"cut\",\"budget_usd\":5}", &k);
    struct e2e_resp *r =
        e2e_stream(gw, c->path, body,
                   c->anthropic ? e2e_strf("anthropic-version: 2023-06-01\nx-api-key: %s", k.token)
                                : e2e_strf("Authorization: Bearer %s", k.token),
                   &(struct e2e_stream_opts){
                       .on_event = leave_on, .ud = (void *)c->last, .timeout_ms = 15000});
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert(r->aborted, "the client left mid-stream: %s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_wait_disconnects(m, 1, 10000), 0, "aigw cancelled the upstream");
    double spent = spend_reaching(gw, k.id, want - tol, 10000);
    cr_assert(spent > prompt_only + tol, "a cut answer costs more than its prompt ($%g): $%g",
              prompt_only, spent);
    cr_assert(fabs(spent - want) <= tol,
              "%lld prompt + %lld output tokens sent ($%g) were charged $%g", (long long)prompt,
              (long long)out, want, spent);
    cr_assert(spent < reserved / 2, "not its whole reservation ($%g): $%g", reserved, spent);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);

    /* The ledger itself carries it (the counters are reseeded from it at a start). */
    gov_ledger_assert(db, k.id, 1, spent, 1e-6);
    gw = spend_gw_at(m, e2e_strf("sqlite:%s", db));
    double again = spend_of(gw, k.id);
    cr_assert(fabs(again - spent) < 1e-6, "after a restart: $%g, before: $%g", again, spent);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
    gov_dir_remove(dir);
}

Test(spend, an_openai_stream_cut_before_its_usage_costs_the_text_it_sent, .timeout = 60)
{
    /* Four events: the role, then "Lisbon", " sits on", " the Tagus ..."; no usage. */
    struct cut_case c = {
        .route = "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                 "\"body_file\":\"openai/stream_text.sse\",\"chunking\":\"events\","
                 "\"stall_after_chunks\":4}",
        .fixture = "openai/stream_text.sse",
        .chunks = 4,
        .path = "/v1/chat/completions",
        .last = "Tagus",
    };
    cut_stream(&c, CUT_BODY("gpt-4o-mini"));
}

Test(spend, an_anthropic_stream_left_after_message_start_costs_the_text_it_sent, .timeout = 60)
{
    /* Six events: message_start (its usage: the prompt and 2 output tokens), the block's
     * start, a ping and three text deltas; message_delta's count never comes. */
    struct cut_case c = {
        .route = "{\"method\":\"POST\",\"path\":\"/v1/messages\","
                 "\"body_file\":\"anthropic/stream_text.sse\",\"chunking\":\"events\","
                 "\"stall_after_chunks\":6}",
        .fixture = "anthropic/stream_text.sse",
        .chunks = 6,
        .path = "/v1/messages",
        .anthropic = 1,
        .last = "August",
    };
    cut_stream(&c, CUT_BODY("claude-3-5-haiku-20241022"));
}

/* A key without limits reserves nothing; the ledger still holds what its cut answers cost
 * (an OpenAI stream's was recorded at no cost, an Anthropic one's as its prompt alone). */
Test(spend, a_cut_stream_on_a_key_without_limits_costs_the_text_it_sent, .timeout = 60)
{
    struct cut_case c[2] = {
        {
            .route = "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                     "\"body_file\":\"openai/stream_text.sse\",\"chunking\":\"events\","
                     "\"stall_after_chunks\":4}",
            .fixture = "openai/stream_text.sse",
            .chunks = 4,
            .path = "/v1/chat/completions",
            .last = "Tagus",
            .key = "{\"name\":\"free\"}",
        },
        {
            .route = "{\"method\":\"POST\",\"path\":\"/v1/messages\","
                     "\"body_file\":\"anthropic/stream_text.sse\",\"chunking\":\"events\","
                     "\"stall_after_chunks\":6}",
            .fixture = "anthropic/stream_text.sse",
            .chunks = 6,
            .path = "/v1/messages",
            .anthropic = 1,
            .last = "August",
            .key = "{\"name\":\"free\"}",
        },
    };
    cut_stream(&c[0], CUT_BODY("gpt-4o-mini"));
    cut_stream(&c[1], CUT_BODY("claude-3-5-haiku-20241022"));
}

/* ---- an answer whose provider reports no usage ------------------------------------------- */

/* A whole, non-streamed answer without a usage object (some OpenAI-compatible servers omit
 * it) was recorded in the ledger at no cost, so such a provider's answers never reached a
 * budget. It costs its prompt (admission's estimate) and its text at 4 bytes a token, as a
 * stream without a report does. */
Test(spend, a_whole_answer_without_usage_costs_its_prompt_and_text, .timeout = 60)
{
    /* 200 bytes of answer: 50 output tokens at 4 bytes a token. */
    char text[201];
    memset(text, 'x', 200);
    for (int i = 0; i < 200; i += 10)
        text[i] = ' ';
    text[200] = '\0';
    cJSON *doc = cJSON_Parse("{\"id\":\"chatcmpl-nousage\",\"object\":\"chat.completion\","
                             "\"created\":1735689600,\"model\":\"gpt-4o-mini\",\"choices\":"
                             "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
                             "\"finish_reason\":\"stop\"}]}");
    cJSON *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "choices"), 0), "message");
    cJSON_ReplaceItemInObject(msg, "content", cJSON_CreateString(text));
    cJSON *route = cJSON_Parse("{\"method\":\"POST\",\"path\":\"/v1/chat/completions\"}");
    cJSON_AddItemToObject(route, "body", doc);
    char *route_s = cJSON_PrintUnformatted(route);
    cJSON_Delete(route);

    char *dir = gov_dir();
    const char *db = e2e_strf("%s/aigw.db", dir);
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, route_s), 0);
    free(route_s);
    struct e2e_gw *gw = spend_gw_at(m, e2e_strf("sqlite:%s", db));
    /* a key with a budget, and one without limits (which reserves nothing) */
    struct gov_key k[2];
    double spent[2];
    gov_key_create(gw, "{\"name\":\"nousage\",\"budget_usd\":5}", &k[0]);
    gov_key_create(gw, "{\"name\":\"nousage-free\"}", &k[1]);
    int64_t prompt = (int64_t)CUT_PROMPT_BYTES / 4 + 1, out = 200 / 4;
    double want = (double)(prompt + out) * TOKEN_USD, tol = 2.5 * TOKEN_USD;
    for (int i = 0; i < 2; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
                                      "{\"model\":\"gpt-4o-mini\",\"max_tokens\":1000,"
                                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                      e2e_strf("Authorization: Bearer %s", k[i].token));
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        e2e_resp_free(r);
        spent[i] = spend_reaching(gw, k[i].id, want - tol, 10000);
        cr_assert(fabs(spent[i] - want) <= tol,
                  "key %d: %lld prompt + %lld output tokens ($%g) were charged $%g", i,
                  (long long)prompt, (long long)out, want, spent[i]);
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    for (int i = 0; i < 2; i++)
        gov_ledger_assert(db, k[i].id, 1, spent[i], 1e-6);
    mock_stop(m);
    gov_dir_remove(dir);
}

/* ---- a fallback to a pricier target ------------------------------------------------------ */

/* An alias whose first target is cheap ($0.001 a token) and fails, and whose fallback costs a
 * hundred times more per output token ($0.1), $10 a token either way, or has no price. */
#define FB_PRICES                                                                                  \
    "\"catalog\":{\"overrides\":[{\"provider\":\"openai\",\"model\":\"cheap\",\"mode\":\"chat\","  \
    "\"in\":1000,\"out\":1000},{\"provider\":\"groq\",\"model\":\"pricey\",\"mode\":\"chat\","     \
    "\"in\":1000,\"out\":100000},{\"provider\":\"groq\",\"model\":\"dear\",\"mode\":\"chat\","     \
    "\"in\":10000000,\"out\":10000000}]}"
#define FB_OUT_USD 0.1

static struct e2e_gw *fallback_gw(struct mock *m, const char *fallback_model)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    const char *cfg = e2e_strf("{\"threads\":1,%s,\"routing\":{\"aliases\":{\"smart\":{\"targets\":"
                               "[{\"provider\":\"openai\",\"model\":\"cheap\"},"
                               "{\"provider\":\"groq\",\"model\":\"%s\"}]}}}}",
                               FB_PRICES, fallback_model);
    return e2e_gw_start(
        cfg, "OPENAI_API_KEY=sk-upstream", e2e_strf("OPENAI_BASE_URL=%s/openai/v1", mock_url(m)),
        "GROQ_API_KEY=gsk-upstream", e2e_strf("GROQ_BASE_URL=%s/groq/v1", mock_url(m)),
        "AIGW_ADMIN_KEY=" GOV_ADMIN,
        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
}

static struct mock *fallback_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"name\":\"openai\",\"method\":\"POST\",\"path\":"
                                        "\"/openai/v1/chat/completions\",\"status\":500,"
                                        "\"body_file\":\"mock/error_500.json\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"name\":\"groq\",\"method\":\"POST\",\"path\":"
                                        "\"/groq/v1/chat/completions\","
                                        "\"body_file\":\"mock/chat.json\"}"),
                 0);
    return m;
}

#define FB_BODY                                                                                    \
    "{\"model\":\"smart\",\"max_tokens\":100,"                                                     \
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

/* The grant is priced at the first target: 100 cheap tokens, about $0.1. The answer of the
 * fallback, at $0.1 a token, must fit in that grant too, not in 100 of its own tokens ($10,
 * ten times the key's whole budget). */
Test(spend, a_fallback_to_a_pricier_model_answers_within_the_grant, .timeout = 60)
{
    struct mock *m = fallback_mock();
    struct e2e_gw *gw = fallback_gw(m, "pricey");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"fb\",\"budget_usd\":1}", &k);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", FB_BODY,
                                  e2e_strf("Authorization: Bearer %s", k.token));
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(m, "openai"), 1);
    cr_assert_eq(mock_route_hits(m, "groq"), 1, "the fallback answered");
    const struct mock_req *up = mock_request(m, 1);
    const cJSON *mt = cJSON_GetObjectItem(mock_req_json(up), "max_tokens");
    cr_assert(cJSON_IsNumber(mt) && mt->valuedouble >= 1, "%s", mock_req_body(up));
    double grant = (CUT_PROMPT_BYTES / 4 + 4 + 100) * TOKEN_USD; /* a bound over the estimate */
    cr_assert(mt->valuedouble * FB_OUT_USD <= grant,
              "the fallback may answer %g tokens at $%g: $%g against a grant of about $%g",
              mt->valuedouble, FB_OUT_USD, mt->valuedouble * FB_OUT_USD, grant);
    mock_req_free(up);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A fallback target with no catalog price would answer a budgeted key with a cost nobody can
 * count (the ledger's row says null, the key's spend does not move): it is not used. */
Test(spend, a_fallback_without_a_price_is_not_used_under_a_budget, .timeout = 60)
{
    struct mock *m = fallback_mock();
    struct e2e_gw *gw = fallback_gw(m, "unpriced");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"fb\",\"budget_usd\":1}", &k);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", FB_BODY,
                                  e2e_strf("Authorization: Bearer %s", k.token));
    cr_assert_eq(r->status, 500, "the first target's error answers: %d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(m, "groq"), 0, "an unpriced model answered a budgeted key");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A fallback whose prompt alone costs more than the grant is not tried: the first target's
 * error answers, and nothing is spent. */
Test(spend, a_fallback_beyond_the_grant_is_not_tried, .timeout = 60)
{
    struct mock *m = fallback_mock();
    struct e2e_gw *gw = fallback_gw(m, "dear");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"fb\",\"budget_usd\":1}", &k);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", FB_BODY,
                                  e2e_strf("Authorization: Bearer %s", k.token));
    cr_assert_eq(r->status, 500, "the first target's error answers: %d %s", r->status, r->body);
    cr_assert(strstr(r->body, "error"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(m, "groq"), 0, "a target costing more than the grant was tried");
    cr_assert_eq(e2e_gw_wait_log(gw, "costs more than what is left of the request's grant", 5000),
                 0, "%s", e2e_gw_log(gw));
    /* The answer is the first target's error: its log line names that target. */
    cr_assert_eq(e2e_gw_wait_log(gw, "\"provider\":\"openai\",\"model\":\"cheap\"", 5000), 0, "%s",
                 e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- a guardrail's retry ------------------------------------------------------------------ */

/* An answer from the mock: content (JSON-escaped) and its completion tokens. */
#define RETRY_DOC(content, out)                                                                    \
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","       \
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" content "\"},"  \
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":" #out      \
    ",\"total_tokens\":" #out "}}"

/* json-schema's retry is a second answer, paid for like the first: together they stay within
 * the one grant. Here the first answer used 400 of the 500 tokens granted ($0.405 of about
 * $0.505), so the second may not be asked for 500 more. */
Test(spend, a_guardrail_retry_answers_within_what_the_first_answer_left, .timeout = 60)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "first",
                                                        .method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .times = 1,
                                                        .headers = "Content-Type: application/json",
                                                        .body = RETRY_DOC("sure", 400)}),
                 0);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "second",
                                                        .method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .headers = "Content-Type: application/json",
                                                        .body = RETRY_DOC("{\\\"city\\\":1}", 3)}),
                 0);
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    const char *src = getenv("AIGW_TEST_SRCDIR");
    struct e2e_gw *gw = e2e_gw_start(
        e2e_strf("{\"threads\":1,%s,\"guard_dir\":\"%s/plugins/guards/.libs\",\"guardrails\":"
                 "[{\"name\":\"json-schema\",\"config\":{\"schema\":{\"type\":\"object\","
                 "\"required\":[\"city\"]},\"on_failure\":\"retry\"}}]}",
                 PRICES, b ? b : "."),
        "OPENAI_API_KEY=sk-upstream", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
        "AIGW_ADMIN_KEY=" GOV_ADMIN,
        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"retry\",\"budget_usd\":1}", &k);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
                                  "{\"model\":\"gpt-4o-mini\",\"max_tokens\":500,"
                                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                  e2e_strf("Authorization: Bearer %s", k.token));
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 2, "the guard asked once more");
    const struct mock_req *up = mock_request(m, 1);
    const cJSON *mt = cJSON_GetObjectItem(mock_req_json(up), "max_tokens");
    cr_assert(cJSON_IsNumber(mt) && mt->valuedouble >= 1, "%s", mock_req_body(up));
    double grant = (CUT_PROMPT_BYTES / 4 + 4 + 500) * TOKEN_USD, first = (5 + 400) * TOKEN_USD;
    cr_assert(first + mt->valuedouble * TOKEN_USD <= grant,
              "after $%g, the retry may answer %g tokens more: $%g against a grant of about $%g",
              first, mt->valuedouble, first + mt->valuedouble * TOKEN_USD, grant);
    mock_req_free(up);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A hit of the response cache reaches no provider: it spends no tokens per minute and no
 * budget (its replayed usage is what the first answer cost), while the request itself still
 * counts against requests per minute. Hits counted their replayed tokens against TPM. */
Test(spend, a_cache_hit_counts_a_request_but_no_tokens_and_no_spend, .timeout = 60)
{
    struct mock *m = e2e_mock("openai_chat");
    const char *src = getenv("AIGW_TEST_SRCDIR");
    struct e2e_gw *gw =
        e2e_gw_start(e2e_strf("{\"threads\":1,%s,\"cache\":{\"enabled\":true}}", PRICES),
                     "OPENAI_API_KEY=sk-upstream", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                     "AIGW_ADMIN_KEY=" GOV_ADMIN,
                     e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"hits\",\"rpm\":100,\"tpm\":1000,\"budget_usd\":5}", &k);
    /* 103 tokens reserved at admission (see governance's TPM test); the mock's answer is
     * 14 + 17 = 31 tokens, at $0.001 each: $0.031. */
    const char *body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    static const char *const cache[] = {"miss", "hit", "hit"};
    static const char *const tokens[] = {"897", "866", "866"};
    static const char *const requests[] = {"99", "98", "97"};
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", body, auth);
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        const char *c = e2e_resp_header(r, "X-Gateway-Cache");
        cr_assert_str_eq(c ? c : "(none)", cache[i], "request %d", i);
        const char *t = e2e_resp_header(r, "x-ratelimit-remaining-tokens");
        const char *q = e2e_resp_header(r, "x-ratelimit-remaining-requests");
        cr_assert(t && q, "%s", r->headers);
        /* The hit before it settled to 0 tokens: only the miss's 31 and its own reservation. */
        cr_assert_str_eq(t, tokens[i], "request %d: remaining tokens %s", i, t);
        cr_assert_str_eq(q, requests[i], "request %d: remaining requests %s", i, q);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_request_count(m), 1);
    /* A miss after the hits: once its spend landed, the hits' would have too. */
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
                                  "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,"
                                  "\"messages\":[{\"role\":\"user\",\"content\":\"ho\"}]}",
                                  auth);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    double spent = spend_reaching(gw, k.id, 0.062 - 1e-9, 5000);
    cr_assert(fabs(spent - 0.062) < 1e-6, "two answers from the provider, $0.031 each: $%g", spent);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
