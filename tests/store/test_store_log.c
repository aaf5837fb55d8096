/* Store contract: the request log, its rollups, retention and the bounded queue. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/redact.h"
#include "store/fixture.h"
#include "store/store.h"
#include "store/store_int.h"

TestSuite(store_log, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

static const char *const keys[] = {"keyAAAAAAAAA", "keyBBBBBBBBB"};
static const char *const models[] = {"gpt-4o-mini", "claude-3-5-haiku", "llama-3.1-8b"};
static const char *const providers[] = {"openai", "anthropic", "groq"};

/* Row i of a deterministic mix: keys, models, providers, errors, streams, caches. */
static struct gw_log_row mix(int i, int64_t base_ms)
{
    struct gw_log_row r = {0};
    r.ts_ms = base_ms + i * 1000;
    snprintf(r.request_id, sizeof r.request_id, "req-%04d", i);
    snprintf(r.key_id, sizeof r.key_id, "%s", keys[i % 2]);
    snprintf(r.dialect, sizeof r.dialect, "%s", i % 4 == 3 ? "anthropic" : "openai");
    snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
    snprintf(r.model_asked, sizeof r.model_asked, "%s", models[i % 3]);
    snprintf(r.model_served, sizeof r.model_served, "%s", models[i % 3]);
    snprintf(r.provider, sizeof r.provider, "%s", providers[i % 3]);
    r.attempts = 1 + (i % 5 == 0);
    if (r.attempts > 1)
        snprintf(r.failures, sizeof r.failures, "groq:timeout");
    r.status = i % 7 == 0 ? 502 : i % 11 == 0 ? 429 : 200;
    r.stream = i % 2;
    r.input_tokens = 100 + i;
    r.output_tokens = r.status == 200 ? 10 + i : 0;
    r.cached_tokens = i % 3 == 0 ? 50 : 0;
    r.reasoning_tokens = i % 3 == 1 ? 4 : 0;
    r.cost_usd = r.status == 200 ? 0.0001 * (i + 1) : (i % 2 ? -1 : 0);
    r.latency_ms = 40 + 13 * i;
    r.ttfb_ms = r.status == 200 ? 20 + i : -1;
    r.cache_hit = i % 9 == 0;
    snprintf(r.guardrail, sizeof r.guardrail, "%s", i % 13 == 0 ? "blocked:pii" : "");
    if (r.status != 200)
        snprintf(r.error_code, sizeof r.error_code, "%s",
                 r.status == 502 ? "upstream_error" : "rate_limit_exceeded");
    return r;
}

#define NROWS 60

static void put_mix(struct gw_store *s, int64_t base)
{
    for (int i = 0; i < NROWS; i++) {
        struct gw_log_row r = mix(i, base);
        cr_assert_eq(gw_store_log_put(s, &r), 0);
    }
    cr_assert_eq(gw_store_flush(s, 10000), 0);
}

static size_t count(struct gw_store *s, struct gw_log_query q)
{
    struct gw_log_page p;
    q.limit = 1000;
    cr_assert_eq(gw_store_log_query(s, &q, &p), 0);
    size_t n = p.n;
    cr_assert_str_empty(p.next_cursor);
    gw_log_page_free(&p);
    return n;
}

