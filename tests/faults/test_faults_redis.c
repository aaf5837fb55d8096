/*
 * The fault suite, Redis side: two aigw replicas sharing one redis-server (the test's own, on
 * a loopback port) under a steady load of keyed requests while Redis is frozen (SIGSTOP),
 * killed and restarted; a Redis slowed past redis.timeout_ms by a proxy the test controls;
 * clients leaving during the upload, during a limit check held open by a slow Redis, and
 * mid-stream, after which no reservation is left live and none was released twice; a budget
 * under concurrent requests on two replicas. Each case counts what was served during its
 * fault and prints it (the README's figures). Skipped where redis-server is absent.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "faults/faults.h"

#define CHAT_URL(gw) e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw))
#define CHAT100                                                                                    \
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,"                                               \
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define STREAM100                                                                                  \
    "{\"model\":\"gpt-4o-mini\",\"max_tokens\":100,\"stream\":true,"                               \
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
/* The admission estimate of both bodies: 9 bytes of strings / 4 + 1, plus max_tokens. */
#define EST 103
/* What the mock's answer really used: 14 prompt + 17 completion tokens. */
#define USED 31
/* A stream cut after "Hello" and " from" (the mock stalls there): the prompt's estimate and
 * the text it sent at 4 bytes a token. */
#define CUT_TEXT "Hello from"
#define CUT ((EST - 100) + ((long)sizeof CUT_TEXT - 1 + 3) / 4)

static void need_redis(void)
{
    if (!redis_srv_binary() || !flt_redis_cli())
        cr_skip_test("redis-server (and redis-cli) are not installed");
}

static double metric2(struct e2e_gw *gw[2], const char *series)
{
    return flt_metric(gw[0], series) + flt_metric(gw[1], series);
}

static void print_phase(const char *fault, const char *phase, struct flt_tally t)
{
    fprintf(stderr,
            "faults: %s: %-10s served %ld, 429 %ld, 503 %ld, other %ld, unanswered %ld, "
            "slowest %lld ms\n",
            fault, phase, t.ok, t.limited, t.unavail, t.other, t.none, (long long)t.max_ms);
}

#define TIMEOUT_MS 200 /* redis.timeout_ms of the load test */
/* What a decision may take past its deadline on this shared, sanitized box. */
#define SLACK_MS 1500

