/*
 * Security end to end: the admin API refuses every route (walked from the endpoint and admin
 * route tables, not a hand list) without the admin key, with a key of the wrong kind (a
 * gateway key, a static key, the admin key in the wrong header), and from outside
 * admin.allow; failed admin and gateway-key authentications are rate-limited per client
 * address (429 with Retry-After, counted apart, a missing key not counted); a gateway key
 * reads only its own stored responses and its own usage (GET /v1/usage).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "admin/admin.h"
#include "endpoints.h"
#include "gov/gov.h"
#include "store/store.h"

#define STATIC_KEY "static-gateway-key-0123"

static const char *err_code(struct e2e_resp *r)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    return cJSON_IsString(c) ? c->valuestring : "";
}

typedef void (*route_fn)(void *ud, const char *method, const char *path);

/* Every method the endpoint table takes under /admin/, on every route of the admin router,
 * on each path shape a route has: itself, one object, one object's action. */
static int walk_admin(route_fn fn, void *ud, const char *id)
{
    int n = 0;
    const struct gw_endpoint *e;
    for (size_t i = 0; (e = gw_endpoint_at(i)); i++) {
        if (strncmp(e->path, "/admin/", 7))
            continue;
        cr_assert_eq(e->auth, 0, "admin rows authenticate on their own, with the admin key");
        const char *prefix;
        for (size_t j = 0; (prefix = gw_admin_route_at(j)); j++) {
            const char *shapes[] = {"", e2e_strf("/%s", id), e2e_strf("/%s/rotate", id),
                                    "?limit=1"};
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
                fn(ud, e->method, e2e_strf("%s%s", prefix, shapes[s]));
                n++;
            }
        }
    }
    return n;
}

struct refusal {
    struct e2e_gw *gw;
    const char *headers;
    int want;
    const char *code;
};

static void expect_refused(void *ud, const char *method, const char *path)
{
    struct refusal *rf = ud;
    const char *body = strcmp(method, "GET") && strcmp(method, "DELETE")
                           ? "{\"name\":\"intruder\",\"rpm\":null,\"budget_usd\":null}"
                           : NULL;
    struct e2e_resp *r =
        e2e_request(method, e2e_strf("%s%s", e2e_gw_url(rf->gw), path), body, rf->headers, 10000);
    cr_assert_eq(r->status, rf->want, "%s %s with [%s]: %d %s", method, path,
                 rf->headers ? rf->headers : "no credentials", r->status, r->body);
    cr_assert_str_eq(err_code(r), rf->code, "%s %s: %s", method, path, r->body);
    cr_assert_null(strstr(r->body, "gateway.key"), "no key object leaks: %s", r->body);
    e2e_resp_free(r);
}

/* The one key's record, as the admin key reads it. */
static char *key_record(struct e2e_gw *gw, const char *id)
{
    struct e2e_resp *r = gov_admin(gw, "GET", e2e_strf("/admin/keys/%s", id), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    char *s = e2e_strf("%s", r->body);
    e2e_resp_free(r);
    return s;
}

Test(security, every_admin_route_refuses_missing_and_wrong_kinds_of_key)
{
    struct mock *m = e2e_mock("openai_chat");
    /* No failure limit here: every refusal must be the 401 itself, not a 429 after ten. */
    struct e2e_gw *gw =
        gov_gw(m, NULL, NULL, "\"auth\":{\"api_keys\":[\"" STATIC_KEY "\"],\"max_failures\":0}");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"victim\",\"rpm\":5,\"budget_usd\":1}", &k);
    char *before = key_record(gw, k.id);
    const char *kinds[] = {
        NULL,                                              /* nothing */
        e2e_strf("Authorization: Bearer %s", k.token),     /* a gateway key */
        "Authorization: Bearer " STATIC_KEY,               /* a static gateway key */
        "x-api-key: " GOV_ADMIN,                           /* the admin key, wrong header */
        "Authorization: Basic " GOV_ADMIN,                 /* ... wrong scheme */
        "Authorization: Bearer " GOV_ADMIN "x",            /* a longer one */
        "Authorization: Bearer admin-key-for-tests-01234", /* a prefix of it */
    };
    int walked = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        struct refusal rf = {gw, kinds[i], 401, "invalid_admin_key"};
        walked = walk_admin(expect_refused, &rf, k.id);
    }
    cr_assert_geq(walked, 16, "4 methods x 4 shapes at least (%d)", walked);
    /* Nothing changed: no key was made, updated, rotated or revoked. */
    cr_assert_str_eq(key_record(gw, k.id), before);
    struct e2e_resp *r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "data");
    cr_assert_eq(cJSON_GetArraySize(data), 1, "%s", r->body);
    e2e_resp_free(r);
    /* The gateway key still works where it belongs. */
    r = gov_chat(gw, k.token);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(security, every_admin_route_refuses_an_address_outside_admin_allow)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "\"admin\":{\"allow\":[\"10.0.0.0/8\",\"::1/128\"]}");
    struct refusal rf = {gw, "Authorization: Bearer " GOV_ADMIN, 403, "admin_address_refused"};
    cr_assert_geq(walk_admin(expect_refused, &rf, "abcdefgh"), 16);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