Test(store_log, rows_come_back_whole_and_filtered)
{
    struct gw_store *s = fx_open(NULL);
    int64_t base = 1700000000000;
    put_mix(s, base);
    struct gw_log_row want = mix(22, base), got;
    cr_assert_eq(gw_store_log_get(s, "req-0022", &got), 0);
    cr_assert_eq(got.ts_ms, want.ts_ms);
    cr_assert_str_eq(got.key_id, want.key_id);
    cr_assert_str_eq(got.dialect, want.dialect);
    cr_assert_str_eq(got.endpoint, want.endpoint);
    cr_assert_str_eq(got.model_served, want.model_served);
    cr_assert_str_eq(got.provider, want.provider);
    cr_assert_eq(got.status, 429);
    cr_assert_str_eq(got.error_code, "rate_limit_exceeded");
    cr_assert_eq(got.stream, 0);
    cr_assert_eq(got.input_tokens, 122);
    cr_assert_float_eq(got.cost_usd, want.cost_usd, 1e-12);
    cr_assert_eq(got.latency_ms, want.latency_ms);
    cr_assert_eq(got.ttfb_ms, -1);
    cr_assert_null(got.request_body, "bodies are off by default");
    gw_log_row_free(&got);
    cr_assert_eq(gw_store_log_get(s, "req-0035", &got), 0);
    cr_assert_eq(got.attempts, 2);
    cr_assert_str_eq(got.failures, "groq:timeout");
    cr_assert_float_eq(got.cost_usd, -1, 1e-12, "an unknown cost stays unknown");
    gw_log_row_free(&got);
    cr_assert_eq(gw_store_log_get(s, "nope", &got), GW_STORE_ENOTFOUND);

    int n_key = 0, n_model = 0, n_prov = 0, n_err = 0, n_429 = 0, n_window = 0;
    for (int i = 0; i < NROWS; i++) {
        struct gw_log_row r = mix(i, base);
        n_key += !strcmp(r.key_id, keys[1]);
        n_model += !strcmp(r.model_served, models[2]);
        n_prov += !strcmp(r.provider, providers[1]);
        n_err += r.status >= 400;
        n_429 += r.status == 429;
        n_window += r.ts_ms >= base + 10000 && r.ts_ms < base + 25000;
    }
    cr_assert_eq(count(s, (struct gw_log_query){0}), NROWS);
    cr_assert_eq(count(s, (struct gw_log_query){.key_id = keys[1]}), (size_t)n_key);
    cr_assert_eq(count(s, (struct gw_log_query){.model = models[2]}), (size_t)n_model);
    cr_assert_eq(count(s, (struct gw_log_query){.provider = providers[1]}), (size_t)n_prov);
    cr_assert_eq(count(s, (struct gw_log_query){.status_min = 400}), (size_t)n_err);
    cr_assert_eq(count(s, (struct gw_log_query){.status_min = 429, .status_max = 429}),
                 (size_t)n_429);
    cr_assert_eq(
        count(s, (struct gw_log_query){.since_ms = base + 10000, .until_ms = base + 25000}),
        (size_t)n_window);
    gw_store_close(s);
}

