/*
 * The gateway's guard chain swapped while a request holds the old one (what a config reload
 * will do): the request keeps judging with the chain it started with, new requests get the
 * new one, and each chain is freed once, when the last holder let go (ASan and LSan watch).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "guard/guard.h"
#include "harness.h"
#include "plugin/plugin_loader.h"
#include "proxy/gateway.h"

#define DENY_WORD(w) "[{\"name\":\"tguard\",\"config\":{\"request\":\"deny\",\"word\":\"" w "\"}}]"

static int verdict_on(const struct gw_guard_chain *c, const char *text)
{
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "r", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    cr_assert_not_null(run);
    cJSON *body = cJSON_CreateObject();
    cJSON *m = cJSON_AddArrayToObject(body, "messages"), *one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "role", "user");
    cJSON_AddStringToObject(one, "content", text);
    cJSON_AddItemToArray(m, one);
    int v = gw_guard_on_request(run, body);
    cJSON_Delete(body);
    gw_guard_run_free(run);
    return v;
}

Test(guard_swap, a_request_keeps_the_chain_it_started_with)
{
    struct gw_config cfg;
    gw_config_defaults(&cfg);
    cfg.guardrails = cJSON_Parse(DENY_WORD("apple"));
    struct gw_plugins ps;
    memset(&ps, 0, sizeof ps);
    struct gw_gateway gw;
    char err[600];
    cr_assert_eq(gw_gateway_init(&gw, &cfg, &ps, NULL, gh_module_dir(), err, sizeof err), 0, "%s",
                 err);
    struct gw_guards *a = gw_gateway_guards(&gw); /* a request in flight */
    cr_assert_not_null(a);

    gw_gateway_swap_guards(&gw, gh_chain_in(DENY_WORD("banana"), gh_module_dir()));
    struct gw_guards *b = gw_gateway_guards(&gw); /* one that starts after the swap */
    cr_assert_not_null(b);
    cr_assert_neq(gw_guards_chain(a), gw_guards_chain(b));
    cr_assert_eq(verdict_on(gw_guards_chain(a), "an apple"), GW_GUARD_DENY, "the old chain");
    cr_assert_eq(verdict_on(gw_guards_chain(a), "a banana"), GW_GUARD_ALLOW);
    cr_assert_eq(verdict_on(gw_guards_chain(b), "a banana"), GW_GUARD_DENY, "the new chain");
    cr_assert_eq(gw_guard_chain_count(gw_guards_chain(a), 0, AIGW_GUARD_INPUT, GW_GUARD_O_DENY), 1);
    gw_guards_release(a); /* the old chain's last holder: freed at the next swap */

    gw_gateway_swap_guards(&gw, NULL); /* guards off: none for new requests */
    cr_assert_null(gw_gateway_guards(&gw));
    cr_assert_eq(verdict_on(gw_guards_chain(b), "a banana"), GW_GUARD_DENY, "still held");
    gw_guards_release(b);
    gw_gateway_free(&gw);
    cJSON_Delete(cfg.guardrails);
    cfg.guardrails = NULL;
    gw_config_free(&cfg);
}
