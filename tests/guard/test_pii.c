/*
 * test_pii - the pii guard through the real loader and chain: each kind found (and its near
 * misses left alone), redact and block on requests, answers cut at every offset (ASCII and
 * not), apply_to, error messages, and its config parser.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"

static void expect_request(struct gw_guard_chain *c, const char *body, const char *want)
{
    char *out;
    struct gh_result r;
    gh_request(c, body, &out, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW, "verdict %d (%s)", r.verdict, r.error ? r.error : "");
    cr_assert_str_eq(out, want);
    free(out);
    gh_result_free(&r);
}

/* One user message whose content is text; what the guard makes of it. */
static void expect_text(struct gw_guard_chain *c, const char *text, const char *want)
{
    char body[2048], exp[2048];
    snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", text);
    snprintf(exp, sizeof exp, "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", want);
    expect_request(c, body, exp);
}

Test(pii, finds_each_kind_in_a_request)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\"}]");
    expect_text(c, "mail jane.doe+x@mail.example.com.", "mail [EMAIL].");
    expect_text(c, "card 4111 1111 1111 1111 exp", "card [CARD] exp");
    expect_text(c, "amex 378282246310005", "amex [CARD]");
    expect_text(c, "mc 5555-5555-5555-4444, ok", "mc [CARD], ok");
    expect_text(c, "pay DE89 3704 0044 0532 0130 00 today", "pay [IBAN] today");
    expect_text(c, "gb GB82WEST12345698765432", "gb [IBAN]");
    expect_text(c, "ssn 123-45-6789.", "ssn [SSN].");
    expect_text(c, "call +44 20 7946 0958 or +1 (555) 010-4477", "call [PHONE] or [PHONE]");
    expect_text(c, "us (555) 234-4477 / 555.234.4477", "us [PHONE] / [PHONE]");
    expect_text(c, "from 192.168.1.20, to 10.0.0.1", "from [IP], to [IP]");
    expect_text(c, "v6 2001:db8::8a2e:370:7334 and ::1 and fe80::1%", "v6 [IP] and [IP] and [IP]%");
    gw_guard_chain_free(c);
}

Test(pii, near_misses_are_left_alone)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\"}]");
    const char *keep[] = {
        "4111 1111 1111 1112",                             /* Luhn fails */
        "order 1234567890123456",                          /* starts with 1 */
        "x4111111111111111",                               /* glued to a word */
        "DE89 3704 0044 0532 0130 01",                     /* IBAN checksum fails */
        "ZZ89370400440532013000",                          /* no such country */
        "000-12-3456 666-12-3456 123-00-4567 123-45-0000", /* invalid SSN parts */
        "256.1.1.1 1.2.3.4.5 01.2.3.4",                    /* not IPv4 */
        "at 12:30:45 and 00:1a:2b:3c:4d:5e",               /* a time, a MAC address */
        "version 2024-01-15 and 5551234",                  /* a date and a bare number */
        "jane@localhost and @handle and a@b.c1",
    };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        expect_text(c, keep[i], keep[i]);
    gw_guard_chain_free(c);
}

Test(pii, every_text_of_a_request)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"types\":[\"email\"]}}]");
    expect_request(
        c,
        "{\"messages\":[{\"role\":\"system\",\"content\":\"a@example.com\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"b@example.com\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/a@b.co\"}}]},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"1\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"to\\\":\\\"c@example.com\\\"}\"}}]}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"[EMAIL]\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"[EMAIL]\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/a@b.co\"}}]},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"1\",\"type\":\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"to\\\":\\\"[EMAIL]\\\"}\"}}]}]}");
    expect_request(c, "{\"input\":[\"x\",\"d@example.com\"]}", "{\"input\":[\"x\",\"[EMAIL]\"]}");
    gw_guard_chain_free(c);
}

