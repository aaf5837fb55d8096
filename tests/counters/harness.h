/*
 * Test harness for the counters: a redis-server of our own on loopback (a free port found
 * by binding first, data and a unix socket in a temp directory, readiness awaited with
 * inotify under a deadline, stopped by PID), a loop that drives gw_counters / gw_redis
 * objects until a condition holds or a deadline passes, and a blocking-free way to send one
 * raw command from a test. Tests needing Redis skip (cr_skip_test) when redis-server is
 * absent (AIGW_REDIS_SERVER names another binary).
 */
#ifndef AIGW_TEST_COUNTERS_HARNESS_H
#define AIGW_TEST_COUNTERS_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "store/counters.h"
#include "store/redis.h"

struct redis_srv {
    pid_t pid;
    int port;
    char dir[128];
    char url[160];
};

/* The redis-server binary, or NULL when there is none (the test skips). */
const char *redis_srv_binary(void);
/* 0 when started and accepting; -1 (with a line on stderr) otherwise. */
int redis_srv_start(struct redis_srv *s);
/* Starts again on the same port and directory after a kill. */
int redis_srv_restart(struct redis_srv *s);
/* SIGKILL, reaped. */
void redis_srv_kill(struct redis_srv *s);
/* SIGSTOP (1) or SIGCONT (0). */
void redis_srv_pause(struct redis_srv *s, int stop);
/* SIGTERM (SIGKILL after a deadline), reaped; the directory removed. */
void redis_srv_stop(struct redis_srv *s);

/* A reply copied out of a callback. */
struct raw_reply {
    int status; /* 0, or a GW_REDIS_E* code */
    int type;
    long long integer;
    char str[256];
    size_t elements;
};
/* Sends one command on a fresh connection and waits (deadline 5 s). 0 when answered. */
int redis_srv_call(const struct redis_srv *s, struct raw_reply *out, const char *arg0, ...)
    __attribute__((sentinel));

/* Runs the loops of n counters (NULL entries skipped) until done(arg) returns nonzero or
 * timeout_ms pass. 1 when done. */
int drive_until(struct gw_counters **cs, int n, int (*done)(void *), void *arg, int64_t timeout_ms);
/* The same for bare Redis clients. */
int drive_redis_until(struct gw_redis **rs, int n, int (*done)(void *), void *arg,
                      int64_t timeout_ms);

/* The counter contract's fixture: in-process (one shared object, two loops: s[1] == s[0])
 * or Redis (two replicas, each one shared object and one loop, on one fresh redis-server).
 * cfg may be NULL. 0, or -1 when Redis is wanted and redis-server is absent (skip). Asserts
 * on anything else. */
struct fix {
    int redis;
    struct redis_srv srv;
    struct gw_counters_shared *s[2];
    struct gw_counters *c[2];
};
int fix_init(struct fix *f, int redis, const struct gw_counters_cfg *cfg);
void fix_fini(struct fix *f);
/* Predicates for drive_until. */
int fix_never(void *arg);
int fix_connected(void *arg); /* arg: the fix; every replica's loop is connected */

#endif
