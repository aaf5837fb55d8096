/* body: what every dialect refuses before reading a client's body (core/front/body.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "front/body.h"
#include "front/dialect.h"

static int parse(const char *text, struct gw_body_err *e)
{
    cJSON *root = NULL;
    int rc = gw_body_parse(text, strlen(text), &root, e);
    if (rc == 0)
        cr_assert_not_null(root);
    else
        cr_assert_null(root);
    cJSON_Delete(root);
    return rc;
}

Test(body, a_repeated_key_anywhere_is_refused_and_named_with_where_it_is)
{
    static const struct {
        const char *body, *message;
    } cases[] = {
        {"{\"model\":\"cheap\",\"messages\":[],\"model\":\"dear\"}",
         "the request body repeats the key \"model\"; a key may appear only once in an object"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"content\":\"b\"}]}",
         "the request body repeats the key \"content\" in messages[0]; a key may appear only "
         "once in an object"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"},"
         "{\"type\":\"text\",\"text\":\"a\",\"text\":\"b\"}]}]}",
         "the request body repeats the key \"text\" in messages[0].content[1]; a key may appear "
         "only once in an object"},
        {"[{},{\"a\":{\"b\":1,\"b\":2}}]",
         "the request body repeats the key \"b\" in [1].a; a key may appear only once in an "
         "object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_body_err e;
        cr_assert_eq(parse(cases[i].body, &e), AIGW_EINVAL, "%s", cases[i].body);
        cr_assert_str_eq(e.code, "duplicate_key");
        cr_assert_str_eq(e.message, cases[i].message);
    }
}

Test(body, names_that_differ_only_in_case_or_by_level_are_not_repeats)
{
    struct gw_body_err e;
    cr_assert_eq(
        parse("{\"model\":\"a\",\"Model\":\"b\",\"m\":{\"model\":\"c\"},\"l\":[{\"model\":1},"
              "{\"model\":2}]}",
              &e),
        0);
    cr_assert_eq(parse("{}", &e), 0);
    cr_assert_eq(parse("[1,2,2,\"x\",\"x\"]", &e), 0);
}

/* Objects past 16 members are checked by sorting their names: a repeat found at either end,
 * and none reported among 5,000 distinct names. */
Test(body, large_objects_are_checked_whole)
{
    enum { N = 5000 };
    size_t cap = N * 24 + 64;
    char *text = malloc(cap);
    for (int dup_at = -1; dup_at < 2; dup_at++) {
        size_t len = (size_t)snprintf(text, cap, "{");
        for (int i = 0; i < N; i++)
            len += (size_t)snprintf(text + len, cap - len, "%s\"k%d\":%d", i ? "," : "", i, i);
        if (dup_at == 0) /* the first name again, last */
            len += (size_t)snprintf(text + len, cap - len, ",\"k0\":0");
        else if (dup_at == 1) /* the last name again, last */
            len += (size_t)snprintf(text + len, cap - len, ",\"k%d\":0", N - 1);
        snprintf(text + len, cap - len, "}");
        struct gw_body_err e;
        int rc = parse(text, &e);
        if (dup_at < 0) {
            cr_assert_eq(rc, 0);
        } else {
            cr_assert_eq(rc, AIGW_EINVAL);
            cr_assert(strstr(e.message, dup_at ? "\"k4999\"" : "\"k0\""), "%s", e.message);
        }
    }
    free(text);
}

Test(body, bytes_after_the_value_are_refused_but_whitespace_is_not)
{
    struct gw_body_err e;
    cr_assert_eq(parse("{\"model\":\"m\"} \r\n\t", &e), 0);
    cr_assert_eq(parse("{\"model\":\"m\"}{\"model\":\"n\"}", &e), AIGW_EINVAL);
    cr_assert_str_eq(e.code, "invalid_json");
    cr_assert_str_eq(e.message, "the request body is not valid JSON (more after the value, at "
                                "byte offset 13)");
    cr_assert_eq(parse("{\"model\":\"m\"}\n x", &e), AIGW_EINVAL);
    cr_assert(strstr(e.message, "byte offset 15"), "%s", e.message);
    /* A NUL after the value is more too (cJSON would stop reading there). */
    cJSON *root = NULL;
    cr_assert_eq(gw_body_parse("{}\0{}", 5, &root, &e), AIGW_EINVAL);
    cr_assert_null(root);
}

