/* fx_common - time helpers shared by both fixtures (see fixture.h). */
#include "store/fixture.h"

#include <criterion/criterion.h>
#include <time.h>

long long fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fx_yield(void)
{
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
}

struct gw_store *fx_open(const struct gw_store_opts *opts)
{
    char err[256];
    struct gw_store *s = gw_store_open(fx_url(), opts, err, sizeof err);
    cr_assert_not_null(s, "open %s: %s", fx_backend, err);
    return s;
}
