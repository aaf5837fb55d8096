/*
 * Unit tests for core/obs/trace.c: traceparent parsing against the W3C rules (version,
 * length, case, zero ids), formatting, tracestate validation and truncation, the ratio
 * sampler, and span records: caps, replacement, UTF-8 cuts, non-recording spans and
 * children.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/crypto.h"
#include "obs/trace.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int parse(const char *s, struct gw_trace_ctx *c)
{
    return gw_traceparent_parse(s, strlen(s), c);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    gw_hex(b, n, out);
}

Test(traceparent, parses_the_spec_example)
{
    struct gw_trace_ctx c;
    cr_assert_eq(parse(TP, &c), 0);
    char h[33];
    hex(c.trace_id, 16, h);
    cr_assert_str_eq(h, "4bf92f3577b34da6a3ce929d0e0e4736");
    hex(c.span_id, 8, h);
    cr_assert_str_eq(h, "00f067aa0ba902b7");
    cr_assert_eq(c.flags, 1);
    cr_assert_null(c.state);
    cr_assert_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c), 0);
    cr_assert_eq(c.flags, 0);
    /* Flags beyond sampled are not ours to pass on. */
    cr_assert_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", &c), 0);
    cr_assert_eq(c.flags, 1);
}

Test(traceparent, refuses_what_the_spec_refuses)
{
    static const char *bad[] = {
        "",
        "00",
        /* uppercase hex */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* all-zero ids */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* version ff is forbidden */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* version 00 is exactly 55 bytes */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        /* separators and lengths */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        /* a later version may go on, but only after a dash */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_trace_ctx c = {.flags = 7};
        cr_assert_eq(parse(bad[i], &c), AIGW_EINVAL, "accepted '%s'", bad[i]);
        cr_assert_eq(c.flags, 7, "'%s' touched the context", bad[i]);
    }
    struct gw_trace_ctx c;
    cr_assert_eq(gw_traceparent_parse(NULL, 0, &c), AIGW_EINVAL);
    /* Bytes after a valid 55 count: the length is given, not a NUL. */
    cr_assert_eq(gw_traceparent_parse(TP "x", 56, &c), AIGW_EINVAL);
    cr_assert_eq(gw_traceparent_parse(TP "x", 55, &c), 0);
}

Test(traceparent, a_later_version_is_read_by_the_00_layout)
{
    struct gw_trace_ctx c;
    cr_assert_eq(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &c), 0);
    cr_assert_eq(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", &c), 0);
    cr_assert_eq(c.flags, 1);
}