Test(faults, redis_frozen_killed_and_restarted_under_load_on_two_replicas, .timeout = 180)
{
    need_redis();
    struct mock *m = e2e_mock("openai_chat");
    struct redis_srv srv;
    cr_assert_eq(redis_srv_start(&srv), 0);
    char *dir = gov_dir();
    const char *store = e2e_strf("sqlite:%s/shared.db", dir);
    struct e2e_gw *gw[2];
    for (int i = 0; i < 2; i++)
        gw[i] = flt_gw(m, store, srv.url, TIMEOUT_MS, "");
    cr_assert_eq(gov_redis_wait_clients(&srv, 2, 10000), 0, "both replicas reach Redis");
    struct gov_key rate, budget;
    gov_key_create(gw[0], "{\"name\":\"rate\",\"rpm\":100000}", &rate);
    gov_key_create(gw[0], "{\"name\":\"budget\",\"budget_usd\":1000}", &budget);
    const char *budget_auth = e2e_strf("Authorization: Bearer %s", budget.token);

    struct flt_load l = {.urls = {CHAT_URL(gw[0]), CHAT_URL(gw[1])},
                         .nurls = 2,
                         .body = GOV_CHAT,
                         .headers = e2e_strf("Authorization: Bearer %s", rate.token),
                         .threads = 4};
    flt_load_start(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 40, 30000), 0, "the load runs");
    struct flt_tally before = flt_load_phase(&l);
    cr_assert_eq(before.ok, before.ok + before.limited + before.unavail + before.other);
    double deg0 = metric2(gw, "aigw_degraded_decisions_total{decision=\"ratelimit_local\"");

    /* Frozen: connections stay open, nothing answers. */
    redis_srv_pause(&srv, 1);
    cr_assert_eq(flt_load_wait_any(&l, 40, 60000), 0, "requests are answered while frozen");
    struct e2e_resp *r = e2e_request("POST", CHAT_URL(gw[0]), GOV_CHAT, budget_auth, 10000);
    cr_assert_eq(r->status, 503, "budgets fail closed: %d %s", r->status, r->body);
    cr_assert(e2e_resp_header(r, "Retry-After"));
    e2e_resp_free(r);
    struct flt_tally frozen = flt_load_phase(&l);

    /* Killed (a frozen process dies at SIGKILL): connections reset. */
    redis_srv_kill(&srv);
    cr_assert_eq(flt_load_wait_any(&l, 40, 60000), 0, "requests are answered while Redis is down");
    struct flt_tally killed = flt_load_phase(&l);

    cr_assert_eq(redis_srv_restart(&srv), 0);
    cr_assert_eq(gov_redis_wait_clients(&srv, 2, 20000), 0, "both replicas reconnect");
    struct flt_tally reconnecting = flt_load_phase(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 40, 30000), 0);
    struct flt_tally back = flt_load_stop(&l);
    back = flt_load_phase(&l);
    flt_load_free(&l);

    print_phase("redis", "healthy", before);
    print_phase("redis", "frozen", frozen);
    print_phase("redis", "killed", killed);
    print_phase("redis", "restarting", reconnecting);
    print_phase("redis", "back", back);
    struct flt_tally ph[] = {frozen, killed, reconnecting, back};
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        /* A rate-limited key falls back to this replica's share (50000 a minute): served. */
        cr_assert_eq(ph[i].limited + ph[i].unavail + ph[i].other + ph[i].none, 0,
                     "phase %zu: every request served (%ld served)", i, ph[i].ok);
        cr_assert_leq(ph[i].max_ms, TIMEOUT_MS + SLACK_MS, "phase %zu: a request took %lld ms", i,
                      (long long)ph[i].max_ms);
    }
    cr_assert_gt(frozen.ok + killed.ok, 0);
    double deg = metric2(gw, "aigw_degraded_decisions_total{decision=\"ratelimit_local\"");
    cr_assert_gt(deg, deg0, "degraded decisions are counted");
    cr_assert_geq(metric2(gw, "aigw_degraded_decisions_total{decision=\"budget_fail_closed\""), 1);
    cr_assert(e2e_gw_wait_log(gw[0], "decisions made without Redis", 5000) == 0 ||
                  e2e_gw_wait_log(gw[1], "decisions made without Redis", 5000) == 0,
              "and logged");

    /* Back on Redis: the counters are in Redis again and decisions are no longer local. */
    int64_t t0 = gov_now_ms();
    double d1 = -1, d2 = 0;
    while (gov_now_ms() - t0 < 15000) {
        d1 = metric2(gw, "aigw_degraded_decisions_total{decision=\"ratelimit_local\"");
        for (int i = 0; i < 4; i++) {
            r = gov_chat(gw[i % 2], rate.token);
            cr_assert_eq(r->status, 200);
            e2e_resp_free(r);
        }
        d2 = metric2(gw, "aigw_degraded_decisions_total{decision=\"ratelimit_local\"");
        if (d2 == d1)
            break;
    }
    cr_assert_eq(d2, d1, "decisions are shared through Redis again");
    struct raw_reply rep;
    cr_assert_eq(redis_srv_call(&srv, &rep, "DBSIZE", NULL), 0);
    cr_assert_gt(rep.integer, 0, "the counters live in the restarted Redis");
    r = e2e_request("POST", CHAT_URL(gw[1]), GOV_CHAT, budget_auth, 10000);
    cr_assert_eq(r->status, 200, "the budget key is served again: %d %s", r->status, r->body);
    e2e_resp_free(r);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(e2e_gw_stop(gw[i], 10000), 0);
    redis_srv_stop(&srv);
    gov_dir_remove(dir);
    mock_stop(m);
}

