/*
 * test_mock - the mock provider itself: the OpenAI scenario, recording, matching and the
 * standalone binary (faults, flows and load are in test_mock_faults.c, same program). Talks
 * to the mock with the e2e libcurl client.
 */
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/test_mock.h"

/* ---- the OpenAI scenario ------------------------------------------------------------------ */

Test(scenario, openai_chat_json)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_resp *r = post(m, CHAT,
                              "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                              "\"content\":\"hi\"}]}",
                              AUTH "\nX-Trace: one");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(e2e_resp_header(r, "x-request-id"), "req_mock_chat");
    cr_assert_str_eq(e2e_resp_header(r, "Content-Type"), "application/json");
    cr_assert_not_null(e2e_resp_header(r, "content-length"));
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "choices"), 0),
        "message");
    cr_assert_str_eq(jstr(msg, "content", NULL),
                     "Hello from the aigw mock provider. This answer was served from a local "
                     "fixture.");

    cr_assert_eq(mock_request_count(m), 1);
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_str_eq(mock_req_method(q), "POST");
    cr_assert_str_eq(mock_req_path(q), CHAT);
    cr_assert_str_eq(mock_req_query(q), "");
    cr_assert_str_eq(mock_req_header(q, "authorization"), "Bearer sk-test");
    cr_assert_str_eq(mock_req_header(q, "X-TRACE"), "one");
    cr_assert_str_eq(jstr(mock_req_json(q), "model", NULL), "gpt-4o-mini");
    cr_assert_str_eq(mock_req_route(q), "chat");
    cr_assert_eq(mock_req_status(q), 200);
    mock_req_free(q);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(scenario, openai_chat_stream)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_resp *r =
        post(m, CHAT, "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}", AUTH);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->curl_code, 0);
    cr_assert_str_eq(e2e_resp_header(r, "content-type"), "text/event-stream");
    cr_assert_str_eq(e2e_resp_header(r, "transfer-encoding"), "chunked");
    cr_assert_eq(r->n_events, 20);
    cr_assert(e2e_resp_done(r));
    cr_assert_str_eq(e2e_resp_text(r), "Hello from the aigw mock provider. This stream was "
                                       "served from a local fixture.");
    cJSON *usage = cJSON_GetObjectItemCaseSensitive(e2e_resp_event_json(r, 18), "usage");
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(usage, "total_tokens")->valueint, 30);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(scenario, openai_tools)
{
    struct mock *m = e2e_mock("openai_chat");
    const char *tools =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}]";
    struct e2e_resp *r =
        post(m, CHAT, e2e_strf("{\"model\":\"x\",\"stream\":true,%s}", tools), AUTH);
    cJSON *first = e2e_resp_event_json(r, 0);
    cJSON *call = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(first, "choices"), 0), "delta"),
            "tool_calls"),
        0);
    cr_assert_str_eq(jstr(call, "function", "name"), "get_weather");
    cr_assert(e2e_resp_done(r));
    e2e_resp_free(r);

    r = post(m, CHAT, e2e_strf("{\"model\":\"x\",%s}", tools), AUTH);
    cr_assert_eq(r->status, 200);
    cr_assert(strstr(r->body, "\"finish_reason\": \"tool_calls\""));
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(m, "stream-tools"), 1);
    cr_assert_eq(mock_route_hits(m, "chat-tools"), 1);
    mock_stop(m);
}

