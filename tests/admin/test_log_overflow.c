/*
 * test_log_overflow - the request log under a database that stops taking writes, through the
 * real aigw: with the SQLite store locked by this test, a burst far larger than
 * log.queue_rows is answered in full (no request waits for the database); once the lock goes,
 * the rows that were kept are the newest, the rest are counted in aigw_log_dropped_total on
 * /metrics, kept + dropped is exactly the number of requests, and what was held while the
 * database was locked never passed the queue's cap (plus the one batch the writer had taken).
 * And log.requests: false writes no rows until a reload turns it on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "admin/dirwait.h"
#include "e2e/e2e.h"

#define ADMIN "admin-key-for-overflow-tests-01"
#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define CAP 20
#define BURST 300

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The row of the one request sent with X-Request-ID: id (the gateway's id holds it between
 * the time and its own random digits). */
static int has_row(sqlite3 *db, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM aigw_log WHERE request_id LIKE '%%.%s.%%'", id);
    return sql_int(db, sql) == 1;
}

/* aigw_log_dropped_total{log="request_log"} from /metrics; 0 when not there yet. */
static long long dropped_metric(struct e2e_gw *gw)
{
    struct e2e_resp *r = e2e_get(gw, "/metrics", NULL);
    cr_assert_eq(r->status, 200);
    long long v = 0;
    const char *p = strstr(r->body, "aigw_log_dropped_total{log=\"request_log\"} ");
    if (p)
        v = strtoll(p + strlen("aigw_log_dropped_total{log=\"request_log\"} "), NULL, 10);
    e2e_resp_free(r);
    return v;
}

static struct e2e_resp *chat(struct e2e_gw *gw, const char *id)
{
    return e2e_post(gw, "/v1/chat/completions", CHAT, e2e_strf("X-Request-ID: %s", id));
}

