/*
 * Governance end to end: the real aigw binary (one or two replicas) with its state store and
 * counters, in front of the mock provider. Gateway keys through the admin API and the
 * command line; authentication in each dialect's shape; model and provider allowlists; RPM
 * exact across two replicas sharing Redis; a budget that stops at its limit with a ledger
 * equal to the costs the clients were told; revocation reaching another replica within 2 s;
 * Redis killed and back; a canary secret found nowhere it must not be; a killed replica's
 * budget lease lapsing and the budget coming back. The Redis tests start
 * their own redis-server and skip when it is absent.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "gov/gov.h"
#include "store/store.h"

#define ANTH_HDR "anthropic-version: 2023-06-01\nx-api-key: %s"

static void assert_header(struct e2e_resp *r, const char *name, const char *want)
{
    const char *v = e2e_resp_header(r, name);
    cr_assert(v, "no %s header in:\n%s", name, r->headers ? r->headers : "");
    if (want)
        cr_assert_str_eq(v, want, "%s: %s", name, v);
}

static const char *error_field(struct e2e_resp *r, const char *field)
{
    const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    const cJSON *v = cJSON_GetObjectItem(e, field);
    return cJSON_IsString(v) ? v->valuestring : "";
}

Test(governance, keys_are_required_once_one_exists_and_limit_their_requests)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "");
    struct e2e_resp *r = gov_chat(gw, NULL);
    cr_assert_eq(r->status, 200, "no key stored yet: open as before (%d %s)", r->status, r->body);
    cr_assert_null(e2e_resp_header(r, "X-Gateway-Key-Id"));
    e2e_resp_free(r);

    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"team-a\",\"rpm\":2}", &k);
    r = gov_chat(gw, NULL);
    cr_assert_eq(r->status, 401, "a key exists now: none is refused (%d)", r->status);
    cr_assert_str_eq(error_field(r, "message"), "invalid key");
    e2e_resp_free(r);
    r = gov_chat(gw, e2e_strf("aigw_%s_wrongsecretwrongsecretwrongsecret00000", k.id));
    cr_assert_eq(r->status, 401);
    cr_assert_str_eq(error_field(r, "message"), "invalid key", "never why");
    e2e_resp_free(r);
    /* The Responses dialect answers in its own shape. */
    r = e2e_post(gw, "/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"hi\"}",
                 "Authorization: Bearer aigw_nosuchkey000_x");
    cr_assert_eq(r->status, 401);
    cr_assert_str_eq(error_field(r, "type"), "authentication_error", "%s", r->body);
    e2e_resp_free(r);

    for (int i = 0; i < 2; i++) {
        r = gov_chat(gw, k.token);
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        assert_header(r, "X-Gateway-Key-Id", k.id);
        assert_header(r, "x-ratelimit-limit-requests", "2");
        assert_header(r, "x-ratelimit-remaining-requests", i ? "0" : "1");
        assert_header(r, "x-ratelimit-reset-requests", NULL);
        assert_header(r, "X-Gateway-Cost", NULL);
        e2e_resp_free(r);
    }
    /* x-api-key (what Anthropic clients send) is the same key. */
    r = e2e_post(gw, "/v1/chat/completions", GOV_CHAT, e2e_strf("x-api-key: %s", k.token));
    cr_assert_eq(r->status, 429, "the third request in a minute: %d %s", r->status, r->body);
    cr_assert_str_eq(error_field(r, "code"), "rate_limit_exceeded");
    assert_header(r, "Retry-After", NULL);
    assert_header(r, "X-Gateway-Key-Id", k.id);
    assert_header(r, "x-ratelimit-remaining-requests", "0");
    cr_assert_gt(strtol(e2e_resp_header(r, "Retry-After"), NULL, 10), 0);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 3, "refused requests never reach the provider");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(governance, allowlists_refuse_what_the_key_may_not_use)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "");
    struct gov_key claude, anth, openai;
    gov_key_create(gw, "{\"name\":\"c\",\"models\":[\"claude-*\"]}", &claude);
    gov_key_create(gw, "{\"name\":\"a\",\"providers\":[\"anthropic\"]}", &anth);
    gov_key_create(gw, "{\"name\":\"o\",\"models\":[\"openai/*\"]}", &openai);
    struct e2e_resp *r = gov_chat(gw, claude.token);
    cr_assert_eq(r->status, 403, "%d %s", r->status, r->body);
    cr_assert(strstr(error_field(r, "message"), "claude-*"), "names what is allowed: %s", r->body);
    assert_header(r, "X-Gateway-Key-Id", claude.id);
    e2e_resp_free(r);
    r = gov_chat(gw, anth.token);
    cr_assert_eq(r->status, 403, "%d %s", r->status, r->body);
    cr_assert(strstr(error_field(r, "message"), "anthropic"), "%s", r->body);
    e2e_resp_free(r);
    r = gov_chat(gw, openai.token);
    cr_assert_eq(r->status, 200, "openai/* admits openai's gpt-4o-mini: %d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(governance, admin_api_is_absent_without_a_key_and_throttles_failures)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = e2e_gw_start(NULL, "OPENAI_API_KEY=sk-upstream",
                                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    struct e2e_resp *r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 404, "no admin key configured: no admin API (%d)", r->status);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);

    gw = gov_gw(m, NULL, NULL, "");
    r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    for (int i = 0; i < 10; i++) {
        r = e2e_request("GET", e2e_strf("%s/admin/keys", e2e_gw_url(gw)), NULL,
                        "Authorization: Bearer not-the-admin-key", 5000);
        cr_assert_eq(r->status, 401, "failure %d: %d", i, r->status);
        e2e_resp_free(r);
    }
    r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 429, "after 10 failures this address waits, even with the key");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(governance, keys_made_on_the_command_line_are_enforced_by_the_server)
{
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    const char *args[] = {"--state-dir", dir,     "keys", "create", "--name",
                          "cli",         "--rpm", "5",    NULL};
    char *out = NULL;
    cr_assert_eq(e2e_aigw_run(NULL, NULL, args, &out, 15000), 0, "%s", out);
    const char *tok = strstr(out, "\"aigw_");
    cr_assert(tok, "%s", out);
    char token[128];
    size_t n = strcspn(tok + 1, "\"");
    cr_assert_lt(n, sizeof token);
    memcpy(token, tok + 1, n);
    token[n] = '\0';
    free(out);
    struct e2e_gw *gw = gov_gw(m, e2e_strf("sqlite:%s/aigw.db", dir), NULL, "");
    struct e2e_resp *r = gov_chat(gw, NULL);
    cr_assert_eq(r->status, 401);
    e2e_resp_free(r);
    r = gov_chat(gw, token);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    assert_header(r, "x-ratelimit-limit-requests", "5");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- two replicas ------------------------------------------------------------------------ */

struct replicas {
    struct redis_srv srv;
    int redis;
    char *dir;
    struct e2e_gw *gw[2];
};

/* Two aigw sharing one SQLite store and, when with_redis, one redis-server. 0, or -1 when
 * Redis is wanted and absent (skip). */
static int replicas_start(struct replicas *rs, struct mock *m, int with_redis, const char *extra)
{
    memset(rs, 0, sizeof *rs);
    if (with_redis) {
        if (!redis_srv_binary())
            return -1;
        cr_assert_eq(redis_srv_start(&rs->srv), 0, "redis-server did not start");
        rs->redis = 1;
    }
    rs->dir = gov_dir();
    const char *url = e2e_strf("sqlite:%s/shared.db", rs->dir);
    for (int i = 0; i < 2; i++)
        rs->gw[i] = gov_gw(m, url, with_redis ? rs->srv.url : NULL, extra);
    if (with_redis)
        cr_assert_eq(gov_redis_wait_clients(&rs->srv, 2, 10000), 0,
                     "both replicas connect to Redis");
    return 0;
}

static void replicas_stop(struct replicas *rs)
{
    for (int i = 0; i < 2; i++)
        cr_assert_eq(e2e_gw_stop(rs->gw[i], 10000), 0);
    if (rs->redis)
        redis_srv_stop(&rs->srv);
    gov_dir_remove(rs->dir);
}

Test(governance, rpm_is_exact_across_two_replicas_sharing_redis)
{
    struct mock *m = e2e_mock("openai_chat");
    struct replicas rs;
    if (replicas_start(&rs, m, 1, "") < 0) {
        mock_stop(m);
        cr_skip_test("redis-server is not installed");
    }
    struct gov_key k;
    gov_key_create(rs.gw[0], "{\"name\":\"burst\",\"rpm\":10}", &k);
    enum { N = 40 };
    struct e2e_stream *s[N];
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    for (int i = 0; i < N; i++)
        s[i] = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(rs.gw[i % 2])),
                                GOV_CHAT, auth, &(struct e2e_stream_opts){.timeout_ms = 30000});
    int ok = 0, limited = 0;
    for (int i = 0; i < N; i++) {
        struct e2e_resp *r = e2e_stream_finish(s[i], 30000);
        if (r->status == 200) {
            ok++;
        } else {
            cr_assert_eq(r->status, 429, "request %d: %d %s", i, r->status, r->body);
            limited++;
            assert_header(r, "Retry-After", NULL);
            assert_header(r, "x-ratelimit-limit-requests", "10");
            assert_header(r, "x-ratelimit-remaining-requests", "0");
            assert_header(r, "x-ratelimit-reset-requests", NULL);
        }
        e2e_resp_free(r);
    }
    cr_assert_eq(ok, 10, "exactly the limit is admitted across both replicas (%d)", ok);
    cr_assert_eq(limited, N - 10);
    cr_assert_eq(mock_request_count(m), 10);
    cr_assert_null(strstr(e2e_gw_log(rs.gw[0]), "made without Redis"));
    cr_assert_null(strstr(e2e_gw_log(rs.gw[1]), "made without Redis"));
    replicas_stop(&rs);
    mock_stop(m);
}