Test(store_log, cursor_pages_cover_every_row_once_newest_first)
{
    struct gw_store *s = fx_open(NULL);
    int64_t base = 1700000000000;
    put_mix(s, base);
    /* two rows in the same millisecond: the cursor must still separate them */
    struct gw_log_row twin = mix(59, base);
    snprintf(twin.request_id, sizeof twin.request_id, "req-0059b");
    cr_assert_eq(gw_store_log_put(s, &twin), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    unsigned char seen[NROWS + 1] = {0};
    char cursor[128] = "";
    int64_t last_ts = INT64_MAX;
    size_t total = 0;
    for (int pages = 0; pages < 20; pages++) {
        struct gw_log_page p;
        struct gw_log_query q = {.cursor = cursor, .limit = 7};
        cr_assert_eq(gw_store_log_query(s, &q, &p), 0);
        for (size_t i = 0; i < p.n; i++) {
            cr_assert_leq(p.rows[i].ts_ms, last_ts);
            last_ts = p.rows[i].ts_ms;
            int idx = !strcmp(p.rows[i].request_id, "req-0059b")
                          ? NROWS
                          : (int)strtol(p.rows[i].request_id + 4, NULL, 10);
            cr_assert_eq(seen[idx], 0, "row %s twice", p.rows[i].request_id);
            seen[idx] = 1;
        }
        total += p.n;
        snprintf(cursor, sizeof cursor, "%s", p.next_cursor);
        gw_log_page_free(&p);
        if (!cursor[0])
            break;
    }
    cr_assert_eq(total, NROWS + 1);
    struct gw_log_page p;
    cr_assert_eq(gw_store_log_query(s, &(struct gw_log_query){.cursor = "garbage"}, &p),
                 AIGW_EINVAL);
    cr_assert_eq(gw_store_log_query(s, &(struct gw_log_query){.limit = 1001}, &p), AIGW_EINVAL);
    gw_store_close(s);
}

Test(store_log, usage_totals_equal_the_rows)
{
    struct gw_store *s = fx_open(NULL);
    int64_t base = 1700000000000;
    /* 30 s before midnight UTC (2023-11-15): the rows span two days */
    put_mix(s, 1700006400000 - 30000);
    put_mix(s, base); /* the same ids again: nothing may count twice */
    for (int g = GW_USAGE_KEY; g <= GW_USAGE_DAY; g++) {
        struct gw_usage_report rep;
        struct gw_usage_query q = {.group_by = (enum gw_usage_group)g};
        cr_assert_eq(gw_store_usage(s, &q, &rep), 0);
        int64_t req = 0, err = 0, in = 0, out = 0, nusd = 0, hits = 0;
        for (int i = 0; i < NROWS; i++) {
            struct gw_log_row r = mix(i, base);
            req++;
            err += r.status >= 400;
            hits += r.cache_hit;
            if (r.cache_hit)
                continue; /* replayed usage: no upstream spent it (aigw(8), /admin/usage) */
            in += r.input_tokens;
            out += r.output_tokens;
            nusd += r.cost_usd < 0 ? 0 : (int64_t)(r.cost_usd * 1e9 + 0.5);
        }
        int64_t sreq = 0, sin = 0;
        for (size_t i = 0; i < rep.n; i++) {
            sreq += rep.rows[i].requests;
            sin += rep.rows[i].input_tokens;
        }
        cr_assert_eq(sreq, req, "group %d", g);
        cr_assert_eq(sin, in);
        cr_assert_eq(rep.total.requests, req);
        cr_assert_eq(rep.total.errors, err);
        cr_assert_eq(rep.total.output_tokens, out);
        cr_assert_eq(rep.total.cache_hits, hits);
        cr_assert_float_eq(rep.total.cost_usd, nusd / 1e9, 1e-9);
        cr_assert_float_eq(rep.total.error_rate, (double)err / req, 1e-9);
        if (g == GW_USAGE_KEY)
            cr_assert_eq(rep.n, 2);
        if (g == GW_USAGE_MODEL || g == GW_USAGE_PROVIDER)
            cr_assert_eq(rep.n, 3);
        if (g == GW_USAGE_DAY) {
            cr_assert_eq(rep.n, 2);
            cr_assert_str_eq(rep.rows[0].group, "2023-11-14");
            cr_assert_eq(rep.rows[0].requests, 30);
            cr_assert_str_eq(rep.rows[1].group, "2023-11-15");
        }
        gw_usage_report_free(&rep);
    }
    /* latency percentiles land in the bucket of the true value */
    struct gw_usage_report rep;
    cr_assert_eq(gw_store_usage(s, &(struct gw_usage_query){.group_by = GW_USAGE_DAY}, &rep), 0);
    /* latencies 40 + 13i for i < 60: the median is ~430 ms, the 95th ~780 ms */
    cr_assert(rep.total.latency_p50_ms > 300 && rep.total.latency_p50_ms <= 500, "%f",
              rep.total.latency_p50_ms);
    cr_assert(rep.total.latency_p95_ms > 750 && rep.total.latency_p95_ms <= 1000, "%f",
              rep.total.latency_p95_ms);
    cr_assert(rep.total.ttfb_p50_ms > 25 && rep.total.ttfb_p50_ms <= 100);
    gw_usage_report_free(&rep);
    /* a key filter and a window outside the data */
    struct gw_usage_query q = {.group_by = GW_USAGE_MODEL, .key_id = keys[0]};
    cr_assert_eq(gw_store_usage(s, &q, &rep), 0);
    cr_assert_eq(rep.total.requests, NROWS / 2);
    gw_usage_report_free(&rep);
    q = (struct gw_usage_query){.group_by = GW_USAGE_KEY, .since_ms = base + 5LL * 86400000};
    cr_assert_eq(gw_store_usage(s, &q, &rep), 0);
    cr_assert_eq(rep.n, 0);
    cr_assert_eq(rep.total.requests, 0);
    cr_assert_float_eq(rep.total.latency_p50_ms, -1, 1e-9);
    gw_usage_report_free(&rep);
    gw_store_close(s);
}

Test(store_log, bodies_only_when_asked_capped_and_redacted)
{
    gw_redact_register("sk-LIVE-CANARY-5531");
    struct gw_store_opts o = {.log_bodies = 1, .log_body_cap = 64};
    struct gw_store *s = fx_open(&o);
    struct gw_log_row r = mix(1, 1700000000000);
    char req[200];
    snprintf(req, sizeof req, "{\"messages\":\"key sk-LIVE-CANARY-5531 here\",\"pad\":\"%080d\"}",
             0);
    r.request_body = req;
    r.request_body_len = strlen(req);
    r.response_body = "{\"ok\":true}";
    r.response_body_len = 11;
    cr_assert_eq(gw_store_log_put(s, &r), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    struct gw_log_row got;
    cr_assert_eq(gw_store_log_get(s, r.request_id, &got), 0);
    cr_assert_not_null(got.request_body);
    cr_assert_null(strstr(got.request_body, "CANARY"), "%s", got.request_body);
    cr_assert(strstr(got.request_body, GW_REDACTED), "%s", got.request_body);
    cr_assert_leq(got.request_body_len, 64 + sizeof GW_REDACTED);
    cr_assert_str_eq(got.response_body, "{\"ok\":true}");
    gw_log_row_free(&got);
    gw_store_close(s);
    gw_redact_reset();
}

Test(store_log, bad_text_is_stored_cleaned)
{
    struct gw_store *s = fx_open(NULL);
    struct gw_log_row r = mix(2, 1700000000000);
    snprintf(r.model_asked, sizeof r.model_asked, "gpt\xff\xfe-x\x01");
    snprintf(r.error_code, sizeof r.error_code, "\xc3");
    /* control bytes before and after valid UTF-8, a tab kept; and plain ASCII with one */
    snprintf(r.guardrail, sizeof r.guardrail,
             "a\x02\tb\xc3\xa9"
             "c\x03\xe2\x82\xac");
    snprintf(r.failures, sizeof r.failures, "groq:timeout\x1f; openai:503\n");
    cr_assert_eq(gw_store_log_put(s, &r), 0);
    struct gw_log_row none = {0};
    cr_assert_eq(gw_store_log_put(s, &none), AIGW_EINVAL);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    struct gw_log_row got;
    cr_assert_eq(gw_store_log_get(s, r.request_id, &got), 0);
    cr_assert_str_eq(got.model_asked, "gpt?"
                                      "?-x?");
    cr_assert_str_eq(got.error_code, "?");
    cr_assert_str_eq(got.guardrail, "a?\tb\xc3\xa9"
                                    "c?\xe2\x82\xac");
    cr_assert_str_eq(got.failures, "groq:timeout?; openai:503?");
    gw_log_row_free(&got);
    gw_store_close(s);
}

Test(store_log, retention_deletes_old_rows_and_keeps_rollups)
{
    struct gw_store_opts o = {.log_retention_days = 2};
    struct gw_store *s = fx_open(&o);
    int64_t now = (int64_t)time(NULL) * 1000;
    put_mix(s, now - 5LL * 86400000);
    struct gw_log_row fresh = mix(0, now);
    snprintf(fresh.request_id, sizeof fresh.request_id, "fresh");
    cr_assert_eq(gw_store_log_put(s, &fresh), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    cr_assert_eq(gw_store_run_retention(s, now), 0);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log"), 1);
    struct gw_log_row got;
    cr_assert_eq(gw_store_log_get(s, "fresh", &got), 0);
    gw_log_row_free(&got);
    struct gw_usage_report rep;
    cr_assert_eq(gw_store_usage(s, &(struct gw_usage_query){.group_by = GW_USAGE_KEY}, &rep), 0);
    cr_assert_eq(rep.total.requests, NROWS + 1);
    gw_usage_report_free(&rep);
    gw_store_close(s);
}

Test(store_log, a_full_queue_drops_oldest_and_never_blocks)
{
    struct gw_store_opts o = {.log_queue_rows = 50};
    struct gw_store *s = fx_open(&o);
    put_mix(s, 1700000000000); /* tables exist and are warm */
    fx_block_writes();
    long long worst = 0;
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        struct gw_log_row r = mix(i % NROWS, 1700000000000);
        snprintf(r.request_id, sizeof r.request_id, "burst-%d", i);
        long long t0 = fx_now_ms();
        refused += gw_store_log_put(s, &r) != 0;
        long long dt = fx_now_ms() - t0;
        worst = dt > worst ? dt : worst;
    }
    cr_assert_eq(refused, 0);
    struct gw_store_stats st;
    gw_store_stats(s, &st);
    cr_assert_lt(worst, 1000, "a put waited %lld ms", worst);
    /* the queue plus one batch the writer may hold: never the whole burst */
    cr_assert_leq(st.queued, 50 + 500);
    cr_assert_geq(st.log_dropped, 3000 - 50 - 500);
    fx_unblock_writes();
    cr_assert_eq(gw_store_flush(s, 30000), 0);
    gw_store_stats(s, &st);
    cr_assert_eq(st.log_written + st.log_dropped, 3000 + NROWS);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log"), (long long)st.log_written);
    /* the newest rows are the ones kept */
    struct gw_log_row got;
    cr_assert_eq(gw_store_log_get(s, "burst-2999", &got), 0);
    gw_log_row_free(&got);
    gw_store_close(s);
}

struct batch {
    struct store_log **items;
    size_t n;
};

static int write_batch(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    struct batch *b = ctx;
    int64_t deadline = gw_store_mono_ms() + 10000;
    int rc = gw_sql_tx(s, c, "begin", deadline);
    if (!rc)
        rc = gw_store_write_logs(s, c, b->items, b->n, deadline);
    if (!rc)
        rc = gw_sql_tx(s, c, "commit", deadline);
    if (rc)
        gw_sql_tx(s, c, "rollback", deadline);
    return rc;
}

/* Batches of every size the writer's statement shapes split differently (1, 2, 4, ... 32
 * rows a statement), each written as one batch, with the same request id twice in one batch
 * (in one statement and across two) and again in a later batch: every row lands once, with
 * the values of its first copy, and the rollups count exactly the rows inserted. */
Test(store_log, any_batch_size_writes_every_row_once_and_counts_it_once)
{
    struct gw_store *s = fx_open(NULL);
    static const size_t sizes[] = {1, 2, 3, 5, 31, 32, 33, 37, 63, 64, 65, 100, 257, 600};
    int64_t base = 1700000000000, want_in = 0, want_out = 0, want_log_in = 0;
    int next = 0, unique = 0;
    static char own[2000]; /* own[i]: row i went in under its own id, "batch-<i>" */
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        struct batch b = {calloc(sizes[k], sizeof *b.items), sizes[k]};
        cr_assert_not_null(b.items);
        for (size_t i = 0; i < b.n; i++) {
            struct gw_log_row r = mix(next, base);
            snprintf(r.request_id, sizeof r.request_id, "batch-%06d", next);
            /* the id of a row 1 back (the same statement, or the one before), 19 back (an
             * earlier statement) or of the batch before */
            int back = i >= 1 && i % 3 == 0 ? 1 : i == 20 && b.n > 40 ? 19 : i == 2 && k ? 5 : 0;
            int dup = back != 0;
            if (dup) {
                int j = next - back;
                while (!own[j])
                    j--;
                snprintf(r.request_id, sizeof r.request_id, "batch-%06d", j);
            }
            own[next] = !dup;
            r.input_tokens = dup ? 1000000 : 1 + next % 17; /* a counted copy would show */
            if (!dup) {
                unique++;
                want_log_in += r.input_tokens;
                want_in += r.cache_hit ? 0 : r.input_tokens; /* a hit's: nobody's spend */
                want_out += r.cache_hit ? 0 : r.output_tokens;
            }
            b.items[i] = gw_store_log_item(s, &r);
            cr_assert_not_null(b.items[i]);
            next++;
        }
        cr_assert_eq(gw_store_call(s, write_batch, &b), 0, "batch of %zu", b.n);
        for (size_t i = 0; i < b.n; i++)
            gw_store_log_free_item(b.items[i]);
        free(b.items);
        cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log"), unique, "after %zu", sizes[k]);
        cr_assert_eq(fx_sql_int("SELECT SUM(requests) FROM aigw_usage_daily"), unique);
    }
    cr_assert_eq(fx_sql_int("SELECT SUM(input_tokens) FROM aigw_log"), want_log_in);
    cr_assert_eq(fx_sql_int("SELECT SUM(input_tokens) FROM aigw_usage_daily"), want_in);
    cr_assert_eq(fx_sql_int("SELECT SUM(output_tokens) FROM aigw_usage_daily"), want_out);
    cr_assert_eq(fx_sql_int("SELECT SUM(n) FROM aigw_usage_hist WHERE kind = 0"), unique);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log WHERE input_tokens = 1000000"), 0);
    gw_store_close(s);
}

/* The writer lets rows gather before a transaction, but a lone row, with nobody flushing,
 * still lands (within STORE_LINGER_LOG_MS, give or take the scheduler), and so does a trickle. */
Test(store_log, a_lone_row_lands_without_a_flush)
{
    struct gw_store *s = fx_open(NULL);
    struct gw_log_row r = mix(1, 1700000000000);
    cr_assert_eq(gw_store_log_put(s, &r), 0);
    int ok;
    FX_WAIT(ok, fx_sql_int("SELECT COUNT(*) FROM aigw_log") == 1, 5000);
    cr_assert(ok, "a queued row was never written");
    for (int i = 2; i < 5; i++) {
        r = mix(i, 1700000000000);
        cr_assert_eq(gw_store_log_put(s, &r), 0);
        FX_WAIT(ok, fx_sql_int("SELECT COUNT(*) FROM aigw_log") == i, 5000);
        cr_assert(ok, "row %d was never written", i);
    }
    gw_store_close(s);
}

/* Log rows linger long (nobody outside reads them before a flush); an op queued behind them
 * (a ledger row, a stored response another replica may read) cuts the wait to its own. */
Test(store_log, an_op_cuts_the_logs_linger_short)
{
    cr_assert_eq(gw_store_linger_until(0, 0, 0, 0), INT64_MAX);
    cr_assert_eq(gw_store_linger_until(3, 1000, 0, 0), 1000 + STORE_LINGER_LOG_MS);
    cr_assert_eq(gw_store_linger_until(0, 0, 1, 1100), 1100 + STORE_LINGER_OPS_MS);
    cr_assert_eq(gw_store_linger_until(3, 1000, 1, 1100), 1100 + STORE_LINGER_OPS_MS);
    /* an op older than the logs' deadline allows: the op's own deadline */
    cr_assert_eq(gw_store_linger_until(3, 1000, 1, 900), 900 + STORE_LINGER_OPS_MS);
    cr_assert_gt(STORE_LINGER_LOG_MS, STORE_LINGER_OPS_MS);
}

static long long model_index_count(void)
{
    return fx_sql_int(strcmp(fx_backend, "sqlite")
                          ? "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'aigw_log_model'"
                          : "SELECT COUNT(*) FROM sqlite_master WHERE name = 'aigw_log_model'");
}

/* Schema step 2 on a database made by step 1 (the model index still there): the index goes,
 * every row stays, and the model filter answers as before. */
Test(store_log, a_version_1_database_migrates_and_keeps_its_rows)
{
    struct gw_store *s = fx_open(NULL);
    int64_t base = 1700000000000;
    put_mix(s, base);
    size_t by_model = count(s, (struct gw_log_query){.model = models[1]});
    gw_store_close(s);
    cr_assert_eq(model_index_count(), 0);
    cr_assert_eq(fx_sql("CREATE INDEX aigw_log_model ON aigw_log (model_served, ts_ms)"), 0);
    cr_assert_eq(fx_sql("UPDATE aigw_schema SET version = 1"), 0);
    cr_assert_eq(model_index_count(), 1);
    s = fx_open(NULL);
    cr_assert_eq(fx_sql_int("SELECT version FROM aigw_schema"), STORE_SCHEMA_VERSION);
    cr_assert_eq(model_index_count(), 0);
    cr_assert_eq(count(s, (struct gw_log_query){0}), NROWS);
    cr_assert_eq(count(s, (struct gw_log_query){.model = models[1]}), by_model);
    cr_assert_eq(by_model, NROWS / 3);
    gw_store_close(s);
}
