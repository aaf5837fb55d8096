/*
 * host->json_parse: trees in the call's JSON arena, released after each stream event, capped
 * per call; a plugin built for ABI 1.0/1.1 still gets cJSON's own trees, which it may take
 * apart.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugin/call.h"
#include "plugin/exchange.h"
#include "plugin/plugin_loader.h"

static struct gw_plugin plugin;
static struct gw_call call;
static int events, bad_events;
static double sum;

static int stream_event(struct aigw_call *c, const struct aigw_frame *f)
{
    const cJSON *ev = c->host->json_parse(c, f->data);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(ev, "n");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(ev, "s");
    events++;
    if (!cJSON_IsNumber(n) || !cJSON_IsString(s) || strcmp(s->valuestring, "caf\xc3\xa9\n") != 0)
        bad_events++;
    else
        sum += n->valuedouble;
    return 0;
}

static void setup(void)
{
    memset(&plugin, 0, sizeof plugin);
    plugin.desc.abi_version = AIGW_ABI_VERSION;
    plugin.desc.struct_size = sizeof plugin.desc;
    plugin.desc.stream_event = stream_event;
    events = bad_events = 0;
    sum = 0;
    cr_assert_eq(gw_call_init(&call, &plugin, AIGW_OP_CHAT, NULL, "m", 1, 0), 0);
}

static void teardown(void)
{
    gw_call_free(&call);
}

TestSuite(host_json, .init = setup, .fini = teardown);

/* Each event's tree goes when its callback returns: a held stream keeps no parse memory. */
Test(host_json, a_long_stream_holds_no_parse_memory_between_events)
{
    call.framing = AIGW_FRAMING_SSE;
    cr_assert_eq(gw_exchange_headers(&call, 200), 0);
    char ev[128];
    for (int i = 1; i <= 5000; i++) {
        int n = snprintf(ev, sizeof ev, "data: {\"n\":%d,\"s\":\"caf\\u00e9\\n\",\"pad\":[1,2,3]}\n\n",
                         i);
        cr_assert_eq(gw_exchange_data(&call, ev, (size_t)n), 0);
        cr_assert_eq(call.jsonmem.used, 0, "event %d left %zu bytes", i, call.jsonmem.used);
    }
    cr_assert_eq(gw_exchange_end(&call), 0);
    cr_assert_eq(events, 5000);
    cr_assert_eq(bad_events, 0);
    cr_assert_eq(sum, 5000.0 * 5001 / 2);
}

Test(host_json, trees_outside_a_stream_live_until_the_call_ends)
{
    const cJSON *a = call.pub.host->json_parse(&call.pub, aigw_bytes_of("{\"k\":\"first\"}"));
    const cJSON *b = call.pub.host->json_parse(&call.pub, aigw_bytes_of("[true,null,-1.5e3]"));
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "k")->valuestring, "first");
    cr_assert_eq(cJSON_GetArrayItem(b, 2)->valuedouble, -1500.0);
    char *s = call.pub.host->json_print(&call.pub, b);
    cr_assert_str_eq(s, "[true,null,-1500]");
    cr_assert_null(call.pub.host->json_parse(&call.pub, aigw_bytes_of("{\"k\":")));
    cr_assert_null(call.pub.host->json_parse(&call.pub, (struct aigw_bytes){NULL, 0}));
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "k")->valuestring, "first");
}

/* A hostile body whose tree would be 32 times its size: the parse fails, gives its memory
 * back, and the call still parses what fits. */
Test(host_json, a_tree_past_the_cap_fails_cleanly)
{
    call.jsonmem.cap = 1u << 20;
    size_t n = 64 * 1024;
    char *body = malloc(n);
    cr_assert_not_null(body);
    body[0] = '[';
    for (size_t i = 1; i + 1 < n; i += 2) {
        body[i] = '0';
        body[i + 1] = ',';
    }
    body[n - 2] = '0';
    body[n - 1] = ']';
    cr_assert_null(call.pub.host->json_parse(&call.pub, (struct aigw_bytes){body, n}));
    cr_assert_leq(call.jsonmem.used, call.jsonmem.cap);
    const cJSON *ok = call.pub.host->json_parse(&call.pub, aigw_bytes_of("[0,0,0]"));
    cr_assert_eq(cJSON_GetArraySize(ok), 3);
    /* The same body fits under the real cap, as libcjson reads it. */
    call.jsonmem.cap = GW_JSON_CAP;
    cJSON *ref = cJSON_ParseWithLength(body, n);
    int want = cJSON_GetArraySize(ref);
    cJSON_Delete(ref);
    const cJSON *all = call.pub.host->json_parse(&call.pub, (struct aigw_bytes){body, n});
    free(body);
    cr_assert_gt(want, 30000);
    cr_assert_eq(cJSON_GetArraySize(all), want);
}

/* The read-only contract is from 1.3 on: a plugin declaring 1.2 (the newest before it) may
 * still detach and delete. */
Test(host_json, an_abi_1_2_plugin_may_take_a_tree_apart)
{
    gw_call_free(&call);
    plugin.desc.abi_version = AIGW_ABI_VERSION_OF(1, 2);
    cr_assert_eq(gw_call_init(&call, &plugin, AIGW_OP_CHAT, NULL, "m", 1, 0), 0);
    cJSON *t = call.pub.host->json_parse(&call.pub, aigw_bytes_of("{\"a\":[1,2],\"b\":\"x\"}"));
    cr_assert_not_null(t);
    cJSON_Delete(cJSON_DetachItemFromObjectCaseSensitive(t, "a"));
    cr_assert(cJSON_AddNumberToObject(t, "c", 3) != NULL);
    char *s = call.pub.host->json_print(&call.pub, t);
    cr_assert_str_eq(s, "{\"b\":\"x\",\"c\":3}");
}
