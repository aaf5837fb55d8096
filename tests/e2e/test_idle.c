/*
 * An idle gateway sleeps: with no request in flight, none of its threads wakes until
 * something arrives. (Each worker's engine used to wake ten times a second to sweep
 * transfer deadlines it did not have: some forty wake-ups a second of a gateway doing
 * nothing.) Measured from the kernel's count of each thread's context switches
 * (/proc/PID/task/TID/status), which every wake-up adds to.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define QUIET_MS 600

/* The context switches of every thread of pid so far. */
static long long switches(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s", path);
    long long sum = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sp[400], line[128];
        snprintf(sp, sizeof sp, "%s/%s/status", path, de->d_name);
        FILE *f = fopen(sp, "r");
        if (!f)
            continue; /* a thread that just ended */
        while (fgets(line, sizeof line, f)) {
            long long v;
            if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %lld", &v) == 1)
                sum += v;
        }
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* Until pid's threads have not been switched in for QUIET_MS in a row: 0, or -1 when they
 * never were that quiet before the deadline. Checked every 50 ms. */
static int wait_quiet(int pid, int deadline_ms)
{
    int64_t end = e2e_now_ms() + deadline_ms;
    long long last = switches(pid);
    int64_t since = e2e_now_ms();
    while (e2e_now_ms() < end) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        long long now = switches(pid);
        if (now != last) {
            last = now;
            since = e2e_now_ms();
        } else if (e2e_now_ms() - since >= QUIET_MS) {
            return 0;
        }
    }
    return -1;
}

Test(idle, a_gateway_with_nothing_to_do_sleeps, .timeout = 60)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw = e2e_gw_start(NULL, "OPENAI_API_KEY=sk-test",
                                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    cr_assert_eq(wait_quiet(e2e_gw_pid(gw), 15000), 0,
                 "a gateway that was never asked anything keeps waking up");
    /* and once a request has come and gone (its upstream connection kept alive) */
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(wait_quiet(e2e_gw_pid(gw), 15000), 0,
                 "a gateway keeps waking up after its last request");
    /* asleep is not deaf: the next request is answered */
    r = e2e_post(gw, "/v1/chat/completions", CHAT, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
