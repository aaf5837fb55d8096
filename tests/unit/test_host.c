/*
 * host: the services of ABI 1.1 through the real host table (core/host.c) on a real call -
 * host->fail_code (code, param, status, return value, and the document a client gets) and
 * host->retry_after_ms (core/retry_after.c, shared with the OpenAI-wire error mapping) - plus
 * the layout rule that lets a plugin built against 1.1 see that a 1.0 host lacks them.
 */
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "front/render.h"
#include "lib/retry_after.h"
#include "plugin/call.h"
#include "plugin/exchange.h"
#include "plugin/host.h"
#include "plugin/oai_compat.h"
#include "plugin/payload.h"
#include "plugin/plugin_loader.h"

#define MAX_MS GW_RETRY_AFTER_MAX_MS
/* Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110. */
#define RFC_EXAMPLE_UNIX 784111777

static struct gw_call call;

static void setup(void)
{
    cr_assert_eq(gw_call_init(&call, NULL, AIGW_OP_CHAT, NULL, "m", 0, 0), 0);
}

static void teardown(void)
{
    gw_call_free(&call);
}

static void resp_header(const char *name, const char *value)
{
    cr_assert_eq(gw_call_add_resp_header(&call, name, strlen(name), value, strlen(value)), 0);
}

/* What a client gets for a build that failed with rc after the plugin's refusal. */
static const char *client_view(int rc, int *status)
{
    static char text[1024];
    struct gw_render r;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_render_init(&r, AIGW_OP_CHAT, 0, 0, 0, "m", "rid"), 0);
    cr_assert_eq(gw_render_outcome(&r, &call, rc, 0, &out, status), 0);
    cr_assert_lt(out.len, sizeof text);
    memcpy(text, out.ptr, out.len);
    text[out.len] = '\0';
    gw_render_free(&r);
    gw_buf_free(&out);
    return text;
}

/* ---- the table -------------------------------------------------------------------------- */

Test(host_abi, table_is_1_6_and_has_the_1_1_members)
{
    const struct aigw_host *h = gw_host();
    cr_assert_eq(AIGW_ABI_MAJOR, 1);
    cr_assert_eq(AIGW_ABI_MINOR, 6);
    cr_assert_eq(h->abi_version, 0x10006u);
    cr_assert_eq(h->abi_version, AIGW_ABI_VERSION_OF(1, 6));
    cr_assert_eq(h->struct_size, sizeof(struct aigw_host));
    cr_assert(AIGW_HOST_HAS(h, fail_code));
    cr_assert(AIGW_HOST_HAS(h, retry_after_ms));
    cr_assert_not_null(h->fail_code);
    cr_assert_not_null(h->retry_after_ms);
}

/* 1.5 appended usage.cost_usd: a usage as a 1.4 plugin lays it out (its struct_size ends
 * before the member) states no cost whatever lies past its end; a 1.5 one states its own. */
Test(host_abi, usage_cost_is_read_only_from_a_1_5_usage)
{
    struct aigw_usage u, out;
    aigw_usage_init(&u);
    u.prompt_tokens = 7;
    u.cost_usd = 0.25;
    cr_assert_eq(gw_payload_usage(AIGW_ABI_VERSION_OF(1, 5), &u, &out), 0);
    cr_assert_eq(out.prompt_tokens, 7);
    cr_assert_float_eq(out.cost_usd, 0.25, 1e-15);
    u.abi_version = AIGW_ABI_VERSION_OF(1, 4);
    u.struct_size = (uint32_t)offsetof(struct aigw_usage, cost_usd);
    cr_assert_eq(gw_payload_usage(AIGW_ABI_VERSION_OF(1, 4), &u, &out), 0);
    cr_assert_eq(out.prompt_tokens, 7);
    cr_assert_eq(out.cost_usd, 0);
}

