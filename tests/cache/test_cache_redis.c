/*
 * The shared response cache: two aigw replicas on one redis-server share answers (one
 * upstream call between them, a hit replayed by the other in another shape); Redis killed
 * mid-test turns hits into misses with no error, and they come back once it returns; a
 * Redis that holds its connections and answers nothing costs a lookup its deadline, never
 * the request. Skipped where redis-server is absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cache/answer.h"
#include "cache/redissvc.h"
#include "e2e/e2e.h"

#define ASK(n)                                                                                     \
    e2e_strf("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"            \
             "\"question %d\"}]}",                                                                 \
             n)
#define ASK_STREAM(n)                                                                              \
    e2e_strf("{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":["         \
             "{\"content\":\"question %d\",\"role\":\"user\"}],"                                   \
             "\"model\":\"gpt-4o-mini\"}",                                                         \
             n)

static struct mock *chat_mock(void)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"match_body\":{\"stream\":true},"
                                        "\"body_file\":\"openai/stream_tools.sse\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"body_file\":"
                                        "\"openai/chat_tools.json\"}"),
                 0);
    return m;
}

static struct e2e_gw *replica(struct mock *m, const struct redissvc *rs)
{
    /* One worker: one connection to Redis, so its log lines tell its whole story. */
    const char *cfg = e2e_strf("{\"threads\":1,\"redis\":{\"url\":\"%s\"},\"cache\":{"
                               "\"enabled\":true,\"redis\":true,\"redis_timeout_ms\":200}}",
                               rs->url);
    return e2e_gw_start(cfg, "OPENAI_API_KEY=sk-up", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        NULL);
}

/* Each worker holds two Redis connections: the cache's and the limit counters'. A wait for
 * "every replica connected" counts both, or it can end while a cache connection is still down. */
#define CONNS_PER_REPLICA 2

static const char *cache_header(struct e2e_resp *r)
{
    const char *v = e2e_resp_header(r, "X-Gateway-Cache");
    return v ? v : "(none)";
}

static void start_redis(struct redissvc *rs)
{
    if (!redissvc_binary())
        cr_skip_test("redis-server is not installed");
    cr_assert_eq(redissvc_start(rs), 0, "redis-server did not start");
}

Test(cache_redis, two_replicas_share_answers)
{
    struct redissvc rs;
    start_redis(&rs);
    struct mock *m = chat_mock();
    struct e2e_gw *a = replica(m, &rs), *b = replica(m, &rs);
    cr_assert_eq(redissvc_wait_clients(&rs, 2 * CONNS_PER_REPLICA, 5000), 0, "%s", e2e_gw_log(a));

    struct e2e_resp *r1 = e2e_post(a, "/v1/chat/completions", ASK(1), NULL);
    cr_assert_str_eq(cache_header(r1), "miss", "%s", r1->body);
    cr_assert_eq(redissvc_wait_cache_keys(&rs, 1, 5000), 0, "replica a kept the answer in Redis");
    struct e2e_resp *r2 = e2e_stream(b, "/v1/chat/completions", ASK_STREAM(1), NULL, NULL);
    cr_assert_str_eq(cache_header(r2), "hit", "%s\n%s", r2->body, e2e_gw_log(b));
    struct answer x, y;
    answer_of_json(r1, &x);
    answer_of_stream(r2, &y);
    answer_same(&x, &y, "replica b's stream of replica a's answer");
    cr_assert_eq(x.ntools, 2);
    cr_assert_eq(mock_request_count(m), 1, "one upstream call for both replicas");
    /* And back: a stream kept by b answers a document on a. */
    struct e2e_resp *r3 = e2e_stream(b, "/v1/chat/completions", ASK_STREAM(2), NULL, NULL);
    cr_assert_eq(redissvc_wait_cache_keys(&rs, 2, 5000), 0);
    struct e2e_resp *r4 = e2e_post(a, "/v1/chat/completions", ASK(2), NULL);
    cr_assert_str_eq(cache_header(r4), "hit");
    answer_of_stream(r3, &x);
    answer_of_json(r4, &y);
    answer_same(&x, &y, "replica a's document of replica b's stream");
    cr_assert_eq(mock_request_count(m), 2);
    e2e_resp_free(r1);
    e2e_resp_free(r2);
    e2e_resp_free(r3);
    e2e_resp_free(r4);
    cr_assert_eq(e2e_gw_stop(a, 10000), 0);
    cr_assert_eq(e2e_gw_stop(b, 10000), 0);
    mock_stop(m);
    redissvc_stop(&rs);
}