/* Tool descriptions reach the model as messages do: they were not read. */
Test(pii, tool_descriptions_and_their_parameters)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"types\":[\"email\"]}}]");
    expect_request(c,
                   "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{"
                   "\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":"
                   "\"mail a@example.com\",\"parameters\":{\"type\":\"object\",\"properties\":"
                   "{\"to\":{\"type\":\"string\",\"description\":\"b@example.com\"},"
                   "\"description\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
                   "\"description\":\"c@example.com\"}}}}}}]}",
                   "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{"
                   "\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":"
                   "\"mail [EMAIL]\",\"parameters\":{\"type\":\"object\",\"properties\":"
                   "{\"to\":{\"type\":\"string\",\"description\":\"[EMAIL]\"},"
                   "\"description\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
                   "\"description\":\"[EMAIL]\"}}}}}}]}");
    struct gw_guard_chain *b = gh_chain("[{\"name\":\"pii\",\"config\":{\"action\":\"block\"}}]");
    struct gh_result r;
    gh_request(b,
               "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{"
               "\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":"
               "\"card 4111111111111111\"}}]}",
               NULL, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "request blocked by guardrail 'pii': payment card number in "
                              "tools[0].function.description");
    gh_result_free(&r);
    gw_guard_chain_free(b);
    gw_guard_chain_free(c);
}

/* Texts the model reads in the shapes the older and rarer parts of the chat API have: a
 * refusal played back, the functions API's function_call and functions, a structured
 * output's schema, predicted output. They reached the upstream unread. */
Test(pii, refusals_functions_schemas_and_predictions)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"types\":[\"email\"]}}]");
    expect_request(c,
                   "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\","
                   "\"refusal\":\"a@example.com\"}],\"refusal\":\"b@example.com\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"f\","
                   "\"arguments\":\"{\\\"to\\\":\\\"c@example.com\\\"}\"}}],"
                   "\"functions\":[{\"name\":\"f\",\"description\":\"d@example.com\","
                   "\"parameters\":{\"type\":\"object\",\"properties\":{\"to\":{\"type\":"
                   "\"string\",\"description\":\"e@example.com\"}}}}],"
                   "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\","
                   "\"description\":\"f@example.com\",\"schema\":{\"type\":\"object\","
                   "\"properties\":{\"a\":{\"type\":\"string\",\"description\":"
                   "\"g@example.com\"}}}}},"
                   "\"prediction\":{\"type\":\"content\",\"content\":\"h@example.com\"}}",
                   "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"refusal\","
                   "\"refusal\":\"[EMAIL]\"}],\"refusal\":\"[EMAIL]\"},"
                   "{\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"f\","
                   "\"arguments\":\"{\\\"to\\\":\\\"[EMAIL]\\\"}\"}}],"
                   "\"functions\":[{\"name\":\"f\",\"description\":\"[EMAIL]\","
                   "\"parameters\":{\"type\":\"object\",\"properties\":{\"to\":{\"type\":"
                   "\"string\",\"description\":\"[EMAIL]\"}}}}],"
                   "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\","
                   "\"description\":\"[EMAIL]\",\"schema\":{\"type\":\"object\","
                   "\"properties\":{\"a\":{\"type\":\"string\",\"description\":"
                   "\"[EMAIL]\"}}}}},"
                   "\"prediction\":{\"type\":\"content\",\"content\":\"[EMAIL]\"}}");
    expect_request(c,
                   "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"prediction\":"
                   "{\"type\":\"content\",\"content\":[{\"type\":\"text\",\"text\":"
                   "\"i@example.com\"}]}}",
                   "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"prediction\":"
                   "{\"type\":\"content\",\"content\":[{\"type\":\"text\",\"text\":"
                   "\"[EMAIL]\"}]}}");
    struct gw_guard_chain *b = gh_chain("[{\"name\":\"pii\",\"config\":{\"action\":\"block\"}}]");
    struct gh_result r;
    gh_request(b,
               "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
               "\"content\":null,\"function_call\":{\"name\":\"pay\",\"arguments\":"
               "\"{\\\"card\\\":\\\"4111111111111111\\\"}\"}}]}",
               NULL, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "request blocked by guardrail 'pii': payment card number in "
                              "messages[1].function_call.arguments");
    gh_result_free(&r);
    gw_guard_chain_free(b);
    gw_guard_chain_free(c);
}

/* An address written with a JSON escape in a tool call's arguments: the upstream would read
 * it (a target that takes arguments as an object gets it decoded); it is redacted too. */
Test(pii, escaped_text_in_tool_call_arguments)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"types\":[\"email\"]}}]");
    expect_request(
        c,
        "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
        "\"id\":\"1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"to\\\":\\\"ann\\\\u0040example.com\\\",\\\"cc\\\":\\\"b@example.com\\\"}\"}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
        "\"id\":\"1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"to\\\":\\\"[EMAIL]\\\",\\\"cc\\\":\\\"[EMAIL]\\\"}\"}}]}]}");
    gw_guard_chain_free(c);
}

