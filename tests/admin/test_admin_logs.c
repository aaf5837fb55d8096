/* The admin API's request-log and usage views (transport-agnostic handlers), on SQLite. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_logs.h"
#include "admin/admin_util.h"
#include "admin/answer.h"
#include "store/fixture.h"

TestSuite(admin_logs, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

static const char *const keys[] = {"keyAAAAAAAAA", "keyBBBBBBBBB"};
static const char *const models[] = {"gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"};
static const char *const providers[] = {"openai", "anthropic", "groq"};
#define NROWS 45
#define XSS "<script>window.__xss=1</script>\"'&"

static struct gw_log_row mix(int i, int64_t base_ms)
{
    struct gw_log_row r = {0};
    r.ts_ms = base_ms + i * 1000;
    snprintf(r.request_id, sizeof r.request_id, "req-%04d", i);
    snprintf(r.key_id, sizeof r.key_id, "%s", keys[i % 2]);
    snprintf(r.dialect, sizeof r.dialect, "openai");
    snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
    snprintf(r.model_asked, sizeof r.model_asked, "%s", i == 5 ? XSS : models[i % 3]);
    snprintf(r.model_served, sizeof r.model_served, "%s", models[i % 3]);
    snprintf(r.provider, sizeof r.provider, "%s", providers[i % 3]);
    r.attempts = 1;
    r.status = i % 7 == 0 ? 502 : i % 11 == 0 ? 429 : 200;
    r.stream = i % 2;
    r.input_tokens = 100 + i;
    r.output_tokens = r.status == 200 ? 10 + i : 0;
    r.cached_tokens = 0;
    r.reasoning_tokens = -1;
    r.cost_usd = r.status == 200 ? 0.0001 * (i + 1) : -1;
    r.latency_ms = 40 + 13 * i;
    r.ttfb_ms = r.status == 200 ? 20 + i : -1;
    if (r.status != 200)
        snprintf(r.error_code, sizeof r.error_code, "upstream_error");
    return r;
}

/* Midnight UTC two days ago, so every row falls in one day. */
static int64_t base_ms(void)
{
    return ((int64_t)time(NULL) / 86400 - 2) * 86400 * 1000 + 3600 * 1000;
}

static struct gw_store *filled(const struct gw_store_opts *o, int64_t base)
{
    struct gw_store *s = fx_open(o);
    for (int i = 0; i < NROWS; i++) {
        struct gw_log_row r = mix(i, base);
        if (o && o->log_bodies) {
            r.request_body = "{\"model\":\"gpt-4o-mini\"}";
            r.request_body_len = strlen(r.request_body);
        }
        cr_assert_eq(gw_store_log_put(s, &r), 0);
    }
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    return s;
}

static int count_matching(int (*pred)(const struct gw_log_row *, const void *), const void *ud)
{
    int n = 0;
    for (int i = 0; i < NROWS; i++) {
        struct gw_log_row r = mix(i, 0);
        n += pred(&r, ud);
    }
    return n;
}

static int by_key(const struct gw_log_row *r, const void *k)
{
    return !strcmp(r->key_id, k);
}
static int by_provider(const struct gw_log_row *r, const void *p)
{
    return !strcmp(r->provider, p);
}
static int is_5xx(const struct gw_log_row *r, const void *u)
{
    (void)u;
    return r->status >= 500;
}
static int is_error(const struct gw_log_row *r, const void *u)
{
    (void)u;
    return r->status >= 400;
}

static int list_size(const struct answer *a)
{
    return cJSON_GetArraySize(field(a->doc, "data"));
}

