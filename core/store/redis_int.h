/*
 * redis_int - what redis.c (connection and replies) shares with redis_cmd.c (queueing
 * commands): the client's state and its queue of waiting commands.
 *
 * Threading: as redis.h, a client belongs to one worker thread.
 */
#ifndef GW_REDIS_INT_H
#define GW_REDIS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/redis.h"

enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_READY };

struct pending {
    struct pending *next;
    gw_redis_cb cb; /* NULL once answered with ETIMEDOUT: the reply is then dropped */
    void *ud;
    int64_t deadline;
    int64_t sent_at;
    int handshake; /* 1: AUTH/SELECT (expects +OK), 2: the final PING, 3: SCRIPT LOAD */
    const struct gw_redis_script *script; /* EVALSHA: re-sent as EVAL on NOSCRIPT */
    char *cmd;                            /* the EVALSHA as sent (for that re-send) */
    size_t cmdlen;
};

struct gw_redis {
    struct gw_redis_addr addr;
    struct gw_redis_opts o;
    int ep;
    int fd;
    int state;
    int want_out; /* EPOLLOUT registered */
    int broken;   /* errno of a failed write: the connection is dropped on the next turn */
    int was_up;   /* for logging transitions only */
    struct gw_buf out;
    struct gw_resp_reader *rd;
    struct pending *head, *tail;
    size_t npending;
    int64_t conn_deadline;
    int64_t next_attempt;
    int64_t backoff;
    uint64_t rng;
};

/* Appends a waiting entry for a command already in r->out; NULL when out of memory. */
struct pending *gw_redis_push(struct gw_redis *r, gw_redis_cb cb, void *ud, int64_t deadline);
/* Sends what r->out holds, as far as the socket takes it; a failed send sets r->broken. */
void gw_redis_flush_out(struct gw_redis *r);

#endif
