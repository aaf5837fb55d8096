/*
 * Routing end to end, failure classes: what is retried or failed over (5xx, 408, 409, 429
 * with Retry-After, connect errors, timeouts, an error event before the first byte) and what
 * never is (other 4xx, anything after the first byte); bounded attempts, the retry budget,
 * circuit breakers, X-Provider. Strategies are in test_routing_strategy.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "e2e/test_routing.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *error_type(struct e2e_resp *r)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "error");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}

/* ---- what fails over ---------------------------------------------------------------------- */

Test(failover, a_500_fails_over_streamed_or_not)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Model"), "m1");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:500,groq:ok\"");
    r = e2e_stream(gw, "/v1/chat/completions", RT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    cr_assert_str_eq(e2e_resp_text(r), RT_TEXT);
    cr_assert(e2e_resp_done(r));
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(m, "openai"), 2);
    cr_assert_eq(rt_hits(m, "groq"), 2);
    cr_assert_eq(rt_hits(m, "xai"), 0);
    rt_stop(gw, m);
}

Test(failover, every_retryable_status_fails_over)
{
    static const int statuses[] = {408, 409, 502, 503, 504};
    struct mock *m = rt_mock();
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"targets\":[\"openai\",\"groq\"],"
                                 "\"circuit_breaker\":{\"failure_threshold\":0}}}");
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        mock_clear_routes(m);
        rt_add(m, "openai",
               e2e_strf("\"status\":%d,\"body\":{\"error\":{\"message\":\"no\"}}", statuses[i]));
        rt_ok(m, "groq");
        struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
        cr_assert_eq(r->status, 200, "after a %d: %s", statuses[i], r->body);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
        e2e_resp_free(r);
        rt_log_has(gw, e2e_strf("\"tried\":\"openai:%d,groq:ok\"", statuses[i]));
    }
    rt_stop(gw, m);
}

Test(failover, a_429_with_retry_after_fails_over_at_once)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"status\":429,\"headers\":{\"retry-after\":\"20\"},"
           "\"body_file\":\"mock/error_429.json\"");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:429,groq:ok\"");
    rt_stop(gw, m);
}

/* x-should-retry: false is the provider's word on asking it again (so OpenAI's SDKs read
 * it): another target still answers, the one that said it is never asked again, and with no
 * other target its answer is the client's. */
#define NO_RETRY(status, file)                                                                     \
    "\"status\":" #status ",\"headers\":{\"x-should-retry\":\"False\"},"                           \
    "\"body_file\":\"mock/" file "\""

Test(failover, x_should_retry_false_still_fails_over_to_another_target)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", NO_RETRY(429, "error_429.json"));
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:429,groq:ok\"");
    rt_stop(gw, m);
}

Test(failover, x_should_retry_false_is_never_asked_again)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", NO_RETRY(500, "error_500.json"));
    rt_add(m, "groq", RT_500);
    rt_add(m, "xai", RT_500);
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"targets\":[\"openai\",\"groq\",\"xai\"],"
                                 "\"retry\":{\"max_attempts\":4,\"backoff_ms\":10,"
                                 "\"backoff_max_ms\":20},"
                                 "\"circuit_breaker\":{\"failure_threshold\":0}}}");
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 500, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "4");
    e2e_resp_free(r);
    /* The retries wrap around past openai. */
    rt_log_has(gw, "\"tried\":\"openai:500,groq:500,xai:500,groq:500\"");
    cr_assert_eq(rt_hits(m, "openai"), 1);
    rt_stop(gw, m);

    /* Alone, the target that said it is the answer: no retry at all. */
    m = rt_mock();
    rt_add(m, "openai", "\"times\":1," NO_RETRY(500, "error_500.json"));
    rt_ok(m, "openai");
    gw = rt_gw(m, "{\"routing\":{\"strategy\":\"single\",\"targets\":[\"openai\"],"
                  "\"retry\":{\"max_attempts\":3,\"backoff_ms\":10,\"backoff_max_ms\":20}}}");
    r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 500, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "1");
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(m, "openai"), 1);
    rt_stop(gw, m);
}

Test(failover, retry_after_on_the_same_target_is_honoured_up_to_the_cap)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"times\":1,\"status\":429,\"headers\":{\"retry-after\":\"60\"},"
           "\"body_file\":\"mock/error_429.json\"");
    rt_ok(m, "openai");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"single\",\"targets\":[\"openai\"],"
                                 "\"retry\":{\"retry_after_cap_ms\":400}}}");
    int64_t t0 = mono_ms();
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    int64_t took = mono_ms() - t0;
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    cr_assert_geq(took, 400, "Retry-After (capped) was not waited for: %lld ms", (long long)took);
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:429,openai:ok\"");
    rt_stop(gw, m);
}

