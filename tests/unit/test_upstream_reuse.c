/*
 * upstream: easy handles that keep their options between transfers. A kept-alive connection
 * that dies under a request is retried on a fresh one however often it happens on the same
 * handle (libcurl 7.88 counts those retries per handle until curl_easy_reset), and a kept
 * handle carries nothing of its last transfer (method, body, URL) into the next. The server
 * is a loopback thread that answers the first request of each connection and drops the
 * connection on the second one, unanswered.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "net/upstream.h"

#define MAXREQ 32

struct server {
    int lfd, port, stop;
    int drop_second; /* 1: a connection's second request is read and the connection closed */
    pthread_mutex_t lock;
    int accepted, nreq;
    char line[MAXREQ][128]; /* request line and, after a '|', the body */
};

/* One request: its head up to the blank line, then Content-Length bytes of body. */
static int read_request(int fd, char *out, size_t cap)
{
    char buf[8192];
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t body = 0;
    const char *cl = strstr(buf, "\r\nContent-Length:");
    if (cl && cl < end)
        body = (size_t)strtoul(cl + 17, NULL, 10);
    size_t want = (size_t)(end + 4 - buf) + body;
    while (n < want) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    buf[n] = '\0';
    size_t ll = (size_t)(strstr(buf, "\r\n") - buf);
    snprintf(out, cap, "%.*s|%.*s", (int)ll, buf, (int)body, end + 4);
    return 0;
}