static void budget_run(int with_redis)
{
    struct mock *m = e2e_mock("openai_chat");
    struct replicas rs;
    if (replicas_start(&rs, m, with_redis, "") < 0) {
        mock_stop(m);
        cr_skip_test("redis-server is not installed");
    }
    struct gov_key k;
    gov_key_create(rs.gw[0], "{\"name\":\"cents\",\"budget_usd\":0.1}", &k);
    double told = 0;
    int ok = 0, i;
    for (i = 0; i < 20; i++) {
        /* In-process counters are each replica's own: one replica then; with Redis, both. */
        struct e2e_resp *r = gov_chat(rs.gw[with_redis ? i % 2 : 0], k.token);
        if (r->status != 200) {
            cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
            cr_assert_str_eq(error_field(r, "type"), "insufficient_quota", "%s", r->body);
            assert_header(r, "x-should-retry", "false");
            assert_header(r, "X-Gateway-Key-Id", k.id);
            e2e_resp_free(r);
            break;
        }
        told += strtod(e2e_resp_header(r, "X-Gateway-Cost"), NULL);
        ok++;
        e2e_resp_free(r);
    }
    cr_assert_lt(i, 20, "the budget stopped the key");
    /* $0.031 an answer against $0.10: three fit, the fourth cannot get a useful grant. */
    cr_assert_eq(ok, 3, "%d answers", ok);
    cr_assert_leq(told, 0.1 + 1e-9);
    /* Each answer was clamped to what its grant could pay for. */
    const struct mock_req *up = mock_request(m, 0);
    const cJSON *mt = cJSON_GetObjectItem(mock_req_json(up), "max_tokens");
    cr_assert(cJSON_IsNumber(mt) && mt->valuedouble > 0 && mt->valuedouble <= 100,
              "max_tokens clamped to the budget: %s", mock_req_body(up));
    mock_req_free(up);
    const char *db = e2e_strf("%s/shared.db", rs.dir);
    for (int g = 0; g < 2; g++)
        cr_assert_eq(e2e_gw_stop(rs.gw[g], 10000), 0);
    /* one ledger row per answered request, summing to what the client was told */
    gov_ledger_assert(db, k.id, ok, told, 1e-7 * (ok + 1));
    if (rs.redis)
        redis_srv_stop(&rs.srv);
    gov_dir_remove(rs.dir);
    mock_stop(m);
}

