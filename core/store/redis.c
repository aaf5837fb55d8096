/* redis - a Redis client on a worker loop (see redis.h): the connection's lifetime (connect,
 * handshake, backoff, drop), reading and matching replies, deadlines. Queueing a command is
 * redis_cmd.c's. */
#include "store/redis.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "store/redis_int.h"

int64_t gw_redis_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stat_inc(_Atomic uint64_t *s)
{
    atomic_fetch_add_explicit(s, 1, memory_order_relaxed);
}

#define STAT(r, f)                                                                                 \
    do {                                                                                           \
        if ((r)->o.stats)                                                                          \
            stat_inc(&(r)->o.stats->f);                                                            \
    } while (0)

static void set_events(struct gw_redis *r, int out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.fd = r->fd};
    if (epoll_ctl(r->ep, EPOLL_CTL_MOD, r->fd, &ev) == 0)
        r->want_out = out;
}

static void free_pending(struct pending *p)
{
    free(p->cmd);
    free(p);
}

/* Every waiting command gets status; the connection is closed and a reconnect scheduled. */
static void drop(struct gw_redis *r, int status, const char *why)
{
    if (r->fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, r->fd, NULL);
        close(r->fd);
        r->fd = -1;
    }
    /* The owner closing the client is neither a drop nor a failure. */
    if (status != GW_REDIS_ECLOSED && r->state == ST_READY)
        STAT(r, drops);
    else if (status != GW_REDIS_ECLOSED)
        STAT(r, failures);
    if (r->was_up)
        GW_WARN("redis %s: %s; reconnecting", r->addr.display, why);
    else
        GW_DEBUG("redis %s: %s", r->addr.display, why);
    r->was_up = 0;
    r->state = ST_IDLE;
    r->want_out = 0;
    r->broken = 0;
    gw_buf_reset(&r->out);
    struct gw_resp_reader *rd = NULL;
    if (gw_resp_reader_new(r->o.max_reply, 0, &rd) == 0) {
        gw_resp_reader_free(r->rd);
        r->rd = rd;
    }
    /* Backoff with jitter (up to a quarter), so replicas that lost one server do not all
     * knock on it in the same millisecond. */
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    int64_t wait = r->backoff + (int64_t)(r->rng % (uint64_t)(r->backoff / 4 + 1));
    r->next_attempt = gw_redis_now_ms() + wait;
    r->backoff = r->backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : r->backoff * 2;
    /* Detach first: a callback may queue a new command, which is refused while idle. */
    struct pending *p = r->head;
    r->head = r->tail = NULL;
    r->npending = 0;
    while (p) {
        struct pending *next = p->next;
        if (p->cb)
            p->cb(p->ud, status, NULL);
        free_pending(p);
        p = next;
    }
}

void gw_redis_flush_out(struct gw_redis *r)
{
    while (r->out.len > 0) {
        ssize_t n = send(r->fd, r->out.ptr, r->out.len, MSG_NOSIGNAL);
        if (n > 0) {
            gw_buf_consume(&r->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!r->want_out)
                set_events(r, 1);
            return;
        }
        r->broken = errno ? errno : EPIPE;
        return;
    }
    if (r->want_out)
        set_events(r, 0);
}

struct pending *gw_redis_push(struct gw_redis *r, gw_redis_cb cb, void *ud, int64_t deadline)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cb = cb;
    p->ud = ud;
    p->deadline = deadline;
    p->sent_at = gw_redis_now_ms();
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->npending++;
    return p;
}

