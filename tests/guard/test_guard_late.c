/*
 * An output guard's final hook whose service call is still out when the answer's other side
 * goes away: the upstream stream fails, or the client leaves. The real aigw (sanitizers in
 * the build's) with tguard asking the mock's /check about each whole answer, a gateway key
 * with a budget (a reservation to settle) and a SQLite store (the request log and the
 * ledger). Whenever the guard's answer comes (late, after the rest ended; or never, and its
 * deadline passes), the request ends once: one access-log line, one request-log row, one
 * ledger row, its budget lease gone, and aigw stops cleanly (no leak, no use after free).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "e2e/e2e.h"

#define CHUNK(text)                                                                                \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-"  \
    "mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"},\"finish_reason\":"     \
    "null}]}\n\n"
#define FINISH                                                                                     \
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-"  \
    "mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define DONE "data: [DONE]\n\n"
#define ASK                                                                                        \
    "{\"model\":\"openai/gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\","          \
    "\"content\":\"count\"}]}"
#define ACCESS "\"method\":\"POST\",\"path\":\"/v1/chat/completions\""

struct late {
    struct mock *m;
    struct e2e_gw *gw;
    char *dir;
    const char *auth;
};

/* A key made on the command line in dir's store, with a budget: its Authorization header. */
static const char *make_key(const char *dir)
{
    const char *args[] = {"--state-dir", dir,        "keys", "create", "--name",
                          "late",        "--budget", "10",   NULL};
    char *out = NULL;
    cr_assert_eq(e2e_aigw_run(NULL, NULL, args, &out, 15000), 0, "%s", out);
    const char *tok = strstr(out, "\"aigw_");
    cr_assert_not_null(tok, "%s", out);
    size_t n = strcspn(tok + 1, "\"");
    char *h = e2e_strf("Authorization: Bearer %.*s", (int)n, tok + 1);
    free(out);
    return h;
}

/* The mock's model answers with `stream` (see each test), /check with check; tguard's final
 * hook asks /check with a deadline of timeout_ms. */
