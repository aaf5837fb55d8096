/* SQLite only: how the writer's own connection is set up. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "store/fixture.h"
#include "store/store.h"
#include "store/store_int.h"

TestSuite(store_sqlite_writer, .init = fx_setup, .fini = fx_teardown,
          .timeout = STORE_TEST_TIMEOUT);

static int read_int(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    char *end = NULL;
    if (ncol > 0 && v[0])
        *(long long *)ctx = strtoll(v[0], &end, 10);
    if (end && *end)
        *(long long *)ctx = -2; /* not a number: fails the test below */
    return 0;
}

static int temp_store(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    return s->ops->exec(c, "PRAGMA temp_store", NULL, 0, read_int, ctx, gw_store_mono_ms() + 10000);
}

/* A batch's multi-row INSERTs each keep a statement journal; on disk (temp_store DEFAULT) it
 * spills past 64 KiB into a fresh temp file per statement, costing the writer an open, an
 * unlink, a close and its pwrites every statement. The writer keeps it in memory (2). */
Test(store_sqlite_writer, keeps_statement_journals_in_memory)
{
    struct gw_store *s = fx_open(NULL);
    long long v = -1;
    cr_assert_eq(gw_store_call(s, temp_store, &v), 0);
    cr_assert_eq(v, 2, "temp_store on the writer: %lld", v);
    gw_store_close(s);
}