/* 1.2: the call's struct_size covers inbound and inbound_body, and they are always set. */
Test(host_abi, call_shows_the_1_2_members, .init = setup, .fini = teardown)
{
    cr_assert_eq(call.pub.abi_version, AIGW_ABI_VERSION_OF(1, 6));
    cr_assert(AIGW_HAS_MEMBER(&call.pub, struct aigw_call, inbound));
    cr_assert(AIGW_HAS_MEMBER(&call.pub, struct aigw_call, inbound_body));
    cr_assert_str_eq(call.pub.inbound, "openai");
    cr_assert_null(call.pub.inbound_body);
    cJSON *native = cJSON_Parse("{\"model\":\"claude\"}");
    cr_assert_not_null(native);
    gw_call_set_inbound(&call, "anthropic", native);
    cr_assert_str_eq(call.pub.inbound, "anthropic");
    cr_assert_eq(call.pub.inbound_body, native);
    gw_call_set_inbound(&call, NULL, NULL);
    cr_assert_str_eq(call.pub.inbound, "openai");
    cr_assert_null(call.pub.inbound_body);
    cJSON_Delete(native);
}

static int cancels_built;

static int build_cancel(struct aigw_call *c, const char **job_id)
{
    cancels_built++;
    *job_id = "job-1";
    int rc = c->host->set_method(c, "POST");
    return rc ? rc : c->host->set_url(c, "http://upstream.test/jobs/job-1/cancel");
}

/* 1.6 appended cancel_build: the host asks only a plugin that declares 1.6, whose descriptor
 * has the member; what it builds is the call's request. */
Test(host_abi, cancel_build_is_called_for_a_1_6_plugin_only)
{
    static struct gw_plugin p;
    p.desc.cancel_build = build_cancel;
    p.desc.abi_version = AIGW_ABI_VERSION_OF(1, 5);
    struct gw_call c;
    cr_assert_eq(gw_call_init(&c, &p, AIGW_OP_CHAT, NULL, "m", 0, 0), 0);
    const char *job = "unset";
    cr_assert_eq(gw_exchange_cancel(&c, &job), 1);
    cr_assert_null(job);
    cr_assert_eq(cancels_built, 0);
    p.desc.abi_version = AIGW_ABI_VERSION_OF(1, 6);
    cr_assert_eq(gw_exchange_cancel(&c, &job), 0);
    cr_assert_eq(cancels_built, 1);
    cr_assert_str_eq(job, "job-1");
    cr_assert_str_eq(c.method, "POST");
    cr_assert_str_eq(c.url, "http://upstream.test/jobs/job-1/cancel");
    p.desc.cancel_build = NULL;
    cr_assert_eq(gw_exchange_cancel(&c, &job), 1);
    gw_call_free(&c);
}

/* 1.1 only appended: everything up to `fail` sits where a 1.0 plugin expects it, so a 1.0
 * host's struct_size (the end of `fail`) makes AIGW_HOST_HAS false for both new members. */
Test(host_abi, a_1_0_host_reads_as_lacking_the_new_members)
{
    cr_assert_eq(offsetof(struct aigw_host, fail_code),
                 offsetof(struct aigw_host, fail) + sizeof(void *));
    cr_assert_eq(offsetof(struct aigw_host, retry_after_ms),
                 offsetof(struct aigw_host, fail_code) + sizeof(void *));
    cr_assert_eq(sizeof(struct aigw_host),
                 offsetof(struct aigw_host, retry_after_ms) + sizeof(void *));

    struct aigw_host old = *gw_host();
    old.abi_version = AIGW_ABI_VERSION_OF(1, 0);
    old.struct_size = (uint32_t)(offsetof(struct aigw_host, fail) + sizeof(void *));
    cr_assert(AIGW_HOST_HAS(&old, fail));
    cr_assert_not(AIGW_HOST_HAS(&old, fail_code));
    cr_assert_not(AIGW_HOST_HAS(&old, retry_after_ms));
    /* One member more (a host between the two) has fail_code but not retry_after_ms. */
    old.struct_size += (uint32_t)sizeof(void *);
    cr_assert(AIGW_HOST_HAS(&old, fail_code));
    cr_assert_not(AIGW_HOST_HAS(&old, retry_after_ms));
}

/* ---- fail_code ------------------------------------------------------------------------- */

