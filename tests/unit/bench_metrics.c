/*
 * bench_metrics - what the metrics hooks cost one request, alone and with other threads
 * updating the very same series. Not part of `make check`; build and run it with
 *
 *   make tests/unit/bench_metrics && tests/unit/bench_metrics [requests-per-thread]
 *
 * Each simulated request runs the hooks gateway.c calls (active +1, one attempt, usage and
 * cost, the request with its two histograms, active -1) after `work` ns of busy work standing
 * in for the rest of the request path. With work 0 every thread hits the same counters
 * back to back, the worst case for the shared cache lines; at a gateway's real rate (work in
 * the tens of microseconds) the hooks cost the same with 1 thread as with many: nothing waits.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "obs/metrics.h"
#include "../usage.h" /* no -I tests for the bench */


static long requests = 200000;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct job {
    int64_t work_ns;
    int64_t hook_ns; /* out: time spent inside the hooks */
};

static void *run(void *arg)
{
    struct job *j = arg;
    struct aigw_usage u = USAGE(1200, 300, 1000, -1, 64);
    int64_t spent = 0;
    for (long i = 0; i < requests; i++) {
        int64_t until = now_ns() + j->work_ns;
        while (j->work_ns && now_ns() < until)
            ;
        int64_t t0 = now_ns();
        gw_metrics_active(1);
        gw_metrics_attempt("openai", "ok", 0, 0);
        gw_metrics_usage("openai", "gpt-4o-mini", &u, 0.00033);
        gw_metrics_request("/v1/chat/completions", "openai", "gpt-4o-mini", 200, 0, i % 900,
                           i % 300);
        gw_metrics_active(-1);
        spent += now_ns() - t0;
    }
    j->hook_ns = spent;
    return NULL;
}

static double bench(int threads, int64_t work_ns)
{
    pthread_t th[16];
    struct job jobs[16];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){work_ns, 0};
        if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0)
            exit(1);
    }
    int64_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].hook_ns;
    }
    return (double)total / ((double)requests * threads);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char *end;
        requests = strtol(argv[1], &end, 10);
        if (*end || requests <= 0) {
            fprintf(stderr, "usage: %s [requests-per-thread]\n", argv[0]);
            return 2;
        }
    }
    if (gw_metrics_init(NULL, 200) < 0)
        return 1;
    bench(1, 0); /* creates the series: first use takes the insert lock, later ones do not */
    static const int64_t works[] = {0, 2000, 20000};
    static const int threads[] = {1, 2, 4};
    printf("%-10s %-8s %s\n", "work_ns", "threads", "hook_ns_per_request");
    for (size_t w = 0; w < sizeof works / sizeof works[0]; w++)
        for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
            long saved = requests;
            if (works[w] >= 20000 && requests > 20000)
                requests = 20000; /* keep the slow rows to a second or so */
            printf("%-10lld %-8d %.0f\n", (long long)works[w], threads[t],
                   bench(threads[t], works[w]));
            requests = saved;
        }
    gw_metrics_free();
    return 0;
}