Test(pii, block_names_the_kind_and_place_never_the_value)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"action\":\"block\"}}]");
    struct gh_result r;
    gh_request(c,
               "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
               "{\"role\":\"user\",\"content\":\"my card is 4111111111111111\"}]}",
               NULL, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(r.code, "guardrail_blocked");
    cr_assert_str_eq(r.error, "request blocked by guardrail 'pii': payment card number in "
                              "messages[1].content");
    gh_result_free(&r);
    cr_assert_eq(gw_guard_chain_count(c, 0, AIGW_GUARD_INPUT, GW_GUARD_O_DENY), 1);
    gw_guard_chain_free(c);
}

Test(pii, answers_redacted_at_every_split)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\"}]");
    gh_every_split(c, "Card: 4111 1111 1111 1111, thanks", "Card: [CARD], thanks");
    gh_every_split(c, "write to jane.doe@example.com now", "write to [EMAIL] now");
    gh_every_split(c, "ip 192.168.100.200", "ip [IP]");
    gh_every_split(c, "IBAN DE89370400440532013000.", "IBAN [IBAN].");
    gh_every_split(c, "no pii here at all, 12 apples", "no pii here at all, 12 apples");
    /* Longer than the 64-byte window: held by its partial match until it ends. */
    gh_every_split(c, "x a.very.long.local.part.indeed@a.subdomain.of.a.rather.long.example.org y",
                   "x [EMAIL] y");
    gw_guard_chain_free(c);
}

/* Past the window: text flows out while identifiers far from the end are judged, and each cut
 * of the stream still gives the same answer. */
Test(pii, long_answers_flow_and_stay_redacted)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\"}]");
    static const char filler[] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed "
                                 "do eiusmod tempor incididunt ut labore et dolore magna. ";
    char text[1024], want[1024];
    snprintf(text, sizeof text, "%sCard 5555 5555 5555 4444 and +1 (555) 234-4477 then %s%s",
             filler, filler, "mail bob@example.net");
    snprintf(want, sizeof want, "%sCard [CARD] and [PHONE] then %s%s", filler, filler,
             "mail [EMAIL]");
    gh_every_split(c, text, want);
    struct gh_result r;
    size_t cuts[400];
    size_t n = strlen(text);
    for (size_t k = 1; k < n; k++)
        cuts[k - 1] = k;
    gh_answer(c, text, n, cuts, n - 1, 1, &r);
    cr_assert_str_eq(r.text, want);
    /* It flows a word at a time (the word at the end may still turn out an email's start). */
    cr_assert_geq(r.chunks, 40, "text was held back instead of flowing: %zu chunks", r.chunks);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(pii, non_ascii_text_around_identifiers)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\"}]");
    gh_every_split(c, "Grüße — écrivez à jane@example.org ✉️ merci",
                   "Grüße — écrivez à [EMAIL] ✉️ merci");
    gh_every_split(c, "电话+44 20 7946 0958好的", "电话[PHONE]好的");
    gh_every_split(c, "카드번호 4111111111111111 입니다", "카드번호 [CARD] 입니다");
    expect_text(c, "請寄到jane@example.org謝謝", "請寄到[EMAIL]謝謝");
    gw_guard_chain_free(c);
}

Test(pii, block_mid_stream_sends_nothing_of_the_match)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"action\":\"block\"}}]");
    gh_every_split_deny(c, "the number is 4111 1111 1111 1111 ok", "4111");
    gw_guard_chain_free(c);
}

Test(pii, apply_to_limits_the_stage)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"apply_to\":\"input\"}}]");
    gh_every_split(c, "mail a@example.com", "mail a@example.com");
    expect_text(c, "mail a@example.com", "mail [EMAIL]");
    gw_guard_chain_free(c);
    c = gh_chain("[{\"name\":\"pii\",\"stage\":\"output\"}]");
    expect_text(c, "mail a@example.com", "mail a@example.com");
    gh_every_split(c, "mail a@example.com", "mail [EMAIL]");
    gw_guard_chain_free(c);
}