static int64_t retry_after(struct e2e_resp *r)
{
    const char *v = e2e_resp_header(r, "Retry-After");
    cr_assert_not_null(v, "a 429 says when to come back: %s", r->headers);
    return strtoll(v, NULL, 10);
}

Test(security, failed_authentications_are_rate_limited_per_address_and_kind)
{
    struct mock *m = e2e_mock("openai_chat");
    cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
    struct e2e_gw *gw =
        gov_gw(m, NULL, NULL, "\"auth\":{\"max_failures\":3,\"failure_window_s\":600}");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"good\"}", &k);
    /* No key at all is a 401 each time, never counted: nothing was guessed. */
    for (int i = 0; i < 5; i++) {
        struct e2e_resp *r = gov_chat(gw, NULL);
        cr_assert_eq(r->status, 401, "%d %s", r->status, r->body);
        e2e_resp_free(r);
    }
    /* Wrong gateway keys: three 401s, then 429 in the client's dialect, even for the good
     * key (its token is not looked at). */
    const char *wrong = e2e_strf("aigw_%s_wrongwrongwrongwrongwrong", k.id);
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = gov_chat(gw, wrong);
        cr_assert_eq(r->status, 401, "failure %d: %d %s", i, r->status, r->body);
        e2e_resp_free(r);
    }
    struct e2e_resp *r = gov_chat(gw, k.token);
    cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
    cr_assert_str_eq(err_code(r), "too_many_auth_failures");
    int64_t ra = retry_after(r);
    cr_assert(ra >= 1 && ra <= 600, "Retry-After %lld", (long long)ra);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages",
                 "{\"model\":\"gpt-4o-mini\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"hi\"}]}",
                 e2e_strf("anthropic-version: 2023-06-01\nx-api-key: %s", k.token));
    cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error", "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "type")->valuestring,
                     "rate_limit_error");
    retry_after(r);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0, "nothing went upstream");
    /* Counted apart: the admin key still works from this address... */
    r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    /* ... until the admin failures reach their own limit. */
    for (int i = 0; i < 3; i++) {
        r = e2e_request("GET", e2e_strf("%s/admin/keys", e2e_gw_url(gw)), NULL,
                        "Authorization: Bearer not-the-admin-key-at-all", 5000);
        cr_assert_eq(r->status, 401, "admin failure %d: %d", i, r->status);
        e2e_resp_free(r);
    }
    r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
    ra = retry_after(r);
    cr_assert(ra >= 1 && ra <= 600, "Retry-After %lld", (long long)ra);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* ---- a key reads only its own ------------------------------------------------------------- */

static struct e2e_resp *as(struct e2e_gw *gw, const char *method, const char *path,
                           const char *body, const struct gov_key *k)
{
    return e2e_request(method, e2e_strf("%s%s", e2e_gw_url(gw), path), body,
                       e2e_strf("Authorization: Bearer %s", k->token), 10000);
}

