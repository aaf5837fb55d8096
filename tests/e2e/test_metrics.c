/*
 * End-to-end tests of GET /metrics: the real aigw binary in front of the mock provider.
 * Counters move exactly as requests, retries, upstream errors, tokens and cost happen; the
 * gauges follow a held stream; invented model names fold into "other" past metrics.max_models;
 * metrics.enabled, metrics.token and metrics.listen do what they say; neither the provider key
 * nor prompt text ever shows up; an inactive provider is unmapped yet still described; and
 * `promtool check metrics` accepts a real scrape when promtool is installed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"
#include "maps.h"

#define CANARY "sk-CANARY-metrics-9d41c7"
#define PROMPT_CANARY "PROMPT-CANARY-zebra-quartz"
#define ROUTE "route=\"/v1/chat/completions\""
#define CONFIG_FAST_RETRY                                                                          \
    "{\"routing\":{\"max_attempts\":2,\"backoff_ms\":0,\"retry_after_cap_ms\":0}}"

static char *chat(const char *model, int stream)
{
    return e2e_strf(
        "{\"model\":\"%s\",%s\"messages\":[{\"role\":\"user\",\"content\":\"" PROMPT_CANARY "\"}]}",
        model, stream ? "\"stream\":true," : "");
}

static struct e2e_gw *start_gw(struct mock *m, const char *config)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    return e2e_gw_start(config, "OPENAI_API_KEY=" CANARY,
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
}

/* The value of the sample named exactly `series` ("name{labels}" or "name"), or -1. */
static double value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* GET /metrics from base (a gateway URL), asserting a valid-looking 200. Caller frees. */
static char *scrape_url(const char *base, const char *headers)
{
    struct e2e_resp *r = e2e_request("GET", e2e_strf("%s/metrics", base), NULL, headers, 5000);
    cr_assert_eq(r->status, 200, "GET /metrics: %d %s", r->status, r->body ? r->body : "");
    const char *ct = e2e_resp_header(r, "Content-Type");
    cr_assert(ct && !strncmp(ct, "text/plain", 10) && strstr(ct, "version=0.0.4"),
              "Content-Type: %s", ct ? ct : "(none)");
    char *text = strdup(r->body);
    e2e_resp_free(r);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, CANARY), "the provider key is in the scrape");
    cr_assert_null(strstr(text, PROMPT_CANARY), "prompt text is in the scrape");
    return text;
}