Test(scenario, openai_errors)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_resp *r = post(m, CHAT, "{\"model\":\"mock-429\"}", AUTH);
    cr_assert_eq(r->status, 429);
    cr_assert_str_eq(e2e_resp_header(r, "retry-after"), "1");
    cr_assert_str_eq(e2e_resp_header(r, "x-ratelimit-remaining-requests"), "0");
    cr_assert_str_eq(jstr(e2e_resp_json(r), "error", "code"), "rate_limit_exceeded");
    e2e_resp_free(r);

    r = post(m, CHAT, "{\"model\":\"mock-429-once\"}", AUTH);
    cr_assert_eq(r->status, 429);
    e2e_resp_free(r);
    r = post(m, CHAT, "{\"model\":\"mock-429-once\"}", AUTH);
    cr_assert_eq(r->status, 200, "a 'times' route must fall through once used up");
    e2e_resp_free(r);

    r = post(m, CHAT, "{\"model\":\"mock-500\"}", AUTH);
    cr_assert_eq(r->status, 500);
    cr_assert_str_eq(jstr(e2e_resp_json(r), "error", "type"), "server_error");
    e2e_resp_free(r);

    r = post(m, CHAT, "{\"model\":\"gpt-4o\"}", NULL);
    cr_assert_eq(r->status, 401);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(scenario, no_route_is_404_and_recorded)
{
    struct mock *m = e2e_mock(NULL);
    struct e2e_resp *r = get(m, "/nope?x=1");
    cr_assert_eq(r->status, 404);
    cr_assert_str_eq(jstr(e2e_resp_json(r), "error", "type"), "mockprov_no_route");
    cr_assert(strstr(jstr(e2e_resp_json(r), "error", "message"), "GET /nope"));
    const struct mock_req *q = mock_request(m, -1);
    cr_assert_null(mock_req_route(q));
    cr_assert_eq(mock_req_status(q), 404);
    cr_assert_str_eq(mock_req_query(q), "x=1");
    mock_req_free(q);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(scenario, every_scenario_file_loads)
{
    const char *dir = e2e_strf("%s/tests/fixtures/scenarios", getenv("AIGW_TEST_SRCDIR"));
    DIR *d = opendir(dir);
    int n = 0;
    cr_assert(d, "cannot open %s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        struct mock *m = e2e_mock(NULL);
        cr_expect_eq(mock_load_scenario(m, e2e_strf("%s/%s", dir, e->d_name)), 0,
                     "scenario %s does not load", e->d_name);
        mock_stop(m);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 2);
}

/* ---- recording ---------------------------------------------------------------------------- */

Test(record, raw_path_query_headers_body)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"path\":\"/model/*/converse-stream\",\"body\":\"ok\"}");
    struct e2e_resp *r = post(m, "/model/anthropic.claude-3%3A0/converse-stream?a=1&b=x%20y+z&c",
                              "not json", "Content-Type: text/plain\nX-One: 1\nX-Two: 2");
    cr_assert_eq(r->status, 200);
    cr_assert_str_eq(r->body, "ok");
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_str_eq(mock_req_path(q), "/model/anthropic.claude-3%3A0/converse-stream");
    cr_assert_str_eq(mock_req_query(q), "a=1&b=x%20y+z&c");
    cr_assert_str_eq(mock_req_query_param(q, "b"), "x y z");
    cr_assert_str_eq(mock_req_query_param(q, "c"), "");
    cr_assert_null(mock_req_query_param(q, "d"));
    cr_assert_str_eq(mock_req_body(q), "not json");
    cr_assert_eq(mock_req_body_len(q), 8);
    cr_assert_null(mock_req_json(q));
    int one = -1, two = -1;
    for (int i = 0; i < mock_req_header_count(q); i++) {
        if (strcmp(mock_req_header_name(q, i), "X-One") == 0)
            one = i;
        if (strcmp(mock_req_header_name(q, i), "X-Two") == 0)
            two = i;
    }
    cr_assert(one >= 0 && two == one + 1, "headers keep their order");
    cr_assert_str_eq(mock_req_header_value(q, two), "2");
    mock_req_free(q);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(record, bounded_window_and_references)
{
    struct mock *m = mock_start(&(struct mock_opts){.max_records = 4});
    cr_assert(m);
    add(m, "{\"body\":\"ok\"}");
    for (int i = 0; i < 6; i++)
        e2e_resp_free(get(m, e2e_strf("/r%d", i)));
    cr_assert_eq(mock_request_count(m), 6);
    cr_assert_null(mock_request(m, 1));
    const struct mock_req *kept = mock_request(m, 2);
    cr_assert_str_eq(mock_req_path(kept), "/r2");
    const struct mock_req *last = mock_request(m, -1);
    cr_assert_str_eq(mock_req_path(last), "/r5");
    mock_req_free(last);
    for (int i = 6; i < 12; i++)
        e2e_resp_free(get(m, e2e_strf("/r%d", i)));
    cr_assert_null(mock_request(m, 2));
    cr_assert_str_eq(mock_req_path(kept), "/r2", "a held record outlives its window slot");
    mock_stop(m);
    cr_assert_str_eq(mock_req_path(kept), "/r2", "... and the mock");
    mock_req_free(kept);
}

Test(record, wait_requests)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"body\":\"ok\"}");
    cr_assert_eq(mock_wait_requests(m, 1, 50), -1);
    e2e_resp_free(get(m, "/x"));
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    mock_stop(m);
}

/* ---- matching ----------------------------------------------------------------------------- */