static void expect_404_responses_shape(struct e2e_resp *r, const char *what)
{
    cr_assert_eq(r->status, 404, "%s: %d %s", what, r->status, r->body);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "error");
    cr_assert(cJSON_IsObject(e), "%s: %s", what, r->body);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "message")), "%s: %s", what, r->body);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "type")), "%s: %s", what, r->body);
    cr_assert_null(strstr(r->body, "\"output\""), "%s: nothing of the response: %s", what, r->body);
}

Test(security, a_key_reads_only_its_own_stored_responses)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "");
    struct gov_key a, b;
    gov_key_create(gw, "{\"name\":\"alice\"}", &a);
    gov_key_create(gw, "{\"name\":\"bob\"}", &b);
    struct e2e_resp *r =
        as(gw, "POST", "/v1/responses",
           "{\"model\":\"gpt-4o-mini\",\"input\":\"secret plans\",\"store\":true}", &a);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *id = e2e_strf("%s", cJSON_GetObjectItem(e2e_resp_json(r), "id")->valuestring);
    e2e_resp_free(r);

    r = as(gw, "GET", e2e_strf("/v1/responses/%s", id), NULL, &b);
    expect_404_responses_shape(r, "GET");
    e2e_resp_free(r);
    r = as(gw, "GET", e2e_strf("/v1/responses/%s/input_items", id), NULL, &b);
    expect_404_responses_shape(r, "input_items");
    cr_assert_null(strstr(r->body, "secret plans"));
    e2e_resp_free(r);
    r = as(gw, "DELETE", e2e_strf("/v1/responses/%s", id), NULL, &b);
    expect_404_responses_shape(r, "DELETE");
    e2e_resp_free(r);
    /* Nor chain from it. */
    r = as(gw, "POST", "/v1/responses",
           e2e_strf("{\"model\":\"gpt-4o-mini\",\"input\":\"and?\",\"previous_response_id\":"
                    "\"%s\"}",
                    id),
           &b);
    cr_assert(r->status == 400 || r->status == 404, "%d %s", r->status, r->body);
    cr_assert_str_eq(err_code(r), "previous_response_not_found", "%s", r->body);
    e2e_resp_free(r);
    /* Its owner still has it all: the other key's DELETE changed nothing. */
    r = as(gw, "GET", e2e_strf("/v1/responses/%s", id), NULL, &a);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    r = as(gw, "GET", e2e_strf("/v1/responses/%s/input_items", id), NULL, &a);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert(strstr(r->body, "secret plans"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

static const cJSON *field(struct e2e_resp *r, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), name);
}

