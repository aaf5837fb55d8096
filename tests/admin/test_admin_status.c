/* The admin API's providers and config views. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_status.h"
#include "admin/answer.h"
#include "store/fixture.h"

TestSuite(admin_status, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

Test(admin_status, providers_show_breakers_latency_and_recent_errors)
{
    struct gw_plugin p[2];
    memset(p, 0, sizeof p);
    p[0].desc.vkey = "openai";
    p[0].desc.name = "OpenAI";
    p[0].active = 1;
    p[1].desc.vkey = "groq";
    p[1].desc.name = "Groq";
    snprintf(p[1].why, sizeof p[1].why, "missing GROQ_API_KEY");
    struct gw_plugin *items[2] = {&p[0], &p[1]};
    struct gw_plugins ps = {.items = items, .n = 2};

    struct gw_router r;
    memset(&r, 0, sizeof r);
    snprintf(r.strategy_name, sizeof r.strategy_name, "fallback");
    r.breaker.threshold = 2;
    r.breaker.cooldown_ms = 60000;
    cr_assert_eq(gw_tstats_new(&r.stats, 16, 8, 1), 0);
    int64_t now = gw_mono_ms();
    struct gw_tstat *good = gw_tstats_get(r.stats, &p[0], "gpt-4o-mini", 1);
    struct gw_tstat *bad = gw_tstats_get(r.stats, &p[0], "gpt-4o", 1);
    gw_tstat_add_latency(r.stats, good, 120);
    gw_breaker_record(&bad->breaker, &r.breaker, GW_BREAKER_FAILURE, now);
    gw_breaker_record(&bad->breaker, &r.breaker, GW_BREAKER_FAILURE, now);

    struct gw_store *s = fx_open(NULL);
    for (int i = 0; i < 4; i++) {
        struct gw_log_row row = {0};
        snprintf(row.request_id, sizeof row.request_id, "r%d", i);
        snprintf(row.provider, sizeof row.provider, "openai");
        snprintf(row.model_served, sizeof row.model_served, "gpt-4o");
        row.status = i == 0 ? 503 : 200;
        row.latency_ms = 100;
        row.ttfb_ms = 50;
        row.input_tokens = row.output_tokens = 1;
        cr_assert_eq(gw_store_log_put(s, &row), 0);
    }
    cr_assert_eq(gw_store_flush(s, 10000), 0);

    struct answer a;
    CALL(a, gw_admin_providers_handle, &ps, &r, s, "GET", "");
    cr_assert_eq(a.status, 200, "%s", a.text);
    cr_assert_str_eq(field(a.doc, "strategy")->valuestring, "fallback");
    const cJSON *data = field(a.doc, "data");
    cr_assert_eq(cJSON_GetArraySize(data), 2);
    const cJSON *oa = cJSON_GetArrayItem(data, 0), *gq = cJSON_GetArrayItem(data, 1);
    cr_assert_str_eq(field(oa, "provider")->valuestring, "openai");
    cr_assert(cJSON_IsTrue(field(oa, "active")));
    cr_assert_str_eq(field(oa, "breaker")->valuestring, "open", "worst target wins");
    int seen_open = 0, seen_lat = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, field(oa, "targets"))
    {
        const char *m = field(t, "model")->valuestring;
        if (!strcmp(m, "gpt-4o")) {
            cr_assert_str_eq(field(t, "breaker")->valuestring, "open");
            cr_assert_gt(field(t, "retry_in_ms")->valuedouble, 0);
            seen_open = 1;
        } else if (!strcmp(m, "gpt-4o-mini")) {
            cr_assert_str_eq(field(t, "breaker")->valuestring, "closed");
            cr_assert_eq(field(t, "latency_p50_ms")->valueint, 120);
            seen_lat = 1;
        }
    }
    cr_assert(seen_open && seen_lat);
    const cJSON *recent = field(oa, "recent");
    cr_assert_eq(field(recent, "requests")->valueint, 4);
    cr_assert_float_eq(field(recent, "error_rate")->valuedouble, 0.25, 1e-9);
    cr_assert(cJSON_IsFalse(field(gq, "active")));
    cr_assert_str_eq(field(gq, "inactive_reason")->valuestring, "missing GROQ_API_KEY");
    cr_assert(cJSON_IsNull(field(gq, "recent")));
    cr_assert_str_eq(field(gq, "breaker")->valuestring, "closed");
    answer_free(&a);

    CALL(a, gw_admin_providers_handle, &ps, &r, NULL, "DELETE", "");
    cr_assert_eq(a.status, 405);
    answer_free(&a);
    gw_store_close(s);
    gw_tstats_free(r.stats);
}

static const char *at(const cJSON *root, const char *a, const char *b)
{
    const cJSON *v = field(root, a);
    if (b)
        v = field(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(admin_status, config_is_effective_and_shows_no_secret)
{
    char path[] = "/tmp/aigw-admin-cfg-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *text =
        "{ // comments allowed\n"
        "  \"threads\": 3,\n"
        "  \"timeouts\": {\"idle_ms\": 5000},\n"
        "  \"metrics\": {\"token\": \"scrape-SECRET-1\"},\n"
        "  \"store\": {\"url\": \"postgres://aigw:pg-SECRET-2@db.internal:5432/aigw\"},\n"
        "  \"auth\": {\"api_keys\": [\"sk-SECRET-3\", \"sk-SECRET-4\"]},\n"
        "  \"routing\": {\"strategy\": \"fallback\"}\n"
        "}\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct gw_config c;
    gw_config_defaults(&c);
    char err[512] = "";
    cr_assert_eq(gw_config_load(&c, path, err, sizeof err), 0, "%s", err);
    unlink(path);
    c.listen_port = 9191; /* as a --listen flag would */

    struct answer a;
    CALL(a, gw_admin_config_handle, &c, "GET", "");
    cr_assert_eq(a.status, 200, "%s", a.text);
    cr_assert_null(strstr(a.text, "SECRET"), "a secret leaked: %s", a.text);
    const cJSON *cfg = field(a.doc, "config");
    cr_assert_str_eq(at(cfg, "metrics", "token"), "***");
    cr_assert_str_eq(at(cfg, "store", "url"), "postgres://aigw:***@db.internal:5432/aigw");
    const cJSON *k;
    cJSON_ArrayForEach(k, field(field(cfg, "auth"), "api_keys"))
        cr_assert_str_eq(k->valuestring, "***");
    cr_assert_eq(field(cfg, "threads")->valueint, 3, "the file");
    cr_assert_eq(field(field(cfg, "timeouts"), "idle_ms")->valueint, 5000, "the file");
    cr_assert_eq(field(field(cfg, "timeouts"), "connect_ms")->valueint, 10000, "a default");
    cr_assert_str_eq(at(cfg, "listen", NULL), "127.0.0.1:9191", "a flag");
    cr_assert_str_eq(at(cfg, "routing", "strategy"), "fallback");
    cr_assert(cJSON_IsFalse(field(field(cfg, "log"), "bodies")));
    answer_free(&a);
    gw_config_free(&c);
}