/* A target that said when to come back (a 429's Retry-After) is not asked again sooner when
 * the others failed too and the retries wrap around to it. */
Test(failover, retry_after_holds_when_the_retries_wrap_around)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"times\":1,\"status\":429,\"headers\":{\"retry-after\":\"1\"},"
           "\"body_file\":\"mock/error_429.json\"");
    rt_ok(m, "openai");
    rt_add(m, "groq", RT_500);
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"targets\":[\"openai\",\"groq\"],"
                                 "\"retry\":{\"backoff_ms\":10,\"backoff_max_ms\":20}}}");
    int64_t t0 = mono_ms();
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    int64_t took = mono_ms() - t0;
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "3");
    cr_assert_geq(took, 1000, "openai was asked again %lld ms after its Retry-After: 1",
                  (long long)took);
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:429,groq:500,openai:ok\"");
    rt_stop(gw, m);
}

/* ... and another target's Retry-After does not hold back the one that never sent one. */
Test(failover, a_retry_after_is_only_its_own_targets)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", "\"times\":1," RT_500);
    rt_ok(m, "openai");
    rt_add(m, "groq",
           "\"status\":429,\"headers\":{\"retry-after\":\"60\"},"
           "\"body_file\":\"mock/error_429.json\"");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"targets\":[\"openai\",\"groq\"],"
                                 "\"retry\":{\"backoff_ms\":10,\"backoff_max_ms\":20,"
                                 "\"retry_after_cap_ms\":60000}}}");
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL); /* the client waits 30 s at most */
    cr_assert_eq(r->status, 200, "status %d (%s): openai waited for groq's Retry-After", r->status,
                 r->error);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "3");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:500,groq:429,openai:ok\"");
    rt_stop(gw, m);
}

Test(failover, connect_errors_and_timeouts_fail_over)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"match_body\":{\"user\":\"closer\"},\"close_before_headers\":true,"
           "\"body\":\"x\"");
    rt_add(m, "openai", "\"headers_delay_ms\":-1,\"body\":\"x\"");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"timeouts\":{\"first_byte_ms\":300},\"routing\":{"
                                 "\"targets\":[\"openai\",\"groq\"]}}");
    struct e2e_resp *r = rt_post(gw,
                                 "{\"model\":\"m1\",\"user\":\"closer\",\"messages\":[{\"role\":"
                                 "\"user\",\"content\":\"hi\"}]}",
                                 NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:connect_error,groq:ok\"");
    r = e2e_stream(gw, "/v1/chat/completions", RT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_text(r), RT_TEXT);
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:first_byte_timeout,groq:ok\"");
    rt_stop(gw, m);
}

Test(failover, a_stream_that_errors_before_its_first_byte_fails_over)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"headers\":{\"content-type\":\"text/event-stream\"},\"body\":"
           "\"data: {\\\"error\\\":{\\\"message\\\":\\\"overloaded\\\","
           "\\\"type\\\":\\\"server_error\\\"}}\\n\\n\"");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", RT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "2");
    cr_assert_str_eq(e2e_resp_text(r), RT_TEXT);
    cr_assert(e2e_resp_done(r));
    cr_assert_null(strstr(r->body, "overloaded"), "the failed attempt leaked: %s", r->body);
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:error_event,groq:ok\"");
    rt_stop(gw, m);
}

/* ---- what never does ---------------------------------------------------------------------- */

Test(no_failover, a_400_is_never_retried)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"status\":400,\"body\":{\"error\":{\"message\":\"bad temperature\","
           "\"type\":\"invalid_request_error\",\"param\":\"temperature\"}}");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 400);
    cr_assert_str_eq(error_type(r), "invalid_request_error");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "1");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:400\"");
    cr_assert_eq(rt_hits(m, "openai"), 1);
    cr_assert_eq(rt_hits(m, "groq"), 0);
    rt_stop(gw, m);
}

Test(no_failover, nothing_is_retried_after_the_first_byte)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"body_file\":\"mock/stream_text.sse\",\"inject\":{\"after_chunks\":3,"
           "\"body\":\"data: {\\\"error\\\":{\\\"message\\\":\\\"boom\\\","
           "\\\"type\\\":\\\"server_error\\\"}}\\n\\n\",\"end\":true}");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = e2e_stream(gw, "/v1/chat/completions", RT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "1");
    cr_assert(e2e_resp_done(r), "the stream still ends with [DONE]");
    cr_assert_geq(r->n_events, 3);
    cJSON *err = cJSON_GetObjectItemCaseSensitive(e2e_resp_event_json(r, r->n_events - 2), "error");
    cr_assert_not_null(err, "an error event before [DONE]: %s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), "Hello from");
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(m, "groq"), 0);
    rt_stop(gw, m);
}

