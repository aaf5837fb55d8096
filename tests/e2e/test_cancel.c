/*
 * Upstream jobs left unfinished are cancelled (SDK 1.6 cancel_build, proxy/cancel.c): a
 * Replicate prediction whose client left mid-stream or mid-poll, whose request ran into
 * the gateway's timeout, or which was abandoned for a fallback target, gets exactly one POST to its
 * cancel URL with the provider's key (and the key in no log line); a prediction that finished gets
 * none. A cancel that fails (500, or no answer at all) costs nothing else: the client's answer, the
 * request log row and the next request are as without it. Every wait is on a condition with a
 * deadline; a stopped gateway has sent every cancel it started (shutdown waits for them), so counts
 * read after the gateway exited are final.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "admin/dirwait.h"
#include "e2e/e2e.h"

#define TOKEN "r8_e2e_cancel_key_0001"
#define ADMIN "admin-key-for-cancel-tests-0123"
#define RP_MODEL "meta/meta-llama-3-8b-instruct"
#define RP_PATH "/v1/models/" RP_MODEL "/predictions"
#define CREATE                                                                                     \
    "{\"name\":\"create\",\"method\":\"POST\",\"path\":\"" RP_PATH "\",\"status\":201,"            \
    "\"body\":{\"id\":\"pc1\",\"status\":\"starting\",\"urls\":{"                                  \
    "\"get\":\"{{base}}/v1/predictions/pc1\",\"stream\":\"{{base}}/v1/streams/pc1\","              \
    "\"cancel\":\"{{base}}/v1/predictions/pc1/cancel\"}}}"
#define PROCESSING                                                                                 \
    "{\"name\":\"poll\",\"method\":\"GET\",\"path\":\"/v1/predictions/pc1\","                      \
    "\"body\":{\"id\":\"pc1\",\"status\":\"processing\"}}"
#define CANCEL_OK                                                                                  \
    "{\"name\":\"cancel\",\"method\":\"POST\",\"path\":\"/v1/predictions/pc1/cancel\","            \
    "\"body_file\":\"replicate/prediction_canceled.json\"}"
#define LOGGED "job pc1 left unfinished: cancel answered HTTP 200"

static const char *ask(int stream)
{
    return e2e_strf("{\"model\":\"replicate/" RP_MODEL "\",\"stream\":%s,"
                    "\"messages\":[{\"role\":\"user\",\"content\":\"Where is Geiranger?\"}]}",
                    stream ? "true" : "false");
}

static struct mock *mock_with(const char *const *routes)
{
    struct mock *m = e2e_mock(NULL);
    for (; *routes; routes++)
        cr_assert_eq(mock_add_route_json(m, *routes), 0, "%s", *routes);
    return m;
}

/* poll_ms: the pause between polls. A client that left is noticed while the upstream is
 * quiet for a tick (250 ms): polls paced slower than that leave such pauses. */
static struct e2e_gw *gw_for(struct mock *m, const char *config, int poll_ms)
{
    return e2e_gw_start(config, "REPLICATE_API_TOKEN=" TOKEN,
                        e2e_strf("REPLICATE_BASE_URL=%s", mock_url(m)), "REPLICATE_WAIT_SECONDS=0",
                        e2e_strf("REPLICATE_POLL_INTERVAL_MS=%d", poll_ms), NULL);
}

/* The one request the named route answered: its method, path and credential. */
static void assert_one_cancel(struct mock *m)
{
    cr_assert_eq(mock_route_hits(m, "cancel"), 1, "exactly one cancel");
    int found = 0;
    for (int i = 0; i < mock_request_count(m); i++) {
        const struct mock_req *q = mock_request(m, i);
        if (mock_req_route(q) && !strcmp(mock_req_route(q), "cancel")) {
            cr_assert_str_eq(mock_req_method(q), "POST");
            cr_assert_str_eq(mock_req_path(q), "/v1/predictions/pc1/cancel");
            cr_assert_str_eq(mock_req_header(q, "authorization"), "Bearer " TOKEN);
            found++;
        }
        mock_req_free(q);
    }
    cr_assert_eq(found, 1);
}

/* SIGTERM and the exit (shutdown waits for the cancels in flight), then the whole log is
 * checked for the key; frees gw. */
static void stop_without_key_logged(struct e2e_gw *gw)
{
    cr_assert_eq(e2e_gw_signal(gw, SIGTERM), 0);
    cr_assert_eq(e2e_gw_wait_exit(gw, 10000), 0, "%s", e2e_gw_log(gw));
    cr_assert_null(strstr(e2e_gw_log(gw), TOKEN), "the key reached the log");
    e2e_gw_stop(gw, 1000);
}