Test(governance, budget_stops_at_its_limit_and_the_ledger_matches_in_process)
{
    budget_run(0);
}

Test(governance, budget_stops_at_its_limit_and_the_ledger_matches_with_redis)
{
    budget_run(1);
}

Test(governance, revocation_on_one_replica_locks_the_key_out_on_the_other_within_2s)
{
    struct mock *m = e2e_mock("openai_chat");
    struct replicas rs;
    replicas_start(&rs, m, 0, "");
    struct gov_key k;
    gov_key_create(rs.gw[0], "{\"name\":\"leaver\"}", &k);
    struct e2e_resp *r = gov_chat(rs.gw[1], k.token);
    cr_assert_eq(r->status, 200, "the other replica knows the key (%d %s)", r->status, r->body);
    e2e_resp_free(r);
    r = gov_admin(rs.gw[0], "DELETE", e2e_strf("/admin/keys/%s", k.id), NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    int64_t t0 = gov_now_ms(), locked = -1;
    while (gov_now_ms() - t0 < 2000) {
        r = gov_chat(rs.gw[1], k.token);
        int st = r->status;
        e2e_resp_free(r);
        if (st == 401) {
            locked = gov_now_ms() - t0;
            break;
        }
        cr_assert_eq(st, 200);
    }
    cr_assert_geq(locked, 0, "still admitted 2 s after the revocation");
    replicas_stop(&rs);
    mock_stop(m);
}

/* The status of a chat with token, the answer freed. */
static int chat_status(struct e2e_gw *gw, const char *token)
{
    struct e2e_resp *r = gov_chat(gw, token);
    int st = r->status;
    e2e_resp_free(r);
    return st;
}

static void patch(struct e2e_gw *gw, const char *id, const char *body)
{
    struct e2e_resp *r = gov_admin(gw, "PATCH", e2e_strf("/admin/keys/%s", id), body);
    cr_assert_eq(r->status, 200, "PATCH %s: %d %s", body, r->status, r->body);
    e2e_resp_free(r);
}

Test(governance, every_change_to_a_key_holds_from_its_next_request)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"changing\",\"budget_usd\":1}", &k);
    cr_assert_eq(chat_status(gw, k.token), 200);
    /* a budget lowered below what is spent already ($0.031) */
    patch(gw, k.id, "{\"budget_usd\":0.01}");
    struct e2e_resp *r = gov_chat(gw, k.token);
    cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
    cr_assert_str_eq(error_field(r, "code"), "insufficient_quota", "%s", r->body);
    e2e_resp_free(r);
    patch(gw, k.id, "{\"budget_usd\":null,\"models\":[\"claude-*\"]}");
    cr_assert_eq(chat_status(gw, k.token), 403, "the new allowlist holds");
    patch(gw, k.id, "{\"models\":null}");
    cr_assert_eq(chat_status(gw, k.token), 200);
    /* rotated with no grace: the old secret is refused at once, the new one admitted */
    r = gov_admin(gw, "POST", e2e_strf("/admin/keys/%s/rotate", k.id), "{\"grace_seconds\":0}");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    char fresh[128];
    snprintf(fresh, sizeof fresh, "%s", cJSON_GetObjectItem(e2e_resp_json(r), "key")->valuestring);
    e2e_resp_free(r);
    cr_assert_eq(chat_status(gw, k.token), 401);
    cr_assert_eq(chat_status(gw, fresh), 200);
    /* expired now, then given a future again */
    patch(gw, k.id, e2e_strf("{\"expires_at\":%lld}", (long long)(gov_now_ms() / 1000) - 1));
    cr_assert_eq(chat_status(gw, fresh), 401);
    patch(gw, k.id, "{\"expires_at\":null}");
    cr_assert_eq(chat_status(gw, fresh), 200);
    /* revoked: refused, and what it spent stays on the books */
    r = gov_admin(gw, "DELETE", e2e_strf("/admin/keys/%s", k.id), NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(chat_status(gw, fresh), 401);
    r = gov_admin(gw, "GET", e2e_strf("/admin/keys/%s", k.id), NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert_float_eq(cJSON_GetObjectItem(e2e_resp_json(r), "spend_usd")->valuedouble, 4 * 0.031,
                       1e-6, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 4, "refused requests never reach the provider");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(governance, a_rotation_on_one_replica_refuses_the_old_secret_on_the_other_within_2s)
{
    struct mock *m = e2e_mock("openai_chat");
    struct replicas rs;
    replicas_start(&rs, m, 0, "");
    struct gov_key k;
    gov_key_create(rs.gw[0], "{\"name\":\"rotated\"}", &k);
    cr_assert_eq(chat_status(rs.gw[1], k.token), 200, "the other replica knows the key");
    struct e2e_resp *r = gov_admin(rs.gw[0], "POST", e2e_strf("/admin/keys/%s/rotate", k.id), "{}");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    char fresh[128];
    snprintf(fresh, sizeof fresh, "%s", cJSON_GetObjectItem(e2e_resp_json(r), "key")->valuestring);
    e2e_resp_free(r);
    int64_t t0 = gov_now_ms(), locked = -1;
    while (gov_now_ms() - t0 < 2000) {
        int st = chat_status(rs.gw[1], k.token);
        if (st == 401) {
            locked = gov_now_ms() - t0;
            break;
        }
        cr_assert_eq(st, 200);
    }
    cr_assert_geq(locked, 0, "the old secret still admitted 2 s after the rotation");
    cr_assert_eq(chat_status(rs.gw[1], fresh), 200, "the new secret is");
    replicas_stop(&rs);
    mock_stop(m);
}

Test(governance, redis_down_follows_the_failure_policy_and_recovers)
{
    struct mock *m = e2e_mock("openai_chat");
    struct replicas rs;
    if (replicas_start(&rs, m, 1, "") < 0) {
        mock_stop(m);
        cr_skip_test("redis-server is not installed");
    }
    struct gov_key rate, budget;
    gov_key_create(rs.gw[0], "{\"name\":\"rate\",\"rpm\":100}", &rate);
    gov_key_create(rs.gw[0], "{\"name\":\"budget\",\"budget_usd\":5}", &budget);
    struct e2e_resp *r = gov_chat(rs.gw[0], budget.token);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    redis_srv_kill(&rs.srv);
    /* Rate limits fall back to this replica's share: still answered. */
    r = gov_chat(rs.gw[0], rate.token);
    cr_assert_eq(r->status, 200, "rate-limited key with Redis down: %d %s", r->status, r->body);
    e2e_resp_free(r);
    /* Budgets fail closed: 503, never silently admitted. */
    r = gov_chat(rs.gw[0], budget.token);
    cr_assert_eq(r->status, 503, "budget with Redis down: %d %s", r->status, r->body);
    assert_header(r, "Retry-After", NULL);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(rs.gw[0], "decisions made without Redis", 5000), 0,
                 "each degraded decision is logged");
    cr_assert_eq(redis_srv_restart(&rs.srv), 0);
    int64_t t0 = gov_now_ms();
    int st = 0;
    while (gov_now_ms() - t0 < 15000) {
        r = gov_chat(rs.gw[0], budget.token);
        st = r->status;
        e2e_resp_free(r);
        if (st == 200)
            break;
        cr_assert_eq(st, 503);
        e2e_gw_wait_log(rs.gw[0], "__never__", 100); /* a bounded pause between tries */
    }
    cr_assert_eq(st, 200, "the budget key works again once Redis is back");
    struct e2e_resp *met = e2e_get(rs.gw[0], "/metrics", NULL);
    cr_assert(strstr(met->body, "budget_fail_closed"), "counted in the metrics");
    e2e_resp_free(met);
    replicas_stop(&rs);
    mock_stop(m);
}

Test(governance, a_canary_secret_appears_in_no_file_log_metric_or_error_body)
{
    struct mock *m = e2e_mock("openai_chat");
    struct replicas rs;
    replicas_start(&rs, m, 0, "");
    struct gov_key k;
    gov_key_create(rs.gw[0], "{\"name\":\"canary\",\"rpm\":1}", &k);
    const char *secret = strrchr(k.token, '_') + 1;
    cr_assert_gt(strlen(secret), 20);
    const char *bad = e2e_strf("aigw_%s_CANARYwrongSECRETzz", k.id);
    char *bodies = e2e_strf("%s", "");
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = gov_chat(rs.gw[i % 2], i == 2 ? bad : k.token);
        bodies = e2e_strf("%s%s", bodies, r->body ? r->body : "");
        e2e_resp_free(r);
    }
    struct e2e_resp *r = e2e_post(rs.gw[0], "/v1/chat/completions", "{not json",
                                  e2e_strf("Authorization: Bearer %s", k.token));
    bodies = e2e_strf("%s%s", bodies, r->body ? r->body : "");
    e2e_resp_free(r);
    r = gov_admin(rs.gw[1], "GET", e2e_strf("/admin/keys/%s", k.id), NULL);
    cr_assert_eq(r->status, 200);
    bodies = e2e_strf("%s%s", bodies, r->body);
    e2e_resp_free(r);
    struct e2e_resp *met = e2e_get(rs.gw[0], "/metrics", NULL);
    cr_assert_eq(met->status, 200);
    cr_assert(strstr(met->body, k.id), "the key id is a label");
    cr_assert_null(strstr(met->body, secret));
    cr_assert_null(strstr(met->body, "CANARY"));
    e2e_resp_free(met);
    cr_assert_null(strstr(bodies, secret), "%s", bodies);
    cr_assert_null(strstr(bodies, "CANARY"), "%s", bodies);
    for (int g = 0; g < 2; g++) {
        const char *log = e2e_gw_log(rs.gw[g]);
        cr_assert_null(strstr(log, secret), "replica %d logged the secret", g);
        cr_assert_null(strstr(log, "CANARY"), "replica %d logged a presented token", g);
    }
    cr_assert(strstr(e2e_gw_log(rs.gw[1]), k.id), "the refusal names the key's id");
    const char *files[] = {"shared.db", "shared.db-wal", "shared.db-shm"};
    for (int g = 0; g < 2; g++)
        cr_assert_eq(e2e_gw_stop(rs.gw[g], 10000), 0);
    for (size_t f = 0; f < 3; f++) {
        const char *path = e2e_strf("%s/%s", rs.dir, files[f]);
        cr_assert_not(gov_file_has(path, secret), "%s holds the secret", path);
        cr_assert_not(gov_file_has(path, "CANARY"), "%s holds a presented token", path);
    }
    cr_assert(gov_file_has(e2e_strf("%s/shared.db", rs.dir), k.id), "sanity: the id is there");
    gov_dir_remove(rs.dir);
    mock_stop(m);
}