Test(admin_status, masking_catches_secrets_by_name_and_in_urls)
{
    cJSON *d =
        cJSON_Parse("{\"admin\":{\"key\":\"adm-SECRET\"},\"otel\":{\"headers\":{\"x-honeycomb-"
                    "team\":\"h-SECRET\","
                    "\"n\":42}},\"redis\":{\"url\":\"redis://:r-SECRET@cache:6379/0\"},"
                    "\"pg\":\"host=db password=p-SECRET dbname=x\",\"models\":[\"keep-me\"],"
                    "\"provider_api_key\":\"pk-SECRET\",\"max_models\":200,\"empty_token\":\"\"}");
    gw_admin_mask_secrets(d);
    char *s = cJSON_PrintUnformatted(d);
    cr_assert_null(strstr(s, "SECRET"), "%s", s);
    cr_assert_null(strstr(s, "42"), "a numeric header value is still a secret: %s", s);
    cr_assert_not_null(strstr(s, "redis://:***@cache:6379/0"), "%s", s);
    cr_assert_not_null(strstr(s, "password=*** dbname=x"), "%s", s);
    cr_assert_not_null(strstr(s, "keep-me"), "%s", s);
    cr_assert_not_null(strstr(s, "\"max_models\":200"), "%s", s);
    cr_assert_not_null(strstr(s, "\"empty_token\":\"\""), "empty is shown as empty: %s", s);
    free(s);
    cJSON_Delete(d);
}

Test(admin_status, masking_catches_a_password_in_a_urls_query)
{
    /* libpq takes the password as a query parameter too, with or without a user before @. */
    cJSON *d = cJSON_Parse(
        "{\"store\":{\"url\":\"postgresql://aigw@db:5432/aigw?password=q-SECRET&sslmode=require\"},"
        "\"b\":\"postgres://u:u-SECRET@db/x?sslmode=require&password=r-SECRET#f\","
        "\"c\":\"postgres://db/x?password=s-SECRET\",\"d\":\"host=db password=t-SECRET "
        "password=v-SECRET\"}");
    gw_admin_mask_secrets(d);
    char *s = cJSON_PrintUnformatted(d);
    cr_assert_null(strstr(s, "SECRET"), "%s", s);
    cr_assert_not_null(strstr(s, "postgresql://***@db:5432/aigw?password=***&sslmode=require"),
                       "%s", s);
    cr_assert_not_null(strstr(s, "postgres://u:***@db/x?sslmode=require&password=***#f"), "%s", s);
    cr_assert_not_null(strstr(s, "postgres://db/x?password=***"), "%s", s);
    cr_assert_not_null(strstr(s, "host=db password=*** password=***"), "%s", s);
    free(s);
    cJSON_Delete(d);
}

/* Not only libpq's password: any parameter a secret's name names (a collector's ?api_key=,
 * Google's ?key=, a ?token=, libpq's sslpassword), while the others stay readable. */
Test(admin_status, masking_catches_any_secret_parameter_in_a_url)
{
    cJSON *d = cJSON_Parse(
        "{\"otel\":{\"endpoint\":\"https://collector:4318/v1/traces?api_key=a-SECRET&x=1\"},"
        "\"b\":\"https://generativelanguage.example/v1beta?alt=sse&key=AIza-SECRET\","
        "\"c\":\"rediss://cache:6380/0?token=t-SECRET;db=2\","
        "\"d\":\"host=db sslpassword=w-SECRET dbname=x\","
        "\"e\":\"https://h/a=b?monkey=banana&access_token=z-SECRET==#frag\"}");
    gw_admin_mask_secrets(d);
    char *s = cJSON_PrintUnformatted(d);
    cr_assert_null(strstr(s, "SECRET"), "%s", s);
    cr_assert_not_null(strstr(s, "/v1/traces?api_key=***&x=1"), "%s", s);
    cr_assert_not_null(strstr(s, "v1beta?alt=sse&key=***"), "%s", s);
    cr_assert_not_null(strstr(s, "/0?token=***;db=2"), "%s", s);
    cr_assert_not_null(strstr(s, "host=db sslpassword=*** dbname=x"), "%s", s);
    cr_assert_not_null(strstr(s, "https://h/a=b?monkey=banana&access_token=***#frag"), "%s", s);
    free(s);
    cJSON_Delete(d);
}