Test(security, a_key_reads_only_its_own_usage)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "\"auth\":{\"api_keys\":[\"" STATIC_KEY "\"]}");
    struct gov_key a, b;
    gov_key_create(gw,
                   "{\"name\":\"alice\",\"rpm\":50,\"budget_usd\":2,"
                   "\"budget_period\":\"monthly\",\"metadata\":{\"note\":\"ops-only\"}}",
                   &a);
    gov_key_create(gw, "{\"name\":\"bob\",\"tpm\":1000}", &b);
    struct e2e_resp *r = gov_chat(gw, a.token);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);

    /* The spend is settled by a writer thread: probe (each probe a round trip) until it
     * shows. */
    int64_t t0 = gov_now_ms();
    double spend = 0;
    while (gov_now_ms() - t0 < 10000) {
        r = as(gw, "GET", "/v1/usage", NULL, &a);
        cr_assert_eq(r->status, 200, "%s", r->body);
        spend = cJSON_GetNumberValue(field(r, "spend_usd"));
        if (spend > 0)
            break;
        e2e_resp_free(r);
        r = NULL;
    }
    cr_assert_not_null(r, "alice's spend never showed");
    cr_assert_str_eq(cJSON_GetStringValue(field(r, "object")), "gateway.key.usage");
    cr_assert_str_eq(cJSON_GetStringValue(field(r, "key_id")), a.id);
    cr_assert_str_eq(cJSON_GetStringValue(field(r, "name")), "alice");
    cr_assert_eq(cJSON_GetNumberValue(field(r, "rpm")), 50);
    cr_assert_eq(cJSON_GetNumberValue(field(r, "budget_usd")), 2);
    cr_assert_str_eq(cJSON_GetStringValue(field(r, "budget_period")), "monthly");
    cr_assert_float_eq(cJSON_GetNumberValue(field(r, "spend_usd")), 0.031, 1e-9, "%s", r->body);
    cr_assert_float_eq(cJSON_GetNumberValue(field(r, "remaining_usd")), 2 - 0.031, 1e-9);
    cr_assert_null(strstr(r->body, "ops-only"), "the operator's metadata stays theirs");
    cr_assert_null(strstr(r->body, a.token + strlen(a.token) - 10), "no secret");
    e2e_resp_free(r);

    /* Bob sees only his own, whatever he asks for. */
    const char *paths[] = {"/v1/usage", e2e_strf("/v1/usage?key_id=%s", a.id),
                           e2e_strf("/v1/usage?id=%s", a.id)};
    for (size_t i = 0; i < 3; i++) {
        r = as(gw, "GET", paths[i], NULL, &b);
        cr_assert_eq(r->status, 200, "%s", r->body);
        cr_assert_str_eq(cJSON_GetStringValue(field(r, "key_id")), b.id, "%s", r->body);
        cr_assert_null(strstr(r->body, a.id), "%s", r->body);
        cr_assert_eq(cJSON_GetNumberValue(field(r, "spend_usd")), 0);
        cr_assert(cJSON_IsNull(field(r, "budget_usd")));
        cr_assert_eq(cJSON_GetNumberValue(field(r, "tpm")), 1000);
        e2e_resp_free(r);
    }
    /* A static key has no usage of its own; no key is refused like any inference call. */
    r = e2e_get(gw, "/v1/usage", "Authorization: Bearer " STATIC_KEY);
    cr_assert_eq(r->status, 400, "%s", r->body);
    cr_assert_str_eq(err_code(r), "no_gateway_key");
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/usage", NULL);
    cr_assert_eq(r->status, 401, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The ledger and the request log are keyed by the request id, so a replay counts once. A
 * client id repeated on purpose must not pass for a replay: each request's spend and row
 * stay, and each answer carries an id of its own that starts with the client's. */
Test(security, a_repeated_client_request_id_hides_no_spend_and_no_row)
{
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    const char *db = e2e_strf("%s/aigw.db", dir);
    struct e2e_gw *gw = gov_gw(m, e2e_strf("sqlite:%s", db), NULL, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"same-id\",\"budget_usd\":10}", &k);
    double told = 0;
    char seen[3][64];
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r =
            e2e_post(gw, "/v1/chat/completions", GOV_CHAT,
                     e2e_strf("Authorization: Bearer %s\nX-Request-ID: repeat-me", k.token));
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        const char *id = e2e_resp_header(r, "X-Request-ID");
        cr_assert(id && !strncmp(id + 12, ".repeat-me.", 11) && strlen(id) == 35, "id %s", id);
        snprintf(seen[i], sizeof seen[i], "%s", id);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[j], seen[i]);
        told += strtod(e2e_resp_header(r, "X-Gateway-Cost"), NULL);
        e2e_resp_free(r);
    }
    cr_assert_gt(told, 0);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gov_ledger_assert(db, k.id, 3, told, 1e-9);
    char err[256];
    struct gw_store *st = gw_store_open(e2e_strf("sqlite:%s", db), NULL, err, sizeof err);
    cr_assert(st, "%s", err);
    for (int i = 0; i < 3; i++) {
        struct gw_log_row row;
        cr_assert_eq(gw_store_log_get(st, seen[i], &row), 0, "no log row for %s", seen[i]);
        gw_log_row_free(&row);
    }
    gw_store_close(st);
    gov_dir_remove(dir);
    mock_stop(m);
}
