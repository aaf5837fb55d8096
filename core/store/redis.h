/*
 * redis - a Redis client driven by an aigw worker loop: one non-blocking TCP connection,
 * pipelined commands, a deadline on every command, reconnection with backoff. hiredis is used
 * only to read replies and format commands (redis_resp.h); the socket, timers and the
 * connection's life are ours, because hiredis 0.14's async API has no timeouts.
 *
 * Driving it: the client owns an epoll set (gw_redis_fd(), stable for the client's life, so a
 * reconnect never touches the caller's set). The worker adds that fd to its own epoll set for
 * EPOLLIN, sleeps at most gw_redis_timeout_ms(), and calls gw_redis_process() on every turn
 * (fd_ready = the fd was reported). Connecting never blocks: the address is resolved when the
 * URL is parsed (at startup), connect() is non-blocking, and the handshake (AUTH, SELECT,
 * PING) runs through the loop under the connect deadline.
 *
 * Failure: a command past its deadline gets its callback with GW_REDIS_ETIMEDOUT at once (its
 * reply, if it ever comes, is dropped). When the oldest reply is stall_ms late, or the socket
 * fails, the connection is dropped, every waiting command gets GW_REDIS_EDOWN, and the client
 * reconnects after a backoff (doubling, with jitter). While it is not connected, commands are
 * refused at once (GW_REDIS_EDOWN, no callback): no caller ever waits on a dead server.
 *
 * EVALSHA: gw_redis_eval() sends EVALSHA and, on a NOSCRIPT reply, the same call as EVAL
 * before the caller sees anything. Scripts named in opts.preload are loaded (SCRIPT LOAD) in
 * every handshake, so commands keep their order on a connection: a NOSCRIPT re-send goes to
 * the back of the pipeline, which happens only after a SCRIPT FLUSH (or where a proxy refuses
 * SCRIPT; a refused load does not fail the handshake).
 *
 * Threading: a client belongs to the thread that drives it; its callbacks run on that thread,
 * inside gw_redis_process() (never inside gw_redis_command). Callbacks may send commands;
 * they must not free the client. The stats block may be shared by clients on many threads.
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "store/redis_resp.h"

enum {
    GW_REDIS_EDOWN = -201,     /* not connected, or the connection was lost */
    GW_REDIS_ETIMEDOUT = -202, /* no reply before the command's deadline */
    GW_REDIS_ECLOSED = -203,   /* the client was freed */
};

/* redis.url, parsed: redis://[[user]:password@]host[:port][/db]. */
struct gw_redis_addr {
    struct sockaddr_storage sa;
    socklen_t salen;
    int db;
    char user[128];
    char password[512];
    char display[300]; /* "redis://host:port/db": safe to log, never holds credentials */
};

/* 0, or AIGW_EINVAL / AIGW_ECONFIG with a message in err (never quoting the password).
 * Resolves a host name: call at startup, not on a worker loop. */
int gw_redis_parse_url(const char *url, struct gw_redis_addr *out, char *err, size_t errsize);

/* A Lua script sent by hash. gw_redis_script_init computes the SHA-1 of src (kept by
 * reference: src must outlive the script). */
struct gw_redis_script {
    const char *src;
    size_t len;
    char sha[41];
};
int gw_redis_script_init(struct gw_redis_script *s, const char *src);

/* Shared by every client that points at it (atomics). */
struct gw_redis_stats {
    _Atomic uint64_t connects; /* handshakes completed */
    _Atomic uint64_t drops;    /* connections lost or dropped */
    _Atomic uint64_t failures; /* connect attempts that failed */
    _Atomic uint64_t timeouts; /* commands past their deadline */
    _Atomic uint64_t noscript; /* EVALSHA answered NOSCRIPT, re-sent as EVAL */
};

struct gw_redis_opts {
    int64_t connect_timeout_ms;   /* TCP connect plus handshake; 0: 1000 */
    int64_t stall_ms;             /* the oldest reply this late drops the connection; 0: 1000 */
    int64_t backoff_min_ms;       /* 0: 100 */
    int64_t backoff_max_ms;       /* 0: 5000 */
    size_t max_pending;           /* commands awaiting a reply; 0: 4096 */
    size_t max_out;               /* unsent bytes; 0: 4 MiB */
    size_t max_reply;             /* unread reply bytes; 0: 1 MiB */
    struct gw_redis_stats *stats; /* may be NULL */
    const struct gw_redis_script *const *preload; /* loaded in every handshake; may be NULL */
    size_t npreload;
};

struct gw_redis;

/* status 0 with the reply (which may be an error reply: check type), or GW_REDIS_ETIMEDOUT,
 * GW_REDIS_EDOWN, GW_REDIS_ECLOSED with reply NULL. The reply is freed after the call. */
typedef void (*gw_redis_cb)(void *ud, int status, const struct gw_resp *reply);

/* Starts connecting at once (non-blocking). a and o are copied. */
int gw_redis_new(const struct gw_redis_addr *a, const struct gw_redis_opts *o,
                 struct gw_redis **out);
/* Callbacks of waiting commands run with GW_REDIS_ECLOSED. */
void gw_redis_free(struct gw_redis *r);

int gw_redis_fd(const struct gw_redis *r);
/* Milliseconds until the client has timed work (0: now; -1: none). */
int gw_redis_timeout_ms(const struct gw_redis *r);
void gw_redis_process(struct gw_redis *r, int fd_ready);
/* 1 when connected and past the handshake (commands are accepted). */
int gw_redis_ready(const struct gw_redis *r);
/* Commands sent and not answered yet (those past their deadline included). */
size_t gw_redis_pending(const struct gw_redis *r);

/* Queues one command. deadline_ms: absolute, gw_redis_now_ms(). 0 when queued (cb will run
 * exactly once), else GW_REDIS_EDOWN (not ready), GW_REDIS_ETIMEDOUT (deadline already past),
 * AIGW_ETOOBIG (a cap), AIGW_ENOMEM, with no callback. */
int gw_redis_command(struct gw_redis *r, int argc, const char *const *argv, const size_t *lens,
                     int64_t deadline_ms, gw_redis_cb cb, void *ud);
/* EVALSHA s nkeys argv... (keys first), falling back to EVAL on NOSCRIPT. Same returns. */
int gw_redis_eval(struct gw_redis *r, const struct gw_redis_script *s, int nkeys, int argc,
                  const char *const *argv, const size_t *lens, int64_t deadline_ms, gw_redis_cb cb,
                  void *ud);

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline here. */
int64_t gw_redis_now_ms(void);

#endif
