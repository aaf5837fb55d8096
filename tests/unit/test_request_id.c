/* gw_request_id: every id starts with the time, so the store's request_id indexes take each new
 * row at their end; the client's X-Request-ID is kept inside, sanitized; ids never repeat. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char hex[] = "0123456789abcdef";

/* The id made now from in, its time prefix checked against the clock around it. */
static void make(const char *in, char out[GW_REQUEST_ID_SIZE])
{
    uint64_t t0 = now_ms();
    gw_request_id(in, out);
    uint64_t t1 = now_ms();
    cr_assert_eq(strspn(out, hex), strlen(out) > 12 && out[12] == '.' ? 12 : 32, "%s", out);
    char ms[13];
    memcpy(ms, out, 12);
    ms[12] = '\0';
    uint64_t at = strtoull(ms, NULL, 16);
    cr_assert(at >= t0 && at <= t1, "%s: %llu not in [%llu, %llu]", out, (unsigned long long)at,
              (unsigned long long)t0, (unsigned long long)t1);
    cr_assert_lt(strlen(out), GW_REQUEST_ID_SIZE);
}

Test(request_id, without_a_client_id_the_time_then_20_random_digits)
{
    char a[GW_REQUEST_ID_SIZE], b[GW_REQUEST_ID_SIZE];
    make(NULL, a);
    make("", b);
    cr_assert_eq(strlen(a), 32);
    cr_assert_str_neq(a + 12, b + 12);
    make("\"<>/ ", b); /* nothing of it survives: as if none were sent */
    cr_assert_eq(strlen(b), 32, "%s", b);
}

Test(request_id, the_client_id_sits_between_the_time_and_12_random_digits)
{
    char id[GW_REQUEST_ID_SIZE];
    make("abc-123", id);
    cr_assert_eq(strlen(id), 12 + 1 + 7 + 1 + 12, "%s", id);
    cr_assert_eq(strncmp(id + 12, ".abc-123.", 9), 0, "%s", id);
    cr_assert_eq(strspn(id + 21, hex), 12, "%s", id);
    /* a UUID, what a mesh or an ingress puts in every request, is kept whole */
    make("9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f", id);
    cr_assert_eq(strncmp(id + 12, ".9f1c2d3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f.", 38), 0, "%s", id);
    /* sanitized to letters, digits and -_.: ; a long one cut to GW_REQUEST_ID_CLIENT_MAX */
    make("a b\"c\n:d_e", id);
    cr_assert_eq(strncmp(id + 12, ".abc:d_e.", 9), 0, "%s", id);
    char longer[200];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    make(longer, id);
    cr_assert_eq(strlen(id), GW_REQUEST_ID_SIZE - 1, "%s", id);
    cr_assert_eq(strspn(id + 13, "x"), GW_REQUEST_ID_CLIENT_MAX, "%s", id);
}

/* A client repeating its id: every request still has its own (the ledger and the request log
 * take a repeated id for a replay). */
Test(request_id, a_repeated_client_id_never_gives_the_same_id)
{
    static char seen[2000][GW_REQUEST_ID_SIZE];
    for (int i = 0; i < 2000; i++) {
        gw_request_id("repeat-me", seen[i]);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[i], seen[j]);
    }
}