static char *scrape(struct e2e_gw *gw)
{
    return scrape_url(e2e_gw_url(gw), NULL);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Scrape until series == want (bookkeeping may trail the response by a moment); asserts. */
static void wait_value(struct e2e_gw *gw, const char *series, double want)
{
    double got = -2;
    for (int i = 0; i < 150; i++) {
        char *t = scrape(gw);
        got = value(t, series);
        free(t);
        if (got == want)
            return;
        sleep_ms(20);
    }
    cr_assert_fail("%s: %g, want %g", series, got, want);
}

static void expect_value(const char *text, const char *series, double want)
{
    double got = value(text, series);
    cr_assert_eq(got, want, "%s: %g, want %g\n%s", series, got, want, text);
}

static void post_ok(struct e2e_gw *gw, const char *model, int want_status)
{
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", chat(model, 0), NULL);
    cr_assert_eq(r->status, want_status, "%s: %d %s", model, r->status, r->body);
    e2e_resp_free(r);
}

static int have_promtool(void)
{
    return system("command -v promtool >/dev/null 2>&1") == 0;
}

static void promtool_check(const char *text)
{
    char path[] = "/tmp/aigw-e2e-metrics-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *out_path = e2e_strf("%s.out", path);
    int rc = system(e2e_strf("promtool check metrics < %s > %s 2>&1", path, out_path));
    char out[4096] = "";
    FILE *f = fopen(out_path, "r");
    if (f) {
        out[fread(out, 1, sizeof out - 1, f)] = '\0';
        fclose(f);
    }
    unlink(out_path);
    unlink(path);
    cr_assert_eq(rc, 0, "promtool check metrics failed:\n%s\n--- scrape ---\n%s", out, text);
}

Test(metrics_e2e, counters_move_with_requests_retries_and_errors)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, CONFIG_FAST_RETRY);
    const char *ok_series = "aigw_requests_total{" ROUTE ",provider=\"openai\","
                            "model=\"gpt-4o-mini\",status=\"200\"}";

    char *t = scrape(gw);
    cr_assert(strstr(t, "# TYPE aigw_requests_total counter\n"));
    cr_assert(strstr(t, "# TYPE aigw_request_duration_seconds histogram\n"));
    expect_value(t, ok_series, -1);
    expect_value(t, "aigw_plugin_active{vkey=\"openai\"}", 1);
    expect_value(t, "aigw_plugin_active{vkey=\"anthropic\"}", 0);
    cr_assert(strstr(t, "aigw_build_info{version=\""));
    free(t);

    /* One plain success: the request, its attempt, its usage and its cost. */
    post_ok(gw, "gpt-4o-mini", 200);
    wait_value(gw, "aigw_active_requests", 0);
    t = scrape(gw);
    expect_value(t, ok_series, 1);
    expect_value(
        t, "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"ok\",attempt=\"first\"}", 1);
    expect_value(t, "aigw_request_duration_seconds_count{provider=\"openai\"}", 1);
    expect_value(t, "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",kind=\"prompt\"}",
                 14);
    expect_value(
        t, "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",kind=\"completion\"}", 17);
    /* 14 x $0.15/M + 17 x $0.60/M from the shipped catalog. */
    cr_assert(strstr(t, "aigw_cost_usd_total{provider=\"openai\",model=\"gpt-4o-mini\"} "
                        "0.000012300\n"),
              "%s", t);
    free(t);

    /* A 429 then a success on the retry. */
    post_ok(gw, "mock-429-once", 200);
    /* A 500 on both attempts (max_attempts 2): the client gets an error. */
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", chat("mock-500", 0), NULL);
    int err_status = r->status;
    cr_assert_geq(err_status, 500, "%d %s", err_status, r->body);
    e2e_resp_free(r);
    wait_value(gw, "aigw_active_requests", 0);
    t = scrape(gw);
    expect_value(
        t, "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"429\",attempt=\"first\"}",
        1);
    expect_value(
        t, "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"ok\",attempt=\"retry\"}", 1);
    expect_value(
        t, "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"500\",attempt=\"first\"}",
        1);
    expect_value(
        t, "aigw_upstream_attempts_total{provider=\"openai\",outcome=\"500\",attempt=\"retry\"}",
        1);
    expect_value(t, "aigw_retries_total{provider=\"openai\",reason=\"429\"}", 1);
    expect_value(t, "aigw_retries_total{provider=\"openai\",reason=\"500\"}", 1);
    expect_value(t,
                 "aigw_requests_total{" ROUTE ",provider=\"openai\",model=\"mock-429-once\","
                 "status=\"200\"}",
                 1);
    expect_value(t,
                 e2e_strf("aigw_requests_total{" ROUTE ",provider=\"openai\",model=\"mock-500\","
                          "status=\"%d\"}",
                          err_status),
                 1);
    expect_value(t, "aigw_request_duration_seconds_count{provider=\"openai\"}", 3);
    free(t);

    /* A stream: counted with the same labels, with a time to first byte. */
    r = e2e_stream(gw, "/v1/chat/completions", chat("gpt-4o-mini", 1), NULL, NULL);
    cr_assert_eq(r->status, 200);
    cr_assert(e2e_resp_done(r));
    e2e_resp_free(r);
    wait_value(gw, "aigw_active_requests", 0);
    t = scrape(gw);
    expect_value(t, ok_series, 2);
    cr_assert_geq(value(t, "aigw_ttfb_seconds_count{provider=\"openai\"}"), 1, "%s", t);
    expect_value(t, "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",kind=\"prompt\"}",
                 28);
    expect_value(
        t, "aigw_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",kind=\"completion\"}", 33);
    expect_value(t, "aigw_streams_active", 0);
    if (have_promtool())
        promtool_check(t);
    free(t);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(metrics_e2e, gauges_follow_a_held_stream)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.name = "stall",
                                               .method = "POST",
                                               .path = "/v1/chat/completions",
                                               .headers = "Content-Type: text/event-stream",
                                               .body_file = "mock/stream_text.sse",
                                               .chunking = "events",
                                               .stall_after_chunks = 2}),
        0);
    struct e2e_gw *gw = start_gw(m, NULL);
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), chat("gpt-4o-mini", 1),
                         NULL, &(struct e2e_stream_opts){0});
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0);
    char *t = scrape(gw);
    expect_value(t, "aigw_active_requests", 1);
    expect_value(t, "aigw_streams_active", 1);
    expect_value(t, "aigw_upstream_transfers", 1);
    free(t);
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 5000));
    wait_value(gw, "aigw_streams_active", 0);
    wait_value(gw, "aigw_active_requests", 0);
    wait_value(gw, "aigw_upstream_transfers", 0);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(metrics_e2e, invented_model_names_fold_into_other)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, "{\"metrics\":{\"max_models\":2}}");
    for (int i = 1; i <= 5; i++)
        post_ok(gw, e2e_strf("invented-%d", i), 200);
    post_ok(gw, "gpt-4o-mini", 200); /* in the catalog: never folded */
    wait_value(gw, "aigw_active_requests", 0);
    char *t = scrape(gw);