Test(match, globs_headers_query)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"name\":\"gem-sse\",\"path\":\"/v1beta/models/*:streamGenerateContent\","
           "\"match_query\":{\"alt\":\"sse\"},\"body\":\"gem-sse\"}");
    add(m, "{\"name\":\"gem\",\"path\":\"/v1beta/models/*:generateContent\",\"body\":\"gem\"}");
    add(m, "{\"name\":\"rep\",\"path\":\"/v1/models/**/predictions\",\"body\":\"rep\"}");
    add(m, "{\"name\":\"anth\",\"method\":\"POST\",\"path\":\"/v1/messages\","
           "\"match_headers\":{\"x-api-key\":\"sk-*\",\"authorization\":null},\"body\":\"anth\"}");
    add(m, "{\"name\":\"any\",\"status\":418,\"body\":\"any\"}");
    struct {
        const char *method, *path, *headers, *want;
    } cases[] = {
        {"GET", "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", NULL, "gem-sse"},
        {"GET", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", NULL, "any"},
        {"GET", "/v1beta/models/gemini-2.0-flash:generateContent", NULL, "gem"},
        {"GET", "/v1beta/models/a/b:generateContent", NULL, "any"},
        {"GET", "/v1/models/meta/llama-3/predictions", NULL, "rep"},
        {"POST", "/v1/messages", "x-api-key: sk-ant-1", "anth"},
        {"POST", "/v1/messages", "x-api-key: sk-ant-1\nAuthorization: Bearer x", "any"},
        {"POST", "/v1/messages", "x-api-key: other", "any"},
        {"GET", "/v1/messages", "x-api-key: sk-ant-1", "any"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_resp *r =
            e2e_request(cases[i].method, murl(m, cases[i].path),
                        strcmp(cases[i].method, "POST") == 0 ? "{}" : NULL, cases[i].headers, 0);
        cr_expect_str_eq(r->body, cases[i].want, "%s %s", cases[i].method, cases[i].path);
        e2e_resp_free(r);
    }
    mock_stop(m);
}

Test(match, struct_forms)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "GET",
                                                        .path = "/s",
                                                        .match_headers = "X-A: 1*\n!X-B",
                                                        .match_query = "alt=sse&!key",
                                                        .headers = "X-Out: {{base}}/p",
                                                        .body = "yes"}),
                 0);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.body = "no"}), 0);
    struct {
        const char *path, *headers, *want;
    } cases[] = {
        {"/s?alt=sse", "X-A: 12", "yes"},       {"/s?alt=sse&key=k", "X-A: 12", "no"},
        {"/s?alt=json", "X-A: 12", "no"},       {"/s?alt=sse", "X-A: 2", "no"},
        {"/s?alt=sse", "X-A: 1\nX-B: x", "no"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_resp *r = e2e_request("GET", murl(m, cases[i].path), NULL, cases[i].headers, 0);
        cr_expect_str_eq(r->body, cases[i].want, "%s / %s", cases[i].path, cases[i].headers);
        if (strcmp(cases[i].want, "yes") == 0)
            cr_expect_str_eq(e2e_resp_header(r, "x-out"), murl(m, "/p"));
        e2e_resp_free(r);
    }
    mock_stop(m);
}

Test(match, body_subset)
{
    struct mock *m = e2e_mock(NULL);
    add(m, "{\"match_body\":{\"stream\":true,\"tools\":\"*\",\"user\":null,"
           "\"metadata\":{\"a\":1},\"stop\":[\"x\"]},\"body\":\"yes\"}");
    add(m, "{\"body\":\"no\"}");
    struct {
        const char *body, *want;
    } cases[] = {
        {"{\"stream\":true,\"tools\":[],\"metadata\":{\"a\":1,\"b\":2},\"stop\":[\"x\"]}", "yes"},
        {"{\"stream\":true,\"tools\":[],\"metadata\":{\"a\":1},\"stop\":[\"x\"],\"user\":null}",
         "yes"},
        {"{\"stream\":true,\"tools\":[],\"metadata\":{\"a\":1},\"stop\":[\"x\"],\"user\":\"u\"}",
         "no"},
        {"{\"stream\":true,\"metadata\":{\"a\":1},\"stop\":[\"x\"]}", "no"},
        {"{\"stream\":false,\"tools\":[],\"metadata\":{\"a\":1},\"stop\":[\"x\"]}", "no"},
        {"{\"stream\":true,\"tools\":[],\"metadata\":{\"a\":2},\"stop\":[\"x\"]}", "no"},
        {"{\"stream\":true,\"tools\":[],\"metadata\":{\"a\":1},\"stop\":[\"x\",\"y\"]}", "no"},
        {"not json", "no"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct e2e_resp *r = post(m, "/x", cases[i].body, NULL);
        cr_expect_str_eq(r->body, cases[i].want, "%s", cases[i].body);
        e2e_resp_free(r);
    }
    mock_stop(m);
}

Test(match, times_then_fall_through)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(
        mock_add_route(m,
                       &(struct mock_route){
                           .name = "flaky", .path = "/x", .times = 2, .status = 503, .body = "{}"}),
        0);
    cr_assert_eq(
        mock_add_route(m, &(struct mock_route){.name = "good", .path = "/x", .body = "fine"}), 0);
    int want[] = {503, 503, 200, 200};
    for (int i = 0; i < 4; i++) {
        struct e2e_resp *r = get(m, "/x");
        cr_assert_eq(r->status, want[i], "request %d", i);
        e2e_resp_free(r);
    }
    cr_assert_eq(mock_route_hits(m, "flaky"), 2);
    cr_assert_eq(mock_route_hits(m, "good"), 2);
    mock_clear_routes(m);
    struct e2e_resp *r = get(m, "/x");
    cr_assert_eq(r->status, 404);
    e2e_resp_free(r);
    mock_stop(m);
}

