/*
 * redis_resp: replies read whole or a byte at a time give the same objects; every cap (unread
 * bytes, array elements, nesting) and protocol error is an error of the reader, not an abort
 * or an allocation the server chose; the formatter writes RESP. No server needed.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "store/redis.h"
#include "store/redis_resp.h"

static struct gw_resp_reader *reader(size_t max_buffer, size_t max_elements)
{
    struct gw_resp_reader *rd = NULL;
    cr_assert_eq(gw_resp_reader_new(max_buffer, max_elements, &rd), 0);
    return rd;
}

/* Feeds s (in pieces of `piece` bytes, 0: whole) and returns the one reply it holds. */
static struct gw_resp *read_one(const char *s, size_t n, size_t piece)
{
    struct gw_resp_reader *rd = reader(0, 0);
    struct gw_resp *v = NULL;
    size_t step = piece ? piece : n;
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        cr_assert_eq(gw_resp_reader_feed(rd, s + off, k), 0);
        int rc = gw_resp_reader_next(rd, &v);
        cr_assert_geq(rc, 0);
        if (rc == 1) {
            cr_assert_eq(off + k, n, "a reply before all bytes were in");
            break;
        }
    }
    cr_assert_not_null(v, "no reply from %zu bytes", n);
    gw_resp_reader_free(rd);
    return v;
}

Test(resp, types_whole_and_byte_by_byte)
{
    static const char in[] =
        "*6\r\n$5\r\nhello\r\n:-42\r\n$-1\r\n+OK\r\n-ERR no\r\n*2\r\n:1\r\n*0\r\n";
    for (size_t piece = 0; piece <= 1; piece++) {
        struct gw_resp *v = read_one(in, sizeof in - 1, piece);
        cr_assert_eq(v->type, GW_RESP_ARRAY);
        cr_assert_eq(v->elements, 6);
        cr_assert_eq(v->element[0]->type, GW_RESP_STRING);
        cr_assert_eq(v->element[0]->len, 5);
        cr_assert_str_eq(v->element[0]->str, "hello");
        cr_assert_eq(v->element[1]->type, GW_RESP_INTEGER);
        cr_assert_eq(v->element[1]->integer, -42);
        cr_assert_eq(v->element[2]->type, GW_RESP_NIL);
        cr_assert_eq(v->element[3]->type, GW_RESP_STATUS);
        cr_assert_str_eq(v->element[3]->str, "OK");
        cr_assert_eq(v->element[4]->type, GW_RESP_ERROR);
        cr_assert_str_eq(v->element[4]->str, "ERR no");
        cr_assert_eq(v->element[5]->type, GW_RESP_ARRAY);
        cr_assert_eq(v->element[5]->element[0]->integer, 1);
        cr_assert_eq(v->element[5]->element[1]->elements, 0);
        gw_resp_free(v);
    }
}

Test(resp, binary_bulk_string)
{
    static const char in[] = "$4\r\na\0\r\n\r\n";
    struct gw_resp *v = read_one(in, sizeof in - 1, 0);
    cr_assert_eq(v->len, 4);
    cr_assert_eq(memcmp(v->str, "a\0\r\n", 4), 0);
    gw_resp_free(v);
}

Test(resp, several_replies_in_one_feed)
{
    struct gw_resp_reader *rd = reader(0, 0);
    cr_assert_eq(gw_resp_reader_feed(rd, ":1\r\n:2\r\n:3", 10), 0);
    struct gw_resp *v;
    for (int i = 1; i <= 2; i++) {
        cr_assert_eq(gw_resp_reader_next(rd, &v), 1);
        cr_assert_eq(v->integer, i);
        gw_resp_free(v);
    }
    cr_assert_eq(gw_resp_reader_next(rd, &v), 0, "':3' has no CRLF yet");
    cr_assert_eq(gw_resp_reader_feed(rd, "\r\n", 2), 0);
    cr_assert_eq(gw_resp_reader_next(rd, &v), 1);
    cr_assert_eq(v->integer, 3);
    gw_resp_free(v);
    gw_resp_reader_free(rd);
}

Test(resp, announced_giant_bulk_hits_the_buffer_cap)
{
    struct gw_resp_reader *rd = reader(64, 0);
    static const char head[] = "$1099511627776\r\n";
    cr_assert_eq(gw_resp_reader_feed(rd, head, sizeof head - 1), 0);
    struct gw_resp *v;
    cr_assert_eq(gw_resp_reader_next(rd, &v), 0);
    char junk[64];
    memset(junk, 'x', sizeof junk);
    cr_assert_eq(gw_resp_reader_feed(rd, junk, sizeof junk), AIGW_ETOOBIG);
    cr_assert_eq(gw_resp_reader_next(rd, &v), AIGW_EPROTO, "a failed reader stays failed");
    cr_assert_str_neq(gw_resp_reader_error(rd), "");
    gw_resp_reader_free(rd);
}