Test(body, utf8_and_syntax_errors_keep_their_codes)
{
    struct gw_body_err e;
    cr_assert_eq(parse("{\"model\":\"m\xff\"}", &e), AIGW_EINVAL);
    cr_assert_str_eq(e.code, "invalid_utf8");
    cr_assert_str_eq(e.message, "the request body is not valid UTF-8 (byte offset 11)");
    cr_assert_eq(parse("{\"model\":", &e), AIGW_EINVAL);
    cr_assert_str_eq(e.code, "invalid_json");
    cr_assert(strstr(e.message, "not valid JSON (error at byte offset"), "%s", e.message);
    cJSON *root = NULL;
    cr_assert_eq(gw_body_parse(NULL, 0, &root, &e), AIGW_EINVAL);
    cr_assert_str_eq(e.code, "invalid_json");
}

/* The message goes out as JSON: a long key or path is cut at a character's boundary. */
Test(body, a_long_name_is_cut_between_characters)
{
    char key[400], text[1200];
    size_t k = 0;
    key[k++] = 'a';       /* so that 64 bytes of the name end inside a character */
    while (k + 2 < 300) { /* "é" is two bytes: 65 bytes of it would end mid-character */
        key[k++] = (char)0xc3;
        key[k++] = (char)0xa9;
    }
    key[k] = '\0';
    snprintf(text, sizeof text, "{\"x\":{\"%s\":{\"%s\":1,\"%s\":2}}}", key, key, key);
    struct gw_body_err e;
    cr_assert_eq(parse(text, &e), AIGW_EINVAL);
    cr_assert_str_eq(e.code, "duplicate_key");
    size_t n = strlen(e.message);
    for (size_t i = 0; i < n;) { /* every sequence complete */
        unsigned char c = (unsigned char)e.message[i];
        size_t len = c < 0x80 ? 1 : c >= 0xe0 ? 3 : 2;
        cr_assert(c < 0x80 || c == 0xc3, "byte %zu: %02x", i, c);
        cr_assert_leq(i + len, n, "cut sequence at %zu: %s", i, e.message);
        if (len == 2)
            cr_assert_eq((unsigned char)e.message[i + 1], 0xa9);
        i += len;
    }
}

/* The names a client chose once went into a hash table with a fixed, public hash (FNV-1a,
 * linear probing): names chosen to land in one run of slots made each insertion walk all
 * earlier ones, and a 1.2 MB body held a worker for 19 s. 200,000 such names, and two
 * repeats, the first one in the document being the one reported. (The timeout is not a
 * speed limit: the old code needed minutes, the new one a fraction of a second.) */
#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* The printable ASCII a JSON string holds unescaped, '"' and '\\' left out: 93 bytes. */
static char name_char(int i)
{
    char c = (char)(' ' + i);
    return c >= '"' ? (char)(c + 1 + (c + 1 >= '\\')) : c;
}

