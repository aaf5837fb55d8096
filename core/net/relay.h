/*
 * relay - the bounded hand-off between the upstream transfer (producer) and the client's MHD
 * connection (consumer) for one request; usually both on one worker thread.
 *
 * The consumer finding nothing to send suspends its connection; the producer appending
 * resumes it. A producer that finds the buffer above its high-water mark is told to pause the
 * upstream transfer, and the consumer draining below the low-water mark asks for the
 * unpause. So a slow client costs at most `cap` bytes, never more.
 *
 * Threading: one mutex guards everything; MHD suspend/resume calls happen under it so the
 * "suspended" flag always matches MHD's view.
 */
#ifndef GW_RELAY_H
#define GW_RELAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/buf.h"

struct MHD_Connection;

/* What one write may add above the high-water mark: an upstream event is at most 4 MiB
 * (plugin/framing.h's GW_FRAMER_DEFAULT_CAP), and rendered in any dialect it stays within
 * twice that. A write past it fails and adds nothing. */
#define GW_RELAY_WRITE_MAX (8u << 20)

struct gw_relay {
    pthread_mutex_t lock;
    struct gw_buf out;     /* bytes for the client, not yet taken */
    size_t high;           /* pause the producer above this */
    size_t low;            /* ask to unpause below this */
    struct MHD_Connection *conn;
    int suspended;         /* the connection is suspended by us */
    int finished;          /* no more bytes will be produced */
    int failed;            /* end the response abruptly (client gone, fatal) */
    int producer_paused;   /* the upstream transfer is paused for back-pressure */
    int64_t total_out;     /* bytes taken by the consumer */
    int64_t last_push_ms;
    int committed;         /* bytes were produced: the response's status is settled */
    int64_t first_byte_ms; /* when the answer's first bytes were produced (0: not yet); a
                              start sent by gw_relay_commit does not count */
    int client_gone;       /* the consumer left: produce nothing more */
};

/* ---- the producer's side: each takes the lock itself ------------------------------------ */

/* write(ud, out) under the lock; when it added bytes, the first ever commit the relay and the
 * consumer is woken. A write that fails adds nothing (what it had appended is taken back: the
 * client never gets half an event). Returns write's result. */
int gw_relay_produce(struct gw_relay *r, int (*write)(void *ud, struct gw_buf *out), void *ud);
/* A stream's start ahead of its answer (stream.commit_ms): write(ud, out) under the lock
 * unless bytes were produced already or the consumer left; what it adds commits the relay
 * (the response's headers go out, heartbeats may follow) without setting first_byte_ms.
 * Returns 1 when it committed, 0 when nothing was written, or write's negative result
 * (what it appended is taken back). */
int gw_relay_commit(struct gw_relay *r, int (*write)(void *ud, struct gw_buf *out), void *ud);
/* Before producing more: 0 go on, 1 pause the producer (above the high-water mark; the
 * consumer asks for the unpause), -1 the consumer left. */
int gw_relay_gate(struct gw_relay *r);
/* A quiet moment of the producer: notices a consumer that left (returns 1: stop producing),
 * and, once committed, writes beat(ud, out) when nothing was produced for heartbeat_ms. */
int gw_relay_tick(struct gw_relay *r, int64_t heartbeat_ms,
                  int (*beat)(void *ud, struct gw_buf *out), void *ud);
/* The last write: end(ud, out, sent, committed) under the lock, where sent counts what the
 * consumer took or has waiting; then no more bytes come. Returns end's result. */
int gw_relay_close(struct gw_relay *r,
                   int (*end)(void *ud, struct gw_buf *out, int64_t sent, int committed),
                   void *ud);
/* 1 while nothing was produced and the consumer is still there (a retry may go unseen). */
int gw_relay_uncommitted(struct gw_relay *r);
int64_t gw_relay_first_byte_ms(struct gw_relay *r);

/* ---- the consumer's side ----------------------------------------------------------------- */

/* The consumer is done with the connection (MHD's completion): never touch it again; when
 * the response was not complete (or aborted), the producer is told to stop. Returns 1 when
 * the producer had not finished (the caller cancels it). */
int gw_relay_abandon(struct gw_relay *r, int aborted);

void gw_relay_init(struct gw_relay *r, struct MHD_Connection *conn, size_t cap);
void gw_relay_free(struct gw_relay *r);
/* Resume the connection if we suspended it. Caller holds the lock. */
void gw_relay_wake_locked(struct gw_relay *r);
/* Suspend the connection (from an MHD callback). Caller holds the lock. */
void gw_relay_sleep_locked(struct gw_relay *r);
/* 1 when the buffer is above the high-water mark. Caller holds the lock. */
int gw_relay_full_locked(const struct gw_relay *r);
/* Content reader body: copies up to max bytes. Returns the count, 0 after suspending (no data
 * yet), or -1 at the end (finished and drained) / -2 on failure. *want_unpause is set when the
 * producer should be unpaused. */
ssize_t gw_relay_read(struct gw_relay *r, char *buf, size_t max, int *want_unpause);
/* 1 when the client's socket has been closed by the peer (checked only while suspended). */
int gw_relay_client_closed_locked(struct gw_relay *r);

#endif