/* apply_to "output" leaves the request stage out of the entry altogether, as "stage":
 * "output" does: it does not run there (nothing counted), and embeddings input given as
 * token ids, which only a guard that reads the request cannot read, is not refused for it. */
Test(pii, apply_to_output_takes_no_part_in_the_request_stage)
{
    static const char *const cfgs[] = {
        "[{\"name\":\"pii\",\"config\":{\"apply_to\":\"output\"}}]",
        "[{\"name\":\"pii\",\"stage\":\"output\"}]",
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        struct gw_guard_chain *c = gh_chain(cfgs[i]);
        unsigned stages = 0;
        int fail_open = 1;
        cr_assert_str_eq(gw_guard_chain_entry(c, 0, &stages, &fail_open), "pii");
        cr_assert_eq(stages, AIGW_GUARD_OUTPUT, "%s", cfgs[i]);
        cr_assert_not(gw_guard_chain_has(c, AIGW_GUARD_INPUT), "%s", cfgs[i]);
        struct gw_guard_run_opts o = {AIGW_OP_EMBEDDINGS, 0, "m", "openai", "r", NULL};
        struct gw_guard_run *run = gw_guard_run_new(c, &o);
        cJSON *body = cJSON_Parse("{\"model\":\"m\",\"input\":[1,2,3]}");
        cr_assert_eq(gw_guard_on_request(run, body), GW_GUARD_ALLOW, "%s", cfgs[i]);
        cr_assert_eq(gw_guard_run_outcome(run, 0, AIGW_GUARD_INPUT), GW_GUARD_O_NONE);
        cJSON_Delete(body);
        gw_guard_run_free(run);
        gw_guard_chain_free(c);
    }
    /* An entry given the input alone whose config reads only answers would never run. */
    const char *err = gh_chain_err("[{\"name\":\"pii\",\"stage\":\"input\",\"config\":"
                                   "{\"apply_to\":\"output\"}}]");
    cr_assert_not_null(strstr(err, "guardrails[0] (pii): stage:"), "%s", err);
    cr_assert_not_null(strstr(err, "turns that stage off"), "%s", err);
    /* "input" and "both" read the request: token ids are refused as ever. */
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"apply_to\":\"input\"}}]");
    unsigned stages = 0;
    gw_guard_chain_entry(c, 0, &stages, NULL);
    cr_assert_eq(stages, AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT, "errors are still scrubbed");
    struct gw_guard_run_opts o = {AIGW_OP_EMBEDDINGS, 0, "m", "openai", "r", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    cJSON *body = cJSON_Parse("{\"model\":\"m\",\"input\":[1,2,3]}");
    cr_assert_eq(gw_guard_on_request(run, body), GW_GUARD_FAILED);
    cJSON_Delete(body);
    gw_guard_run_free(run);
    gw_guard_chain_free(c);
}

Test(pii, upstream_error_messages_are_scrubbed)
{
    struct gw_guard_chain *c = gh_chain("[{\"name\":\"pii\",\"config\":{\"action\":\"block\"}}]");
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "r", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    struct aigw_error e;
    aigw_error_init(&e);
    e.message = "invalid input 'jane@example.org': bad";
    cr_assert_eq(gw_guard_on_error(run, &e), 0);
    cr_assert_str_eq(e.message, "invalid input '[EMAIL]': bad");
    gw_guard_run_free(run);
    gw_guard_chain_free(c);
}

Test(pii, replacement_and_types)
{
    struct gw_guard_chain *c =
        gh_chain("[{\"name\":\"pii\",\"config\":{\"types\":[\"ssn\"],\"replacement\":\"***\"}}]");
    expect_text(c, "123-45-6789 a@example.com", "*** a@example.com");
    gw_guard_chain_free(c);
}

Test(pii, config_errors)
{
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"pii\",\"config\":{\"action\":\"mask\"}}]"),
                     "guardrails[0] (pii): config.action: not one of the allowed values");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"pii\",\"config\":{\"types\":[]}}]"),
                     "guardrails[0] (pii): config.types: the item count must be at least 1");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"pii\",\"config\":{\"kinds\":1}}]"),
                     "guardrails[0] (pii): config.kinds: not an allowed member");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"pii\",\"config\":{\"types\":[\"dna\"]}}]"),
                     "guardrails[0] (pii): config.types[0]: not one of the allowed values");
}