TestSuite(host_fail_code, .init = setup, .fini = teardown);

Test(host_fail_code, unsupported_records_everything_and_returns_enotsup)
{
    char code[] = "unsupported", param[] = "messages";
    int rc = gw_host()->fail_code(&call.pub, 400, code, param, "no %s in %d parts", "audio", 3);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    /* The host copied the strings: the plugin's buffers may go away. */
    memset(code, 'x', sizeof code - 1);
    memset(param, 'x', sizeof param - 1);
    cr_assert_eq(call.has_error, 1);
    cr_assert_eq(call.error_in_band, 0);
    cr_assert_eq(call.error.status, 400);
    cr_assert_str_eq(call.error.type, "invalid_request_error");
    cr_assert_str_eq(call.error.code, "unsupported");
    cr_assert_str_eq(call.error.param, "messages");
    cr_assert_str_eq(call.error.message, "no audio in 3 parts");
    cr_assert_eq(call.error.retryable, 0);
    cr_assert_eq(call.error.retry_after_ms, -1);

    int status = 0;
    const char *doc = client_view(rc, &status);
    cr_assert_eq(status, 400);
    cr_assert_str_eq(doc, "{\"error\":{\"message\":\"no audio in 3 parts\",\"type\":"
                          "\"invalid_request_error\",\"param\":\"messages\",\"code\":"
                          "\"unsupported\"}}");
}

Test(host_fail_code, any_other_code_returns_einval)
{
    int rc = gw_host()->fail_code(&call.pub, 413, "context_length_exceeded", NULL, "too long");
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(call.error.status, 413);
    cr_assert_str_eq(call.error.type, "invalid_request_error");
    cr_assert_str_eq(call.error.code, "context_length_exceeded");
    cr_assert_null(call.error.param);
    int status = 0;
    const char *doc = client_view(rc, &status);
    cr_assert_eq(status, 413);
    cr_assert_str_eq(doc, "{\"error\":{\"message\":\"too long\",\"type\":"
                          "\"invalid_request_error\",\"param\":null,\"code\":"
                          "\"context_length_exceeded\"}}");
}

/* The rule is an exact match: only the code clients key on maps to AIGW_ENOTSUP. */
Test(host_fail_code, only_exactly_unsupported_gives_enotsup)
{
    cr_assert_eq(gw_host()->fail_code(&call.pub, 400, "Unsupported", NULL, "x"), AIGW_EINVAL);
    cr_assert_str_eq(call.error.code, "Unsupported");
    cr_assert_eq(gw_host()->fail_code(&call.pub, 400, "unsupported_value", NULL, "x"), AIGW_EINVAL);
    cr_assert_eq(gw_host()->fail_code(&call.pub, 400, "", NULL, "x"), AIGW_EINVAL);
    cr_assert_str_eq(call.error.code, "");
}

Test(host_fail_code, null_code_is_plain_fail)
{
    int rc = gw_host()->fail_code(&call.pub, 403, NULL, "model", "model %s is not allowed", "m");
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(call.error.status, 403);
    cr_assert_str_eq(call.error.type, "permission_error");
    cr_assert_null(call.error.code);
    cr_assert_str_eq(call.error.param, "model");
    cr_assert_str_eq(call.error.message, "model m is not allowed");
}

Test(host_fail_code, status_outside_4xx_5xx_becomes_400)
{
    static const int bad[] = {0, -1, 200, 399, 600, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(gw_host()->fail_code(&call.pub, bad[i], "unsupported", NULL, "x"),
                     AIGW_ENOTSUP);
        cr_assert_eq(call.error.status, 400, "status %d", bad[i]);
        cr_assert_str_eq(call.error.type, "invalid_request_error");
    }
    cr_assert_eq(gw_host()->fail_code(&call.pub, 599, "unsupported", NULL, "x"), AIGW_ENOTSUP);
    cr_assert_eq(call.error.status, 599);
}

