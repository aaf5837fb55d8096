/* test_max_size - the max-size guard: message and character counts, the max_tokens ceiling
 * (clamped, added, or blocked), operations other than chat, and its config. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"

static void run(const char *cfg, const char *body, int want, const char *out_want,
                const char *reason)
{
    char json[512];
    snprintf(json, sizeof json, "[{\"name\":\"max-size\",\"config\":%s}]", cfg);
    struct gw_guard_chain *c = gh_chain(json);
    char *out;
    struct gh_result r;
    gh_request(c, body, &out, &r);
    cr_assert_eq(r.verdict, want, "%s: verdict %d (%s)", body, r.verdict, r.error ? r.error : "");
    if (out_want)
        cr_assert_str_eq(out, out_want);
    if (reason)
        cr_assert_str_eq(r.error, reason);
    free(out);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(max_size, messages)
{
    const char *two = "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
                      "{\"role\":\"user\",\"content\":\"b\"}]}";
    run("{\"max_messages\":2}", two, GW_GUARD_ALLOW, two, NULL);
    run("{\"max_messages\":1}", two, GW_GUARD_DENY, NULL,
        "request blocked by guardrail 'max-size': the request has 2 messages; at most 1 are "
        "allowed");
}

Test(max_size, input_characters_are_code_points)
{
    const char *b =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\u00e9\u00e9\u00e9\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\u4f60\u597d\"}]}]}";
    run("{\"max_input_chars\":5}", b, GW_GUARD_ALLOW, NULL, NULL);
    run("{\"max_input_chars\":4}", b, GW_GUARD_DENY, NULL,
        "request blocked by guardrail 'max-size': the input is 5 characters; at most 4 are "
        "allowed");
    run("{\"max_input_chars\":3}", "{\"input\":[\"ab\",\"cd\"]}", GW_GUARD_DENY, NULL, NULL);
}

Test(max_size, max_tokens_ceiling)
{
    run("{\"max_tokens\":100}", "{\"max_tokens\":500,\"max_completion_tokens\":50}", GW_GUARD_ALLOW,
        "{\"max_tokens\":100,\"max_completion_tokens\":50}", NULL);
    run("{\"max_tokens\":100}", "{\"model\":\"x\"}", GW_GUARD_ALLOW,
        "{\"model\":\"x\",\"max_tokens\":100}", NULL);
    run("{\"max_tokens\":100}", "{\"max_tokens\":100}", GW_GUARD_ALLOW, "{\"max_tokens\":100}",
        NULL);
    run("{\"max_tokens\":100,\"max_tokens_action\":\"block\"}", "{\"max_completion_tokens\":101}",
        GW_GUARD_DENY, NULL,
        "request blocked by guardrail 'max-size': max_completion_tokens 101 is above the ceiling "
        "100");
}

Test(max_size, config_errors)
{
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"max-size\"}]"),
                     "guardrails[0] (max-size): config: the member count must be at least 1");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"max-size\",\"config\":{\"max_tokens_action\":"
                                  "\"block\"}}]"),
                     "guardrails[0] (max-size): config: set max_messages, max_input_chars or "
                     "max_tokens");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"max-size\",\"stage\":\"output\","
                                  "\"config\":{\"max_messages\":1}}]"),
                     "guardrails[0] (max-size): stage: the guard only runs on the input");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"max-size\",\"config\":{\"max_messages\":0}}]"),
                     "guardrails[0] (max-size): config.max_messages: the value must be at least 1");
}
