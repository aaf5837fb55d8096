/*
 * What the libFuzzer runs found (tests/fuzz/run-libfuzzer), each replayed as a test that failed
 * before its fix. Under the sanitizer build a regression stops here with UBSan's or ASan's
 * report; the assertions also pin the answer the client gets. Each finding's input also goes
 * into tests/fuzz/seeds/<target>/ so the deterministic driver keeps replaying it.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cache/chunklog.h"
#include "front/request.h"

#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"

static int parse(int kind, const char *body, struct gw_request_err *err)
{
    struct gw_parsed p;
    memset(err, 0, sizeof *err);
    int rc = gw_request_parse(kind, body, strlen(body), &p, err);
    if (rc == 0)
        gw_parsed_free(&p);
    return rc;
}

/* request: is_int() cast a double outside long long's range to long long (undefined
 * behaviour) for every integer field, from a body like {"n": 2666...6 (44 digits)}. */
Test(fuzz_findings, request_integer_fields_far_out_of_range_are_400)
{
    static const char *const huge[] = {
        "26666666666666666666666666666666666666666666",
        "-26666666666666666666666666666666666666666666",
        "1e308",
        "-1e308",
        "1e400",
        "9223372036854775808",
        "9223372036854775807",
        "1e19",
    };
    static const struct {
        int kind;
        const char *field;
        const char *rest;
    } fields[] = {
        {GW_ROUTE_CHAT, "max_tokens", "\"model\":\"m\"," MSGS},
        {GW_ROUTE_CHAT, "max_completion_tokens", "\"model\":\"m\"," MSGS},
        {GW_ROUTE_CHAT, "n", "\"model\":\"m\"," MSGS},
        {GW_ROUTE_CHAT, "seed", "\"model\":\"m\"," MSGS},
        {GW_ROUTE_CHAT, "top_logprobs", "\"model\":\"m\"," MSGS},
        {GW_ROUTE_EMBEDDINGS, "dimensions", "\"model\":\"e\",\"input\":\"a\""},
        {GW_ROUTE_IMAGES, "n", "\"model\":\"i\",\"prompt\":\"a cat\""},
    };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
            char body[512];
            snprintf(body, sizeof body, "{%s,\"%s\":%s}", fields[f].rest, fields[f].field, huge[h]);
            struct gw_request_err e;
            cr_assert_lt(parse(fields[f].kind, body, &e), 0, "accepted: %s", body);
            cr_assert_eq(e.status, 400, "%s", body);
            cr_assert_str_eq(e.param, fields[f].field, "%s", body);
        }
    }
}

/* The edges of the range stay as they were: the smallest long long is an integer, and large
 * exact integers below 2^63 too. */
Test(fuzz_findings, request_integer_fields_keep_their_range)
{
    struct gw_request_err e;
    cr_assert_eq(
        parse(GW_ROUTE_CHAT, "{\"model\":\"m\"," MSGS ",\"seed\":-9223372036854775808}", &e), 0,
        "%s", e.message);
    cr_assert_eq(
        parse(GW_ROUTE_CHAT, "{\"model\":\"m\"," MSGS ",\"seed\":4611686018427387904}", &e), 0,
        "%s", e.message);
    cr_assert_eq(parse(GW_ROUTE_CHAT, "{\"model\":\"m\"," MSGS ",\"max_tokens\":4096}", &e), 0,
                 "%s", e.message);
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\"," MSGS ",\"seed\":1.5}", &e), 0);
    cr_assert_str_eq(e.param, "seed");
    cr_assert_lt(parse(GW_ROUTE_CHAT, "{\"model\":\"m\"," MSGS ",\"n\":0}", &e), 0);
    cr_assert(strstr(e.message, "between 1 and 128"), "%s", e.message);
}

/* cache: a chunk log (as another replica could hand it back through Redis) with a
 * content-filtered finish passed the check, though the recorder never keeps one, and its
 * chunks could not be recorded again. The log's check now refuses what the recorder never
 * writes: a filtered finish, a finish reason the enum lacks. */
Test(fuzz_findings, cache_log_with_a_filtered_or_unknown_finish_is_refused)
{
    /* "AGC1", then FINISH (type 6), choice 0, tool index 0, finish F, empty id/name/text. */
    unsigned char log[] = {'A', 'G', 'C', '1', 6, 0, 0, 4, 0, 0, 0};
    cr_assert_eq(gw_cache_log_check(log, sizeof log), AIGW_EPROTO, "content_filter");
    log[7] = 99;
    cr_assert_eq(gw_cache_log_check(log, sizeof log), AIGW_EPROTO, "no such finish");
    log[7] = 1;
    cr_assert_eq(gw_cache_log_check(log, sizeof log), 0, "stop is a whole answer's finish");
}