/* The handshake as one pipeline; the connection is ready when the PING is answered. */
static void on_connected(struct gw_redis *r)
{
    r->state = ST_HANDSHAKE;
    set_events(r, 0);
    char db[16];
    int rc = 0;
    if (r->addr.password[0]) {
        const char *argv[3] = {"AUTH", r->addr.user, r->addr.password};
        size_t lens[3] = {4, strlen(r->addr.user), strlen(r->addr.password)};
        int argc = r->addr.user[0] ? 3 : 2;
        if (argc == 2) {
            argv[1] = r->addr.password;
            lens[1] = lens[2];
        }
        rc |= gw_resp_format(&r->out, argc, argv, lens);
        struct pending *p = gw_redis_push(r, NULL, NULL, r->conn_deadline);
        rc |= p ? 0 : -1;
        if (p)
            p->handshake = 1;
    }
    if (r->addr.db) {
        size_t n = gw_fmt_i64(db, sizeof db, r->addr.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, n};
        rc |= gw_resp_format(&r->out, 2, argv, lens);
        struct pending *p = gw_redis_push(r, NULL, NULL, r->conn_deadline);
        rc |= p ? 0 : -1;
        if (p)
            p->handshake = 1;
    }
    for (size_t i = 0; i < r->o.npreload; i++) {
        const struct gw_redis_script *sc = r->o.preload[i];
        const char *argv[3] = {"SCRIPT", "LOAD", sc->src};
        size_t lens[3] = {6, 4, sc->len};
        rc |= gw_resp_format(&r->out, 3, argv, lens);
        struct pending *p = gw_redis_push(r, NULL, NULL, r->conn_deadline);
        rc |= p ? 0 : -1;
        if (p)
            p->handshake = 3; /* any answer: EVAL covers a refused load */
    }
    const char *ping[1] = {"PING"};
    size_t plen[1] = {4};
    rc |= gw_resp_format(&r->out, 1, ping, plen);
    struct pending *p = gw_redis_push(r, NULL, NULL, r->conn_deadline);
    if (!p || rc != 0) {
        drop(r, GW_REDIS_EDOWN, "out of memory during the handshake");
        return;
    }
    p->handshake = 2;
    gw_redis_flush_out(r);
}

static void start_connect(struct gw_redis *r)
{
    r->conn_deadline = gw_redis_now_ms() + r->o.connect_timeout_ms;
    r->fd = socket(r->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd < 0) {
        drop(r, GW_REDIS_EDOWN, "socket() failed");
        return;
    }
    int one = 1;
    if (r->addr.sa.ss_family != AF_UNIX)
        setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = r->fd};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->fd, &ev) != 0) {
        drop(r, GW_REDIS_EDOWN, "epoll_ctl failed");
        return;
    }
    r->want_out = 1;
    int rc = connect(r->fd, (const struct sockaddr *)&r->addr.sa, r->addr.salen);
    if (rc == 0) {
        on_connected(r);
        return;
    }
    if (errno != EINPROGRESS) {
        char why[96];
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        drop(r, GW_REDIS_EDOWN, why);
        return;
    }
    r->state = ST_CONNECTING;
}

static int starts_with(const struct gw_resp *v, const char *s)
{
    size_t n = strlen(s);
    return v->len >= n && memcmp(v->str, s, n) == 0;
}

/* EVALSHA -> EVAL: same arguments after the script, so the tail of the command as sent is
 * reused: "*N\r\n" "$7\r\nEVALSHA\r\n" "$40\r\n<sha>\r\n" then the rest. */
static int resend_as_eval(struct gw_redis *r, struct pending *old)
{
    const char *crlf = memchr(old->cmd, '\n', old->cmdlen);
    size_t head = crlf ? (size_t)(crlf - old->cmd) + 1 : 0;
    size_t skip = head + 13 + 5 + 40 + 2;
    if (!crlf || skip > old->cmdlen)
        return AIGW_EINTERNAL;
    size_t before = r->out.len;
    char num[24];
    gw_fmt_i64(num, sizeof num, (int64_t)old->script->len);
    int rc = gw_buf_append(&r->out, old->cmd, head);
    rc = rc ? rc : gw_buf_append_strs(&r->out, "$4\r\nEVAL\r\n$", num, "\r\n", (char *)NULL);
    rc = rc ? rc : gw_buf_append(&r->out, old->script->src, old->script->len);
    rc = rc ? rc : gw_buf_append(&r->out, "\r\n", 2);
    rc = rc ? rc : gw_buf_append(&r->out, old->cmd + skip, old->cmdlen - skip);
    struct pending *p = rc ? NULL : gw_redis_push(r, old->cb, old->ud, old->deadline);
    if (!p) {
        r->out.len = before;
        return rc ? rc : AIGW_ENOMEM;
    }
    old->cb = NULL; /* the new entry answers the caller */
    STAT(r, noscript);
    gw_redis_flush_out(r);
    return 0;
}