Test(body, names_chosen_to_collide_cost_no_more_than_any_others, .timeout = 60)
{
    enum { N = 200000, CHARS = 93 };
    size_t slots = 64;
    while (slots < 2 * (N + 2))
        slots <<= 1; /* the old table's size for this object */
    size_t cap = (size_t)N * 12 + 64, len = 1;
    char *text = malloc(cap), at5[8] = "", at9[8] = "";
    text[0] = '{';
    int got = 0;
    /* Three characters, then every pair of two more whose hash lands in the first 256 slots:
     * the hash is carried over the prefix, so the search costs a multiply per candidate. */
    for (int p = 0; got < N; p++) {
        char name[6] = {name_char(p % CHARS),
                        name_char(p / CHARS % CHARS),
                        name_char(p / CHARS / CHARS % CHARS),
                        0,
                        0,
                        0};
        uint64_t h = FNV_BASIS;
        for (int k = 0; k < 3; k++)
            h = (h ^ (unsigned char)name[k]) * FNV_PRIME;
        for (int a = 0; a < CHARS && got < N; a++) {
            uint64_t ha = (h ^ (unsigned char)name_char(a)) * FNV_PRIME;
            for (int b = 0; b < CHARS && got < N; b++) {
                if ((((ha ^ (unsigned char)name_char(b)) * FNV_PRIME) & (slots - 1)) >= 256)
                    continue;
                name[3] = name_char(a);
                name[4] = name_char(b);
                len += (size_t)snprintf(text + len, cap - len, "%s\"%s\":0", got ? "," : "", name);
                if (got == 5)
                    memcpy(at5, name, sizeof name);
                if (got == 9)
                    memcpy(at9, name, sizeof name);
                got++;
            }
        }
    }
    size_t whole = len;
    /* the 10th name repeated, then the 6th: the 10th's repeat comes first */
    snprintf(text + len, cap - len, ",\"%s\":1,\"%s\":1}", at9, at5);
    struct gw_body_err e;
    cr_assert_eq(parse(text, &e), AIGW_EINVAL);
    char want[16];
    snprintf(want, sizeof want, "\"%s\"", at9);
    cr_assert(strstr(e.message, want), "%s (want %s)", e.message, want);
    /* the same names without the repeats */
    snprintf(text + whole, cap - whole, "}");
    cr_assert_eq(parse(text, &e), 0, "%s", e.message);
    free(text);
}

/* An 8 MiB body of small values parsed into 345 MB of tree: past GW_BODY_MAX_VALUES values a
 * body is refused before it is parsed, and quotes, brackets and commas inside strings (escaped
 * quotes too) are not counted. */
Test(body, more_values_than_the_cap_are_refused_before_parsing)
{
    size_t n = GW_BODY_MAX_VALUES, cap = 2 * n + 256 + 5 * (n / 3 + 10);
    char *text = malloc(cap);
    for (int extra = 0; extra < 2; extra++) {
        /* {"model":"m","stop":[0,...]}: the object, two members, the array and its items */
        size_t items = n - 3 + (size_t)extra, len = 0; /* n values, then n + 1 */
        len += (size_t)snprintf(text, cap, "{\"model\":\"m\",\"stop\":[");
        for (size_t i = 0; i < items; i++) {
            text[len++] = i ? ',' : '0';
            if (i)
                text[len++] = '0';
        }
        snprintf(text + len, cap - len, "]}");
        struct gw_body_err e;
        int rc = parse(text, &e);
        if (!extra) {
            cr_assert_eq(rc, 0, "%s", e.message);
        } else {
            cr_assert_eq(rc, AIGW_EINVAL);
            cr_assert_str_eq(e.code, "too_many_values");
            cr_assert(strstr(e.message, "1000000"), "%s", e.message);
        }
    }
    /* A string full of what would count outside one: "[,{\"" a third of a million times. */
    size_t len = (size_t)snprintf(text, cap, "{\"model\":\"m\",\"content\":\"");
    for (size_t i = 0; i < n / 3 + 10; i++) {
        memcpy(text + len, "[,{\\\"", 5);
        len += 5;
    }
    len += (size_t)snprintf(text + len, cap - len, "\",\"x\":\"a\\\\\\\"b\"}");
    struct gw_body_err e;
    cJSON *root = NULL;
    cr_assert_eq(gw_body_parse(text, len, &root, &e), 0, "%s", e.message);
    cJSON_Delete(root);
    free(text);
}

