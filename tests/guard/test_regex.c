/*
 * test_regex - the regex guard: compile errors at load, named patterns in reasons, redaction
 * of bounded and unbounded patterns at every split (held by partial matching), look-behind
 * into text already sent, Unicode classes, and the match limit failing the guard.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"

static struct gw_guard_chain *rx(const char *patterns, const char *extra)
{
    char json[2048];
    snprintf(json, sizeof json, "[{\"name\":\"regex\",\"config\":{\"patterns\":%s%s}}]", patterns,
             extra ? extra : "");
    return gh_chain(json);
}

Test(regex, bad_patterns_are_config_errors)
{
    cr_assert_str_eq(
        gh_chain_err("[{\"name\":\"regex\",\"config\":{\"patterns\":[\"ok\",\"a(b\"]}}]"),
        "guardrails[0] (regex): config: patterns[1]: missing closing parenthesis at "
        "offset 3");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"regex\",\"config\":{\"patterns\":[\"a*\"]}}]"),
                     "guardrails[0] (regex): config: patterns[0]: can match the empty string");
    cr_assert_str_eq(
        gh_chain_err("[{\"name\":\"regex\",\"config\":{\"patterns\":[{\"name\":\"x\"}]}}]"),
        "guardrails[0] (regex): config.patterns[0].pattern: required");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"regex\",\"config\":{\"patterns\":[\"x\"],"
                                  "\"match_limit\":10}}]"),
                     "guardrails[0] (regex): config.match_limit: the value must be at least 1000");
}

Test(regex, blocks_naming_the_pattern)
{
    struct gw_guard_chain *c =
        rx("[\"zzz\",{\"pattern\":\"\\\\bPRJ-[0-9]{3,}\\\\b\",\"name\":\"project code\"}]", NULL);
    struct gh_result r;
    gh_request(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"about PRJ-1234 today\"}]}", NULL,
               &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "request blocked by guardrail 'regex': project code in "
                              "messages[0].content");
    gh_result_free(&r);
    gh_request(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"xPRJ-1234 and PRJ-12\"}]}", NULL,
               &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

/* A lookaround alone matches nothing to redact (and must not loop or grow the text). */
Test(regex, empty_matches_are_skipped)
{
    struct gw_guard_chain *c = rx("[\"(?=x)\",\"y\"]", ",\"action\":\"redact\"");
    gh_every_split(c, "xx y xx", "xx [REDACTED] xx");
    gw_guard_chain_free(c);
}

Test(regex, case_insensitive)
{
    struct gw_guard_chain *c =
        rx("[\"secret\"]", ",\"case_insensitive\":true,\"action\":\"redact\"");
    char *out;
    struct gh_result r;
    gh_request(c, "{\"input\":\"SeCrEt stuff\"}", &out, &r);
    cr_assert_str_eq(out, "{\"input\":\"[REDACTED] stuff\"}");
    free(out);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(regex, bounded_patterns_at_every_split)
{
    struct gw_guard_chain *c = rx("[\"ACME-[0-9]{4}\"]", ",\"action\":\"redact\"");
    gh_every_split(c, "ids ACME-1234 and ACME-99999.", "ids [REDACTED] and [REDACTED]9.");
    gh_every_split(c, "ACME-12 is short", "ACME-12 is short");
    gw_guard_chain_free(c);
    /* Greedy: the match is only decided once the digits stop. */
    c = rx("[\"#[0-9]+\"]", ",\"action\":\"redact\",\"replacement\":\"#N\"");
    gh_every_split(c, "ticket #123456 closed", "ticket #N closed");
    gw_guard_chain_free(c);
}

Test(regex, unbounded_patterns_hold_until_decided)
{
    struct gw_guard_chain *c = rx("[\"BEGIN.*?END\"]", ",\"action\":\"redact\"");
    gh_every_split(c, "x BEGIN some longer secret stuff END y BEGIN z", "x [REDACTED] y BEGIN z");
    gw_guard_chain_free(c);
    c = rx("[\"BEGIN.*?END\"]", NULL);
    gh_every_split_deny(c, "all fine, BEGIN then more and END", "BEGIN");
    gw_guard_chain_free(c);
}

Test(regex, look_behind_sees_text_already_sent)
{
    struct gw_guard_chain *c = rx("[\"(?<=key=)[a-z]+\"]", ",\"action\":\"redact\"");
    char text[512], want[512];
    snprintf(text, sizeof text, "%s key=abcdef end",
             "a long preamble that goes on and on so that "
             "the key is far from the start of the text");
    snprintf(want, sizeof want, "%s key=[REDACTED] end",
             "a long preamble that goes on and on so "
             "that the key is far from the start of "
             "the text");
    gh_every_split(c, text, want);
    gw_guard_chain_free(c);
}

Test(regex, unicode_classes)
{
    struct gw_guard_chain *c = rx("[\"\\u79d8\\u5bc6\\\\w+\",\"\\\\bna\\u00efve\\\\b\"]",
                                  ",\"action\":\"redact\",\"case_insensitive\":true");
    gh_every_split(c, "\u3053\u308c\u306f\u79d8\u5bc6\u60c5\u5831\u3002 NA\u00cfVE!",
                   "\u3053\u308c\u306f[REDACTED]\u3002 [REDACTED]!");
    gw_guard_chain_free(c);
}

Test(regex, the_match_limit_fails_the_guard)
{
    struct gw_guard_chain *c = rx("[\"(a+)+b\"]", ",\"match_limit\":1000");
    struct gh_result r;
    gh_request(c, "{\"input\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac b\"}", NULL, &r);
    cr_assert_eq(r.verdict, GW_GUARD_FAILED, "verdict %d", r.verdict);
    cr_assert_str_eq(r.code, "guardrail_failed");
    gh_result_free(&r);
    gw_guard_chain_free(c);
}
