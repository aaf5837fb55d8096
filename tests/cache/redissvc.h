/*
 * redissvc - a redis-server of the test's own: loopback, a free port found by binding first,
 * its data and log in a temp directory, readiness awaited on its log with inotify under a
 * deadline, stopped (or killed, paused, restarted) by PID. Tests skip when redis-server is
 * absent (AIGW_REDIS_SERVER names another binary).
 */
#ifndef AIGW_TEST_CACHE_REDISSVC_H
#define AIGW_TEST_CACHE_REDISSVC_H

#include <sys/types.h>

struct redissvc {
    pid_t pid;
    int port;
    char dir[128];
    char url[64]; /* redis://127.0.0.1:<port>/0 */
};

/* The redis-server binary, or NULL (the test skips). */
const char *redissvc_binary(void);
/* 0 when it accepts connections, -1 (a line on stderr) otherwise. */
int redissvc_start(struct redissvc *s);
/* On the same port and directory, after a kill. */
int redissvc_restart(struct redissvc *s);
/* SIGKILL, reaped: the server is gone at once, connections reset. */
void redissvc_kill(struct redissvc *s);
/* SIGSTOP (stop 1) or SIGCONT (0): a server that holds connections and answers nothing. */
void redissvc_pause(struct redissvc *s, int stop);
/* SIGTERM (SIGKILL after 5 s), reaped; the directory removed. */
void redissvc_stop(struct redissvc *s);
/* The number of keys (DBSIZE on a fresh connection), -1 when it does not answer. */
long redissvc_dbsize(const struct redissvc *s);
/* The response cache's entries (keys aigw:cache:*; the counters keep keys of their own), -1
 * when it does not answer. */
long redissvc_cache_keys(const struct redissvc *s);
/* Connections other than the one asking, -1 when it does not answer. */
long redissvc_clients(const struct redissvc *s);
/* Until DBSIZE >= n / until n other clients are connected: 0, or -1 at timeout_ms. */
int redissvc_wait_keys(const struct redissvc *s, long n, int timeout_ms);
int redissvc_wait_clients(const struct redissvc *s, long n, int timeout_ms);
/* Until exactly n response cache entries are kept: 0, or -1 at timeout_ms. */
int redissvc_wait_cache_keys(const struct redissvc *s, long n, int timeout_ms);

#endif
