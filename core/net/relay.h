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
};

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
