/*
 * The fault suite, store side: PostgreSQL restarted during writes; the SQLite file on a full
 * disk (a small tmpfs the test mounts) and locked by another process; aigw killed with
 * SIGKILL mid-load and started again on the same state. In each, aigw keeps serving and no
 * ledger or request-log row of an answered request is lost: rows wait in the store's queue
 * (and its spool file, which survives the process) until the database takes them. The
 * PostgreSQL case is skipped where the server binaries are absent; the disk-full case where
 * the test cannot mount a tmpfs (not root, or no permission in this container).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "faults/faults.h"
#include "store/pgsvc.h"

#define CHAT_URL(gw) e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw))

static void print_phase(const char *fault, const char *phase, struct flt_tally t)
{
    fprintf(stderr,
            "faults: %s: %-10s served %ld, 429 %ld, 503 %ld, other %ld, unanswered %ld, "
            "slowest %lld ms\n",
            fault, phase, t.ok, t.limited, t.unavail, t.other, t.none, (long long)t.max_ms);
}

/* "'id1','id2',..." of a load's answers. */
static char *id_list(const struct flt_load *l)
{
    size_t cap = l->ndone * 70 + 8, len = 0;
    char *s = malloc(cap);
    cr_assert(s);
    s[0] = '\0';
    for (size_t i = 0; i < l->ndone; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s'%s'", i ? "," : "", l->done[i].id);
    return s;
}

static double told(const struct flt_load *l)
{
    double sum = 0;
    for (size_t i = 0; i < l->ndone; i++)
        sum += l->done[i].cost;
    return sum;
}

/* Every answered request of l has its ledger and log row in the SQLite file db, and the
 * ledger's spend is the sum of the logged costs. */
static void assert_sqlite_rows(const char *db, const char *key_id, const struct flt_load *l,
                               const char *fault)
{
    char *ids = id_list(l);
    long long led = flt_sqlite_int(
        db, e2e_strf("SELECT COUNT(*) FROM aigw_ledger WHERE request_id IN (%s)", ids));
    long long log = flt_sqlite_int(
        db,
        e2e_strf("SELECT COUNT(*) FROM aigw_log WHERE status = 200 AND request_id IN (%s)", ids));
    double spend = flt_sqlite_real(
        db, e2e_strf("SELECT SUM(cost_nusd) / 1e9 FROM aigw_ledger WHERE key_id = '%s'", key_id));
    double logged = flt_sqlite_real(
        db, e2e_strf("SELECT SUM(cost_nusd) / 1e9 FROM aigw_log WHERE key_id = '%s'", key_id));
    long long nled = flt_sqlite_int(
        db, e2e_strf("SELECT COUNT(*) FROM aigw_ledger WHERE key_id = '%s'", key_id));
    long long nlog = flt_sqlite_int(
        db, e2e_strf("SELECT COUNT(*) FROM aigw_log WHERE key_id = '%s' AND cost_nusd IS NOT NULL",
                     key_id));
    fprintf(stderr,
            "faults: %s: %zu answered; ledger rows %lld of them (%lld in all), log rows %lld; "
            "rows lost %lld; spend $%.6f, logged $%.6f, told $%.6f\n",
            fault, l->ndone, led, nled, log, (long long)l->ndone - (led < log ? led : log), spend,
            logged, told(l));
    free(ids);
    cr_assert_eq(led, (long long)l->ndone, "every answered request is in the ledger once");
    cr_assert_eq(log, (long long)l->ndone, "and in the request log once");
    cr_assert_eq(nled, nlog, "the ledger and the log hold the same requests");
    cr_assert_lt(spend - logged < 0 ? logged - spend : spend - logged, 1e-6,
                 "spend %.9f is the sum of the logged costs %.9f", spend, logged);
    cr_assert_leq(told(l), spend + 1e-6, "every cost a client was told is spent");
}

/* ---- aigw killed mid-load ----------------------------------------------------------------- */

Test(faults, aigw_killed_mid_load_loses_no_answered_request, .timeout = 120)
{
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    const char *store = e2e_strf("sqlite:%s/aigw.db", dir);
    struct e2e_gw *gw = flt_gw(m, store, NULL, 0, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"killed\",\"rpm\":100000,\"budget_usd\":1000}", &k);
    struct flt_load l = {.urls = {CHAT_URL(gw)},
                         .nurls = 1,
                         .body = GOV_CHAT,
                         .headers = e2e_strf("Authorization: Bearer %s", k.token),
                         .threads = 6,
                         .keep = 1};
    flt_load_start(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 150, 60000), 0);
    cr_assert_eq(e2e_gw_signal(gw, SIGKILL), 0);
    cr_assert_eq(e2e_gw_wait_exit(gw, 10000), 128 + SIGKILL);
    struct flt_tally t = flt_load_stop(&l);
    print_phase("sigkill", "whole run", t);
    e2e_gw_stop(gw, 1000);
    /* Started again on the same state, then stopped cleanly (its queue written). */
    gw = flt_gw(m, store, NULL, 0, "");
    struct e2e_resp *r = gov_chat(gw, k.token);
    cr_assert_eq(r->status, 200, "the key still works: %d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    assert_sqlite_rows(e2e_strf("%s/aigw.db", dir), k.id, &l, "sigkill");
    /* the killed process's spool was written and removed, and so was the restarted one's */
    glob_t g;
    cr_assert_eq(glob(e2e_strf("%s/aigw.db-spool.*", dir), 0, NULL, &g), GLOB_NOMATCH,
                 "a spool file is left: %s", g.gl_pathc ? g.gl_pathv[0] : "");
    globfree(&g);
    flt_load_free(&l);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- the SQLite file locked by another process -------------------------------------------- */

Test(faults, sqlite_locked_by_another_process_keeps_serving_and_writes_later, .timeout = 120)
{
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    const char *path = e2e_strf("%s/aigw.db", dir);
    struct e2e_gw *gw = flt_gw(m, e2e_strf("sqlite:%s", path), NULL, 0, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"locked\",\"rpm\":100000}", &k);
    struct flt_load l = {.urls = {CHAT_URL(gw)},
                         .nurls = 1,
                         .body = GOV_CHAT,
                         .headers = e2e_strf("Authorization: Bearer %s", k.token),
                         .threads = 2,
                         .keep = 1};
    flt_load_start(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 10, 30000), 0);
    flt_load_phase(&l);
    /* Another process takes the write lock and keeps it. */
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    cr_assert_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(db));
    cr_assert_eq(flt_load_wait_ok(&l, 20, 30000), 0, "requests are served while locked");
    /* The load stops here: the queue holds what was answered (a lock held for minutes under
     * full load would fill it, and its oldest log rows would be dropped, by design). */
    flt_load_stop(&l);
    struct flt_tally locked = flt_load_phase(&l);
    /* The writer gives up on the lock after its statement deadline (10 s), then says so. */
    cr_assert_eq(e2e_gw_wait_log(gw, "database is locked", 30000), 0,
                 "the failure is named in the log");
    double errors = flt_metric(gw, "aigw_store_errors_total{backend=\"sqlite\",op=\"write\","
                                   "reason=\"locked\"");
    cr_assert_geq(errors, 1, "and in a metric");
    cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    print_phase("sqlite locked", "locked", locked);
    cr_assert_eq(locked.ok,
                 locked.ok + locked.limited + locked.unavail + locked.other + locked.none);
    double dropped = flt_metric(gw, "aigw_log_dropped_total");
    cr_assert_eq(e2e_gw_stop(gw, 15000), 0);
    cr_assert_eq(dropped, 0, "nothing dropped");
    assert_sqlite_rows(path, k.id, &l, "sqlite locked");
    flt_load_free(&l);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- the SQLite file's disk full ---------------------------------------------------------- */

/* Writes until the file system is full: the filler's path. */
static const char *fill(const char *dir)
{
    const char *p = e2e_strf("%s/filler", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0);
    static char block[65536];
    ssize_t n;
    while ((n = write(fd, block, sizeof block)) > 0)
        ;
    /* the last partial blocks */
    while ((n = write(fd, block, 512)) > 0)
        ;
    cr_assert_eq(errno, ENOSPC, "%s", strerror(errno));
    close(fd);
    return p;
}

Test(faults, sqlite_disk_full_keeps_serving_and_writes_once_space_returns, .timeout = 120)
{
    if (geteuid() != 0)
        cr_skip_test("mounting a small tmpfs needs root");
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    if (mount("aigw-faults", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0700") != 0) {
        int e = errno;
        gov_dir_remove(dir);
        mock_stop(m);
        cr_skip_test("cannot mount a tmpfs here: %s", strerror(e));
    }
    const char *path = e2e_strf("%s/aigw.db", dir);
    struct e2e_gw *gw = flt_gw(m, e2e_strf("sqlite:%s", path), NULL, 0, "");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"full\",\"rpm\":100000}", &k);
    struct flt_load l = {.urls = {CHAT_URL(gw)},
                         .nurls = 1,
                         .body = GOV_CHAT,
                         .headers = e2e_strf("Authorization: Bearer %s", k.token),
                         .threads = 2,
                         .keep = 1};
    flt_load_start(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 10, 30000), 0);
    flt_load_phase(&l);
    const char *filler = fill(dir);
    cr_assert_eq(e2e_gw_wait_log(gw, "disk is full", 30000), 0, "the failure is named in the log");
    cr_assert_eq(flt_load_wait_ok(&l, 30, 30000), 0, "requests are served on a full disk");
    struct flt_tally full = flt_load_phase(&l);
    cr_assert_geq(flt_metric(gw, "aigw_store_errors_total{backend=\"sqlite\",op=\"write\","
                                 "reason=\"disk_full\""),
                  1, "and in a metric");
    unlink(filler);
    struct flt_tally after = flt_load_stop(&l);
    print_phase("disk full", "full", full);
    cr_assert_eq(full.ok, full.ok + full.limited + full.unavail + full.other + full.none);
    (void)after;
    double dropped = flt_metric(gw, "aigw_log_dropped_total");
    cr_assert_eq(e2e_gw_stop(gw, 15000), 0);
    cr_assert_eq(dropped, 0, "nothing dropped: the rows waited for space");
    assert_sqlite_rows(path, k.id, &l, "disk full");
    flt_load_free(&l);
    umount2(dir, MNT_DETACH);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- PostgreSQL restarted during writes --------------------------------------------------- */

static PGresult *pg(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
              PQresultErrorMessage(r));
    return r;
}