Test(log_overflow, a_burst_past_the_queue_drops_the_oldest_counts_them_and_never_blocks)
{
    struct mock *m = e2e_mock("openai_chat");
    char dir[] = "/tmp/aigw-overflow.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *env[] = {"OPENAI_API_KEY=sk-upstream",
                         e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), "AIGW_ADMIN_KEY=" ADMIN,
                         NULL};
    const char *args[] = {"--state-dir", dir, NULL};
    struct e2e_gw *gw = e2e_gw_start_opts(&(struct e2e_gw_opts){
        .config = e2e_strf("{\"threads\":1,\"log\":{\"queue_rows\":%d}}", CAP),
        .env = env,
        .args = args});

    /* One request first: the database exists and its tables are made. */
    struct e2e_resp *r = chat(gw, "warm-0");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(e2e_strf("%s/aigw.db", dir), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    long long deadline = now_ms() + 10000;
    int w = dirwait_open(dir); /* the writer's commits show in the state directory */
    while (sql_int(db, "SELECT COUNT(*) FROM aigw_log") < 1 && now_ms() < deadline)
        dirwait_wait(w, deadline);
    cr_assert_eq(sql_int(db, "SELECT COUNT(*) FROM aigw_log"), 1, "the first row never came");

    /* Lock the database against every other writer, then the burst. Each request must be
     * answered while the lock is held: one that waited for the log would never be. */
    cr_assert_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    long long worst = 0;
    for (int i = 0; i < BURST; i++) {
        long long t0 = now_ms();
        r = chat(gw, e2e_strf("burst-%03d", i));
        cr_assert_eq(r->status, 200, "request %d: %d %s", i, r->status, r->body);
        e2e_resp_free(r);
        long long dt = now_ms() - t0;
        worst = dt > worst ? dt : worst;
    }
    cr_assert_lt(worst, 5000, "a request waited %lld ms with the database locked", worst);
    cr_assert_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);

    /* The writer catches up: every request is either a row or a dropped count. */
    long long rows = 0, dropped = 0;
    deadline = now_ms() + 20000;
    do {
        rows = sql_int(db, "SELECT COUNT(*) FROM aigw_log");
        dropped = dropped_metric(gw);
        if (rows + dropped == BURST + 1)
            break;
        dirwait_wait(w, deadline);
    } while (now_ms() < deadline);
    close(w);
    cr_assert_eq(rows + dropped, BURST + 1, "rows %lld + dropped %lld != %d requests", rows,
                 dropped, BURST + 1);
    /* Bounded: what was held while locked is the queue (CAP) plus the batch the writer had
     * taken before it found the lock; the burst itself was never held. */
    long long burst_rows = rows - 1;
    cr_log_info("burst %d, queue %d: %lld rows kept, %lld dropped, slowest request %lld ms", BURST,
                CAP, burst_rows, dropped, worst);
    cr_assert_leq(burst_rows, CAP + 100, "%lld rows were held for a locked database", burst_rows);
    cr_assert_geq(dropped, BURST - CAP - 100);
    /* The oldest were dropped: the newest CAP are all there, and of the older rows only the
     * one batch the writer took before it found the lock: the queue at that moment, at most
     * CAP rows in a row, wherever the burst was when the writer's linger ended (it waits
     * STORE_LINGER_LOG_MS from the first row, so a slower burst puts it further in: a fixed
     * row in the middle is not always gone). */
    for (int i = BURST - CAP; i < BURST; i++)
        cr_assert(has_row(db, e2e_strf("burst-%03d", i)), "burst-%03d (among the newest) lost", i);
    int first = -1, last = -1, kept_old = 0;
    for (int i = 0; i < BURST - CAP; i++) {
        if (!has_row(db, e2e_strf("burst-%03d", i)))
            continue;
        first = first < 0 ? i : first;
        last = i;
        kept_old++;
    }
    cr_assert_leq(kept_old, CAP, "%d older rows outlived the cap", kept_old);
    cr_assert(kept_old == 0 || last - first + 1 == kept_old,
              "the older rows kept are not one batch: %d rows from burst-%03d to burst-%03d",
              kept_old, first, last);

    sqlite3_close(db);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* log.requests false writes no rows, and a reload turns it back on: the row of the request
 * after the reload arrives, the one before never does (one writer, rows in order). */
Test(log_overflow, log_requests_false_writes_no_rows_until_a_reload_turns_it_on)
{
    struct mock *m = e2e_mock("openai_chat");
    char dir[] = "/tmp/aigw-nolog.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const char *path = e2e_strf("%s/aigw.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"threads\":1,\"log\":{\"requests\":false}}", f);
    cr_assert_eq(fclose(f), 0);
    const char *env[] = {"OPENAI_API_KEY=sk-upstream",
                         e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), "AIGW_ADMIN_KEY=" ADMIN,
                         NULL};
    const char *args[] = {"--state-dir", dir, "--config", path, NULL};
    struct e2e_gw *gw = e2e_gw_start_opts(&(struct e2e_gw_opts){.env = env, .args = args});
    struct e2e_resp *r = chat(gw, "while-off");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);

    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"threads\":1,\"log\":{\"requests\":true}}", f);
    cr_assert_eq(fclose(f), 0);
    r = e2e_request("POST", e2e_strf("%s/admin/config/reload", e2e_gw_url(gw)), "",
                    "Authorization: Bearer " ADMIN, 10000);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = chat(gw, "while-on");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);

    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(e2e_strf("%s/aigw.db", dir), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    long long deadline = now_ms() + 10000;
    int w = dirwait_open(dir); /* before the first check: no commit is missed */
    while (!has_row(db, "while-on") && now_ms() < deadline)
        dirwait_wait(w, deadline);
    close(w);
    cr_assert(has_row(db, "while-on"), "the row after the reload never came");
    cr_assert_not(has_row(db, "while-off"), "a row was written with log.requests false");
    cr_assert_eq(sql_int(db, "SELECT COUNT(*) FROM aigw_log"), 1);
    sqlite3_close(db);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