static void *serve(void *arg)
{
    struct server *s = arg;
    while (!s->stop) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        s->accepted++;
        pthread_mutex_unlock(&s->lock);
        /* One connection at a time: the transfers are sequential, and a retry connects only
         * after this one was dropped. */
        for (int k = 0;; k++) {
            char line[128];
            if (read_request(fd, line, sizeof line) < 0)
                break;
            pthread_mutex_lock(&s->lock);
            if (s->nreq < MAXREQ)
                memcpy(s->line[s->nreq++], line, sizeof line);
            pthread_mutex_unlock(&s->lock);
            if (k >= 1 && s->drop_second)
                break;
            const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if (send(fd, ok, strlen(ok), MSG_NOSIGNAL) < 0)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void server_start(struct server *s, int drop_second)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->drop_second = drop_second;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    cr_assert_eq(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->lfd, 16), 0);
    cr_assert_eq(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
}

struct done {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int finished, result, status;
};

static int on_header(void *ud, const char *n, size_t nl, const char *v, size_t vl)
{
    (void)ud, (void)n, (void)nl, (void)v, (void)vl;
    return 0;
}

static int on_status(void *ud, int status)
{
    ((struct done *)ud)->status = status;
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    (void)ud, (void)p, (void)n;
    return 0;
}

static void on_done(void *ud, int result)
{
    struct done *d = ud;
    pthread_mutex_lock(&d->lock);
    d->result = result;
    d->finished = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static const struct gw_xfer_ops ops = {
    .on_header = on_header, .on_status = on_status, .on_data = on_data, .on_done = on_done};

/* One transfer, waited for; its result. */
static int transfer(struct gw_upstream *u, int port, const char *method, const char *path,
                    const char *body)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct done d = {.result = 1};
    pthread_mutex_init(&d.lock, NULL);
    pthread_cond_init(&d.cond, NULL);
    struct gw_xfer_req req = {.method = method,
                              .url = url,
                              .body = body,
                              .body_len = body ? strlen(body) : 0,
                              .connect_timeout_ms = 5000,
                              .first_byte_timeout_ms = 5000,
                              .idle_timeout_ms = 5000};
    struct gw_xfer *x = NULL;
    cr_assert_eq(gw_upstream_start(u, &req, &ops, &d, &x), 0);
    /* The engine is embedded and driven here, as a worker drives its own: the transfer's
     * handle is back in the pool when this returns, so the next transfer takes the same. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int finished = 0;
    for (;;) {
        pthread_mutex_lock(&d.lock);
        finished = d.finished;
        pthread_mutex_unlock(&d.lock);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (finished || now.tv_sec - t0.tv_sec > 20)
            break;
        struct pollfd p = {.fd = gw_upstream_fd(u), .events = POLLIN};
        int tmo = gw_upstream_pending(u) ? 0 : gw_upstream_timeout_ms(u);
        int ready = poll(&p, 1, tmo < 0 || tmo > 100 ? 100 : tmo);
        gw_upstream_run_once(u, ready > 0);
    }
    cr_assert(finished, "transfer did not finish in 20 s");
    gw_xfer_unref(x);
    cr_assert_eq(d.status, d.result == 0 ? 200 : d.status);
    return d.result;
}

/* A server (drop: it kills each kept-alive connection under the next request) on its
 * thread, and an embedded engine on this one. */
static struct gw_upstream *open_engine(struct server *s, pthread_t *t, int drop)
{
    server_start(s, drop);
    cr_assert_eq(pthread_create(t, NULL, serve, s), 0);
    struct gw_upstream *u = NULL;
    cr_assert_eq(gw_upstream_init_embedded(&u), 0);
    gw_upstream_set_here(u);
    return u;
}

static void close_engine(struct gw_upstream *u, struct server *s, pthread_t t)
{
    gw_upstream_set_here(NULL);
    gw_upstream_free(u);
    s->stop = 1;
    pthread_join(t, NULL);
    close(s->lfd);
}

Test(upstream_reuse, dead_keepalive_retried_on_every_transfer)
{
    struct server s;
    pthread_t t;
    struct gw_upstream *u = open_engine(&s, &t, 1);
    /* Sequential transfers on one engine take the same pooled handle each time; from the
     * second on, each one's kept-alive connection dies under it and curl retries once. Well
     * past curl's five retries per handle, every one must still succeed. */
    for (int i = 0; i < 12; i++)
        cr_assert_eq(transfer(u, s.port, "POST", i % 2 ? "/odd" : "/even", "{\"n\":1}"), 0,
                     "transfer %d failed", i);
    close_engine(u, &s, t);
    cr_assert_eq(s.accepted, 12);
    cr_assert_eq(s.nreq, 23); /* 12 answered, 11 dropped */
    /* The retry of each (after the first) asks for its own URL, not its handle's last one. */
    for (int r = 0; r < 23; r++) {
        int i = (r + 1) / 2;
        cr_assert_str_eq(s.line[r],
                         i % 2 ? "POST /odd HTTP/1.1|{\"n\":1}" : "POST /even HTTP/1.1|{\"n\":1}");
    }
}

Test(upstream_reuse, kept_handle_carries_nothing_over)
{
    struct server s;
    pthread_t t;
    struct gw_upstream *u = open_engine(&s, &t, 0);
    cr_assert_eq(transfer(u, s.port, "POST", "/a", "{\"x\":1}"), 0);
    cr_assert_eq(transfer(u, s.port, NULL, "/b", NULL), 0);
    cr_assert_eq(transfer(u, s.port, "DELETE", "/c?q=1", NULL), 0);
    cr_assert_eq(transfer(u, s.port, NULL, "/d", "{\"y\":22}"), 0);
    cr_assert_eq(transfer(u, s.port, "POST", "/a", "z"), 0);
    cr_assert_eq(transfer(u, s.port, "GET", "/e", NULL), 0);
    close_engine(u, &s, t);
    cr_assert_eq(s.nreq, 6);
    cr_assert_str_eq(s.line[0], "POST /a HTTP/1.1|{\"x\":1}");
    cr_assert_str_eq(s.line[1], "GET /b HTTP/1.1|");
    cr_assert_str_eq(s.line[2], "DELETE /c?q=1 HTTP/1.1|");
    cr_assert_str_eq(s.line[3], "POST /d HTTP/1.1|{\"y\":22}");
    cr_assert_str_eq(s.line[4], "POST /a HTTP/1.1|z");
    cr_assert_str_eq(s.line[5], "GET /e HTTP/1.1|");
    cr_assert_eq(s.accepted, 1); /* one kept-alive connection throughout */
}