static void start(struct late *l, const struct mock_route *stream, const struct mock_route *check,
                  int timeout_ms)
{
    l->m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(l->m, check), 0);
    cr_assert_eq(mock_add_route(l->m, stream), 0);
    l->dir = e2e_strf("/tmp/aigw-late-XXXXXX");
    cr_assert_not_null(mkdtemp(l->dir));
    l->auth = make_key(l->dir);
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    b = b ? b : ".";
    const char *cfg = e2e_strf(
        "{\"guard_dir\":\"%s/plugins/guards/.libs\",\"store\":{\"url\":\"sqlite:%s/aigw.db\"},"
        "\"catalog\":{\"overrides\":[{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\","
        "\"mode\":\"chat\",\"in\":1000,\"out\":1000}]},"
        "\"guardrails\":[{\"name\":\"tguard\",\"path\":\"%s/tests/guard/.libs/tguard.so\","
        "\"config\":{\"final\":\"fetch\",\"word\":\"judge-me\",\"url\":\"%s/check\","
        "\"timeout_ms\":%d}}]}",
        b, l->dir, b, mock_url(l->m), timeout_ms);
    l->gw = e2e_gw_start(cfg, "OPENAI_API_KEY=sk-test-openai",
                         e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(l->m)), NULL);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static long long db_int(const char *dir, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(e2e_strf("%s/aigw.db", dir), &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlink(e2e_strf("%s/%s", dir, de->d_name));
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The request ended (its access-log line is out) no sooner than the guard's call did, and
 * once: then aigw stops cleanly and its store holds one row of each. */
static void ended_once(struct late *l, int64_t not_before_ms)
{
    cr_assert_eq(e2e_gw_wait_log(l->gw, ACCESS, 15000), 0, "the request never ended\n%s",
                 e2e_gw_log(l->gw));
    cr_assert_geq(e2e_now_ms(), not_before_ms, "it ended before the guard's call did");
    struct e2e_resp *met = e2e_get(l->gw, "/metrics", NULL);
    cr_assert_not_null(strstr(met->body, "\naigw_budget_leases 0\n"), "a lease is still held\n%s",
                       met->body);
    e2e_resp_free(met);
    cr_assert_eq(count(e2e_gw_log(l->gw), ACCESS), 1, "%s", e2e_gw_log(l->gw));
    cr_assert_eq(e2e_gw_stop(l->gw, 10000), 0, "aigw did not stop cleanly");
    cr_assert_eq(db_int(l->dir, "SELECT COUNT(*) FROM aigw_log"), 1);
    cr_assert_eq(db_int(l->dir, "SELECT COUNT(*) FROM aigw_ledger"), 1);
    cr_assert_gt(db_int(l->dir, "SELECT SUM(cost_nusd) FROM aigw_ledger"), 0,
                 "what was streamed was paid for");
    mock_stop(l->m);
    remove_dir(l->dir);
}

/* The upstream closes right after its finish event: the transfer fails while the final hook's
 * call (answered 1.5 s later) is out. */
Test(guard_late, the_upstream_fails_while_the_final_call_is_out)
{
    struct late l;
    start(&l,
          &(struct mock_route){.method = "POST",
                               .path = "/v1/chat/completions",
                               .headers = "Content-Type: text/event-stream",
                               .body = CHUNK("one ") CHUNK("two") FINISH DONE,
                               .chunking = "events",
                               .close_after_chunks = 3},
          &(struct mock_route){.name = "check",
                               .method = "POST",
                               .path = "/check",
                               .body = "ok",
                               .headers_delay_ms = 1500},
          5000);
    int64_t t0 = e2e_now_ms();
    struct e2e_resp *r = e2e_stream(l.gw, "/v1/chat/completions", ASK, l.auth, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), "one two", "%s", r->body);
    cr_assert_not_null(strstr(r->body, "\"code\":\"connection_error\""), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_route_hits(l.m, "check"), 1);
    ended_once(&l, t0 + 1500);
}

/* The client leaves once the final hook's call is out; the guard answers 1.5 s later. */
Test(guard_late, the_client_leaves_while_the_final_call_is_out)
{
    struct late l;
    start(&l,
          &(struct mock_route){.method = "POST",
                               .path = "/v1/chat/completions",
                               .headers = "Content-Type: text/event-stream",
                               .body = CHUNK("one ") CHUNK("two") FINISH DONE,
                               .chunking = "events"},
          &(struct mock_route){.name = "check",
                               .method = "POST",
                               .path = "/check",
                               .body = "ok",
                               .headers_delay_ms = 1500},
          5000);
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(l.gw)), ASK, l.auth, NULL);
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0, "the text never came");
    cr_assert_eq(mock_wait_requests(l.m, 2, 10000), 0, "the guard never called its service");
    int64_t asked = e2e_now_ms();
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    ended_once(&l, asked + 1000);
}

/* The guard's service never answers: its deadline (800 ms) ends the call, and the request
 * whose client left ends then, not never. */
Test(guard_late, a_call_that_never_answers_ends_by_its_deadline)
{
    struct late l;
    start(&l,
          &(struct mock_route){.method = "POST",
                               .path = "/v1/chat/completions",
                               .headers = "Content-Type: text/event-stream",
                               .body = CHUNK("one ") CHUNK("two") FINISH DONE,
                               .chunking = "events"},
          &(struct mock_route){
              .name = "check", .method = "POST", .path = "/check", .headers_delay_ms = -1},
          800);
    struct e2e_stream *s =
        e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(l.gw)), ASK, l.auth, NULL);
    cr_assert_eq(e2e_stream_wait_events(s, 1, 10000), 0, "the text never came");
    cr_assert_eq(mock_wait_requests(l.m, 2, 10000), 0, "the guard never called its service");
    e2e_stream_abort(s);
    e2e_resp_free(e2e_stream_finish(s, 10000));
    ended_once(&l, 0);
}