/* One reply, matched to the oldest waiting command. 0, or -1 when the connection must go. */
static int dispatch(struct gw_redis *r, struct gw_resp *v)
{
    struct pending *p = r->head;
    if (!p) {
        drop(r, GW_REDIS_EDOWN, "a reply nobody asked for");
        return -1;
    }
    r->head = p->next;
    if (!r->head)
        r->tail = NULL;
    r->npending--;
    if (p->handshake) {
        int ok = p->handshake == 1   ? v->type == GW_RESP_STATUS && starts_with(v, "OK")
                 : p->handshake == 2 ? v->type == GW_RESP_STATUS && starts_with(v, "PONG")
                                     : 1;
        int last = p->handshake == 2;
        free_pending(p);
        if (!ok) {
            /* The server's text may name the user; the password is never in it. */
            drop(r, GW_REDIS_EDOWN,
                 v->type == GW_RESP_ERROR && starts_with(v, "WRONGPASS")
                     ? "AUTH refused (check the password in redis.url)"
                     : "handshake refused (AUTH, SELECT or PING)");
            return -1;
        }
        if (last) {
            r->state = ST_READY;
            r->backoff = r->o.backoff_min_ms;
            STAT(r, connects);
            if (!r->was_up)
                GW_INFO("redis %s: connected", r->addr.display);
            r->was_up = 1;
        }
        return 0;
    }
    if (p->script && p->cmd && p->cb && v->type == GW_RESP_ERROR && starts_with(v, "NOSCRIPT")) {
        if (resend_as_eval(r, p) != 0 && p->cb)
            p->cb(p->ud, GW_REDIS_EDOWN, NULL);
        free_pending(p);
        return r->state == ST_READY ? 0 : -1;
    }
    if (p->cb)
        p->cb(p->ud, 0, v);
    free_pending(p);
    return r->state == ST_READY || r->state == ST_HANDSHAKE ? 0 : -1;
}

static void on_readable(struct gw_redis *r)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(r->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            char why[96];
            snprintf(why, sizeof why, "%s%s", n == 0 ? "server closed the connection" : "recv: ",
                     n == 0 ? "" : strerror(errno));
            drop(r, GW_REDIS_EDOWN, why);
            return;
        }
        if (gw_resp_reader_feed(r->rd, buf, (size_t)n) != 0) {
            drop(r, GW_REDIS_EDOWN, gw_resp_reader_error(r->rd));
            return;
        }
        for (;;) {
            struct gw_resp *v = NULL;
            int rc = gw_resp_reader_next(r->rd, &v);
            if (rc < 0) {
                drop(r, GW_REDIS_EDOWN, gw_resp_reader_error(r->rd));
                return;
            }
            if (rc == 0)
                break;
            rc = dispatch(r, v);
            gw_resp_free(v);
            if (rc != 0)
                return;
        }
        if ((size_t)n < sizeof buf)
            return;
    }
}