Test(governance, anthropic_clients_use_x_api_key_and_get_anthropic_errors)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"claude-code\",\"rpm\":1}", &k);
    const char *msg = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":64,"
                      "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    struct e2e_resp *r =
        e2e_post(gw, "/v1/messages", msg, e2e_strf(ANTH_HDR, "aigw_nope00000000_x"));
    cr_assert_eq(r->status, 401, "%d %s", r->status, r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error", "%s", r->body);
    cr_assert_str_eq(error_field(r, "type"), "authentication_error", "%s", r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", msg, e2e_strf(ANTH_HDR, k.token));
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    assert_header(r, "X-Gateway-Key-Id", k.id);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/messages", msg, e2e_strf(ANTH_HDR, k.token));
    cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
    j = e2e_resp_json(r);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring, "error", "%s", r->body);
    cr_assert_str_eq(error_field(r, "type"), "rate_limit_error", "Anthropic's own type: %s",
                     r->body);
    assert_header(r, "Retry-After", NULL);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(governance, tokens_are_reserved_then_settled_to_the_real_usage_once)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"tpm\",\"tpm\":1000}", &k);
    /* The estimate: "user" + "hi" and the JSON around them, 9 bytes / 4 + 1 = 3 prompt
     * tokens, plus max_tokens 100: 103 reserved. The mock answers 14 + 17 = 31 tokens. */
    const char *body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,"
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    const char *want[] = {"897", "866", "835"};
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", body, auth);
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        assert_header(r, "x-ratelimit-limit-tokens", "1000");
        /* Each earlier request counts its real 31 tokens, not its 103 reserved, and once. */
        assert_header(r, "x-ratelimit-remaining-tokens", want[i]);
        e2e_resp_free(r);
    }
    /* Asking for more than the whole limit can never pass: no retry helps. */
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
                                  "{\"model\":\"gpt-4o-mini\",\"max_tokens\":5000,"
                                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                  auth);
    cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
    assert_header(r, "x-should-retry", "false");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(governance, admin_allow_limits_the_client_addresses)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = gov_gw(m, NULL, NULL, "\"admin\":{\"allow\":[\"10.0.0.0/8\",\"::1\"]}");
    struct e2e_resp *r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 403, "127.0.0.1 is not in the list: %d", r->status);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gw = gov_gw(m, NULL, NULL, "\"admin\":{\"allow\":[\"127.0.0.0/8\"]}");
    r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    /* On a dual-stack listener an IPv4 client arrives as ::ffff:127.0.0.1; the IPv4 rule
     * still admits it (it was refused: the address was compared as IPv6). */
    const char *env[] = {"AIGW_ADMIN_KEY=" GOV_ADMIN, NULL};
    const char *dual[] = {"--listen", "[::]:0", NULL};
    gw = e2e_gw_start_opts(&(struct e2e_gw_opts){
        .config = "{\"admin\":{\"allow\":[\"127.0.0.0/8\"]}}", .env = env, .args = dual});
    r = gov_admin(gw, "GET", "/admin/keys", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    const char *args[] = {"--check-config", NULL};
    char *out = NULL;
    cr_assert_eq(e2e_aigw_run("{\"admin\":{\"allow\":[\"10.0.0.0/33\"]}}", NULL, args, &out, 15000),
                 2, "a bad CIDR block is a config error: %s", out);
    cr_assert(strstr(out, "admin.allow"), "%s", out);
    free(out);
    mock_stop(m);
}

