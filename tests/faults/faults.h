/*
 * faults - helpers of the fault suite: a steady load of keyed requests spread over replicas
 * (counted by phase: served, refused, unanswered, slowest), a metric read from /metrics, a
 * TCP proxy the test controls (it holds what the client sends for a delay: a slow Redis),
 * Redis commands through redis-cli, and rows read from a SQLite store file.
 *
 * Threading: a load runs its own client threads; everything else runs on the test's thread.
 */
#ifndef AIGW_TEST_FAULTS_H
#define AIGW_TEST_FAULTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gov/gov.h"

#define FLT_THREADS_MAX 8

/* One answered request of a load, kept for the ledger checks. */
struct flt_done {
    char id[64]; /* X-Request-ID */
    int status;
    double cost; /* X-Gateway-Cost, -1 when absent */
};

/* What a load saw since the last flt_load_phase (or its start). */
struct flt_tally {
    long ok;      /* 2xx */
    long limited; /* 429 */
    long unavail; /* 503 */
    long other;   /* any other status */
    long none;    /* no answer: refused connection, reset, client timeout */
    int64_t max_ms;
};

struct flt_load {
    /* set before flt_load_start */
    const char *urls[2]; /* full URLs of the endpoint on each replica */
    int nurls;
    const char *body;
    const char *headers;
    int timeout_ms; /* per request */
    int threads;
    int keep; /* keep each 2xx (id, cost) in done[] */
    /* private */
    pthread_t th[FLT_THREADS_MAX];
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct flt_tally cur, all;
    struct flt_done *done;
    size_t ndone, capdone;
};

/* An aigw in front of m with its store at store_url, Redis counters at redis_url (NULL: in
 * process) with that admission deadline; extra: more top-level members ("" or NULL). */
struct e2e_gw *flt_gw(struct mock *m, const char *store_url, const char *redis_url,
                      int redis_timeout_ms, const char *extra);

void flt_load_start(struct flt_load *l);
/* Waits until the current phase has n more 2xx answers: 0, or -1 after timeout_ms. */
int flt_load_wait_ok(struct flt_load *l, long n, int timeout_ms);
/* Waits until the current phase has n answers of any kind (none included). */
int flt_load_wait_any(struct flt_load *l, long n, int timeout_ms);
/* Ends the current phase: its tally, and a fresh one begins. */
struct flt_tally flt_load_phase(struct flt_load *l);
/* Stops and joins the clients; the whole run's tally. done[] stays until flt_load_free. */
struct flt_tally flt_load_stop(struct flt_load *l);
void flt_load_free(struct flt_load *l);

/* The sum of every sample whose line starts with series (name and the start of its labels,
 * e.g. "aigw_degraded_decisions_total{decision=\"ratelimit_local\""), 0 when none. */
double flt_metric(struct e2e_gw *gw, const char *series);

/* A loopback TCP proxy to 127.0.0.1:target_port; bytes from the client reach the server
 * delay_ms after they arrived (0: at once); answers go back at once. */
struct flt_proxy;
struct flt_proxy *flt_proxy_start(int target_port);
int flt_proxy_port(const struct flt_proxy *p);
void flt_proxy_delay(struct flt_proxy *p, int delay_ms);
/* Script calls (EVALSHA) read from clients so far; waiting until more than n arrived: 0, or
 * -1 at timeout. */
long flt_proxy_received(struct flt_proxy *p);
int flt_proxy_wait_received(struct flt_proxy *p, long n, int timeout_ms);
void flt_proxy_stop(struct flt_proxy *p);

/* redis-cli against srv: its --raw output (malloc'd, caller frees), NULL when it failed. */
char *flt_redis(const struct redis_srv *srv, const char *args);
/* 1 when redis-cli exists. */
int flt_redis_cli(void);

/* One integer from a query on a SQLite file (-1 when none). */
long long flt_sqlite_int(const char *path, const char *sql);
/* One REAL (sum of costs) from a query (0 when NULL). */
double flt_sqlite_real(const char *path, const char *sql);

/* The mock's answer costs $0.031 (see GOV_PRICES). */
#define FLT_COST 0.031

#endif