Test(cache_redis, redis_killed_turns_hits_into_misses_with_no_error)
{
    struct redissvc rs;
    start_redis(&rs);
    struct mock *m = chat_mock();
    struct e2e_gw *a = replica(m, &rs), *b = replica(m, &rs);
    cr_assert_eq(redissvc_wait_clients(&rs, 2 * CONNS_PER_REPLICA, 5000), 0);
    struct e2e_resp *r = e2e_post(a, "/v1/chat/completions", ASK(1), NULL);
    e2e_resp_free(r);
    cr_assert_eq(redissvc_wait_cache_keys(&rs, 1, 5000), 0);
    r = e2e_post(b, "/v1/chat/completions", ASK(1), NULL);
    cr_assert_str_eq(cache_header(r), "hit");
    e2e_resp_free(r);
    int before = mock_request_count(m);

    redissvc_kill(&rs);
    cr_assert_eq(e2e_gw_wait_log(a, "reconnecting", 5000), 0, "%s", e2e_gw_log(a));
    cr_assert_eq(e2e_gw_wait_log(b, "reconnecting", 5000), 0, "%s", e2e_gw_log(b));
    for (int i = 0; i < 3; i++) {
        struct e2e_gw *gw = i % 2 ? b : a;
        struct e2e_resp *s = i == 2
                                 ? e2e_stream(gw, "/v1/chat/completions", ASK_STREAM(1), NULL, NULL)
                                 : e2e_post(gw, "/v1/chat/completions", ASK(1), NULL);
        cr_assert_eq(s->status, 200, "Redis down is never an error: %s", s->body);
        cr_assert_str_eq(cache_header(s), "miss");
        struct answer x;
        if (i == 2)
            answer_of_stream(s, &x);
        else
            answer_of_json(s, &x);
        cr_assert_eq(x.ntools, 2, "a whole answer, from the upstream");
        e2e_resp_free(s);
    }
    cr_assert_eq(mock_request_count(m), before + 3, "every miss went upstream");
    struct e2e_resp *met = e2e_get(a, "/metrics", NULL);
    cr_assert(strstr(met->body, "aigw_cache_lookups_total{result=\"error\"}"), "%s", met->body);
    e2e_resp_free(met);

    /* Back: once the replicas reconnect (with backoff), answers are shared again. */
    cr_assert_eq(redissvc_restart(&rs), 0);
    cr_assert_eq(redissvc_wait_clients(&rs, 2 * CONNS_PER_REPLICA, 15000), 0,
                 "both replicas reconnected");
    r = e2e_post(a, "/v1/chat/completions", ASK(3), NULL);
    cr_assert_str_eq(cache_header(r), "miss");
    e2e_resp_free(r);
    cr_assert_eq(redissvc_wait_cache_keys(&rs, 1, 5000), 0);
    /* Connected is not yet ready: a reconnected client's first commands (its scripts, a
     * lookup under its 200 ms deadline on a loaded machine) may still miss. Sharing must
     * come back, not by the first request: b asks until a hit, with a deadline. */
    char header[16] = "";
    for (int64_t end = e2e_now_ms() + 10000; strcmp(header, "hit") && e2e_now_ms() < end;) {
        r = e2e_post(b, "/v1/chat/completions", ASK(3), NULL);
        cr_assert_eq(r->status, 200, "%s", r->body);
        snprintf(header, sizeof header, "%s", cache_header(r));
        e2e_resp_free(r);
    }
    cr_assert_str_eq(header, "hit", "shared again after Redis returned");
    cr_assert_eq(e2e_gw_stop(a, 10000), 0);
    cr_assert_eq(e2e_gw_stop(b, 10000), 0);
    mock_stop(m);
    redissvc_stop(&rs);
}

Test(cache_redis, a_silent_redis_costs_a_lookup_its_deadline_not_the_request)
{
    struct redissvc rs;
    start_redis(&rs);
    struct mock *m = chat_mock();
    struct e2e_gw *a = replica(m, &rs);
    cr_assert_eq(redissvc_wait_clients(&rs, CONNS_PER_REPLICA, 5000), 0);
    redissvc_pause(&rs, 1);
    struct e2e_resp *r = e2e_post(a, "/v1/chat/completions", ASK(7), NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(cache_header(r), "miss");
    e2e_resp_free(r);
    r = e2e_stream(a, "/v1/chat/completions", ASK_STREAM(7), NULL, NULL);
    struct answer x;
    answer_of_stream(r, &x);
    cr_assert_str_eq(cache_header(r), "miss");
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 2);
    redissvc_pause(&rs, 0);
    cr_assert_eq(e2e_gw_stop(a, 10000), 0);
    mock_stop(m);
    redissvc_stop(&rs);
}

Test(cache_redis, a_bad_redis_url_or_a_missing_one_is_a_config_error)
{
    const char *args[] = {"--check-config", NULL};
    char *out = NULL;
    int rc = e2e_aigw_run("{\"cache\":{\"enabled\":true,\"redis\":true}}", NULL, args, &out, 10000);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "cache.redis"), "%s", out);
    free(out);
    rc = e2e_aigw_run("{\"redis\":{\"url\":\"http://x\"},\"cache\":{\"enabled\":true,"
                      "\"redis\":true}}",
                      NULL, args, &out, 10000);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "redis.url"), "%s", out);
    free(out);
    rc = e2e_aigw_run("{\"cache\":{\"enabled\":true,\"scope\":\"everyone\"}}", NULL, args, &out,
                      10000);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "cache.scope"), "%s", out);
    free(out);
}