Test(faults, slow_redis_is_decided_locally_within_the_deadline, .timeout = 120)
{
    need_redis();
    struct mock *m = e2e_mock("openai_chat");
    struct redis_srv srv;
    cr_assert_eq(redis_srv_start(&srv), 0);
    struct flt_proxy *px = flt_proxy_start(srv.port);
    char *dir = gov_dir();
    const char *store = e2e_strf("sqlite:%s/shared.db", dir);
    const char *url = e2e_strf("redis://127.0.0.1:%d/0", flt_proxy_port(px));
    enum { DEADLINE = 100, DELAY = 800 };
    struct e2e_gw *gw[2];
    for (int i = 0; i < 2; i++)
        gw[i] = flt_gw(m, store, url, DEADLINE, "");
    cr_assert_eq(gov_redis_wait_clients(&srv, 2, 10000), 0);
    struct gov_key k;
    gov_key_create(gw[0], "{\"name\":\"slow\",\"rpm\":100000}", &k);
    struct e2e_resp *r = gov_chat(gw[0], k.token);
    cr_assert_eq(r->status, 200);
    e2e_resp_free(r);
    const char *series = "aigw_degraded_decisions_total{decision=\"ratelimit_local\"";
    double d0 = metric2(gw, series);

    /* Every command now reaches Redis 800 ms late: well past the 100 ms deadline, not late
     * enough for aigw to give up on the connection. */
    flt_proxy_delay(px, DELAY);
    struct flt_load l = {.urls = {CHAT_URL(gw[0]), CHAT_URL(gw[1])},
                         .nurls = 2,
                         .body = GOV_CHAT,
                         .headers = e2e_strf("Authorization: Bearer %s", k.token),
                         .threads = 4};
    flt_load_start(&l);
    cr_assert_eq(flt_load_wait_any(&l, 40, 60000), 0);
    struct flt_tally slow = flt_load_stop(&l);
    flt_load_free(&l);
    print_phase("slow redis", "delayed", slow);
    cr_assert_eq(slow.ok, slow.ok + slow.limited + slow.unavail + slow.other + slow.none,
                 "every request served");
    cr_assert_lt(slow.max_ms, DELAY, "nobody waited for the slow reply (%lld ms)",
                 (long long)slow.max_ms);
    double d1 = metric2(gw, series);
    cr_assert_geq(d1 - d0, (double)slow.ok, "each local decision named in the metric");

    flt_proxy_delay(px, 0);
    int64_t t0 = gov_now_ms();
    double a = -1, b = 0;
    while (gov_now_ms() - t0 < 15000 && a != b) {
        a = metric2(gw, series);
        r = gov_chat(gw[0], k.token);
        cr_assert_eq(r->status, 200);
        e2e_resp_free(r);
        b = metric2(gw, series);
    }
    cr_assert_eq(a, b, "decided through Redis again once it is fast");
    for (int i = 0; i < 2; i++)
        cr_assert_eq(e2e_gw_stop(gw[i], 10000), 0);
    flt_proxy_stop(px);
    redis_srv_stop(&srv);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- a client leaving at every phase ------------------------------------------------------ */

struct counts {
    long live;       /* reservations still live ("L:...") */
    long tokens;     /* the TPM window's sum */
    long requests;   /* the RPM window's sum */
    long long resv;  /* budget micro-USD reserved */
    long long spent; /* budget micro-USD spent */
    int have_budget;
};

static struct counts read_counts(const struct redis_srv *srv, const char *id)
{
    struct counts c = {0};
    char *q = flt_redis(srv, e2e_strf("HVALS 'aigw:v1:{%s}:q'", id));
    cr_assert(q, "redis-cli");
    for (char *p = q; (p = strstr(p, "L:")); p += 2)
        c.live++;
    free(q);
    char *w = flt_redis(srv, e2e_strf("HGETALL 'aigw:v1:{%s}:w'", id));
    cr_assert(w);
    /* field and value lines, alternately */
    char *field = NULL;
    for (char *line = w; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        if (!field) {
            field = line;
        } else {
            if (field[0] == 't')
                c.tokens += strtol(line, NULL, 10);
            else if (field[0] == 'r')
                c.requests += strtol(line, NULL, 10);
            field = NULL;
        }
        line = eol ? eol + 1 : NULL;
    }
    free(w);
    char *keys = flt_redis(srv, e2e_strf("KEYS 'aigw:v1:{%s}:b:*'", id));
    cr_assert(keys);
    char *nl = strchr(keys, '\n');
    if (nl)
        *nl = '\0';
    if (*keys) {
        char *b = flt_redis(srv, e2e_strf("HMGET '%s' resv spent", keys));
        cr_assert(b);
        c.have_budget = 1;
        c.resv = strtoll(b, &nl, 10);
        c.spent = strtoll(nl, NULL, 10);
        free(b);
    }
    free(keys);
    return c;
}

/* Sends the headers and part of the body, and leaves in the same breath: the close arrives
 * with the data. */
static void leave_during_upload(int port, const char *token)
{
    const char *req = e2e_strf("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                               "Content-Length: 500\r\n\r\n{\"model\":\"gpt-4o-mini\",",
                               token);
    int fd = e2e_raw_send(port, req, 5);
    shutdown(fd, SHUT_RDWR);
    close(fd);
}

/* Sends the whole request and leaves at once: gone while its key is being checked. */
static void leave_at_once(int port, const char *token)
{
    const char *req = e2e_strf("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                               "Content-Length: %zu\r\n\r\n%s",
                               token, strlen(CHAT100), CHAT100);
    int fd = e2e_raw_send(port, req, 5);
    shutdown(fd, SHUT_RDWR);
    close(fd);
}

/* Leaves (nonzero) on the event that carries ud's text. */
static int leave_on(void *ud, int index, const char *data)
{
    (void)index;
    return strstr(data, (const char *)ud) != NULL;
}

Test(faults, a_client_leaving_at_every_phase_releases_its_reservation_once, .timeout = 120)
{
    need_redis();
    struct mock *m = mock_start(NULL);
    cr_assert(m);
    /* Streams drip (a chunk each 300 ms) and stall after the role, "Hello" and " from": a
     * client can leave in the middle, having been sent a known part of the answer. */
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .match_body = "{\"stream\":true}",
                                                        .body_file = "mock/stream_text.sse",
                                                        .chunk_delay_ms = 300,
                                                        .stall_after_chunks = 3}),
                 0);
    cr_assert_eq(mock_load_scenario(m, "openai_chat"), 0);
    struct redis_srv srv;
    cr_assert_eq(redis_srv_start(&srv), 0);
    struct flt_proxy *px = flt_proxy_start(srv.port);
    char *dir = gov_dir();
    struct e2e_gw *gw = flt_gw(m, e2e_strf("sqlite:%s/aigw.db", dir),
                               e2e_strf("redis://127.0.0.1:%d/0", flt_proxy_port(px)), 5000, "");
    cr_assert_eq(gov_redis_wait_clients(&srv, 1, 10000), 0);
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"leaver\",\"tpm\":1000000,\"budget_usd\":100}", &k);
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    long done = 0, released = 0, cut = 0;

    /* Completed requests: charged what they used. */
    for (int i = 0; i < 3; i++, done++) {
        struct e2e_resp *r = e2e_request("POST", CHAT_URL(gw), CHAT100, auth, 10000);
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        e2e_resp_free(r);
    }
    /* 0. During the upload: never admitted, and the request must not linger (it held a
     * shutdown's drain until libmicrohttpd's 120 s connection timeout). */
    for (int i = 0; i < 3; i++)
        leave_during_upload(e2e_gw_port(gw), k.token);
    int64_t t1 = gov_now_ms();
    while (flt_metric(gw, "aigw_active_requests") > 0 && gov_now_ms() - t1 < 10000)
        ;
    cr_assert_eq(flt_metric(gw, "aigw_active_requests"), 0, "cut uploads are over");
    /* 1. During authentication: the request sent whole, the client gone before any answer.
     * Whether aigw notices before or after the upstream call, the count below holds. */
    for (int i = 0; i < 3; i++)
        leave_at_once(e2e_gw_port(gw), k.token);
    /* 2. During the limit check: Redis answers 600 ms late (within the admission's 5 s
     * deadline, and before aigw would give up on the connection), the client leaves before. */
    flt_proxy_delay(px, 600);
    for (int i = 0; i < 3; i++, released++) {
        long before = flt_proxy_received(px);
        struct e2e_stream *s = e2e_stream_start(CHAT_URL(gw), CHAT100, auth,
                                                &(struct e2e_stream_opts){.timeout_ms = 10000});
        /* the admission is on its way to Redis */
        cr_assert_eq(flt_proxy_wait_received(px, before, 10000), 0);
        e2e_stream_abort(s);
        struct e2e_resp *r = e2e_stream_finish(s, 10000);
        cr_assert_eq(r->status, 0, "the client left before any answer (%d)", r->status);
        e2e_resp_free(r);
    }
    flt_proxy_delay(px, 0);
    /* 3. Mid-stream: on the last text the upstream sends, before the usage. It costs what
     * it sent. */
    for (int i = 0; i < 2; i++, cut++) {
        struct e2e_stream *s =
            e2e_stream_start(CHAT_URL(gw), STREAM100, auth,
                             &(struct e2e_stream_opts){
                                 .on_event = leave_on, .ud = (void *)" from", .timeout_ms = 20000});
        struct e2e_resp *r = e2e_stream_finish(s, 15000);
        cr_assert(r->status == 200 && r->aborted, "the client left mid-stream: %d %s", r->status,
                  r->body);
        e2e_resp_free(r);
    }
    /* Settlements are asynchronous: wait until nothing is live and the window adds up. Each
     * request that reached the provider (a complete answer) counts what it used, each cut
     * stream its prompt and the text it was sent, everything else nothing: each once. */
    long upstream, want_tokens;
    int64_t t0 = gov_now_ms();
    struct counts c;
    do {
        upstream = mock_request_count(m);
        want_tokens = USED * (upstream - cut) + CUT * cut;
        c = read_counts(&srv, k.id);
    } while ((c.live || c.tokens != want_tokens) && gov_now_ms() - t0 < 15000);
    fprintf(stderr,
            "faults: disconnects: %ld completed, 3 gone during the upload, 3 during auth, %ld "
            "during the limit "
            "check, %ld mid-stream; %ld reached the provider: live %ld, tokens %ld (want %ld), "
            "requests %ld, resv %lld\n",
            done, released, cut, upstream, c.live, c.tokens, want_tokens, c.requests, c.resv);
    cr_assert_eq(c.live, 0, "no reservation left live");
    cr_assert_eq(c.tokens, want_tokens,
                 "tokens: completed count their use, released nothing, cut streams what they "
                 "sent, each once (%ld, want %ld)",
                 c.tokens, want_tokens);
    cr_assert_geq(c.requests, upstream, "admitted requests stay counted in RPM");
    cr_assert_leq(c.requests, done + 3 + released + cut);
    cr_assert(c.have_budget);
    cr_assert_eq(c.resv, 0, "no budget left reserved, none released twice (%lld)", c.resv);
    cr_assert_gt(c.spent, 0);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    flt_proxy_stop(px);
    redis_srv_stop(&srv);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- budgets under concurrency ------------------------------------------------------------ */