/* ---- budget reservations are leases (limits.lease_seconds) ---- */

#define LEASE_S 3
#define STALL_ROUTE                                                                                \
    "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\",\"match_body\":{\"stream\":true},"     \
    "\"body_file\":\"mock/stream_text.sse\",\"chunking\":\"events\",\"stall_after_chunks\":3}"
#define CHAT_ROUTE                                                                                 \
    "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\",\"body_file\":\"mock/chat.json\"}"

/* The value of an unlabelled metric in gw's /metrics; -1 when it is absent. */
static long long metric(struct e2e_gw *gw, const char *name)
{
    struct e2e_resp *r = e2e_get(gw, "/metrics", NULL);
    cr_assert_eq(r->status, 200, "%d", r->status);
    const char *want = e2e_strf("\n%s ", name);
    const char *p = strstr(r->body, want);
    long long v = p ? strtoll(p + strlen(want), NULL, 10) : -1;
    e2e_resp_free(r);
    return v;
}

/* A replica holding a stream renews its grant for as long as the stream lives; killed, it
 * renews nothing, and the other replica gets the budget back within one lease. A lease of a
 * few seconds (limits.lease_seconds) makes this an end-to-end test: at the default 90 s the
 * budget would stay held for the whole test. The metrics show the live lease and no loss. */