Test(cancel, stream_whose_client_left_is_cancelled_once)
{
    const char *routes[] = {CREATE,
                            "{\"name\":\"stream\",\"method\":\"GET\",\"path\":\"/v1/streams/pc1\","
                            "\"body_file\":\"replicate/stream_text.sse\",\"stall_after_chunks\":1}",
                            CANCEL_OK, NULL};
    struct mock *m = mock_with(routes);
    struct e2e_gw *gw = gw_for(m, NULL, 10);
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), ask(1), NULL, NULL);
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0, "%s", e2e_gw_log(gw));
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    cr_assert_eq(e2e_gw_wait_log(gw, LOGGED, 10000), 0, "no cancel logged:\n%s", e2e_gw_log(gw));
    struct e2e_resp *mt = e2e_get(gw, "/metrics", NULL);
    cr_assert_not_null(
        strstr(mt->body, "aigw_upstream_cancels_total{provider=\"replicate\",outcome=\"ok\"} 1"),
        "%s", mt->body);
    e2e_resp_free(mt);
    stop_without_key_logged(gw);
    assert_one_cancel(m);
    mock_stop(m);
}

Test(cancel, polled_prediction_whose_client_left_is_cancelled_once)
{
    const char *routes[] = {CREATE, PROCESSING, CANCEL_OK, NULL};
    struct mock *m = mock_with(routes);
    struct e2e_gw *gw = gw_for(m, NULL, 300);
    /* The client gives up while the prediction is being polled. */
    struct e2e_resp *r = e2e_request("POST", e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)),
                                     ask(0), "Content-Type: application/json", 500);
    cr_assert_eq(r->status, 0, "the client left before any answer: %d", r->status);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, LOGGED, 10000), 0, "no cancel logged:\n%s", e2e_gw_log(gw));
    stop_without_key_logged(gw);
    assert_one_cancel(m);
    /* The backstop: Replicate's own deadline, the poll timeout and one interval. */
    const struct mock_req *create = mock_request(m, 0);
    cr_assert_str_eq(mock_req_route(create), "create");
    cr_assert_str_eq(mock_req_header(create, "cancel-after"), "301s"); /* 300 s and 300 ms */
    mock_req_free(create);
    mock_stop(m);
}

Test(cancel, prediction_past_the_gateway_timeout_is_cancelled_once)
{
    const char *routes[] = {CREATE, PROCESSING, CANCEL_OK, NULL};
    struct mock *m = mock_with(routes);
    struct e2e_gw *gw = gw_for(m, "{\"timeouts\":{\"request_ms\":400}}", 10);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ask(0), NULL);
    cr_assert_eq(r->status, 504, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, LOGGED, 10000), 0, "no cancel logged:\n%s", e2e_gw_log(gw));
    stop_without_key_logged(gw);
    assert_one_cancel(m);
    mock_stop(m);
}

/* The prediction outlived the plugin's poll deadline (REPLICATE_POLL_TIMEOUT_MS 0: at once)
 * and the request failed over to another target: the abandoned prediction is cancelled. */