/* A later refusal replaces an earlier one, code included (fail after fail_code clears it). */
Test(host_fail_code, fail_after_fail_code_leaves_no_code)
{
    gw_host()->fail_code(&call.pub, 400, "unsupported", "n", "first");
    cr_assert_eq(gw_host()->fail(&call.pub, 400, NULL, "second"), AIGW_EINVAL);
    cr_assert_null(call.error.code);
    cr_assert_null(call.error.param);
    cr_assert_str_eq(call.error.message, "second");
}

/* ---- retry_after_ms through the host ---------------------------------------------------- */

TestSuite(host_retry_after, .init = setup, .fini = teardown);

static int64_t host_retry(void)
{
    return gw_host()->retry_after_ms(&call.pub);
}

Test(host_retry_after, absent_is_minus_one)
{
    cr_assert_eq(host_retry(), -1);
    resp_header("Content-Type", "application/json");
    cr_assert_eq(host_retry(), -1);
}

Test(host_retry_after, seconds)
{
    resp_header("Retry-After", "7");
    cr_assert_eq(host_retry(), 7000);
}

Test(host_retry_after, milliseconds_win_over_seconds)
{
    resp_header("retry-after", "7");
    resp_header("Retry-After-Ms", "6500");
    cr_assert_eq(host_retry(), 6500);
}

Test(host_retry_after, garbage_milliseconds_fall_back_to_seconds)
{
    resp_header("retry-after-ms", "soon");
    resp_header("retry-after", "2");
    cr_assert_eq(host_retry(), 2000);
}

Test(host_retry_after, garbage_is_minus_one)
{
    resp_header("retry-after", "tomorrow-ish");
    cr_assert_eq(host_retry(), -1);
}

Test(host_retry_after, huge_is_capped_at_a_day)
{
    resp_header("retry-after", "99999999999999999999999999");
    cr_assert_eq(host_retry(), 86400000);
}

Test(host_retry_after, http_date_far_future_is_capped_and_past_is_zero)
{
    resp_header("retry-after", "Wed, 21 Oct 2099 07:28:00 GMT");
    cr_assert_eq(host_retry(), 86400000);
    gw_call_clear_response(&call);
    resp_header("retry-after", "Sat, 01 Jan 2000 00:00:00 GMT");
    cr_assert_eq(host_retry(), 0);
}

/* Against the wall clock: an hour ahead, give or take the second that may tick between
 * writing the date and the host reading the clock. */
Test(host_retry_after, http_date_an_hour_ahead)
{
    char date[64];
    time_t t = time(NULL) + 3600;
    struct tm tm;
    cr_assert_not_null(gmtime_r(&t, &tm));
    cr_assert_gt(strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm), 0);
    resp_header("retry-after", date);
    int64_t ms = host_retry();
    cr_assert(ms >= 3599000 && ms <= 3600000, "%s -> %lld", date, (long long)ms);
    cr_assert_eq(ms % 1000, 0);
}

/* ---- the parser, with a fixed clock ----------------------------------------------------- */

static int64_t parse(const char *ms, const char *secs, int64_t now)
{
    return gw_retry_after_parse(aigw_bytes_of(ms), aigw_bytes_of(secs), now);
}