Test(admin_logs, filters_select_exactly_the_matching_rows)
{
    struct gw_store *s = filled(NULL, base_ms());
    struct answer a;
    CALL(a, gw_admin_logs_handle, s, "GET", "?limit=1000");
    cr_assert_eq(a.status, 200);
    cr_assert_eq(list_size(&a), NROWS);
    cr_assert(cJSON_IsFalse(field(a.doc, "has_more")));
    answer_free(&a);

    CALL(a, gw_admin_logs_handle, s, "GET", "?key=keyBBBBBBBBB&limit=1000");
    cr_assert_eq(list_size(&a), count_matching(by_key, "keyBBBBBBBBB"));
    const cJSON *row;
    cJSON_ArrayForEach(row, field(a.doc, "data"))
        cr_assert_str_eq(field(row, "key_id")->valuestring, "keyBBBBBBBBB");
    answer_free(&a);

    CALL(a, gw_admin_logs_handle, s, "GET", "?provider=groq&limit=1000");
    cr_assert_eq(list_size(&a), count_matching(by_provider, "groq"));
    answer_free(&a);

    CALL(a, gw_admin_logs_handle, s, "GET", "?status=5xx&limit=1000");
    cr_assert_eq(list_size(&a), count_matching(is_5xx, NULL));
    cJSON_ArrayForEach(row, field(a.doc, "data")) cr_assert_eq(field(row, "status")->valueint, 502);
    answer_free(&a);

    CALL(a, gw_admin_logs_handle, s, "GET", "?status=error&limit=1000");
    cr_assert_eq(list_size(&a), count_matching(is_error, NULL));
    answer_free(&a);

    CALL(a, gw_admin_logs_handle, s, "GET", "?status=429");
    cJSON_ArrayForEach(row, field(a.doc, "data")) cr_assert_eq(field(row, "status")->valueint, 429);
    cr_assert_gt(list_size(&a), 0);
    answer_free(&a);

    /* a percent-encoded model name, matched against the model served */
    CALL(a, gw_admin_logs_handle, s, "GET", "?model=llama-3.1-8b&limit=1000");
    cr_assert_eq(list_size(&a), NROWS / 3);
    answer_free(&a);
    CALL(a, gw_admin_logs_handle, s, "GET", "?model=llama%2D3.1%2D8b&limit=1000");
    cr_assert_eq(list_size(&a), NROWS / 3);
    answer_free(&a);
    gw_store_close(s);
}

Test(admin_logs, since_and_until_bound_the_rows)
{
    int64_t base = base_ms();
    struct gw_store *s = filled(NULL, base);
    char q[200];
    /* rows 10..19 (unix ms on both ends; until is exclusive) */
    snprintf(q, sizeof q, "?since=%lld&until=%lld&limit=1000", (long long)(base + 10000),
             (long long)(base + 20000));
    struct answer a;
    CALL(a, gw_admin_logs_handle, s, "GET", q);
    cr_assert_eq(a.status, 200);
    cr_assert_eq(list_size(&a), 10);
    cr_assert_str_eq(field(cJSON_GetArrayItem(field(a.doc, "data"), 0), "request_id")->valuestring,
                     "req-0019");
    answer_free(&a);
    /* an ISO day that holds nothing */
    CALL(a, gw_admin_logs_handle, s, "GET", "?since=2001-01-01&until=2001-01-02T00:00:00Z");
    cr_assert_eq(a.status, 200);
    cr_assert_eq(list_size(&a), 0);
    answer_free(&a);
    gw_store_close(s);
}

Test(admin_logs, cursor_pages_cover_every_row_once)
{
    struct gw_store *s = filled(NULL, base_ms());
    char seen[NROWS] = {0}, path[300] = "?limit=7";
    int pages = 0, total = 0;
    int64_t prev_ts = INT64_MAX;
    for (;;) {
        struct answer a;
        CALL(a, gw_admin_logs_handle, s, "GET", path);
        cr_assert_eq(a.status, 200, "%s", a.text);
        cr_assert_leq(list_size(&a), 7);
        const cJSON *row;
        cJSON_ArrayForEach(row, field(a.doc, "data"))
        {
            int i = (int)strtol(field(row, "request_id")->valuestring + 4, NULL, 10);
            cr_assert(i >= 0 && i < NROWS && !seen[i], "row %d twice", i);
            seen[i] = 1;
            int64_t ts = (int64_t)field(row, "ts_ms")->valuedouble;
            cr_assert_lt(ts, prev_ts, "newest first");
            prev_ts = ts;
            total++;
        }
        pages++;
        const cJSON *next = field(a.doc, "next_cursor");
        int more = cJSON_IsTrue(field(a.doc, "has_more"));
        cr_assert_eq(more, cJSON_IsString(next));
        if (more)
            snprintf(path, sizeof path, "?limit=7&cursor=%s", next->valuestring);
        answer_free(&a);
        if (!more)
            break;
        cr_assert_lt(pages, 20);
    }
    cr_assert_eq(total, NROWS);
    cr_assert_eq(pages, (NROWS + 6) / 7);
    gw_store_close(s);
}

