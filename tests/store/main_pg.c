/* The store contract suite on PostgreSQL: starts a throwaway server for the whole program
 * (tests run in worker processes that inherit its URL), or skips (exit 77) without one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/pgsvc.h"

int main(int argc, char **argv)
{
    if (!pgsvc_available()) {
        printf("SKIP: PostgreSQL server binaries not found (Debian: apt-get install postgresql)\n");
        return 77;
    }
    if (pgsvc_start() != 0) {
        pgsvc_stop();
        fprintf(stderr, "could not start PostgreSQL\n");
        return 1;
    }
    /* the tests run in fresh processes: they learn the server from the environment */
    setenv("AIGW_TEST_PG_URL", pgsvc_base_url(), 1);
    setenv("AIGW_TEST_PG_BIN", pgsvc_bindir(), 1);
    struct criterion_test_set *tests = criterion_initialize();
    int rc = 0;
    if (criterion_handle_args(argc, argv, true))
        rc = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    pgsvc_stop();
    return rc;
}
