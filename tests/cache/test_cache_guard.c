/*
 * The response cache under output guardrails, through the real aigw binary, the mock provider
 * and the test guard (tests/guard/mod_test.c): a replayed answer goes through the output
 * guards as an upstream one does, and one a guard sends back (RETRY) is dropped from the
 * cache and the request is asked upstream, as the guard's one retry. A replay paused on the
 * guard's call whose client leaves is logged, counted and settled once, when the call ends
 * (answered late, or its deadline passed): never sooner, never twice, never not at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cache/redissvc.h"
#include "e2e/e2e.h"

static const char *cache_header(struct e2e_resp *r)
{
    const char *v = e2e_resp_header(r, "X-Gateway-Cache");
    return v ? v : "(none)";
}

static const char *content(struct e2e_resp *r)
{
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(e2e_resp_json(r), "choices"), 0);
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(ch, "message"), "content");
    return cJSON_IsString(c) ? c->valuestring : "(none)";
}

#define DOC(text)                                                                                  \
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\","       \
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" text "\"},"     \
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,"         \
    "\"total_tokens\":8}}"

#define ASK                                                                                        \
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Name one.\"}]}"

static void route(struct mock *m, const char *name, const char *path, int times, const char *body)
{
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = name,
                                                        .method = "POST",
                                                        .path = path,
                                                        .times = times,
                                                        .headers = "Content-Type: "
                                                                   "application/json",
                                                        .body = body}),
                 0);
}

/* The guard asks a service about each whole answer: "ok" lets it through, "retry" sends it
 * back (the service's policy changed after the answer was kept, say). */
static struct e2e_gw *guarded_gw_for(struct mock *m, const struct redissvc *rs, int timeout_ms,
                                     const char *more)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    b = b ? b : ".";
    const char *chain = e2e_strf(
        "[{\"name\":\"tguard\",\"path\":\"%s/tests/guard/.libs/tguard.so\",\"config\":"
        "{\"final\":\"fetch\",\"word\":\"judge\",\"url\":\"%s/check\",\"timeout_ms\":%d}}]",
        b, mock_url(m), timeout_ms);
    /* With Redis, one worker: one cache connection, whose commands Redis runs in order. */
    const char *cache = rs ? e2e_strf("\"threads\":1,\"redis\":{\"url\":\"%s\"},\"cache\":{"
                                      "\"enabled\":true,\"redis\":true,\"redis_timeout_ms\":1000}",
                                      rs->url)
                           : "\"cache\":{\"enabled\":true}";
    /* With keys (more: the admin key), a price: a key with a budget uses priced models only. */
    const char *price = more ? ",\"catalog\":{\"overrides\":[{\"provider\":\"openai\",\"model\":"
                               "\"gpt-4o-mini\",\"mode\":\"chat\",\"in\":1,\"out\":1}]}"
                             : "";
    return e2e_gw_start(
        e2e_strf("{\"guard_dir\":\"%s/plugins/guards/.libs\",\"guardrails\":%s,%s%s}", b, chain,
                 cache, price),
        "OPENAI_API_KEY=sk-up", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), more, NULL);
}

static struct e2e_gw *guarded_gw_on(struct mock *m, const struct redissvc *rs)
{
    return guarded_gw_for(m, rs, 5000, NULL);
}

static struct e2e_gw *guarded_gw(struct mock *m)
{
    return guarded_gw_on(m, NULL);
}

/* A RETRY on a hit had no target to ask: the client got guardrail_blocked, and so did every
 * identical request until the entry expired. */
