/* config: comments, trailing commas, ${VAR}; every error names the file and the key. */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "config.h"
#include "lib/jsonc.h"
#include "lib/redact.h"

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/aigw-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int load(const char *text, struct gw_config *c, char *err, size_t n)
{
    char *p = write_tmp(text);
    gw_config_defaults(c);
    int rc = gw_config_load(c, p, err, n);
    unlink(p);
    free(p);
    return rc;
}

Test(config, comments_trailing_commas_and_variables)
{
    setenv("AIGW_TEST_PORT_HOST", "127.0.0.2", 1);
    unsetenv("AIGW_TEST_UNSET");
    struct gw_config c;
    char err[512];
    int rc = load("// top comment\n{\n  \"listen\": \"${AIGW_TEST_PORT_HOST}:9001\", /* inline */\n"
                  "  \"log\": {\"level\": \"${AIGW_TEST_UNSET:-debug}\",},\n"
                  "  \"timeouts\": {\"idle_ms\": 5000},\n}\n",
                  &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(c.listen_host, "127.0.0.2");
    cr_assert_eq(c.listen_port, 9001);
    cr_assert_eq(c.log_level, AIGW_LOG_DEBUG);
    cr_assert_eq(c.idle_timeout_ms, 5000);
    cr_assert_eq(c.connect_timeout_ms, 10000, "defaults stay");
    gw_config_free(&c);
}

Test(config, unknown_key_and_wrong_type_name_the_key)
{
    struct gw_config c;
    char err[512];
    cr_assert_lt(load("{\"timeouts\":{\"idel_ms\":5}}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "timeouts.idel_ms: unknown key"), "%s", err);
    cr_assert(strstr(err, "/tmp/aigw-config-"), "the file is named: %s", err);
    cr_assert_lt(load("{\"max_body_bytes\":\"big\"}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "max_body_bytes: expected integer"), "%s", err);
    cr_assert_lt(load("{\"max_body_bytes\":5}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "max_body_bytes: must be between"), "%s", err);
    cr_assert_lt(load("{\"log\":{\"level\":\"loud\"}}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "log.level"), "%s", err);
}

/* A budget reservation's lease: 90 s unless set; shorter than 3 s would renew faster than a
 * Redis round trip under load may allow, longer than a day would hold a dead replica's
 * grants for as long. */
Test(config, lease_seconds_defaults_to_90_within_bounds)
{
    struct gw_config c;
    char err[512];
    cr_assert_eq(load("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.lease_seconds, 90);
    gw_config_free(&c);
    cr_assert_eq(load("{\"limits\":{\"lease_seconds\":3}}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.lease_seconds, 3);
    gw_config_free(&c);
    const char *bad[] = {"{\"limits\":{\"lease_seconds\":2}}",
                         "{\"limits\":{\"lease_seconds\":86401}}",
                         "{\"limits\":{\"lease_seconds\":\"90\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_lt(load(bad[i], &c, err, sizeof err), 0, "%s", bad[i]);
        cr_assert(strstr(err, "limits.lease_seconds"), "%s: %s", bad[i], err);
        gw_config_free(&c);
    }
}

/* A number past int64_t's range is a wrong type, not a cast with undefined behaviour (the
 * config libFuzzer target found it: "timeout_ms": 1999...9 reached (int64_t)2e34). */
Test(config, integers_past_int64_range_are_refused)
{
    struct gw_config c;
    char err[512];
    const char *texts[] = {
        "{\"otel\":{\"timeout_ms\":19999999999999999999999999999999999}}",
        "{\"max_body_bytes\":-1e300}",
        "{\"timeouts\":{\"idle_ms\":9.3e18}}",
        "{\"cache\":{\"ttl_s\":1e30}}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cr_assert_lt(load(texts[i], &c, err, sizeof err), 0, "%s", texts[i]);
        cr_assert(strstr(err, "expected integer") || strstr(err, "must be"), "%s: %s", texts[i],
                  err);
        gw_config_free(&c);
    }
}

Test(config, unset_variable_is_an_error)
{
    unsetenv("AIGW_TEST_NOPE");
    struct gw_config c;
    char err[512];
    cr_assert_lt(load("{\n\"listen\": \"${AIGW_TEST_NOPE}:1\"}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "line 2") && strstr(err, "AIGW_TEST_NOPE"), "%s", err);
}

Test(config, variable_values_cannot_break_out_of_their_string)
{
    setenv("AIGW_TEST_QUOTE", "a\",\"listen\":\"0.0.0.0:1", 1);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    char err[256];
    const char *src = "{\"log\":{\"file\":\"${AIGW_TEST_QUOTE}\"}}";
    cr_assert_eq(gw_jsonc_to_json(src, strlen(src), &out, err, sizeof err), 0);
    cJSON *j = cJSON_Parse(out.ptr);
    cr_assert_not_null(j);
    cr_assert_null(cJSON_GetObjectItem(j, "listen"));
    cJSON_Delete(j);
    gw_buf_free(&out);
}

Test(config, every_documented_key_is_in_the_table_once)
{
    int n = 0;
    for (const struct gw_config_key *k = gw_config_keys(); k->key; k++, n++)
        for (const struct gw_config_key *j = k + 1; j->key; j++)
            cr_assert_str_neq(k->key, j->key);
    cr_assert_gt(n, 20);
}

Test(config, otel_keys_a_number_type_and_headers_left_to_their_owner)
{
    struct gw_config c;
    char err[512];
    /* Header names are the operator's (otel.c judges them), so no "unknown key" for them. */
    int rc = load("{\"otel\":{\"endpoint\":\"http://127.0.0.1:4318\",\"sample_ratio\":0.25,"
                  "\"headers\":{\"x-honeycomb-team\":\"v\",\"Authorization\":\"Basic x\"},"
                  "\"service_name\":\"gw\",\"enabled\":true,\"capture_content\":false,"
                  "\"content_max_bytes\":100,\"queue_size\":10,\"batch_size\":5,"
                  "\"batch_interval_ms\":50,\"timeout_ms\":1000}}",
                  &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_not_null(cJSON_GetObjectItem(cJSON_GetObjectItem(c.root, "otel"), "headers"));
    gw_config_free(&c);
    cr_assert_eq(load("{\"otel\":{\"sample_ratio\":1}}", &c, err, sizeof err), 0, "%s", err);
    gw_config_free(&c);
    cr_assert_lt(load("{\"otel\":{\"sample_ratio\":\"0.5\"}}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "otel.sample_ratio: expected number"), "%s", err);
    cr_assert_lt(load("{\"otel\":{\"queue_size\":2.5}}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "otel.queue_size: expected integer"), "%s", err);
    cr_assert_lt(load("{\"otel\":{\"headers\":[\"x\"]}}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "otel.headers: expected object"), "%s", err);
    cr_assert_lt(load("{\"otel\":{\"endpiont\":\"http://x\"}}", &c, err, sizeof err), 0);
    cr_assert(strstr(err, "otel.endpiont: unknown key"), "%s", err);
}

Test(config, store_url_and_state_dir)
{
    struct gw_config c;
    char err[512], url[1100];
    gw_config_defaults(&c);
    cr_assert_eq(gw_config_store_url(&c, url, sizeof url), 0);
    cr_assert_str_eq(url, "sqlite:/var/lib/aigw/aigw.db");
    cr_assert_eq(c.log_retention_days, 30);
    cr_assert_eq(c.log_bodies, 0);

    int rc =
        load("{\"state_dir\": \"/tmp/st\", \"log\": {\"bodies\": true, \"retention_days\": 7}}", &c,
             err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(gw_config_store_url(&c, url, sizeof url), 0);
    cr_assert_str_eq(url, "sqlite:/tmp/st/aigw.db");
    cr_assert_eq(c.log_bodies, 1);
    cr_assert_eq(c.log_retention_days, 7);
    gw_config_free(&c);

    rc = load("{\"store\": {\"url\": \"postgres://aigw:pw-S3CRET-77@db/aigw\"}}", &c, err,
              sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(gw_config_store_url(&c, url, sizeof url), 0);
    cr_assert_str_eq(url, "postgres://aigw:pw-S3CRET-77@db/aigw");
    cr_assert(gw_redact_contains_secret("x pw-S3CRET-77 y", 16), "the password is redacted");
    gw_config_free(&c);

    rc = load("{\"store\": {\"url\": \"mysql://x\"}}", &c, err, sizeof err);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(err, "store.url"), "%s", err);
    rc = load("{\"log\": {\"retention_days\": -1}}", &c, err, sizeof err);
    cr_assert_neq(rc, 0);
}

/* The defaults outlast what healthy answers do: a reasoning model can be silent for minutes
 * inside a stream (Codex's own stream_idle_timeout_ms is 5 minutes), and a body up to the 32 MB
 * Anthropic takes must not be refused by the gateway in front of it. */
Test(config, defaults_outlast_healthy_answers)
{
    struct gw_config c;
    char err[512];
    cr_assert_eq(load("{}", &c, err, sizeof err), 0, "%s", err);
    cr_assert_geq(c.idle_timeout_ms, 300000);
    cr_assert_geq(c.request_timeout_ms, 600000);
    cr_assert_geq(c.max_body_bytes, 32 * 1024 * 1024);
    gw_config_free(&c);
}