Test(resp, giant_array_header_is_refused_before_allocating)
{
    struct gw_resp_reader *rd = reader(0, 16);
    struct gw_resp *v;
    cr_assert_eq(gw_resp_reader_feed(rd, "*17\r\n", 5), 0);
    cr_assert_eq(gw_resp_reader_next(rd, &v), AIGW_EPROTO);
    gw_resp_reader_free(rd);
    rd = reader(0, 0); /* default cap */
    cr_assert_eq(gw_resp_reader_feed(rd, "*2147483647\r\n", 13), 0);
    cr_assert_eq(gw_resp_reader_next(rd, &v), AIGW_EPROTO);
    gw_resp_reader_free(rd);
}

Test(resp, refused_element_inside_a_partial_array_frees_cleanly)
{
    struct gw_resp_reader *rd = reader(0, 4);
    struct gw_resp *v;
    static const char in[] = "*3\r\n$3\r\nabc\r\n:7\r\n*5\r\n";
    cr_assert_eq(gw_resp_reader_feed(rd, in, sizeof in - 1), 0);
    cr_assert_eq(gw_resp_reader_next(rd, &v), AIGW_EPROTO);
    gw_resp_reader_free(rd); /* LeakSanitizer checks the half-built reply went too */
}

Test(resp, too_deep_and_bad_type_are_protocol_errors)
{
    struct gw_resp_reader *rd = reader(0, 0);
    struct gw_resp *v;
    const char *deep = "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
    cr_assert_eq(gw_resp_reader_feed(rd, deep, strlen(deep)), 0);
    cr_assert_eq(gw_resp_reader_next(rd, &v), AIGW_EPROTO);
    gw_resp_reader_free(rd);
    rd = reader(0, 0);
    cr_assert_eq(gw_resp_reader_feed(rd, "?what\r\n", 7), 0);
    cr_assert_eq(gw_resp_reader_next(rd, &v), AIGW_EPROTO);
    gw_resp_reader_free(rd);
}

Test(resp, formatter_writes_resp)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    const char *argv[3] = {"SET", "k", "a\0b"};
    size_t lens[3] = {3, 1, 3};
    cr_assert_eq(gw_resp_format(&b, 3, argv, lens), 0);
    static const char want[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n";
    cr_assert_eq(b.len, sizeof want - 1);
    cr_assert_eq(memcmp(b.ptr, want, b.len), 0);
    gw_buf_free(&b);
    struct gw_buf small;
    gw_buf_init(&small, 8);
    cr_assert_eq(gw_resp_format(&small, 3, argv, lens), AIGW_ETOOBIG);
    gw_buf_free(&small);
}

Test(redis_url, parsed_and_displayed_without_credentials)
{
    struct gw_redis_addr a;
    char err[256];
    cr_assert_eq(gw_redis_parse_url("redis://:s3cr%40t@127.0.0.1:6380/3", &a, err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(a.password, "s3cr@t");
    cr_assert_str_eq(a.user, "");
    cr_assert_eq(a.db, 3);
    cr_assert_str_eq(a.display, "redis://127.0.0.1:6380/3");
    cr_assert_null(strstr(a.display, "s3cr"));
    cr_assert_eq(gw_redis_parse_url("redis://app:pw@[::1]/0", &a, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(a.user, "app");
    cr_assert_str_eq(a.display, "redis://[::1]:6379/0");
    cr_assert_eq(gw_redis_parse_url("redis://localhost", &a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.db, 0);
}

Test(redis_url, bad_forms_say_why_and_never_echo_the_password)
{
    static const char *bad[] = {
        "http://127.0.0.1",
        "redis://",
        "redis://127.0.0.1:0",
        "redis://127.0.0.1:99999",
        "redis://127.0.0.1:12x",
        "redis://127.0.0.1/abc",
        "redis://127.0.0.1/0?x=1",
        "redis://user@127.0.0.1",
        "redis://:pw%4@127.0.0.1",
        "redis://[::1",
        "rediss://:topsecret@127.0.0.1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct gw_redis_addr a;
        char err[256] = "";
        cr_assert_lt(gw_redis_parse_url(bad[i], &a, err, sizeof err), 0, "%s", bad[i]);
        cr_assert_str_neq(err, "", "%s", bad[i]);
        cr_assert_null(strstr(err, "topsecret"));
    }
}

Test(redis_script, sha1_of_the_source)
{
    struct gw_redis_script s;
    cr_assert_eq(gw_redis_script_init(&s, "return 1"), 0);
    /* sha1("return 1"), as SCRIPT LOAD would answer. */
    cr_assert_str_eq(s.sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}
