/*
 * Spend that must not slip past a budget: what admission reserves for requests that ask
 * for several choices. The real aigw in front of the mock provider, keys and spend through
 * the admin API.
 */
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

static struct e2e_gw *spend_gw(struct mock *m)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    return e2e_gw_start(e2e_strf("{\"threads\":1,%s}", PRICES), "OPENAI_API_KEY=sk-upstream",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        "ANTHROPIC_API_KEY=sk-ant-upstream",
                        e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), "AIGW_ADMIN_KEY=" GOV_ADMIN,
                        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
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
