/* The fault suite's main: its cases run one at a time. Each starts its own servers, replicas
 * and load; two at once on a small CI box would measure the box, not aigw (and Criterion's
 * parallel runner leaks a record LeakSanitizer reports). */
#include <criterion/criterion.h>

int main(int argc, char **argv)
{
    struct criterion_test_set *tests = criterion_initialize();
    int rc = 0;
    if (criterion_handle_args(argc, argv, true)) {
        criterion_options.jobs = 1;
        rc = !criterion_run_all_tests(tests);
    }
    criterion_finalize(tests);
    return rc;
}