Test(admin_logs, bad_arguments_are_refused_and_name_the_parameter)
{
    struct gw_store *s = fx_open(NULL);
    static const struct {
        const char *path, *param;
    } cases[] = {
        {"?limit=1001", "limit"},       {"?limit=0", "limit"},
        {"?limit=ten", "limit"},        {"?status=abc", "status"},
        {"?status=6xx", "status"},      {"?since=yesterday", "since"},
        {"?until=2024-13-01", "until"}, {"?since=2024-02-01&until=2024-01-01", "until"},
        {"?cursor=%ZZ", "cursor"},      {"?cursor=not-a-cursor", "cursor"},
        {"?model=%00", "model"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct answer a;
        CALL(a, gw_admin_logs_handle, s, "GET", cases[i].path);
        cr_assert_eq(a.status, 400, "%s: %d %s", cases[i].path, a.status, a.text);
        const cJSON *p = field(field(a.doc, "error"), "param");
        cr_assert(cJSON_IsString(p) && !strcmp(p->valuestring, cases[i].param), "%s: %s",
                  cases[i].path, a.text);
        answer_free(&a);
    }
    struct answer a;
    CALL(a, gw_admin_logs_handle, s, "POST", "");
    cr_assert_eq(a.status, 405);
    answer_free(&a);
    CALL(a, gw_admin_logs_handle, s, "GET", "/a/b");
    cr_assert_eq(a.status, 404);
    answer_free(&a);
    CALL(a, gw_admin_logs_handle, NULL, "GET", "");
    cr_assert_eq(a.status, 503);
    answer_free(&a);
    gw_store_close(s);
}

Test(admin_logs, one_row_with_its_bodies_and_attacker_text_intact)
{
    struct gw_store_opts o = {.log_bodies = 1};
    struct gw_store *s = filled(&o, base_ms());
    struct answer a;
    CALL(a, gw_admin_logs_handle, s, "GET", "/req-0005");
    cr_assert_eq(a.status, 200, "%s", a.text);
    cr_assert_str_eq(field(a.doc, "request_id")->valuestring, "req-0005");
    /* the script travels as an escaped JSON string, byte for byte */
    cr_assert_str_eq(field(a.doc, "model_asked")->valuestring, XSS);
    cr_assert_str_eq(field(a.doc, "request_body")->valuestring, "{\"model\":\"gpt-4o-mini\"}");
    cr_assert_eq(field(a.doc, "input_tokens")->valueint, 105);
    cr_assert(cJSON_IsNull(field(a.doc, "reasoning_tokens")));
    cr_assert_float_eq(field(a.doc, "cost_usd")->valuedouble, 0.0006, 1e-12);
    answer_free(&a);
    CALL(a, gw_admin_logs_handle, s, "GET", "/req-0007");
    cr_assert(cJSON_IsNull(field(a.doc, "cost_usd")), "unknown cost is null, not 0");
    cr_assert(cJSON_IsNull(field(a.doc, "ttfb_ms")));
    cr_assert_str_eq(field(a.doc, "error_code")->valuestring, "upstream_error");
    answer_free(&a);
    CALL(a, gw_admin_logs_handle, s, "GET", "/req-9999");
    cr_assert_eq(a.status, 404);
    answer_free(&a);
    gw_store_close(s);
}

Test(admin_logs, usage_totals_equal_the_sum_of_the_rows)
{
    struct gw_store *s = filled(NULL, base_ms());
    static const char *const groups[] = {"key", "model", "provider", "day"};
    for (size_t g = 0; g < 4; g++) {
        char path[64];
        snprintf(path, sizeof path, "?group_by=%s", groups[g]);
        struct answer a;
        CALL(a, gw_admin_usage_handle, s, "GET", path);
        cr_assert_eq(a.status, 200, "%s", a.text);
        cr_assert_str_eq(field(a.doc, "group_by")->valuestring, groups[g]);
        double req = 0, in = 0, out = 0, cost = 0, err = 0;
        const cJSON *row;
        cJSON_ArrayForEach(row, field(a.doc, "data"))
        {
            req += field(row, "requests")->valuedouble;
            in += field(row, "input_tokens")->valuedouble;
            out += field(row, "output_tokens")->valuedouble;
            cost += field(row, "cost_usd")->valuedouble;
            err += field(row, "errors")->valuedouble;
        }
        const cJSON *t = field(a.doc, "total");
        cr_assert_float_eq(field(t, "requests")->valuedouble, req, 1e-9);
        cr_assert_float_eq(field(t, "input_tokens")->valuedouble, in, 1e-9);
        cr_assert_float_eq(field(t, "output_tokens")->valuedouble, out, 1e-9);
        cr_assert_float_eq(field(t, "cost_usd")->valuedouble, cost, 1e-9);
        cr_assert_float_eq(field(t, "errors")->valuedouble, err, 1e-9);
        /* and the totals are the rows' own sums */
        double want_in = 0, want_out = 0, want_cost = 0, want_err = 0;
        for (int i = 0; i < NROWS; i++) {
            struct gw_log_row r = mix(i, 0);
            want_in += (double)r.input_tokens;
            want_out += (double)r.output_tokens;
            want_cost += r.cost_usd > 0 ? r.cost_usd : 0;
            want_err += r.status >= 400;
        }
        cr_assert_float_eq(req, NROWS, 1e-9);
        cr_assert_float_eq(in, want_in, 1e-9);
        cr_assert_float_eq(out, want_out, 1e-9);
        cr_assert_float_eq(cost, want_cost, 1e-9);
        cr_assert_float_eq(err, want_err, 1e-9);
        cr_assert_float_eq(field(t, "error_rate")->valuedouble, want_err / NROWS, 1e-9);
        cr_assert(cJSON_IsNumber(field(t, "latency_p95_ms")));
        cr_assert_geq(field(t, "latency_p95_ms")->valuedouble,
                      field(t, "latency_p50_ms")->valuedouble);
        answer_free(&a);
    }
    struct answer a;
    CALL(a, gw_admin_usage_handle, s, "GET", "?group_by=team");
    cr_assert_eq(a.status, 400);
    answer_free(&a);
    CALL(a, gw_admin_usage_handle, s, "GET", "?group_by=day&since=2001-01-01&until=2001-01-03");
    cr_assert_eq(a.status, 200);
    cr_assert_eq(list_size(&a), 0);
    cr_assert_eq(field(field(a.doc, "total"), "requests")->valueint, 0);
    answer_free(&a);
    CALL(a, gw_admin_usage_handle, s, "GET", "?group_by=key&key=keyAAAAAAAAA");
    cr_assert_eq(list_size(&a), 1);
    cr_assert_eq(field(field(a.doc, "total"), "requests")->valueint,
                 count_matching(by_key, "keyAAAAAAAAA"));
    answer_free(&a);
    gw_store_close(s);
}

Test(admin_logs, times_parse_in_every_documented_form)
{
    int64_t ms;
    cr_assert_eq(gw_admin_parse_time("1700000000", &ms), 0);
    cr_assert_eq(ms, 1700000000000LL);
    cr_assert_eq(gw_admin_parse_time("1700000000123", &ms), 0);
    cr_assert_eq(ms, 1700000000123LL);
    cr_assert_eq(gw_admin_parse_time("2024-03-01", &ms), 0);
    cr_assert_eq(ms, 1709251200000LL);
    cr_assert_eq(gw_admin_parse_time("2024-03-01T12:30Z", &ms), 0);
    cr_assert_eq(ms, 1709251200000LL + 45000000LL);
    cr_assert_eq(gw_admin_parse_time("2024-03-01T12:30:15", &ms), 0);
    cr_assert_eq(ms, 1709251200000LL + 45015000LL);
    static const char *const bad[] = {"",
                                      "2024-3-1",
                                      "2024-03-01T25:00",
                                      "2024-03-01X",
                                      "-5",
                                      "2024-03-01T12:30:15+02:00",
                                      "12345678901234567"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(gw_admin_parse_time(bad[i], &ms), -1, "%s", bad[i]);
    char v[8];
    cr_assert_eq(gw_admin_query_arg("a=1&b=x%20y+z", "b", v, sizeof v), 1);
    cr_assert_str_eq(v, "x y z");
    cr_assert_eq(gw_admin_query_arg("a=1", "b", v, sizeof v), 0);
    cr_assert_eq(gw_admin_query_arg("b=12345678", "b", v, sizeof v), -1);
    cr_assert_eq(gw_admin_query_arg("b=%4", "b", v, sizeof v), -1);
    cr_assert_eq(gw_admin_query_arg("ab=1&b=2", "b", v, sizeof v), 1);
    cr_assert_str_eq(v, "2");
}

/* One key asking for a new made-up model name per request makes as many groups as requests.
 * The report must still answer: the busiest groups, flagged as cut, and exact totals. */
Test(admin_logs, usage_with_more_groups_than_shown_keeps_the_busiest_and_exact_totals)
{
    struct gw_store *s = fx_open(NULL);
    long long day = (long long)time(NULL) / 86400 - 1;
    char sql[512];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 70000)"
             " INSERT INTO aigw_usage_daily SELECT %lld, 'keyAAAAAAAAA', 'made-up-' || i,"
             " 'openai', 1, 1, 2, 3, 0, 0, 5, 0 FROM n",
             day);
    cr_assert_eq(fx_sql(sql), 0);
    snprintf(sql, sizeof sql,
             "INSERT INTO aigw_usage_daily VALUES (%lld, 'keyBBBBBBBBB', 'gpt-4o-mini', 'openai',"
             " 1000, 0, 10, 10, 0, 0, 1000000, 0)",
             day);
    cr_assert_eq(fx_sql(sql), 0);
    struct answer a;
    CALL(a, gw_admin_usage_handle, s, "GET", "?group_by=model");
    cr_assert_eq(a.status, 200, "%.300s", a.text);
    cr_assert(cJSON_IsTrue(field(a.doc, "truncated")), "the cut is said");
    int n = list_size(&a), busiest = 0;
    cr_assert(n > 0 && n < 70001, "%d groups", n);
    const cJSON *row, *prev = NULL;
    cJSON_ArrayForEach(row, field(a.doc, "data"))
    {
        busiest |= !strcmp(field(row, "group")->valuestring, "gpt-4o-mini");
        if (prev)
            cr_assert_lt(
                strcmp(field(prev, "group")->valuestring, field(row, "group")->valuestring), 0,
                "still in group order");
        prev = row;
    }
    cr_assert(busiest, "the busiest group is among those shown");
    const cJSON *t = field(a.doc, "total");
    cr_assert_eq(field(t, "requests")->valuedouble, 71000, "totals count every group");
    cr_assert_eq(field(t, "errors")->valuedouble, 70000);
    cr_assert_eq(field(t, "input_tokens")->valuedouble, 140010);
    answer_free(&a);
    CALL(a, gw_admin_usage_handle, s, "GET", "?group_by=key");
    cr_assert_eq(a.status, 200);
    cr_assert(cJSON_IsFalse(field(a.doc, "truncated")));
    cr_assert_eq(list_size(&a), 2);
    answer_free(&a);
    gw_store_close(s);
}
