/*
 * test_word_filter - the word-filter guard: case and Unicode normalization (canonical
 * equivalence, compatibility forms, invisible characters, white space), whole words, scripts
 * without spaces, block and redact on requests and on answers cut at every offset, config.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"

static struct gw_guard_chain *wf(const char *words, const char *extra)
{
    char json[2048];
    snprintf(json, sizeof json, "[{\"name\":\"word-filter\",\"config\":{\"words\":%s%s}}]", words,
             extra ? extra : "");
    return gh_chain(json);
}

/* The verdict on one user message (JSON-escaped text). */
static int verdict(struct gw_guard_chain *c, const char *text)
{
    char body[2048];
    struct gh_result r;
    snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", text);
    gh_request(c, body, NULL, &r);
    int v = r.verdict;
    if (v == GW_GUARD_DENY)
        cr_assert_str_eq(r.error, "request blocked by guardrail 'word-filter': a blocked word or "
                                  "phrase in messages[0].content");
    gh_result_free(&r);
    return v;
}

#define BLOCKED(c, t) cr_assert_eq(verdict(c, t), GW_GUARD_DENY, "not blocked: %s", t)
#define PASSES(c, t) cr_assert_eq(verdict(c, t), GW_GUARD_ALLOW, "blocked: %s", t)

Test(word_filter, case_and_compatibility_forms)
{
    struct gw_guard_chain *c = wf("[\"bad\",\"office\",\"strasse\"]", NULL);
    BLOCKED(c, "this is bad");
    BLOCKED(c, "BaD!");
    BLOCKED(c, "\uff22\uff21\uff24");      /* fullwidth BAD */
    BLOCKED(c, "b\u200bad and b\u00adad"); /* zero-width space, soft hyphen */
    BLOCKED(c, "the o\ufb03ce");           /* ffi ligature */
    BLOCKED(c, "Stra\u00dfe");             /* sharp s */
    BLOCKED(c, "STRA\u1e9eE");             /* capital sharp s */
    PASSES(c, "badminton and a badge");
    PASSES(c, "b-a-d");
    gw_guard_chain_free(c);
}

Test(word_filter, canonical_equivalence_and_accents)
{
    struct gw_guard_chain *c = wf("[\"caf\u00e9\",\"\u03bb\u03cc\u03b3\u03bf\u03c2\"]", NULL);
    BLOCKED(c, "un caf\u00e9");  /* precomposed */
    BLOCKED(c, "un cafe\u0301"); /* decomposed */
    BLOCKED(c, "UN CAF\u00c9");
    BLOCKED(c, "\u039b\u038c\u0393\u039f\u03a3"); /* Greek capitals with tonos */
    PASSES(c, "un cafe");                         /* accents count unless ignored */
    PASSES(c, "un caf\u00e8");
    gw_guard_chain_free(c);
    c = wf("[\"cafe\"]", ",\"ignore_accents\":true");
    BLOCKED(c, "un caf\u00e9");
    BLOCKED(c, "un cafe\u0301\u0301");
    BLOCKED(c, "un C\u00c0F\u00c8");
    gw_guard_chain_free(c);
}

Test(word_filter, phrases_and_white_space)
{
    struct gw_guard_chain *c = wf("[\"  credit   card \"]", NULL);
    BLOCKED(c, "my Credit\\n  Card");
    BLOCKED(c, "credit\u00a0card");
    BLOCKED(c, "credit\u3000card");
    PASSES(c, "creditcard");
    PASSES(c, "credit cards");
    gw_guard_chain_free(c);
}

Test(word_filter, other_scripts)
{
    struct gw_guard_chain *c =
        wf("[\"\u043c\u043e\u0441\u043a\u0432\u0430\",\"\u7981\u6b62\"]", NULL);
    BLOCKED(c, "\u041c\u041e\u0421\u041a\u0412\u0410!"); /* Cyrillic capitals */
    BLOCKED(c, "\u8fd9\u662f\u7981\u6b62\u7684");        /* CJK: no word boundaries needed */
    PASSES(c, "\u043c\u043e\u0441\u043a\u0432\u0430\u0440\u0435\u043a\u0430"); /* longer word */
    gw_guard_chain_free(c);
    c = wf("[\"bad\"]", ",\"whole_words\":false");
    BLOCKED(c, "badminton");
    gw_guard_chain_free(c);
}

