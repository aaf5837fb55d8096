/* relay - bounded producer/consumer hand-off with MHD suspend/resume (see relay.h). */
#include "net/relay.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "net/worker.h"

void gw_relay_init(struct gw_relay *r, struct MHD_Connection *conn, size_t cap)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    /* The hard cap leaves room above the high-water mark for the one write in progress. */
    gw_buf_init(&r->out, cap + GW_RELAY_WRITE_MAX);
    r->high = cap;
    r->low = cap / 4;
    r->conn = conn;
}

void gw_relay_free(struct gw_relay *r)
{
    gw_buf_free(&r->out);
    pthread_mutex_destroy(&r->lock);
}

void gw_relay_wake_locked(struct gw_relay *r)
{
    if (r->suspended) {
        r->suspended = 0;
        gw_worker_resume(r->conn);
    }
}

void gw_relay_sleep_locked(struct gw_relay *r)
{
    if (!r->suspended) {
        r->suspended = 1;
        MHD_suspend_connection(r->conn);
    }
}

int gw_relay_full_locked(const struct gw_relay *r)
{
    return r->out.len >= r->high;
}

ssize_t gw_relay_read(struct gw_relay *r, char *buf, size_t max, int *want_unpause)
{
    *want_unpause = 0;
    pthread_mutex_lock(&r->lock);
    if (r->failed) {
        pthread_mutex_unlock(&r->lock);
        return -2;
    }
    if (r->out.len == 0) {
        if (r->finished) {
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        gw_relay_sleep_locked(r);
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    size_t n = r->out.len < max ? r->out.len : max;
    memcpy(buf, r->out.ptr, n);
    gw_buf_consume(&r->out, n);
    r->total_out += (int64_t)n;
    if (r->producer_paused && r->out.len <= r->low) {
        r->producer_paused = 0;
        *want_unpause = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return (ssize_t)n;
}

int gw_relay_client_closed_locked(struct gw_relay *r)
{
    if (!r->suspended || !r->conn)
        return 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return 1;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gw_relay_produce(struct gw_relay *r, int (*write)(void *ud, struct gw_buf *out), void *ud)
{
    pthread_mutex_lock(&r->lock);
    size_t before = r->out.len;
    int rc = write(ud, &r->out);
    if (rc < 0 && r->out.len > before) {
        r->out.len = before;
        r->out.ptr[before] = '\0';
    }
    if (r->out.len > before) {
        int64_t now = now_ms();
        r->committed = 1;
        if (!r->first_byte_ms) /* the answer's first bytes, even after an early start */
            r->first_byte_ms = now;
        r->last_push_ms = now;
        gw_relay_wake_locked(r);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int gw_relay_commit(struct gw_relay *r, int (*write)(void *ud, struct gw_buf *out), void *ud)
{
    pthread_mutex_lock(&r->lock);
    if (r->committed || r->client_gone) {
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    size_t before = r->out.len;
    int rc = write(ud, &r->out);
    if (rc < 0 && r->out.len > before) {
        r->out.len = before;
        r->out.ptr[before] = '\0';
    }
    int added = r->out.len > before;
    if (added) {
        /* Not first_byte_ms: that stays the answer's first bytes (the log's ttfb, the
         * router's latency, what a cut answer is charged from). */
        r->committed = 1;
        r->last_push_ms = now_ms();
        gw_relay_wake_locked(r);
    }
    pthread_mutex_unlock(&r->lock);
    return rc < 0 ? rc : added;
}

int gw_relay_gate(struct gw_relay *r)
{
    pthread_mutex_lock(&r->lock);
    int g = 0;
    if (r->client_gone) {
        g = -1;
    } else if (gw_relay_full_locked(r)) {
        r->producer_paused = 1;
        g = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return g;
}

int gw_relay_tick(struct gw_relay *r, int64_t heartbeat_ms,
                  int (*beat)(void *ud, struct gw_buf *out), void *ud)
{
    int left = 0;
    pthread_mutex_lock(&r->lock);
    if (!r->client_gone && gw_relay_client_closed_locked(r)) {
        r->client_gone = 1;
        r->failed = 1;
        gw_relay_wake_locked(r);
        left = 1;
    } else if (r->committed && heartbeat_ms > 0 && now_ms() - r->last_push_ms >= heartbeat_ms) {
        /* Keeps proxies and clients from timing out a quiet stream, and the write lets us
         * notice a client that left. */
        beat(ud, &r->out);
        r->last_push_ms = now_ms();
        gw_relay_wake_locked(r);
    }
    pthread_mutex_unlock(&r->lock);
    return left;
}

int gw_relay_close(struct gw_relay *r,
                   int (*end)(void *ud, struct gw_buf *out, int64_t sent, int committed),
                   void *ud)
{
    pthread_mutex_lock(&r->lock);
    int rc = end(ud, &r->out, r->total_out + (int64_t)r->out.len, r->committed);
    r->finished = 1;
    gw_relay_wake_locked(r);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int gw_relay_uncommitted(struct gw_relay *r)
{
    pthread_mutex_lock(&r->lock);
    int ok = !r->committed && !r->client_gone;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

int64_t gw_relay_first_byte_ms(struct gw_relay *r)
{
    pthread_mutex_lock(&r->lock);
    int64_t t = r->first_byte_ms;
    pthread_mutex_unlock(&r->lock);
    return t;
}

int gw_relay_abandon(struct gw_relay *r, int aborted)
{
    pthread_mutex_lock(&r->lock);
    if (!r->finished || aborted) {
        r->client_gone = 1;
        r->failed = 1;
    }
    int running = !r->finished;
    /* MHD is done with the connection: never touch it again. */
    r->conn = NULL;
    r->suspended = 0;
    pthread_mutex_unlock(&r->lock);
    return running;
}