Test(governance, a_killed_replicas_lease_lapses_and_the_budget_returns)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, STALL_ROUTE), 0);
    cr_assert_eq(mock_add_route_json(m, CHAT_ROUTE), 0);
    struct replicas rs;
    if (replicas_start(&rs, m, 1, e2e_strf("\"limits\":{\"lease_seconds\":%d}", LEASE_S)) < 0) {
        mock_stop(m);
        cr_skip_test("redis-server is not installed");
    }
    struct gov_key k;
    /* No max_tokens: the stream asks for more than the budget, so it holds all of it. */
    gov_key_create(rs.gw[0], "{\"name\":\"leased\",\"budget_usd\":0.1}", &k);
    cr_assert_eq(metric(rs.gw[0], "aigw_budget_leases"), 0, "no lease before any request");
    cr_assert_eq(metric(rs.gw[0], "aigw_budget_leases_lost_total"), 0);
    struct e2e_stream *s = e2e_stream_start(
        e2e_strf("%s/v1/chat/completions", e2e_gw_url(rs.gw[0])),
        "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"}]}",
        e2e_strf("Authorization: Bearer %s", k.token),
        &(struct e2e_stream_opts){.timeout_ms = 60000});
    cr_assert_eq(e2e_stream_wait_events(s, 1, 15000), 0, "the stream started, then stalls");
    cr_assert_eq(metric(rs.gw[0], "aigw_budget_leases"), 1, "its grant is a live lease");

    /* Alive, its replica renews it: the budget stays held for more than a lease. */
    int64_t t0 = e2e_now_ms();
    int probes = 0;
    while (e2e_now_ms() - t0 < LEASE_S * 1500) {
        struct e2e_resp *r = gov_chat(rs.gw[1], k.token);
        cr_assert_eq(r->status, 429, "the held grant was given back after %lld ms: %d %s",
                     (long long)(e2e_now_ms() - t0), r->status, r->body);
        cr_assert_str_eq(error_field(r, "code"), "budget_in_use", "%s", r->body);
        e2e_resp_free(r);
        probes++;
    }
    cr_assert_gt(probes, 0);
    cr_assert_eq(metric(rs.gw[0], "aigw_budget_leases"), 1);
    cr_assert_eq(metric(rs.gw[0], "aigw_budget_leases_lost_total"), 0, "renewed in time");

    /* Killed: nobody renews it, and it lapses within one lease of its last renewal. */
    cr_assert_eq(e2e_gw_signal(rs.gw[0], SIGKILL), 0);
    cr_assert_eq(e2e_gw_wait_exit(rs.gw[0], 10000), 128 + SIGKILL);
    int64_t killed = e2e_now_ms();
    int st = 0;
    while (st != 200 && e2e_now_ms() - killed < 30000) {
        struct e2e_resp *r = gov_chat(rs.gw[1], k.token);
        st = r->status;
        cr_assert(st == 200 || st == 429, "%d %s", st, r->body);
        e2e_resp_free(r);
    }
    int64_t took = e2e_now_ms() - killed;
    cr_log_info("the budget came back %lld ms after its replica was killed (lease %d s)",
                (long long)took, LEASE_S);
    cr_assert_eq(st, 200, "the budget never came back after its replica died");
    /* Renewed at most a third of a lease before the kill: held two thirds of one after it. */
    cr_assert_geq(took, LEASE_S * 1000 * 2 / 3 - 250,
                  "given back after %lld ms, before its "
                  "lease ran out",
                  (long long)took);
    cr_assert_leq(took, LEASE_S * 1000 + 5000,
                  "given back %lld ms after its replica died, "
                  "lease %d s",
                  (long long)took, LEASE_S);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    cr_assert_eq(e2e_gw_stop(rs.gw[1], 10000), 0);
    e2e_gw_stop(rs.gw[0], 1000);
    redis_srv_stop(&rs.srv);
    gov_dir_remove(rs.dir);
    mock_stop(m);
}