Test(word_filter, redact_in_requests)
{
    struct gw_guard_chain *c = wf("[\"bad\",\"very bad\"]", ",\"action\":\"redact\"");
    char *out;
    struct gh_result r;
    gh_request(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"a BAD day, a very  bad one\"}]}",
               &out, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW);
    cr_assert_str_eq(out,
                     "{\"messages\":[{\"role\":\"user\",\"content\":\"a *** day, a *** one\"}]}");
    free(out);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

/* Tool call arguments are JSON text: a word written with escapes (as Python's json.dumps
 * writes every non-ASCII character) is the same word to the model, and to a target that
 * takes the arguments as an object. It was not blocked. */
Test(word_filter, escaped_words_in_tool_call_arguments)
{
    struct gw_guard_chain *c = wf("[\"straße\"]", "");
    struct gh_result r;
    gh_request(c,
               "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
               "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"go\",\"arguments\":"
               "\"{\\\"to\\\":[\\\"Haupt-STRA\\\\u00dfe 5\\\"]}\"}}]}]}",
               NULL, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "request blocked by guardrail 'word-filter': a blocked word or "
                              "phrase in messages[0].tool_calls[0].function.arguments");
    gh_result_free(&r);
    gw_guard_chain_free(c);
    c = wf("[\"forbidden fruit\"]", "");
    gh_request(c,
               "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
               "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"go\",\"arguments\":"
               "\"{\\\"q\\\":\\\"the forbidden\\\\nfruit\\\"}\"}}]}]}",
               NULL, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    gh_result_free(&r);
    gw_guard_chain_free(c);

    c = wf("[\"straße\"]", ",\"action\":\"redact\"");
    char *out;
    gh_request(c,
               "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
               "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"go\",\"arguments\":"
               "\"{\\\"to\\\":\\\"stra\\\\u00dfe\\\",\\\"n\\\":5}\"}}]}]}",
               &out, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW);
    cr_assert_str_eq(out, "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                          "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"go\","
                          "\"arguments\":\"{\\\"to\\\":\\\"***\\\",\\\"n\\\":5}\"}}]}]}");
    free(out);
    gh_result_free(&r);
    /* Escapes that spell nothing blocked leave the text as the client wrote it. */
    gh_request(c,
               "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
               "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"go\",\"arguments\":"
               "\"{\\\"to\\\": \\\"gro\\\\u00dfe\\\"}\"}}]}]}",
               &out, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW);
    cr_assert_not_null(strstr(out, "{\\\"to\\\": \\\"gro\\\\u00dfe\\\"}"), "%s", out);
    free(out);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(word_filter, answers_at_every_split)
{
    struct gw_guard_chain *c = wf("[\"bad\",\"credit card\",\"caf\u00e9\"]",
                                  ",\"action\":\"redact\",\"replacement\":\"#\"");
    gh_every_split(c, "a bad day", "a # day");
    gh_every_split(c, "no badge, a Credit  Card!", "no badge, a #!");
    gh_every_split(c, "un cafe\u0301 noir, \u00fcber bad", "un # noir, \u00fcber #");
    gh_every_split(c, "\uff22\uff21\uff24\u3000\u4f60\u597d", "#\u3000\u4f60\u597d");
    gh_every_split(c, "b\u200bad news", "# news");
    gw_guard_chain_free(c);
    c = wf("[\"forbidden phrase here\"]", NULL);
    gh_every_split_deny(c, "ok then, the FORBIDDEN phrase  here is said", "FORBIDDEN");
    gh_every_split(c, "the forbidden phrase is not all here",
                   "the forbidden phrase is not all here");
    gw_guard_chain_free(c);
}

Test(word_filter, long_answers_flow)
{
    struct gw_guard_chain *c = wf("[\"bad\"]", ",\"action\":\"redact\"");
    char text[2048], want[2048];
    size_t tn = 0, wn = 0;
    for (int i = 0; i < 40; i++) {
        tn += (size_t)snprintf(text + tn, sizeof text - tn, "good words then bad ");
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "good words then *** ");
    }
    size_t n = strlen(text), cuts[2048];
    for (size_t k = 1; k < n; k++)
        cuts[k - 1] = k;
    struct gh_result r;
    gh_answer(c, text, n, cuts, n - 1, 1, &r);
    cr_assert_str_eq(r.text, want);
    cr_assert_gt(r.chunks, 500, "held back instead of flowing: %zu chunks", r.chunks);
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(word_filter, config_errors)
{
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"word-filter\"}]"),
                     "guardrails[0] (word-filter): config.words: required");
    cr_assert_str_eq(gh_chain_err("[{\"name\":\"word-filter\",\"config\":{\"words\":[]}}]"),
                     "guardrails[0] (word-filter): config.words: the item count must be at "
                     "least 1");
    cr_assert_str_eq(
        gh_chain_err("[{\"name\":\"word-filter\",\"config\":{\"words\":[\"a\",\" \\u200b \"]}}]"),
        "guardrails[0] (word-filter): config: words[1]: nothing left after normalization");
    cr_assert_str_eq(
        gh_chain_err("[{\"name\":\"word-filter\",\"config\":{\"words\":[\"a\"],\"action\":1}}]"),
        "guardrails[0] (word-filter): config.action: not one of the allowed values");
}