Test(cache_guard, a_retry_on_a_hit_drops_the_entry_and_asks_upstream)
{
    struct mock *m = e2e_mock(NULL);
    route(m, "check-ok", "/check", 1, "ok");
    route(m, "check-retry", "/check", 1, "retry");
    route(m, "check-rest", "/check", 0, "ok");
    route(m, "first", "/v1/chat/completions", 1, DOC("first answer"));
    route(m, "second", "/v1/chat/completions", 0, DOC("second answer"));
    struct e2e_gw *gw = guarded_gw(m);

    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(a->status, 200, "%d %s", a->status, a->body);
    cr_assert_str_eq(cache_header(a), "miss");
    cr_assert_str_eq(content(a), "first answer");
    e2e_resp_free(a);

    /* The kept answer is replayed; the guard sends it back; the upstream answers instead. No
     * store for this one: what is kept after it shows the refused entry went. */
    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK, "Cache-Control: no-store");
    cr_assert_eq(b->status, 200, "%d %s\n%s", b->status, b->body, e2e_gw_log(gw));
    cr_assert_str_eq(content(b), "second answer");
    cr_assert_str_eq(cache_header(b), "miss", "answered by the upstream");
    cr_assert_str_eq(e2e_resp_header(b, "X-Gateway-Provider"), "openai");
    e2e_resp_free(b);
    cr_assert_eq(mock_route_hits(m, "second"), 1, "asked upstream once");
    cr_assert_eq(mock_route_hits(m, "check-retry"), 1);
    /* As the guard's retry of an upstream answer: the refused answer and the guard's note. */
    const struct mock_req *q = NULL;
    for (int i = 0; i < mock_request_count(m) && !q; i++) {
        q = mock_request(m, i);
        if (strcmp(mock_req_route(q), "second")) {
            mock_req_free(q);
            q = NULL;
        }
    }
    cr_assert_not_null(q);
    const cJSON *msgs = cJSON_GetObjectItem(mock_req_json(q), "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 3, "%s", mock_req_body(q));
    const cJSON *said = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
    cr_assert(cJSON_IsString(said) && !strcmp(said->valuestring, "first answer"), "%s",
              mock_req_body(q));
    mock_req_free(q);

    /* The refused answer is no longer kept: the next identical request is a miss. */
    struct e2e_resp *c = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(c->status, 200, "%d %s", c->status, c->body);
    cr_assert_str_eq(cache_header(c), "miss", "%s", c->body);
    cr_assert_str_eq(content(c), "second answer");
    e2e_resp_free(c);
    cr_assert_eq(mock_route_hits(m, "second"), 2);
    /* The header, the log and the metric tell one story: three misses, no hit (the retried
     * hit was counted a hit while its header and its log row said miss). */
    cr_assert_eq(e2e_gw_wait_log(gw, "cached answer failed a guardrail", 5000), 0);
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    cr_assert(strstr(met->body, "aigw_cache_lookups_total{result=\"miss\"} 3\n"), "%s", met->body);
    cr_assert(!strstr(met->body, "aigw_cache_lookups_total{result=\"hit\"}"), "%s", met->body);
    e2e_resp_free(met);
    cr_assert_not(strstr(e2e_gw_log(gw), "\"cache\":\"hit\""), "%s", e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The retry is the guard's one: an upstream answer it sends back again is refused, as after
 * any retry. */
Test(cache_guard, a_hit_retried_upstream_has_used_the_guards_one_retry)
{
    struct mock *m = e2e_mock(NULL);
    route(m, "check-ok", "/check", 1, "ok");
    route(m, "check-retry", "/check", 0, "retry");
    route(m, "first", "/v1/chat/completions", 1, DOC("first answer"));
    route(m, "second", "/v1/chat/completions", 0, DOC("second answer"));
    struct e2e_gw *gw = guarded_gw(m);
    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(a->status, 200, "%d %s", a->status, a->body);
    e2e_resp_free(a);
    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(b->status, 400, "%d %s", b->status, b->body);
    cr_assert(strstr(b->body, "guardrail_blocked"), "%s", b->body);
    e2e_resp_free(b);
    cr_assert_eq(mock_route_hits(m, "second"), 1, "one retry, upstream");
    /* Nothing was kept: the next request asks upstream (and is refused the same way). */
    struct e2e_resp *c = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_str_eq(cache_header(c), "miss", "%s", c->body);
    e2e_resp_free(c);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The same with the shared cache: the replay comes from Redis (the request slept on the
 * lookup), the guard sends it back, the entry is deleted in Redis and the request goes
 * upstream as a miss. */
Test(cache_guard, a_retry_on_a_redis_hit_drops_the_entry_and_asks_upstream)
{
    if (!redissvc_binary())
        cr_skip_test("redis-server is not installed");
    struct redissvc rs;
    cr_assert_eq(redissvc_start(&rs), 0, "redis-server did not start");
    struct mock *m = e2e_mock(NULL);
    route(m, "check-ok", "/check", 1, "ok");
    route(m, "check-retry", "/check", 1, "retry");
    route(m, "check-rest", "/check", 0, "ok");
    route(m, "first", "/v1/chat/completions", 1, DOC("first answer"));
    route(m, "second", "/v1/chat/completions", 0, DOC("second answer"));
    struct e2e_gw *gw = guarded_gw_on(m, &rs);
    /* The cache's connection and the limit counters' (test_cache_redis.c). */
    cr_assert_eq(redissvc_wait_clients(&rs, 2, 5000), 0, "%s", e2e_gw_log(gw));

    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(a->status, 200, "%d %s", a->status, a->body);
    cr_assert_str_eq(cache_header(a), "miss");
    e2e_resp_free(a);
    cr_assert_eq(redissvc_wait_cache_keys(&rs, 1, 5000), 0, "the answer was kept in Redis");

    struct e2e_resp *b = e2e_post(gw, "/v1/chat/completions", ASK, "Cache-Control: no-store");
    cr_assert_eq(b->status, 200, "%d %s\n%s", b->status, b->body, e2e_gw_log(gw));
    cr_assert_str_eq(content(b), "second answer", "%s", e2e_gw_log(gw));
    cr_assert_str_eq(cache_header(b), "miss", "answered by the upstream");
    cr_assert_str_eq(e2e_resp_header(b, "X-Gateway-Provider"), "openai");
    e2e_resp_free(b);
    cr_assert_eq(mock_route_hits(m, "check-retry"), 1, "the guard saw the replay");
    cr_assert_eq(mock_route_hits(m, "second"), 1, "asked upstream once");
    /* The refused entry is deleted from Redis, not left to its TTL. */
    cr_assert_eq(redissvc_wait_cache_keys(&rs, 0, 5000), 0, "the refused answer is still kept\n%s",
                 e2e_gw_log(gw));

    struct e2e_resp *c = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(c->status, 200, "%d %s", c->status, c->body);
    cr_assert_str_eq(cache_header(c), "miss", "%s", c->body);
    cr_assert_str_eq(content(c), "second answer");
    e2e_resp_free(c);
    cr_assert_eq(mock_route_hits(m, "second"), 2);
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    cr_assert(strstr(met->body, "aigw_cache_lookups_total{result=\"miss\"} 3\n"), "%s", met->body);
    cr_assert(!strstr(met->body, "aigw_cache_lookups_total{result=\"hit\"}"), "%s", met->body);
    e2e_resp_free(met);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
    redissvc_stop(&rs);
}

/* ---- a replay paused on the guard's call, its client gone -------------------------------- */

#define ADMIN "admin-key-for-cache-guard-0123456789"
#define EV(delta, fin)                                                                             \
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"           \
    "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" fin         \
    "}]}\n\n"