#define OK_MODEL(name)                                                                             \
    "aigw_requests_total{" ROUTE ",provider=\"openai\",model=\"" name "\",status=\"200\"}"
    expect_value(t, OK_MODEL("invented-1"), 1);
    expect_value(t, OK_MODEL("invented-2"), 1);
    expect_value(t, OK_MODEL("invented-3"), -1);
    expect_value(t, OK_MODEL("other"), 3);
    expect_value(t, OK_MODEL("gpt-4o-mini"), 1);
    free(t);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Whether a file named /<file> is mapped into process pid. */
static int pid_maps(int pid, const char *file)
{
    char want[128];
    snprintf(want, sizeof want, "/%s", file);
    int r = test_maps_file(e2e_strf("%d", pid), want);
    cr_assert_geq(r, 0, "/proc/%d/maps cannot be read", pid);
    return r;
}

/* An inactive provider's module is closed at start, and the scrape, the admin API and the
 * provider listing still describe it (from the core's copies). */
Test(metrics_e2e, inactive_providers_are_unloaded_yet_described)
{
    struct mock *m = e2e_mock("openai_chat");
    const char *admin = "admin-key-for-metrics-tests-0042";
    struct e2e_gw *gw =
        e2e_gw_start(NULL, "OPENAI_API_KEY=" CANARY, e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                     e2e_strf("AIGW_ADMIN_KEY=%s", admin), NULL);
    cr_assert(pid_maps(e2e_gw_pid(gw), "openai.so"), "the active provider is not mapped");
    cr_assert_not(pid_maps(e2e_gw_pid(gw), "anthropic.so"), "an inactive provider is mapped");
    cr_assert_not(pid_maps(e2e_gw_pid(gw), "groq.so"), "an inactive provider is mapped");
    char *t = scrape(gw);
    expect_value(t, "aigw_plugin_active{vkey=\"openai\"}", 1);
    expect_value(t, "aigw_plugin_active{vkey=\"anthropic\"}", 0);
    expect_value(t, "aigw_plugin_active{vkey=\"xai\"}", 0);
    free(t);
    struct e2e_resp *r = e2e_request("GET", e2e_strf("%s/admin/providers", e2e_gw_url(gw)), NULL,
                                     e2e_strf("Authorization: Bearer %s", admin), 10000);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    const cJSON *p, *anth = NULL;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(e2e_resp_json(r), "data"))
    {
        if (!strcmp(cJSON_GetObjectItem(p, "provider")->valuestring, "anthropic"))
            anth = p;
    }
    cr_assert_not_null(anth, "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(anth, "name")->valuestring, "Anthropic");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(anth, "active")));
    cr_assert_str_eq(cJSON_GetObjectItem(anth, "inactive_reason")->valuestring,
                     "missing ANTHROPIC_API_KEY");
    const cJSON *version = cJSON_GetObjectItem(anth, "version");
    cr_assert(cJSON_IsString(version) && version->valuestring[0], "%s", r->body);
    e2e_resp_free(r);
    post_ok(gw, "gpt-4o-mini", 200);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
    /* --list-providers --format=json: each inactive provider's env table, help lines included. */
    const char *env[] = {"OPENAI_API_KEY=" CANARY, NULL};
    const char *args[] = {"--list-providers", "--format=json", NULL};
    char *out = NULL;
    cr_assert_eq(e2e_aigw_run(NULL, env, args, &out, 10000), 0, "%s", out ? out : "");
    cJSON *list = cJSON_Parse(out);
    cr_assert_not_null(list, "%s", out);
    anth = NULL;
    cJSON_ArrayForEach(p, list)
    {
        if (!strcmp(cJSON_GetObjectItem(p, "vkey")->valuestring, "anthropic"))
            anth = p;
    }
    cr_assert_not_null(anth, "%s", out);
    cr_assert_str_eq(cJSON_GetObjectItem(anth, "status")->valuestring, "inactive");
    const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(anth, "env"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(e0, "name")->valuestring, "ANTHROPIC_API_KEY");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e0, "secret")));
    cr_assert_gt(strlen(cJSON_GetObjectItem(e0, "help")->valuestring), 0);
    cJSON_Delete(list);
    free(out);
}