Test(match, bad_routes_are_rejected)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, "{\"pathh\":\"/x\"}"), -1);
    cr_assert_eq(mock_add_route_json(m, "{\"chunking\":\"bytes:0\"}"), -1);
    cr_assert_eq(mock_add_route_json(m, "{\"body_file\":\"no/such/file\"}"), -1);
    cr_assert_eq(mock_add_route_json(m, "{\"status\":\"200\"}"), -1);
    cr_assert_eq(mock_add_route_json(m, "{\"inject\":{\"after_chunks\":1}}"), -1);
    cr_assert_eq(mock_add_route_json(m, "{\"encode\":\"eventstream\",\"body\":\"[1]\"}"), -1);
    cr_assert_eq(mock_add_route_json(m, "{"), -1);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.match_body = "{nope"}), -1);
    cr_assert_eq(mock_load_scenario(m, "does-not-exist"), -1);
    mock_stop(m);
}

/* ---- the standalone binary ---------------------------------------------------------------- */

extern char **environ;

static pid_t run_bin(const char *const *argv)
{
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ), 0,
                 "cannot run %s", argv[0]);
    return pid;
}

Test(cli, mockprov_serves_demo)
{
    const char *bin = e2e_strf("%s/tests/mockprov/mockprov", getenv("AIGW_TEST_BUILDDIR"));
    char dir[] = "/tmp/mockprov-test-XXXXXX";
    cr_assert(mkdtemp(dir));
    const char *port_file = e2e_strf("%s/port", dir);
    const char *argv[] = {
        bin,
        "--port",
        "0",
        "--port-file",
        port_file,
        "--scenario",
        e2e_strf("%s/tests/fixtures/scenarios/demo.json", getenv("AIGW_TEST_SRCDIR")),
        NULL};
    pid_t pid = run_bin(argv);
    int port = 0;
    for (int64_t deadline = now_ms() + 10000; !port && now_ms() < deadline;) {
        FILE *f = fopen(port_file, "r");
        char line[32] = "";
        if (f) {
            if (fgets(line, sizeof line, f)) {
                char *end;
                long v = strtol(line, &end, 10);
                port = (*end == '\n' && v > 0 && v < 65536) ? (int)v : 0;
            }
            fclose(f);
        }
        if (!port) {
            /* the port file appears once: a bounded poll is enough here */
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    cr_assert_gt(port, 0, "mockprov wrote no port file");
    struct e2e_resp *r =
        e2e_request("POST", e2e_strf("http://127.0.0.1:%d/v1/chat/completions", port),
                    "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[]}",
                    "Authorization: Bearer demo", 10000);
    cr_assert_eq(r->status, 200);
    cr_assert(e2e_resp_done(r));
    cr_assert_str_eq(e2e_resp_text(r), "Hello from the aigw mock provider. This stream was "
                                       "served from a local fixture.");
    e2e_resp_free(r);
    kill(pid, SIGTERM);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(access(port_file, F_OK), -1, "the port file is removed on exit");
    rmdir(dir);
}

Test(cli, encode_eventstream)
{
    const char *bin = e2e_strf("%s/tests/mockprov/mockprov", getenv("AIGW_TEST_BUILDDIR"));
    char dir[] = "/tmp/mockprov-test-XXXXXX";
    cr_assert(mkdtemp(dir));
    const char *in = e2e_strf("%s/in.jsonl", dir), *out = e2e_strf("%s/out.bin", dir);
    FILE *f = fopen(in, "w");
    cr_assert(f);
    fputs("{\"event\":\"messageStart\",\"payload\":{\"p\":\"abcdefghijklmnopqrstuvwxyz\","
          "\"role\":\"assistant\"}}\n",
          f);
    fclose(f);
    const char *argv[] = {bin, "--encode-eventstream", in, out, NULL};
    int st;
    pid_t pid = run_bin(argv);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unsigned char buf[256];
    f = fopen(out, "rb");
    cr_assert(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_eq(n, 151);
    cr_assert_eq(buf[8], 0x83);
    cr_assert_eq(buf[150], 0xaf);
    unlink(in);
    unlink(out);
    rmdir(dir);
}