Test(cancel, prediction_abandoned_for_a_fallback_is_cancelled_once)
{
    const char *routes[] = {CREATE, PROCESSING, CANCEL_OK,
                            "{\"name\":\"openai\",\"method\":\"POST\","
                            "\"path\":\"/v1/chat/completions\",\"body_file\":\"openai/chat.json\"}",
                            NULL};
    struct mock *m = mock_with(routes);
    struct e2e_gw *gw = e2e_gw_start(
        "{\"routing\":{\"aliases\":{\"smart\":{\"targets\":["
        "{\"provider\":\"replicate\",\"model\":\"" RP_MODEL "\"},"
        "{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\"}]}}}}",
        "REPLICATE_API_TOKEN=" TOKEN, e2e_strf("REPLICATE_BASE_URL=%s", mock_url(m)),
        "REPLICATE_WAIT_SECONDS=0", "REPLICATE_POLL_TIMEOUT_MS=0", "OPENAI_API_KEY=sk-e2e-cancel",
        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    struct e2e_resp *r = e2e_post(
        gw, "/v1/chat/completions",
        "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
    cr_assert_eq(r->status, 200, "%d %s\n%s", r->status, r->body, e2e_gw_log(gw));
    cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Provider"), "openai");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, LOGGED, 10000), 0, "no cancel logged:\n%s", e2e_gw_log(gw));
    stop_without_key_logged(gw);
    assert_one_cancel(m);
    mock_stop(m);
}

/* Finished predictions, polled and streamed (with the usage fetched after the stream): there
 * is nothing to cancel, and nothing is sent. */
Test(cancel, finished_prediction_is_never_cancelled)
{
    const char *routes[] = {
        CREATE,
        "{\"name\":\"stream\",\"method\":\"GET\",\"path\":\"/v1/streams/pc1\","
        "\"body_file\":\"replicate/stream_text.sse\"}",
        "{\"name\":\"poll\",\"method\":\"GET\",\"path\":\"/v1/predictions/pc1\","
        "\"body_file\":\"replicate/prediction_succeeded.json\"}",
        CANCEL_OK, NULL};
    struct mock *m = mock_with(routes);
    struct e2e_gw *gw = gw_for(m, NULL, 10);
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ask(0), NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = e2e_stream(gw, "/v1/chat/completions", ask(1), NULL, NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert(e2e_resp_done(r), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    cr_assert_eq(mock_route_hits(m, "cancel"), 0, "%s", e2e_gw_log(gw));
    mock_stop(m);
}

/* The request log row of request id, once the writer has it (or past the deadline). */
static struct e2e_resp *log_row(struct e2e_gw *gw, const char *dir, const char *id)
{
    long long deadline = dirwait_now_ms() + 10000;
    int w = dirwait_open(dir);
    for (;;) {
        struct e2e_resp *r = e2e_request("GET", e2e_strf("%s/admin/logs/%s", e2e_gw_url(gw), id),
                                         NULL, "Authorization: Bearer " ADMIN, 10000);
        if (r->status == 200 || dirwait_now_ms() > deadline) {
            close(w);
            return r;
        }
        e2e_resp_free(r);
        dirwait_wait(w, deadline);
    }
}

/* cancel_route: how the cancel URL fails. The timed-out request still gets its 504 and its
 * log row, and the gateway answers the next request at once. */
static void cancel_failure_costs_nothing(const char *cancel_route, int want_hits)
{
    const char *routes[] = {CREATE, PROCESSING, cancel_route, NULL};
    struct mock *m = mock_with(routes);
    char dir[] = "/tmp/aigw-cancel-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *env[] = {
        "REPLICATE_API_TOKEN=" TOKEN, e2e_strf("REPLICATE_BASE_URL=%s", mock_url(m)),
        "REPLICATE_WAIT_SECONDS=0",   "REPLICATE_POLL_INTERVAL_MS=10",
        "AIGW_ADMIN_KEY=" ADMIN,      NULL};
    const char *args[] = {"--state-dir", dir, NULL};
    struct e2e_gw *gw = e2e_gw_start_opts(&(struct e2e_gw_opts){
        .config = "{\"timeouts\":{\"request_ms\":400}}", .env = env, .args = args});
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ask(0), "X-Request-ID: cancel-fails");
    cr_assert_eq(r->status, 504, "%d %s", r->status, r->body);
    char id[64];
    snprintf(id, sizeof id, "%s", e2e_resp_header(r, "X-Request-ID"));
    e2e_resp_free(r);
    /* The cancel went out before the 504 did, and fails while the next request is served. */
    r = e2e_get(gw, "/health", NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = log_row(gw, dir, id);
    cr_assert_eq(r->status, 200, "no request log row for %s: %d %s", id, r->status, r->body);
    e2e_resp_free(r);
    stop_without_key_logged(gw);
    int hits = mock_route_hits(m, "cancel");
    cr_assert(hits >= 1 && hits <= want_hits, "%d cancels sent", hits);
    mock_stop(m);
}

Test(cancel, failing_cancel_costs_nothing)
{
    /* 500 twice: the one retry, then given up. */
    cancel_failure_costs_nothing("{\"name\":\"cancel\",\"method\":\"POST\","
                                 "\"path\":\"/v1/predictions/pc1/cancel\",\"status\":500,"
                                 "\"body\":{\"title\":\"Internal Server Error\"}}",
                                 2);
}

Test(cancel, unanswered_cancel_costs_nothing)
{
    cancel_failure_costs_nothing("{\"name\":\"cancel\",\"method\":\"POST\","
                                 "\"path\":\"/v1/predictions/pc1/cancel\",\"headers_delay_ms\":-1}",
                                 1);
}