static long long pg_int(PGconn *c, const char *sql)
{
    PGresult *r = pg(c, sql);
    long long v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* Runs after the case even when an assertion ended it: no server is left behind. */
static void pg_fini(void)
{
    pgsvc_stop();
}

/* A PostgreSQL server of the test's own with a fresh database `name`: its store URL. Skips
 * the case where the server binaries are absent. */
static const char *pg_database(const char *name)
{
    if (!pgsvc_available())
        cr_skip_test("PostgreSQL server binaries are not installed");
    cr_assert_eq(pgsvc_start(), 0, "PostgreSQL did not start");
    PGconn *c = PQconnectdb(e2e_strf("%spostgres", pgsvc_base_url()));
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQclear(pg(c, e2e_strf("CREATE DATABASE %s", name)));
    PQfinish(c);
    return e2e_strf("%s%s", pgsvc_base_url(), name);
}

/* ---- a key read the database holds up ---------------------------------------------------- */

/* 1 when nothing has come to read on fd yet. */
static int nothing_yet(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

/* Sends a POST of body to path on gw's one worker, with an extra header line, and checks
 * that while it waits for the database the loop goes on serving: three health checks are
 * answered before it is. Its connection's fd, to read the answer from once the database
 * answers. */
static int held_post(struct e2e_gw *gw, const char *path, const char *header, const char *body,
                     const char *what)
{
    int fd = e2e_raw_send(e2e_gw_port(gw),
                          e2e_strf("POST %s HTTP/1.1\r\nHost: aigw\r\n%s\r\n"
                                   "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                                   "Connection: close\r\n\r\n%s",
                                   path, header, strlen(body), body),
                          30);
    cr_assert_geq(fd, 0);
    /* Accepted, and so read (and authenticated) in the same turn of the loop. */
    cr_assert_eq(e2e_raw_wait_accepted(fd, e2e_gw_port(gw), 10000), 0);
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *h = e2e_get(gw, "/health", NULL);
        cr_assert_eq(h->status, 200, "/health: %d", h->status);
        e2e_resp_free(h);
        cr_assert(nothing_yet(fd),
                  "health check %d was answered only after the %s: the loop waited for its read",
                  i + 1, what);
    }
    return fd;
}

/* A gateway key's record is read from the database the first time a request presents it (and
 * again once its cache period is over). PostgreSQL is a network away and can be slow: a lock,
 * a failover, a busy server. The worker whose request waits for that read must go on serving
 * everything else meanwhile, as it does while Redis is slow. (SQLite's readers never wait in
 * WAL mode, so PostgreSQL, with a table lock held, is the case.) */
Test(faults, a_key_read_held_up_by_the_database_blocks_no_other_request, .timeout = 120,
     .fini = pg_fini)
{
    const char *store = pg_database("held");
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    /* One worker (flt_gw): every request below is served by the same loop. */
    struct e2e_gw *gw = flt_gw(m, store, NULL, 0, e2e_strf("\"state_dir\":\"%s\"", dir));
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"held\"}", &k); /* no request has read it: not cached */
    /* Another session locks the keys table: a read of it waits (up to the store's read
     * deadline, 2 s). */
    PGconn *c = PQconnectdb(store);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQclear(pg(c, "BEGIN"));
    PQclear(pg(c, "LOCK TABLE aigw_keys IN ACCESS EXCLUSIVE MODE"));
    int fd = held_post(gw, "/v1/chat/completions", e2e_strf("Authorization: Bearer %s", k.token),
                       GOV_CHAT, "keyed request");
    /* Once the database answers, so does the keyed request, with its key. */
    PQclear(pg(c, "COMMIT"));
    PQfinish(c);
    cr_assert_eq(e2e_raw_status(fd), 200, "the keyed request is served once its key is read");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* The same for a Responses conversation continued by previous_response_id: its stored turns
 * are read back from the database, one query each, before the request can be built. */
Test(faults, a_conversation_read_held_up_by_the_database_blocks_no_other_request, .timeout = 120,
     .fini = pg_fini)
{
    const char *store = pg_database("chain");
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    struct e2e_gw *gw = flt_gw(m, store, NULL, 0, e2e_strf("\"state_dir\":\"%s\"", dir));
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"chain\"}", &k);
    const char *auth = e2e_strf("Authorization: Bearer %s", k.token);
    struct e2e_resp *r =
        e2e_post(gw, "/v1/responses", "{\"model\":\"gpt-4o-mini\",\"input\":\"hi\"}", auth);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *id = cJSON_GetObjectItem(e2e_resp_json(r), "id");
    cr_assert(cJSON_IsString(id), "%s", r->body);
    const char *prev = e2e_strf("%s", id->valuestring);
    e2e_resp_free(r);
    /* The turn is in the database (not only in the writer's queue, where a read finds it
     * without asking the database). */
    PGconn *c = PQconnectdb(store);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    int64_t end = e2e_now_ms() + 20000;
    while (pg_int(c, e2e_strf("SELECT COUNT(*) FROM aigw_responses WHERE id = '%s'", prev)) == 0 &&
           e2e_now_ms() < end)
        sched_yield();
    cr_assert_lt(e2e_now_ms(), end, "the stored turn never reached the database");
    PQclear(pg(c, "BEGIN"));
    PQclear(pg(c, "LOCK TABLE aigw_responses IN ACCESS EXCLUSIVE MODE"));
    const char *body =
        e2e_strf("{\"model\":\"gpt-4o-mini\",\"input\":\"and then?\",\"previous_response_id\":"
                 "\"%s\"}",
                 prev);
    int fd = held_post(gw, "/v1/responses", auth, body, "conversation's request");
    PQclear(pg(c, "COMMIT"));
    PQfinish(c);
    cr_assert_eq(e2e_raw_status(fd), 200, "the conversation goes on once its turns are read");
    /* and the upstream got the stored turn ahead of the new one */
    const struct mock_req *q = mock_request(m, mock_request_count(m) - 1);
    const char *sent = mock_req_body(q);
    cr_assert(strstr(sent, "\"hi\"") && strstr(sent, "and then?") &&
                  strstr(sent, "\"hi\"") < strstr(sent, "and then?"),
              "%s", sent);
    mock_req_free(q);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    gov_dir_remove(dir);
    mock_stop(m);
}