/* The JSON inside strings escaped the count: the anthropic, gemini and bedrock plugins parse
 * tool calls' arguments and tool results into trees, so an 8 MiB "[0,0,...]" as a tool
 * result cost 345 MB there. Those strings count against the cap together. */
static char *zeros(size_t values)
{
    char *s = malloc(2 * values + 2);
    size_t n = 0;
    s[n++] = '[';
    for (size_t i = 0; i + 1 < values; i++) {
        s[n++] = '0';
        s[n++] = i + 2 < values ? ',' : ']';
    }
    s[n] = '\0';
    return s;
}

Test(body, json_in_tool_strings_counts_against_the_cap)
{
    size_t half = GW_BODY_MAX_VALUES / 2 + 10;
    char *a = zeros(half), *b = zeros(half), *small = zeros(1000);
    for (int over = 0; over < 2; over++) {
        cJSON *body = cJSON_CreateObject(), *msgs = cJSON_AddArrayToObject(body, "messages");
        cJSON *asst = cJSON_CreateObject(), *calls = cJSON_AddArrayToObject(asst, "tool_calls");
        cJSON_AddStringToObject(asst, "role", "assistant");
        cJSON *call = cJSON_CreateObject(), *fn = cJSON_AddObjectToObject(call, "function");
        cJSON_AddStringToObject(fn, "arguments", a);
        cJSON_AddItemToArray(calls, call);
        cJSON_AddItemToArray(msgs, asst);
        cJSON *tool = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(tool, "content");
        cJSON_AddStringToObject(tool, "role", "tool");
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "type", "text");
        cJSON_AddStringToObject(part, "text", over ? b : small);
        cJSON_AddItemToArray(parts, part);
        cJSON_AddItemToArray(msgs, tool);
        struct gw_parsed p = {.body = body};
        struct gw_front_err e;
        int rc = gw_parsed_check_embedded(&p, &e);
        if (!over) {
            cr_assert_eq(rc, 0, "%s", e.message);
        } else {
            cr_assert_eq(rc, AIGW_EINVAL);
            cr_assert_eq(e.status, 400);
            cr_assert_str_eq(e.code, "too_many_values");
            cr_assert(strstr(e.message, "tool"), "%s", e.message);
        }
        cJSON_Delete(body);
    }
    free(a);
    free(b);
    free(small);
}

/* cJSON keeps strings NUL-terminated, so "\u0000" cut a string there: "abc\u0000def" was read,
 * guarded and sent on as "abc" (a tool's output from /proc/<pid>/cmdline lost all but its
 * first word), and a name "model\u0000x" was "model". U+FFFD now stands in for the NUL; an
 * escaped backslash before "u0000" is text, and stays. */
Test(body, a_nul_escape_becomes_u_fffd_and_cuts_nothing)
{
    static const struct {
        const char *body, *key, *want;
    } cases[] = {
        {"{\"c\":\"abc\\u0000def\\u0000\"}", "c",
         "abc\xEF\xBF\xBD"
         "def\xEF\xBF\xBD"},
        {"{\"c\":\"a\\\\u0000b\"}", "c", "a\\u0000b"},
        {"{\"c\":\"\\\"\\u0000\\\\\\u0000\"}", "c", "\"\xEF\xBF\xBD\\\xEF\xBF\xBD"},
        {"{\"model\\u0000x\":\"dear\",\"model\":\"cheap\"}", "model\xEF\xBF\xBDx", "dear"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *root = NULL;
        struct gw_body_err e;
        cr_assert_eq(gw_body_parse(cases[i].body, strlen(cases[i].body), &root, &e), 0, "%s: %s",
                     cases[i].body, e.message);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, cases[i].key);
        cr_assert(cJSON_IsString(v), "%s", cases[i].body);
        cr_assert_str_eq(v->valuestring, cases[i].want, "%s", cases[i].body);
        cJSON_Delete(root);
    }
}