Test(retry_after_parse, decimal_seconds_and_milliseconds)
{
    static const struct {
        const char *ms, *secs;
        int64_t want;
    } cases[] = {
        {NULL, "0", 0},
        {NULL, "1", 1000},
        {NULL, "7", 7000},
        {NULL, "120", 120000},
        {NULL, "1.5", 1500},
        {NULL, "1.146", 1146},
        {NULL, "0.0001", 1},          /* fractions round up: never retry early */
        {NULL, "2.0000000001", 2000}, /* past 9 fraction digits nothing counts */
        {NULL, " \t30 ", 30000},      /* optional whitespace around the value */
        {NULL, "007", 7000},
        {"1500", NULL, 1500},
        {"1500", "2", 1500},
        {"0", "9", 0},
        {"0.2", NULL, 1},
        {"", "3", 3000},
        {"-1", "3", 3000},
        {"86399999", NULL, 86399999},
        {"86400000", NULL, 86400000},
        {"86400001", NULL, 86400000},
        {NULL, "86399", 86399000},
        {NULL, "86400", 86400000},
        {NULL, "86401", 86400000},
        {NULL, "99999999999999999999999999999999", 86400000},
        {NULL, "86399.9999", 86400000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = parse(cases[i].ms, cases[i].secs, RFC_EXAMPLE_UNIX);
        cr_assert_eq(got, cases[i].want, "case %zu (%s / %s): %lld", i,
                     cases[i].ms ? cases[i].ms : "-", cases[i].secs ? cases[i].secs : "-",
                     (long long)got);
    }
}

Test(retry_after_parse, garbage_and_absent_are_minus_one)
{
    static const char *const bad[] = {
        NULL,
        "",
        " ",
        "-1",
        "+5",
        "1e3",
        "0x10",
        "inf",
        "nan",
        "5s",
        "1.",
        ".5",
        "1 2",
        "1,5",
        "one",
        "1.2.3",
        "\xff",
        "5\r",
        "Thursday",
        "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 06 Nov 1994",
        "06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sunday, 06 November 1994 08:49:37 GMT (a comment that makes it over 64 bytes)",
        "0000000000000000000000000000000000000000000000000000000000000000000x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(parse(NULL, bad[i], RFC_EXAMPLE_UNIX), -1, "Retry-After %zu", i);
        cr_assert_eq(parse(bad[i], NULL, RFC_EXAMPLE_UNIX), -1, "retry-after-ms %zu", i);
    }
    /* A date is never milliseconds. */
    cr_assert_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT", NULL, RFC_EXAMPLE_UNIX), -1);
    /* Bytes are pointer + length: nothing after len is read. */
    struct aigw_bytes cut = {"12345", 2};
    cr_assert_eq(gw_retry_after_parse(cut, aigw_bytes_of(NULL), 0), 12);
}

Test(retry_after_parse, http_dates_in_all_three_forms)
{
    static const char *const forms[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",  /* IMF-fixdate */
        "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850 */
        "Sun Nov  6 08:49:37 1994",       /* asctime */
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cr_assert_eq(parse(NULL, forms[i], RFC_EXAMPLE_UNIX - 90), 90000, "%s", forms[i]);
        cr_assert_eq(parse(NULL, forms[i], RFC_EXAMPLE_UNIX - 1), 1000, "%s", forms[i]);
        cr_assert_eq(parse(NULL, forms[i], RFC_EXAMPLE_UNIX), 0, "%s", forms[i]);
        cr_assert_eq(parse(NULL, forms[i], RFC_EXAMPLE_UNIX + 5000), 0, "%s", forms[i]);
        /* A day ahead exactly, and beyond: the cap. */
        cr_assert_eq(parse(NULL, forms[i], RFC_EXAMPLE_UNIX - 86400), MAX_MS, "%s", forms[i]);
        cr_assert_eq(parse(NULL, forms[i], RFC_EXAMPLE_UNIX - 86399), 86399000, "%s", forms[i]);
        cr_assert_eq(parse(NULL, forms[i], 0), MAX_MS, "%s", forms[i]);
    }
    cr_assert_eq(parse(NULL, "  Sun, 06 Nov 1994 08:49:37 GMT\t", RFC_EXAMPLE_UNIX - 90), 90000);
    /* A valid retry-after-ms still wins over a date. */
    cr_assert_eq(parse("250", "Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE_UNIX - 90), 250);
    /* An invalid one does not hide it. */
    cr_assert_eq(parse("x", "Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE_UNIX - 90), 90000);
}

/* ---- oai_request_body: a copy to edit at will, or (1.4) the top level over shared values --- */

static const char OAI_BODY[] =
    "{\"model\":\"client/m\",\"messages\":[{\"role\":\"developer\",\"content\":\"be \\u00e9\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}],\"max_tokens\":64,"
    "\"temperature\":0.5,\"stream\":false,\"stream_options\":{\"include_usage\":false,\"x\":1},"
    "\"logprobs\":null,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
    "\"parameters\":{}}}],\"user\":\"u\",\"n\":1,\"seed\":-0,\"top_p\":1e-7,"
    "\"big\":123456789012345678,\"logit_bias\":{\"50256\":-100},\"parallel_tool_calls\":true}";

static char *build_print(const cJSON *client, int stream, int usage, int set_model,
                         const char *const *drop, int top_level_only, size_t opts_size)
{
    struct gw_call c;
    cr_assert_eq(gw_call_init(&c, NULL, AIGW_OP_CHAT, client, "up-model", stream, usage), 0);
    struct aigw_oai_opts o = {AIGW_ABI_VERSION, (uint32_t)opts_size, drop, usage, set_model,
                              top_level_only};
    cJSON *body = gw_oai_request_body(&c.pub, &o);
    cr_assert_not_null(body);
    /* What a 1.4 plugin promising top-level edits may do: rename, replace, add, remove. */
    cJSON *mt = cJSON_DetachItemFromObjectCaseSensitive(body, "max_tokens");
    cr_assert_not_null(mt);
    cr_assert(cJSON_AddItemToObject(body, "max_completion_tokens", mt));
    cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(body, "user", cJSON_CreateString("v")));
    cJSON_DeleteItemFromObjectCaseSensitive(body, "tools");
    cr_assert_not_null(cJSON_AddStringToObject(body, "extra", "e"));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    gw_call_free(&c);
    return text;
}

/* The shared top level prints what the deep copy prints, under every option, and neither the
 * edits nor the delete touch the client's request (a fallback builds from it again). ASan
 * sees a double free or a use after free of a shared value. */
Test(host_oai_body, the_top_level_over_shared_values_prints_as_the_copy)
{
    cJSON *client = cJSON_Parse(OAI_BODY);
    cr_assert_not_null(client);
    char *before = cJSON_PrintUnformatted(client);
    static const char *const drop[] = {"logprobs", "stream_options", "n", NULL};
    for (int v = 0; v < 16; v++) {
        int stream = v & 1, usage = (v >> 1) & 1, set_model = (v >> 2) & 1;
        const char *const *d = (v >> 3) & 1 ? drop : NULL;
        char *deep = build_print(client, stream, usage, set_model, d, 0,
                                 sizeof(struct aigw_oai_opts));
        char *shallow = build_print(client, stream, usage, set_model, d, 1,
                                    sizeof(struct aigw_oai_opts));
        cr_assert_str_eq(shallow, deep, "variant %d", v);
        char *after = cJSON_PrintUnformatted(client);
        cr_assert_str_eq(after, before, "variant %d", v);
        free(after);
        free(deep);
        free(shallow);
    }
    free(before);
    cJSON_Delete(client);
}

/* A plugin built for 1.3 has no top_level_only: whatever lies past its struct_size is not
 * read, and it gets a copy of its own to take apart. */
Test(host_oai_body, a_1_3_sized_options_struct_gets_a_deep_copy)
{
    cJSON *client = cJSON_Parse(OAI_BODY);
    struct gw_call c;
    cr_assert_eq(gw_call_init(&c, NULL, AIGW_OP_CHAT, client, "up-model", 0, 0), 0);
    struct aigw_oai_opts o = {AIGW_ABI_VERSION, (uint32_t)offsetof(struct aigw_oai_opts,
                                                                   top_level_only),
                              NULL, 1, 1, 1};
    cJSON *body = gw_oai_request_body(&c.pub, &o);
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
    cr_assert_eq(msgs->type & cJSON_IsReference, 0);
    /* Edited inside, as a 1.3 plugin may: the client's request stays as it was. */
    cJSON *role = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 0), "role");
    cr_assert(cJSON_SetValuestring(role, "system"));
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(client, "messages"), 0),
                         "role")
                         ->valuestring,
                     "developer");
    o.struct_size = sizeof o;
    cJSON *shared = gw_oai_request_body(&c.pub, &o);
    cr_assert_neq(cJSON_GetObjectItemCaseSensitive(shared, "messages")->type & cJSON_IsReference,
                  0);
    cJSON_Delete(shared);
    cJSON_Delete(body);
    gw_call_free(&c);
    cJSON_Delete(client);
}