/* After the finish, as with stream_options.include_usage: the replay has more to send once the
 * final hook's call went out at the finish, so it pauses on it. */
#define USAGE                                                                                      \
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"           \
    "\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,"       \
    "\"total_tokens\":7}}\n\n"
#define DONE "data: [DONE]\n\n"
#define ASK_STREAM                                                                                 \
    "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"     \
    "\"Name two.\"}]}"

static int occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* A kept stream replays; its final hook's call is out (answered late, or never: its deadline
 * ends it) when the client leaves. The hit is logged once, when the call ends, counted once,
 * and its key's budget lease is gone; aigw stops cleanly (sanitizers). */
static void replay_left_while_judged(const struct mock_route *late, int timeout_ms, int min_ms,
                                     int max_ms)
{
    struct mock *m = e2e_mock(NULL);
    route(m, "check-ok", "/check", 1, "ok");
    cr_assert_eq(mock_add_route(m, late), 0);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.name = "chat",
                                                        .method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .headers = "Content-Type: "
                                                                   "text/event-stream",
                                                        .body = EV("{\"content\":\"one \"}", "null")
                                                            EV("{\"content\":\"two\"}", "null")
                                                                EV("{}", "\"stop\"") USAGE DONE,
                                                        .chunking = "events"}),
                 0);
    struct e2e_gw *gw = guarded_gw_for(m, NULL, timeout_ms, "AIGW_ADMIN_KEY=" ADMIN);
    struct e2e_resp *k = e2e_request("POST", e2e_strf("%s/admin/keys", e2e_gw_url(gw)),
                                     "{\"name\":\"judged\",\"budget_usd\":10}",
                                     "Authorization: Bearer " ADMIN, 10000);
    cr_assert_eq(k->status, 201, "%s", k->body);
    const char *auth = e2e_strf("Authorization: Bearer %s",
                                cJSON_GetObjectItem(e2e_resp_json(k), "key")->valuestring);
    e2e_resp_free(k);
    struct e2e_resp *a = e2e_stream(gw, "/v1/chat/completions", ASK_STREAM, auth, NULL);
    cr_assert_str_eq(cache_header(a), "miss", "%s", a->body);
    cr_assert_str_eq(e2e_resp_text(a), "one two");
    e2e_resp_free(a);
    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)),
                                            ASK_STREAM, auth, NULL);
    /* its text, and the call for the replay (after the chat and the first answer's check):
     * the rest of the replay waits on it */
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0, "the replay's text never came");
    cr_assert_eq(mock_wait_requests(m, 3, 10000), 0, "the replay was never judged");
    int64_t asked = e2e_now_ms();
    e2e_stream_abort(s);
    struct e2e_resp *b = e2e_stream_finish(s, 10000);
    cr_assert_str_eq(cache_header(b), "hit", "%s", b->body);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_wait_log(gw, "\"cache\":\"hit\"", 15000), 0,
                 "the abandoned replay was never logged\n%s", e2e_gw_log(gw));
    /* when the guard's call ended: its answer came, or its deadline passed */
    int64_t took = e2e_now_ms() - asked;
    cr_assert(took >= min_ms && took < max_ms, "logged %lld ms after the call went out",
              (long long)took);
    struct e2e_resp *met = NULL;
    for (int64_t end = e2e_now_ms() + 10000; e2e_now_ms() < end;) {
        e2e_resp_free(met);
        met = e2e_get(gw, "/metrics", NULL);
        if (strstr(met->body, "\naigw_budget_leases 0\n"))
            break;
    }
    cr_assert(strstr(met->body, "aigw_cache_lookups_total{result=\"hit\"} 1\n"), "%s", met->body);
    cr_assert(strstr(met->body, "\naigw_budget_leases 0\n"), "a lease is still held\n%s",
              met->body);
    e2e_resp_free(met);
    cr_assert_eq(mock_request_count(m), 3, "the hit asked no upstream");
    cr_assert_eq(occurrences(e2e_gw_log(gw), "\"cache\":\"hit\""), 1, "%s", e2e_gw_log(gw));
    cr_assert_eq(occurrences(e2e_gw_log(gw), "\"cache\":\"miss\""), 1, "%s", e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0, "aigw did not stop cleanly");
    mock_stop(m);
}

Test(cache_guard, a_replay_left_while_its_guard_call_is_out_ends_once_when_it_answers)
{
    replay_left_while_judged(&(struct mock_route){.name = "check-late",
                                                  .method = "POST",
                                                  .path = "/check",
                                                  .body = "ok",
                                                  .headers_delay_ms = 1500},
                             5000, 1000, 5000);
}

Test(cache_guard, a_replay_left_while_its_guard_call_never_answers_ends_by_its_deadline)
{
    replay_left_while_judged(
        &(struct mock_route){
            .name = "check-never", .method = "POST", .path = "/check", .headers_delay_ms = -1},
        800, 500, 5000);
}
