/* The store contract suite on SQLite. */
#include <criterion/criterion.h>

int main(int argc, char **argv)
{
    struct criterion_test_set *tests = criterion_initialize();
    int rc = 0;
    if (criterion_handle_args(argc, argv, true))
        rc = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return rc;
}