Test(metrics_e2e, disabled_is_404)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, "{\"metrics\":{\"enabled\":false}}");
    struct e2e_resp *r = e2e_get(gw, "/metrics", NULL);
    cr_assert_eq(r->status, 404);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

Test(metrics_e2e, bearer_token_is_required_when_set)
{
    const char *token = "metrics-TOKEN-5b2e77a1";
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = start_gw(m, e2e_strf("{\"metrics\":{\"token\":\"%s\"}}", token));
    const char *bad[] = {NULL, "Authorization: Bearer wrong\n",
                         e2e_strf("Authorization: Bearer %sX\n", token),
                         e2e_strf("Authorization: Basic %s\n", token)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct e2e_resp *r = e2e_get(gw, "/metrics", bad[i]);
        cr_assert_eq(r->status, 401, "case %zu: %d", i, r->status);
        cr_assert(!r->body || !strstr(r->body, token));
        cr_assert(!r->body || !strstr(r->body, "aigw_requests_total"));
        e2e_resp_free(r);
    }
    char *t = scrape_url(e2e_gw_url(gw), e2e_strf("Authorization: Bearer %s\n", token));
    cr_assert(strstr(t, "# TYPE aigw_requests_total counter\n"));
    cr_assert_null(strstr(t, token));
    free(t);
    cr_assert_null(strstr(e2e_gw_log(gw), token), "the metrics token was logged");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

Test(metrics_e2e, own_listen_address_takes_metrics_off_the_public_port)
{
    struct mock *m = e2e_mock("openai_chat");
    int port = free_port();
    struct e2e_gw *gw = start_gw(m, e2e_strf("{\"metrics\":{\"listen\":\"127.0.0.1:%d\"}}", port));
    const char *murl = e2e_strf("http://127.0.0.1:%d", port);
    struct e2e_resp *r = e2e_get(gw, "/metrics", NULL);
    cr_assert_eq(r->status, 404, "the public port still serves /metrics");
    e2e_resp_free(r);
    post_ok(gw, "gpt-4o-mini", 200);
    char *t = NULL;
    for (int i = 0; i < 150; i++) {
        free(t);
        t = scrape_url(murl, NULL);
        if (value(t, "aigw_active_requests") == 0)
            break;
        sleep_ms(20);
    }
    expect_value(t,
                 "aigw_requests_total{" ROUTE ",provider=\"openai\",model=\"gpt-4o-mini\","
                 "status=\"200\"}",
                 1);
    free(t);
    /* The metrics address serves metrics only. */
    r = e2e_request("POST", e2e_strf("%s/v1/chat/completions", murl), chat("gpt-4o-mini", 0), NULL,
                    5000);
    cr_assert_eq(r->status, 404);
    e2e_resp_free(r);
    r = e2e_request("GET", e2e_strf("%s/v1/models", murl), NULL, NULL, 5000);
    cr_assert_eq(r->status, 404);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