Test(faults, postgres_restarted_during_writes_loses_no_row, .timeout = 180, .fini = pg_fini)
{
    const char *store = pg_database("faults");
    struct mock *m = e2e_mock("openai_chat");
    /* the state directory holds the replicas' spool files (nothing of the installed one) */
    char *dir = gov_dir();
    const char *extra = e2e_strf("\"state_dir\":\"%s\"", dir);
    struct e2e_gw *gw[2];
    for (int i = 0; i < 2; i++)
        gw[i] = flt_gw(m, store, NULL, 0, extra);
    struct gov_key k;
    gov_key_create(gw[0], "{\"name\":\"pg\",\"rpm\":100000}", &k);
    struct flt_load l = {.urls = {CHAT_URL(gw[0]), CHAT_URL(gw[1])},
                         .nurls = 2,
                         .body = GOV_CHAT,
                         .headers = e2e_strf("Authorization: Bearer %s", k.token),
                         .threads = 4,
                         .keep = 1};
    flt_load_start(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 40, 60000), 0);
    struct flt_tally before = flt_load_phase(&l);
    cr_assert_eq(pgsvc_restart(), 0, "PostgreSQL did not come back");
    struct flt_tally during = flt_load_phase(&l);
    cr_assert_eq(flt_load_wait_ok(&l, 40, 60000), 0, "served after the restart");
    flt_load_stop(&l);
    struct flt_tally after = flt_load_phase(&l);
    for (int i = 0; i < 2; i++) {
        /* Named, not shouted: one line for the first failed reconnect, then one in 10 s. */
        int lines = 0;
        for (const char *p = e2e_gw_log(gw[i]); (p = strstr(p, "writer reconnect")); p++)
            lines++;
        cr_assert_leq(lines, 2, "replica %d logged %d reconnect lines", i, lines);
    }
    print_phase("postgres", "before", before);
    print_phase("postgres", "restarting", during);
    print_phase("postgres", "after", after);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(e2e_gw_stop(gw[i], 20000), 0);
    PGconn *c = PQconnectdb(store);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char *ids = id_list(&l);
    long long led =
        pg_int(c, e2e_strf("SELECT COUNT(*) FROM aigw_ledger WHERE request_id IN (%s)", ids));
    long long log = pg_int(
        c,
        e2e_strf("SELECT COUNT(*) FROM aigw_log WHERE status = 200 AND request_id IN (%s)", ids));
    long long spend =
        pg_int(c, e2e_strf("SELECT SUM(cost_nusd) FROM aigw_ledger WHERE key_id = '%s'", k.id));
    long long logged =
        pg_int(c, e2e_strf("SELECT SUM(cost_nusd) FROM aigw_log WHERE key_id = '%s'", k.id));
    free(ids);
    PQfinish(c);
    fprintf(stderr,
            "faults: postgres: %zu answered; ledger rows %lld, log rows %lld; rows lost %lld; "
            "spend $%.6f, logged $%.6f\n",
            l.ndone, led, log, (long long)l.ndone - (led < log ? led : log), spend / 1e9,
            logged / 1e9);
    cr_assert_eq(led, (long long)l.ndone, "every answered request is in the ledger once");
    cr_assert_eq(log, (long long)l.ndone, "and in the request log once");
    cr_assert_eq(spend, logged, "spend is the sum of the logged costs");
    flt_load_free(&l);
    gov_dir_remove(dir);
    mock_stop(m);
}