/* ---- bounds ------------------------------------------------------------------------------- */

Test(bounds, when_every_call_fails_attempts_stay_bounded_and_the_client_gets_one_error)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    rt_add(m, "groq", RT_500);
    rt_add(m, "xai", RT_500);
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"targets\":[\"openai\",\"groq\",\"xai\"],"
                                 "\"retry\":{\"max_attempts\":4,\"backoff_ms\":10,"
                                 "\"backoff_max_ms\":20}}}");
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 500);
    cr_assert_str_eq(error_type(r), "server_error");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "4");
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:500,groq:500,xai:500,openai:500\"");
    cr_assert_eq(mock_request_count(m), 4);
    r = e2e_stream(gw, "/v1/chat/completions", RT_STREAM, NULL, NULL);
    cr_assert_eq(r->status, 500, "nothing was sent yet: a plain error, not a stream");
    cr_assert_str_eq(e2e_resp_header(r, "Content-Type"), "application/json");
    cr_assert_str_eq(error_type(r), "server_error");
    cr_assert_eq(r->n_events, 0);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 8);
    rt_stop(gw, m);
}

Test(bounds, the_retry_budget_caps_extra_calls_across_requests)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"single\",\"targets\":[\"openai\"],"
                                 "\"retry\":{\"max_attempts\":3,\"backoff_ms\":1,"
                                 "\"backoff_max_ms\":2,\"budget_ratio\":0.5,\"budget_min\":0},"
                                 "\"circuit_breaker\":{\"failure_threshold\":0}}}");
    for (int i = 0; i < 10; i++) {
        struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
        cr_assert_eq(r->status, 500);
        e2e_resp_free(r);
    }
    /* 10 requests may add 0.5 x 10 = 5 retries, whatever max_attempts would allow. */
    cr_assert_eq(mock_request_count(m), 15);
    rt_stop(gw, m);
}

Test(bounds, an_open_circuit_breaker_skips_the_target)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"targets\":[\"openai\",\"groq\"],"
                                 "\"circuit_breaker\":{\"failure_threshold\":2,"
                                 "\"cooldown_ms\":60000}}}");
    for (int i = 0; i < 4; i++) {
        struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
        cr_assert_eq(r->status, 200);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), i < 2 ? "2" : "1");
        e2e_resp_free(r);
    }
    cr_assert_eq(rt_hits(m, "openai"), 2);
    cr_assert_eq(rt_hits(m, "groq"), 4);
    rt_log_has(gw, "circuit breaker open for openai:*");
    rt_stop(gw, m);
}

/* Every target paused: the 503 says when to come back in the header clients and their SDKs
 * read, not only in its message, so they do not come back at once, again and again. */
Test(bounds, an_open_circuit_says_when_to_come_back_in_retry_after)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", RT_500);
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"single\",\"targets\":[\"openai\"],"
                                 "\"retry\":{\"max_attempts\":1},"
                                 "\"circuit_breaker\":{\"failure_threshold\":1,"
                                 "\"cooldown_ms\":60000}}}");
    struct e2e_resp *r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 500);
    e2e_resp_free(r);
    for (int stream = 0; stream < 2; stream++) {
        r = stream ? e2e_stream(gw, "/v1/chat/completions", RT_STREAM, NULL, NULL)
                   : rt_post(gw, RT_CHAT, NULL);
        cr_assert_eq(r->status, 503, "%s", r->body);
        cJSON *e = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "error");
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "code")->valuestring, "circuit_open");
        const char *ra = e2e_resp_header(r, "Retry-After");
        cr_assert_not_null(ra, "no Retry-After on the circuit_open 503");
        char *end = NULL;
        long secs = strtol(ra, &end, 10);
        cr_assert(end && !*end && secs > 50 && secs <= 60, "Retry-After: %s", ra);
        e2e_resp_free(r);
    }
    cr_assert_eq(rt_hits(m, "openai"), 1);
    rt_stop(gw, m);
}

/* A fallback that claimed a half-open target's probe and is then dropped (here by
 * timeouts.request_ms, which the first target used up) gives the probe back: the next request
 * probes that target at once, instead of a 503 circuit_open for another whole cooldown. */