static void on_io(struct gw_redis *r, uint32_t events)
{
    if (r->state == ST_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof e;
        if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
            e = errno;
        if (e != 0) {
            char why[96];
            snprintf(why, sizeof why, "connect: %s", strerror(e));
            drop(r, GW_REDIS_EDOWN, why);
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        on_connected(r);
        if (r->state != ST_HANDSHAKE)
            return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        on_readable(r);
        if (r->state == ST_IDLE)
            return;
    }
    if ((events & EPOLLOUT) && r->fd >= 0)
        gw_redis_flush_out(r);
}

/* Commands past their deadline are answered now; their replies will be dropped. */
static void expire(struct gw_redis *r, int64_t now)
{
    for (struct pending *p = r->head; p; p = p->next) {
        if (p->cb && p->deadline <= now) {
            gw_redis_cb cb = p->cb;
            p->cb = NULL;
            STAT(r, timeouts);
            cb(p->ud, GW_REDIS_ETIMEDOUT, NULL);
            if (r->state == ST_IDLE)
                return; /* the callback's command failed the connection: list gone */
        }
    }
}

void gw_redis_process(struct gw_redis *r, int fd_ready)
{
    if (fd_ready && r->fd >= 0) {
        struct epoll_event ev[2];
        int n = epoll_wait(r->ep, ev, 2, 0);
        for (int i = 0; i < n && r->fd >= 0; i++)
            if (ev[i].data.fd == r->fd)
                on_io(r, ev[i].events);
    }
    if (r->broken) {
        char why[96];
        snprintf(why, sizeof why, "send: %s", strerror(r->broken));
        drop(r, GW_REDIS_EDOWN, why);
    }
    int64_t now = gw_redis_now_ms();
    if (r->state == ST_IDLE && now >= r->next_attempt) {
        start_connect(r);
        now = gw_redis_now_ms();
    }
    if ((r->state == ST_CONNECTING || r->state == ST_HANDSHAKE) && now >= r->conn_deadline) {
        drop(r, GW_REDIS_EDOWN, "connect or handshake timed out");
        return;
    }
    if (r->state == ST_READY) {
        expire(r, now);
        if (r->state == ST_READY && r->head && now - r->head->sent_at >= r->o.stall_ms) {
            char why[96];
            snprintf(why, sizeof why, "no reply for %lld ms", (long long)(now - r->head->sent_at));
            drop(r, GW_REDIS_EDOWN, why);
        }
    }
}

int gw_redis_timeout_ms(const struct gw_redis *r)
{
    int64_t now = gw_redis_now_ms();
    int64_t at;
    if (r->broken)
        return 0;
    switch (r->state) {
    case ST_IDLE:
        at = r->next_attempt;
        break;
    case ST_CONNECTING:
    case ST_HANDSHAKE:
        at = r->conn_deadline;
        break;
    default:
        if (!r->head)
            return -1;
        at = r->head->sent_at + r->o.stall_ms;
        for (const struct pending *p = r->head; p; p = p->next)
            if (p->cb && p->deadline < at)
                at = p->deadline;
    }
    int64_t d = at - now;
    return d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
}

int gw_redis_ready(const struct gw_redis *r)
{
    return r->state == ST_READY && !r->broken;
}

size_t gw_redis_pending(const struct gw_redis *r)
{
    return r->npending;
}

int gw_redis_fd(const struct gw_redis *r)
{
    return r->ep;
}

int gw_redis_new(const struct gw_redis_addr *a, const struct gw_redis_opts *o,
                 struct gw_redis **out)
{
    struct gw_redis *r = calloc(1, sizeof *r);
    if (!r)
        return AIGW_ENOMEM;
    r->addr = *a;
    if (o)
        r->o = *o;
    if (r->o.connect_timeout_ms <= 0)
        r->o.connect_timeout_ms = 1000;
    if (r->o.stall_ms <= 0)
        r->o.stall_ms = 1000;
    if (r->o.backoff_min_ms <= 0)
        r->o.backoff_min_ms = 100;
    if (r->o.backoff_max_ms < r->o.backoff_min_ms)
        r->o.backoff_max_ms = r->o.backoff_min_ms > 5000 ? r->o.backoff_min_ms : 5000;
    if (!r->o.max_pending)
        r->o.max_pending = 4096;
    if (!r->o.max_out)
        r->o.max_out = (size_t)4 << 20;
    r->backoff = r->o.backoff_min_ms;
    r->rng = (uint64_t)gw_redis_now_ms() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)r;
    if (!r->rng)
        r->rng = 1;
    r->fd = -1;
    r->state = ST_IDLE;
    gw_buf_init(&r->out, r->o.max_out);
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (r->ep < 0 || gw_resp_reader_new(r->o.max_reply, 0, &r->rd) != 0) {
        if (r->ep >= 0)
            close(r->ep);
        gw_buf_free(&r->out);
        free(r);
        return AIGW_ENOMEM;
    }
    r->was_up = 1; /* so the first failure is logged as a warning */
    start_connect(r);
    *out = r;
    return 0;
}

void gw_redis_free(struct gw_redis *r)
{
    if (!r)
        return;
    r->was_up = 0;
    drop(r, GW_REDIS_ECLOSED, "client closed");
    gw_resp_reader_free(r->rd);
    gw_buf_free(&r->out);
    close(r->ep);
    free(r);
}