Test(traceparent, formats_what_it_parses)
{
    struct gw_trace_ctx c;
    cr_assert_eq(parse(TP, &c), 0);
    char out[GW_TRACEPARENT_LEN + 1];
    gw_traceparent_format(c.trace_id, c.span_id, c.flags, out);
    cr_assert_str_eq(out, TP);
    gw_traceparent_format(c.trace_id, c.span_id, 0, out);
    cr_assert_str_eq(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

static int state(const char *s, struct gw_trace_ctx *c)
{
    return gw_tracestate_parse(s, strlen(s), c);
}

Test(tracestate, keeps_a_valid_list_verbatim)
{
    struct gw_trace_ctx c;
    const char *ok = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    cr_assert_eq(state(ok, &c), 0);
    cr_assert_eq(c.state, ok);
    cr_assert_eq(c.state_len, strlen(ok));
    /* OWS around members and empty members are allowed; the outer OWS is not kept. */
    const char *ows = "  a=1 ,\t, b@vendor=x y ,";
    cr_assert_eq(state(ows, &c), 0);
    cr_assert_eq(c.state_len, strlen("a=1 ,\t, b@vendor=x y"));
    cr_assert_eq(memcmp(c.state, "a=1 ,\t, b@vendor=x y", c.state_len), 0);
    cr_assert_eq(state("0tenant@sys=v", &c), 0);
    cr_assert_eq(state("k_-*/9=v!", &c), 0);
    cr_assert_eq(state("a@bcdefghijklmno=c", &c), 0); /* a system id of 14 */
}

Test(tracestate, drops_an_invalid_list)
{
    static const char *bad[] = {
        "",        " , ",
        "Rojo=1",  "a",
        "a=",      "a=b,a=c",
        "1a=b",    "a=b=c",
        "a=b\x01", "a=\x7f",
        "a@=b",    "@b=c",
        "a@B=c",   "a@bcdefghijklmnop=c" /* system id over 14 */,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_trace_ctx c = {.state = "x", .state_len = 1};
        cr_assert_eq(state(bad[i], &c), AIGW_EINVAL, "accepted '%s'", bad[i]);
        cr_assert_null(c.state);
        cr_assert_eq(c.state_len, 0);
    }
    /* 33 members: one too many. */
    char many[400] = "";
    size_t n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%sk%d=v", i ? "," : "", i);
    struct gw_trace_ctx c;
    cr_assert_eq(gw_tracestate_parse(many, n, &c), AIGW_EINVAL);
    /* 32 is fine. */
    char *cut = strrchr(many, ',');
    *cut = '\0';
    cr_assert_eq(state(many, &c), 0);
}

Test(tracestate, a_long_list_keeps_the_members_that_fit_from_the_left)
{
    char big[1200];
    size_t n = 0;
    char v[101];
    memset(v, 'v', 100);
    v[100] = '\0';
    for (int i = 0; i < 10; i++) /* 10 members of 103 bytes */
        n += (size_t)snprintf(big + n, sizeof big - n, "%sk%d=%s", i ? "," : "", i, v);
    struct gw_trace_ctx c;
    cr_assert_eq(gw_tracestate_parse(big, n, &c), 0);
    cr_assert_eq(c.state, big);
    cr_assert_leq(c.state_len, GW_TRACESTATE_MAX);
    /* k0..k3 fit (4 * 103 + 3 commas = 415); k4 would end at 519. */
    cr_assert_eq(c.state_len, 4 * 103 + 3);
    cr_assert_eq(c.state[c.state_len - 1], 'v');
    /* A first member over 512 bytes cannot be kept at all: but it is invalid anyway (a value
     * is at most 256 bytes). */
    char huge[600];
    memset(huge, 'v', sizeof huge);
    memcpy(huge, "k=", 2);
    cr_assert_eq(gw_tracestate_parse(huge, sizeof huge, &c), AIGW_EINVAL);
}

Test(sampler, ratio_decides_on_the_last_56_bits)
{
    uint8_t id[16] = {0};
    id[0] = 0xff; /* the first bytes do not count */
    cr_assert_eq(gw_trace_ratio_sampled(0.5, id), 1);
    memset(id + 9, 0xff, 7);
    cr_assert_eq(gw_trace_ratio_sampled(0.5, id), 0);
    cr_assert_eq(gw_trace_ratio_sampled(1.0, id), 1);
    cr_assert_eq(gw_trace_ratio_sampled(0.0, (uint8_t[16]){0}), 0);
    cr_assert_eq(gw_trace_ratio_sampled(NAN, (uint8_t[16]){0}), 0);
    id[9] = 0x7f; /* just under half */
    cr_assert_eq(gw_trace_ratio_sampled(0.5, id), 1);
    id[9] = 0x80;
    memset(id + 10, 0, 6); /* exactly half: not under it */
    cr_assert_eq(gw_trace_ratio_sampled(0.5, id), 0);
    /* Over many random ids the rate is near the ratio (0.25 +- 0.03 over 10000). */
    int hits = 0;
    for (int i = 0; i < 10000; i++) {
        gw_trace_new_trace_id(id);
        hits += gw_trace_ratio_sampled(0.25, id);
    }
    cr_assert(hits > 2200 && hits < 2800, "%d of 10000 sampled at 0.25", hits);
}

Test(ids, are_random_and_never_zero)
{
    uint8_t a[16], b[16], s[8];
    gw_trace_new_trace_id(a);
    gw_trace_new_trace_id(b);
    gw_trace_new_span_id(s);
    cr_assert_neq(memcmp(a, b, 16), 0);
    cr_assert_neq(memcmp(a, (uint8_t[16]){0}, 16), 0);
    cr_assert_neq(memcmp(s, (uint8_t[8]){0}, 8), 0);
}

Test(span, a_remote_sampled_parent_is_continued)
{
    struct gw_trace_ctx c;
    cr_assert_eq(parse(TP, &c), 0);
    cr_assert_eq(state("rojo=1", &c), 0);
    /* ratio 0: the parent's decision wins. */
    struct gw_span *s = gw_span_start(&c, 0.0, "POST /v1/chat/completions", GW_SPAN_SERVER);
    cr_assert_not_null(s);
    cr_assert(s->recording);
    cr_assert_eq(memcmp(s->trace_id, c.trace_id, 16), 0);
    cr_assert_eq(memcmp(s->parent_id, c.span_id, 8), 0);
    cr_assert_neq(memcmp(s->span_id, c.span_id, 8), 0);
    cr_assert(s->has_parent && s->parent_remote);
    cr_assert_eq(s->flags, GW_TRACE_FLAG_SAMPLED);
    cr_assert_eq(s->state_len, 6);
    cr_assert_eq(memcmp(s->state, "rojo=1", 6), 0);
    cr_assert_str_eq(s->name, "POST /v1/chat/completions");
    cr_assert_eq(s->kind, GW_SPAN_SERVER);

    struct gw_span *k = gw_span_child(s, "chat gpt-4o", GW_SPAN_CLIENT);
    cr_assert(k->recording);
    cr_assert_eq(memcmp(k->trace_id, c.trace_id, 16), 0);
    cr_assert_eq(memcmp(k->parent_id, s->span_id, 8), 0);
    cr_assert(k->has_parent && !k->parent_remote);
    cr_assert_eq(k->state_len, 6);
    struct gw_trace_ctx out;
    gw_span_context(k, &out);
    cr_assert_eq(memcmp(out.span_id, k->span_id, 8), 0);
    cr_assert_eq(out.flags, 1);
    gw_span_free(k);
    gw_span_free(s);
}

Test(span, an_unsampled_parent_gives_ids_but_records_nothing)
{
    struct gw_trace_ctx c;
    cr_assert_eq(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c), 0);
    struct gw_span *s = gw_span_start(&c, 1.0, "POST", GW_SPAN_SERVER);
    cr_assert_not_null(s);
    cr_assert_eq(s->recording, 0);
    cr_assert_eq(s->flags, 0);
    gw_span_set_cstr(s, "k", "v"); /* no-ops: the block has no room for them */
    gw_span_set_int(s, "n", 1);
    gw_span_add_event(s, "e", 0);
    gw_span_set_status(s, GW_SPAN_ERROR, "x");
    gw_span_set_name(s, "other");
    cr_assert_null(gw_span_attr(s, "k"));
    struct gw_span *k = gw_span_child(s, "chat", GW_SPAN_CLIENT);
    cr_assert_eq(k->recording, 0);
    cr_assert_eq(memcmp(k->trace_id, c.trace_id, 16), 0);
    gw_span_end(k);
    gw_span_free(k);
    gw_span_free(s);
    /* The tracestate goes on unsampled too (W3C: passed on whatever the decision), copied
     * out of the header it came in. */
    char in[] = "rojo=1,congo=t61rcWkgMzE";
    cr_assert_eq(state(in, &c), 0);
    s = gw_span_start(&c, 1.0, "POST", GW_SPAN_SERVER);
    memset(in, 'x', sizeof in - 1);
    k = gw_span_child(s, "chat", GW_SPAN_CLIENT);
    cr_assert_eq(k->recording, 0);
    cr_assert_eq(k->state_len, strlen("rojo=1,congo=t61rcWkgMzE"));
    cr_assert_eq(memcmp(k->state, "rojo=1,congo=t61rcWkgMzE", k->state_len), 0);
    struct gw_trace_ctx out;
    gw_span_context(k, &out);
    cr_assert_eq(out.state_len, k->state_len);
    cr_assert_eq(out.flags, 0);
    gw_span_free(k);
    gw_span_free(s);
    /* A new trace at ratio 0 is not sampled either. */
    s = gw_span_start(NULL, 0.0, "POST", GW_SPAN_SERVER);
    cr_assert_eq(s->recording, 0);
    cr_assert_eq(s->has_parent, 0);
    gw_span_free(s);
}

Test(span, attributes_are_bounded_and_replaced)
{
    struct gw_span *s = gw_span_start(NULL, 1.0, "x", GW_SPAN_INTERNAL);
    cr_assert(s->recording);
    gw_span_set_cstr(s, "a", "one");
    gw_span_set_cstr(s, "a", "two");
    gw_span_set_int(s, "n", -5);
    gw_span_set_double(s, "d", 0.25);
    gw_span_set_double(s, "nan", NAN);
    gw_span_set_bool(s, "b", 7);
    const char *fr[] = {"stop", NULL, "length"};
    gw_span_set_strs(s, "fr", fr, 3);
    cr_assert_eq(s->nattrs, 5);
    const struct gw_span_attr *a = gw_span_attr(s, "a");
    cr_assert_eq(a->type, GW_ATTR_STR);
    cr_assert_str_eq(a->v.s, "two");
    cr_assert_eq(gw_span_attr(s, "n")->v.i, -5);
    cr_assert_eq(gw_span_attr(s, "b")->v.b, 1);
    cr_assert_null(gw_span_attr(s, "nan"));
    a = gw_span_attr(s, "fr");
    cr_assert_eq(a->count, 2);
    cr_assert_eq(a->len, 5 + 7);
    cr_assert_eq(memcmp(a->v.s, "stop\0length", 12), 0);
    /* The table holds GW_SPAN_MAX_ATTRS keys; more are dropped and counted. */
    static char keys[GW_SPAN_MAX_ATTRS + 5][8];
    for (int i = 0; i < GW_SPAN_MAX_ATTRS + 5; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        gw_span_set_int(s, keys[i], i);
    }
    cr_assert_eq(s->nattrs, GW_SPAN_MAX_ATTRS);
    cr_assert_eq(s->dropped_attrs, 5 + 5);
    /* An existing key can still be replaced when full. */
    gw_span_set_int(s, "n", 9);
    cr_assert_eq(gw_span_attr(s, "n")->v.i, 9);
    gw_span_free(s);
}

Test(span, strings_are_cut_on_utf8_boundaries_and_the_pool_is_bounded)
{
    struct gw_span *s = gw_span_start(NULL, 1.0, "x", GW_SPAN_INTERNAL);
    char v[600];
    /* 'a' then 2-byte sequences: byte 256 falls inside one. */
    v[0] = 'a';
    for (int i = 1; i < 599; i += 2) {
        v[i] = (char)0xc3;
        v[i + 1] = (char)0xa9;
    }
    gw_span_set_str(s, "long", v, 599);
    const struct gw_span_attr *a = gw_span_attr(s, "long");
    cr_assert_eq(a->len, 255);
    cr_assert_eq((unsigned char)a->v.s[254], 0xa9);
    /* Fill the pool: values that no longer fit are dropped and counted. */
    memset(v, 'x', sizeof v);
    static char keys[32][8];
    int kept = 0;
    for (int i = 0; i < 32; i++) {
        snprintf(keys[i], sizeof keys[i], "s%d", i);
        gw_span_set_str(s, keys[i], v, 256);
        kept += gw_span_attr(s, keys[i]) != NULL;
    }
    cr_assert_lt(kept, 32);
    cr_assert_gt(kept, 5);
    cr_assert_eq(s->dropped_attrs, (uint32_t)(32 - kept));
    cr_assert_leq(s->pool_used, sizeof s->pool);
    /* A long name is cut too. */
    memset(v, 'n', 300);
    v[300] = '\0';
    gw_span_set_name(s, v);
    cr_assert_eq(strlen(s->name), GW_SPAN_NAME_MAX - 1);
    gw_span_free(s);
}

Test(span, events_status_and_end)
{
    struct gw_span *s = gw_span_start(NULL, 1.0, "x", GW_SPAN_CLIENT);
    for (int i = 0; i < GW_SPAN_MAX_EVENTS + 2; i++)
        gw_span_add_event(s, "tick", 0);
    cr_assert_eq(s->nevents, GW_SPAN_MAX_EVENTS);
    cr_assert_eq(s->dropped_events, 2);
    cr_assert_geq(s->events[0].time_ns, s->start_ns);
    gw_span_add_event(s, "later", 123); /* dropped: full */
    gw_span_set_status(s, GW_SPAN_OK, "ignored");
    cr_assert_null(s->status_msg);
    gw_span_set_status(s, GW_SPAN_ERROR, "timeout");
    cr_assert_str_eq(s->status_msg, "timeout");
    gw_span_end(s);
    int64_t end = s->end_ns;
    cr_assert_geq(end, s->start_ns);
    gw_span_end(s);
    cr_assert_eq(s->end_ns, end);
    cr_assert_geq(gw_span_elapsed_ns(s), 0);
    gw_span_set_big(s, "c1", "abc", 3, 2);
    gw_span_set_big(s, "c2", "defg", 4, 100);
    gw_span_set_big(s, "c3", "h", 1, 100); /* only two heap strings */
    cr_assert_str_eq(gw_span_attr(s, "c1")->v.s, "ab");
    cr_assert_str_eq(gw_span_attr(s, "c2")->v.s, "defg");
    cr_assert_null(gw_span_attr(s, "c3"));
    gw_span_free(s);
    gw_span_free(NULL);
}
