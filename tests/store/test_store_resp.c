/* Store contract: stored responses (Responses API). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "store/fixture.h"
#include "store/store.h"
#include "store/store_int.h"

TestSuite(store_resp, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

static struct gw_stored_response resp(const char *id, const char *key, int64_t expires)
{
    struct gw_stored_response r = {.created_at = 1700000000, .expires_at = expires};
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.key_id, sizeof r.key_id, "%s", key);
    snprintf(r.previous_id, sizeof r.previous_id, "resp_prev");
    r.response_json = "{\"id\":\"resp_1\",\"output\":[{\"type\":\"message\"}]}";
    r.input_items_json = "[{\"role\":\"user\",\"content\":\"h\xc3\xa9\"}]";
    return r;
}

static void assert_same(const struct gw_stored_response *a, const struct gw_stored_response *b)
{
    cr_assert_str_eq(a->id, b->id);
    cr_assert_str_eq(a->key_id, b->key_id);
    cr_assert_str_eq(a->previous_id, b->previous_id);
    cr_assert_eq(a->created_at, b->created_at);
    cr_assert_eq(a->expires_at, b->expires_at);
    cr_assert_str_eq(a->response_json, b->response_json);
    cr_assert_str_eq(a->input_items_json, b->input_items_json);
}

Test(store_resp, a_put_is_readable_at_once_and_after_commit)
{
    struct gw_store *s = fx_open(NULL);
    struct gw_stored_response r = resp("resp_1", "keyAAAAAAAAA", 0), got;
    /* hold the writer so the get must be served from the queue */
    fx_block_writes();
    cr_assert_eq(gw_store_response_put(s, &r), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_1", "keyAAAAAAAAA", &got), 0);
    assert_same(&r, &got);
    gw_stored_response_free(&got);
    cr_assert_eq(gw_store_response_get(s, "resp_1", "keyBBBBBBBBB", &got), GW_STORE_ENOTFOUND);
    fx_unblock_writes();
    cr_assert_eq(gw_store_flush(s, 15000), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_1", "keyAAAAAAAAA", &got), 0);
    assert_same(&r, &got);
    gw_stored_response_free(&got);
    /* another key is told exactly what a missing id is told */
    cr_assert_eq(gw_store_response_get(s, "resp_1", "keyBBBBBBBBB", &got), GW_STORE_ENOTFOUND);
    cr_assert_eq(gw_store_response_get(s, "resp_1", NULL, &got), GW_STORE_ENOTFOUND);
    cr_assert_eq(gw_store_response_get(s, "resp_none", "keyAAAAAAAAA", &got), GW_STORE_ENOTFOUND);
    cr_assert_null(got.response_json);
    gw_store_close(s);
}

Test(store_resp, expired_responses_are_gone)
{
    struct gw_store *s = fx_open(NULL);
    int64_t now = time(NULL);
    struct gw_stored_response old = resp("resp_old", "", now - 1);
    struct gw_stored_response live = resp("resp_live", "", now + 3600), got;
    cr_assert_eq(gw_store_response_put(s, &old), 0);
    cr_assert_eq(gw_store_response_put(s, &live), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_old", "", &got), GW_STORE_ENOTFOUND);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_old", NULL, &got), GW_STORE_ENOTFOUND);
    cr_assert_eq(gw_store_response_get(s, "resp_live", NULL, &got), 0, "NULL key is \"\"");
    gw_stored_response_free(&got);
    cr_assert_eq(gw_store_run_retention(s, now * 1000), 0);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_responses"), 1);
    gw_store_close(s);
}

Test(store_resp, delete_is_seen_at_once_and_only_by_the_owner)
{
    struct gw_store *s = fx_open(NULL);
    struct gw_stored_response a = resp("resp_a", "keyAAAAAAAAA", 0), got;
    cr_assert_eq(gw_store_response_put(s, &a), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    cr_assert_eq(gw_store_response_delete(s, "resp_a", "keyBBBBBBBBB"), GW_STORE_ENOTFOUND);
    cr_assert_eq(gw_store_response_get(s, "resp_a", "keyAAAAAAAAA", &got), 0);
    gw_stored_response_free(&got);
    fx_block_writes();
    cr_assert_eq(gw_store_response_delete(s, "resp_a", "keyAAAAAAAAA"), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_a", "keyAAAAAAAAA", &got), GW_STORE_ENOTFOUND);
    cr_assert_eq(gw_store_response_delete(s, "resp_a", "keyAAAAAAAAA"), GW_STORE_ENOTFOUND);
    fx_unblock_writes();
    cr_assert_eq(gw_store_flush(s, 15000), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_a", "keyAAAAAAAAA", &got), GW_STORE_ENOTFOUND);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_responses"), 0);
    gw_store_close(s);
}

Test(store_resp, a_second_put_replaces_and_bad_puts_are_refused)
{
    struct gw_store *s = fx_open(NULL);
    struct gw_stored_response r = resp("resp_x", "k", 0), got;
    cr_assert_eq(gw_store_response_put(s, &r), 0);
    r.response_json = "{\"v\":2}";
    r.input_items_json = NULL;
    cr_assert_eq(gw_store_response_put(s, &r), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_x", "k", &got), 0);
    cr_assert_str_eq(got.response_json, "{\"v\":2}");
    gw_stored_response_free(&got);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_x", "k", &got), 0);
    cr_assert_str_eq(got.response_json, "{\"v\":2}");
    cr_assert_null(got.input_items_json);
    gw_stored_response_free(&got);
    /* another key cannot overwrite it by reusing the id */
    struct gw_stored_response thief = resp("resp_x", "other", 0);
    cr_assert_eq(gw_store_response_put(s, &thief), 0);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    cr_assert_eq(gw_store_response_get(s, "resp_x", "k", &got), 0);
    cr_assert_str_eq(got.response_json, "{\"v\":2}");
    gw_stored_response_free(&got);

    struct gw_stored_response none = {0};
    cr_assert_eq(gw_store_response_put(s, &none), AIGW_EINVAL);
    size_t big = (16u << 20) + 1;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = '\0';
    struct gw_stored_response fat = resp("resp_fat", "k", 0);
    fat.response_json = huge;
    cr_assert_eq(gw_store_response_put(s, &fat), AIGW_ETOOBIG);
    free(huge);
    gw_store_close(s);
}