Test(bounds, a_probe_claimed_for_a_dropped_fallback_is_given_back)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", "\"times\":1,\"headers_delay_ms\":1100,\"body_file\":\"mock/chat.json\"");
    rt_add(m, "openai", "\"headers_delay_ms\":-1,\"body_file\":\"mock/chat.json\"");
    rt_add(m, "groq", "\"times\":1," RT_500);
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, "{\"routing\":{\"strategy\":\"fallback\","
                                 "\"targets\":[\"openai\",\"groq\"],\"retry\":{\"max_attempts\":2},"
                                 "\"circuit_breaker\":{\"failure_threshold\":1,"
                                 "\"cooldown_ms\":1000}},\"timeouts\":{\"request_ms\":1500}}");
    /* groq fails once: its breaker opens for 1 s, which a slow answer of openai outlasts. */
    struct e2e_resp *r = rt_post(gw, RT_CHAT, "X-Provider: groq");
    cr_assert_eq(r->status, 500, "%s", r->body);
    e2e_resp_free(r);
    rt_log_has(gw, "circuit breaker open for groq:");
    r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    e2e_resp_free(r);
    /* groq, past its cooldown, is this request's fallback; openai holds it for all of its
     * 1.5 s, so the fallback claims groq's probe and the deadline then drops it. */
    r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 504, "%s", r->body);
    e2e_resp_free(r);
    rt_log_has(gw, "\"tried\":\"openai:total_timeout\"");
    cr_assert_eq(rt_hits(m, "groq"), 1, "the dropped fallback went out");
    /* openai's breaker is open now; groq's probe is free, and this request is it. */
    r = rt_post(gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(m, "groq"), 2);
    rt_stop(gw, m);
}

/* ---- X-Provider --------------------------------------------------------------------------- */

Test(x_provider, forces_the_provider_and_unknown_ones_get_a_400)
{
    struct mock *m = rt_mock();
    rt_ok(m, "openai");
    rt_ok(m, "groq");
    struct e2e_gw *gw = rt_gw(m, FALLBACK3);
    struct e2e_resp *r = rt_post(gw, RT_CHAT, "X-Provider: groq");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "groq");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Model"), "m1");
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Attempts"), "1");
    e2e_resp_free(r);
    r = rt_post(gw, RT_CHAT, "X-Provider: anthropic");
    cr_assert_eq(r->status, 400);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "error");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring,
                     "X-Provider 'anthropic' is not an active provider; active providers: groq, "
                     "openai, xai");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "param")->valuestring, "X-Provider");
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(m, "openai"), 0);
    cr_assert_eq(rt_hits(m, "groq"), 1);
    rt_stop(gw, m);
}

/* ---- a client that leaves ----------------------------------------------------------------- */

/* Single target, no first-byte budget: only the client's leaving can end these requests
 * early (the upstream's own deadline is a minute away). */
#define SINGLE_SLOW                                                                                \
    "{\"routing\":{\"strategy\":\"single\",\"targets\":[\"openai\"],"                              \
    "\"retry\":{\"retry_after_cap_ms\":60000}},"                                                   \
    "\"timeouts\":{\"first_byte_ms\":60000,\"first_byte_total_ms\":0}}"

/* A slow model (a plain answer's headers come with its end): the client that gave up must
 * not leave the gateway waiting, and paying, for an answer nobody reads. */
Test(client_gone, leaving_before_the_upstream_answers_cancels_it)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai", "\"headers_delay_ms\":-1,\"body_file\":\"mock/chat.json\"");
    struct e2e_gw *gw = rt_gw(m, SINGLE_SLOW);
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), RT_CHAT, NULL, NULL);
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    e2e_stream_abort(s);
    cr_assert_eq(mock_wait_disconnects(m, 1, 3000), 0, "the upstream call outlived its client");
    rt_log_has(gw, "\"tried\":\"openai:cancelled\"");
    e2e_resp_free(e2e_stream_finish(s, 5000));
    cr_assert_eq(rt_hits(m, "openai"), 1);
    rt_stop(gw, m);
}

/* The same during a retry's back-off (a 429's Retry-After): no retry for a client gone. */
Test(client_gone, leaving_during_a_back_off_ends_the_request)
{
    struct mock *m = rt_mock();
    rt_add(m, "openai",
           "\"times\":1,\"status\":429,\"headers\":{\"retry-after\":\"50\"},"
           "\"body_file\":\"mock/error_429.json\"");
    rt_ok(m, "openai");
    struct e2e_gw *gw = rt_gw(m, SINGLE_SLOW);
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), RT_CHAT, NULL, NULL);
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    e2e_stream_abort(s);
    rt_log_has(gw, "\"tried\":\"openai:429");
    e2e_resp_free(e2e_stream_finish(s, 5000));
    cr_assert_eq(mock_request_count(m), 1, "a retry went out for a client gone");
    rt_stop(gw, m);
}