static void budget_burst(int redis)
{
    struct mock *m = e2e_mock("openai_chat");
    struct redis_srv srv;
    if (redis)
        cr_assert_eq(redis_srv_start(&srv), 0);
    char *dir = gov_dir();
    const char *store = e2e_strf("sqlite:%s/shared.db", dir);
    int n = redis ? 2 : 1;
    struct e2e_gw *gw[2] = {NULL, NULL};
    for (int i = 0; i < n; i++)
        gw[i] = flt_gw(m, store, redis ? srv.url : NULL, 3000, "");
    if (redis)
        cr_assert_eq(gov_redis_wait_clients(&srv, 2, 10000), 0);
    const double budget = 0.2;
    struct gov_key k;
    gov_key_create(gw[0], e2e_strf("{\"name\":\"burst\",\"budget_usd\":%g}", budget), &k);
    enum { N = 40 };
    struct e2e_stream *s[N];
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    for (int i = 0; i < N; i++)
        s[i] = e2e_stream_start(CHAT_URL(gw[i % n]), GOV_CHAT, auth,
                                &(struct e2e_stream_opts){.timeout_ms = 30000});
    double told = 0, most = 0;
    int ok = 0, exhausted = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        struct e2e_resp *r = e2e_stream_finish(s[i], 30000);
        if (r->status == 200) {
            double c = strtod(e2e_resp_header(r, "X-Gateway-Cost"), NULL);
            told += c;
            most = c > most ? c : most;
            ok++;
        } else {
            cr_assert_eq(r->status, 429, "%d %s", r->status, r->body);
            const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), "error");
            const cJSON *code = cJSON_GetObjectItem(e, "code");
            if (cJSON_IsString(code) && !strcmp(code->valuestring, "insufficient_quota")) {
                exhausted++;
            } else {
                /* money left, reserved by requests in flight: retry, never "give up" */
                cr_assert_str_eq(code->valuestring, "budget_in_use", "%s", r->body);
                cr_assert_null(e2e_resp_header(r, "x-should-retry"));
                cr_assert(e2e_resp_header(r, "Retry-After"));
                busy++;
            }
        }
        e2e_resp_free(r);
    }
    for (int i = 0; i < n; i++)
        cr_assert_eq(e2e_gw_stop(gw[i], 10000), 0);
    const char *db = e2e_strf("%s/shared.db", dir);
    double ledger = flt_sqlite_real(
        db, e2e_strf("SELECT SUM(cost_nusd) / 1e9 FROM aigw_ledger WHERE key_id = '%s'", k.id));
    fprintf(stderr,
            "faults: budget %s: $%.3f budget, %d of %d served, $%.6f spent; refused %d as "
            "exhausted, %d as reserved by requests in flight\n",
            redis ? "two replicas + redis" : "one replica", budget, ok, N, ledger, exhausted, busy);
    /* An answer costs FLT_COST: while another fits, the budget is not exhausted. */
    if (budget - told >= FLT_COST)
        cr_assert_eq(exhausted, 0, "told insufficient_quota with $%.3f of $%.3f left",
                     budget - told, budget);
    cr_assert_gt(ok, 0);
    cr_assert_leq(told, budget + most + 1e-9,
                  "spent %.6f: over the budget by more than one "
                  "request's clamp (%.6f)",
                  told, most);
    cr_assert_lt(ledger - told < 0 ? told - ledger : ledger - told, 1e-6,
                 "ledger %.9f vs answers %.9f", ledger, told);
    if (redis)
        redis_srv_stop(&srv);
    gov_dir_remove(dir);
    mock_stop(m);
}

Test(faults, concurrent_requests_never_overspend_a_budget_in_process, .timeout = 120)
{
    budget_burst(0);
}

Test(faults, concurrent_requests_never_overspend_a_budget_across_replicas, .timeout = 120)
{
    need_redis();
    budget_burst(1);
}
