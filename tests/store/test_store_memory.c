/* "memory:": a private in-memory store (tests, a gateway without one), on the same API. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"
#include "store/fixture.h"
#include "store/store.h"

static struct gw_store *open_memory(void)
{
    char err[256];
    struct gw_store *s = gw_store_open("memory:", NULL, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    return s;
}

TestSuite(store_memory, .timeout = STORE_TEST_TIMEOUT);

Test(store_memory, each_open_is_its_own_database_and_everything_works)
{
    struct gw_store *a = open_memory(), *b = open_memory();
    char token[GW_KEY_TOKEN_SIZE], err[256];
    struct gw_key_spec spec = {.set = GW_KEYF_NAME, .name = "mem"};
    cr_assert_eq(gw_store_key_create(a, &spec, token, NULL, err, sizeof err), 0, "%s", err);
    struct gw_key *k = NULL;
    cr_assert_eq(gw_store_key_auth(a, token, strlen(token), &k), GW_AUTH_OK);
    gw_key_unref(k);
    cr_assert_eq(gw_store_key_auth(b, token, strlen(token), &k), GW_AUTH_UNKNOWN);
    cr_assert_eq(gw_store_has_keys(b), 0);

    for (int i = 0; i < 300; i++) {
        struct gw_log_row r = {.status = 200, .latency_ms = i, .ttfb_ms = 1};
        snprintf(r.request_id, sizeof r.request_id, "m-%d", i);
        cr_assert_eq(gw_store_log_put(a, &r), 0);
        /* reads go on while the writer works: the shared cache must not refuse them */
        if (i % 50 == 0) {
            struct gw_log_page p;
            cr_assert_eq(gw_store_log_query(a, &(struct gw_log_query){.limit = 10}, &p), 0);
            gw_log_page_free(&p);
        }
    }
    cr_assert_eq(gw_store_flush(a, 10000), 0);
    struct gw_usage_report rep;
    cr_assert_eq(gw_store_usage(a, &(struct gw_usage_query){.group_by = GW_USAGE_DAY}, &rep), 0);
    cr_assert_eq(rep.total.requests, 300);
    gw_usage_report_free(&rep);

    struct gw_stored_response r = {.created_at = 1};
    snprintf(r.id, sizeof r.id, "resp_m");
    r.response_json = "{}";
    cr_assert_eq(gw_store_response_put(a, &r), 0);
    struct gw_stored_response got;
    cr_assert_eq(gw_store_response_get(a, "resp_m", "", &got), 0);
    gw_stored_response_free(&got);
    cr_assert_eq(gw_store_response_get(b, "resp_m", "", &got), GW_STORE_ENOTFOUND);
    gw_store_close(a);
    gw_store_close(b);
}