/* ---- what the soak found ----------------------------------------------------------------- */

Test(faults, the_request_log_marks_cache_hits, .timeout = 60)
{
    struct mock *m = e2e_mock("openai_chat");
    char *dir = gov_dir();
    const char *path = e2e_strf("%s/aigw.db", dir);
    struct e2e_gw *gw =
        flt_gw(m, e2e_strf("sqlite:%s", path), NULL, 0, "\"cache\":{\"enabled\":true}");
    struct gov_key k;
    gov_key_create(gw, "{\"name\":\"cached\",\"budget_usd\":10}", &k);
    for (int i = 0; i < 3; i++) {
        struct e2e_resp *r = gov_chat(gw, k.token);
        cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
        cr_assert_str_eq(e2e_resp_header(r, "X-Gateway-Cache"), i ? "hit" : "miss");
        e2e_resp_free(r);
    }
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    cr_assert_eq(flt_sqlite_int(path, "SELECT COUNT(*) FROM aigw_log WHERE cache_hit = 1"), 2,
                 "both hits are logged as hits");
    cr_assert_eq(flt_sqlite_int(path, "SELECT COUNT(*) FROM aigw_ledger"), 1,
                 "only the miss was paid for");
    cr_assert_eq(flt_sqlite_int(path, "SELECT SUM(cache_hits) FROM aigw_usage_daily"), 2,
                 "and the daily rollup counts them");
    gov_dir_remove(dir);
    mock_stop(m);
}
