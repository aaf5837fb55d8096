/*
 * hc.c - small HTTP/1.1 load client for the aigw benchmark: paced latency, SSE streams, and
 * held idle streams. One epoll loop, keep-alive connections, Content-Length and chunked bodies.
 *
 *   hc [-c CONNS] [-d SECONDS] [-r RATE] [-b BODYFILE] [--hold N] [-H 'Name: v'] URL
 *
 * Load mode prints one line:
 *   reqs=N errors=E rps=X ttfb_p50=us ttfb_p99=us total_p50=us total_p99=us
 * (ttfb = request sent -> first body byte; total = request sent -> last body byte).
 * -r RATE paces requests at RATE per second in total (open loop per connection; a late
 * response delays the next request on that connection).
 * --hold N opens N streams, waits for each one's first body byte, prints "held N", then keeps
 * them open until SIGTERM/SIGINT or -d seconds (gives up after 60 s: "held K (timeout)").
 * Only a 200 answer is a held stream; error answers are counted apart ("held K refused R").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536
#define MAXSAMPLES (8u << 20)

enum { S_IDLE, S_HDR, S_CL, S_CSIZE, S_CDATA, S_CCRLF, S_CTRAIL, S_EOF };

struct conn {
    int fd, st, got_body, connected, status_ok;
    size_t hlen, left, sent, wantsend;
    uint64_t t_send, t_first;
    char hdr[8192];
    char line[64];
    size_t linelen;
};

static volatile sig_atomic_t stop;
static uint64_t *ttfb, *total;
static size_t nsamples;
static uint64_t reqs, errors;
static char *req;
static size_t reqlen;
static struct sockaddr_in addr;
static int ep;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_sig(int s)
{
    (void)s;
    stop = 1;
}

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static int conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->st = S_IDLE;
    c->connected = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->st = S_IDLE;
}

static void want_out(struct conn *c, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Starts (or continues) sending the request; returns -1 on a dead connection. */
static int send_req(struct conn *c)
{
    while (c->sent < reqlen) {
        ssize_t w = send(c->fd, req + c->sent, reqlen - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) {
                want_out(c, 1);
                return 0;
            }
            return -1;
        }
        c->sent += (size_t)w;
    }
    want_out(c, 0);
    return 0;
}

static void start_req(struct conn *c)
{
    c->st = S_HDR;
    c->hlen = 0;
    c->sent = 0;
    c->got_body = 0;
    c->t_send = now_us();
    if (send_req(c) < 0) {
        errors++;
        conn_close(c);
    }
}

static void done(struct conn *c)
{
    uint64_t t = now_us();
    if (nsamples < MAXSAMPLES) {
        ttfb[nsamples] = (c->got_body ? c->t_first : t) - c->t_send;
        total[nsamples] = t - c->t_send;
        nsamples++;
    }
    reqs++;
    c->st = S_IDLE;
}

static void first_body(struct conn *c)
{
    if (!c->got_body) {
        c->got_body = 1;
        c->t_first = now_us();
    }
}

/* Parses response bytes; returns -1 on a protocol error or close-delimited end. */
static int feed(struct conn *c, const char *p, size_t n)
{
    while (n) {
        switch (c->st) {
        case S_IDLE:
            return -1; /* unsolicited bytes */
        case S_HDR: {
            size_t take = n < sizeof c->hdr - 1 - c->hlen ? n : sizeof c->hdr - 1 - c->hlen;
            if (!take)
                return -1;
            memcpy(c->hdr + c->hlen, p, take);
            size_t old = c->hlen;
            c->hlen += take;
            c->hdr[c->hlen] = 0;
            char *e = strstr(c->hdr, "\r\n\r\n");
            if (!e) {
                p += take;
                n -= take;
                break;
            }
            size_t used = (size_t)(e + 4 - c->hdr) - old;
            p += used;
            n -= used;
            *e = 0;
            c->status_ok = !strncmp(c->hdr, "HTTP/1.1 200", 12);
            if (!c->status_ok)
                errors++;
            char *cl = strcasestr(c->hdr, "\r\ncontent-length:");
            if (strcasestr(c->hdr, "\r\ntransfer-encoding: chunked")) {
                c->st = S_CSIZE;
                c->linelen = 0;
            } else if (cl) {
                c->left = (size_t)strtoull(cl + 17, NULL, 10);
                c->st = S_CL;
                if (!c->left)
                    done(c);
            } else {
                c->st = S_EOF;
            }
            break;
        }
        case S_CL: {
            first_body(c);
            size_t take = n < c->left ? n : c->left;
            c->left -= take;
            p += take;
            n -= take;
            if (!c->left)
                done(c);
            break;
        }
        case S_EOF:
            first_body(c);
            return 0;
        case S_CSIZE:
        case S_CTRAIL:
            if (*p == '\n') {
                c->line[c->linelen] = 0;
                c->linelen = 0;
                if (c->st == S_CTRAIL) {
                    if (c->line[0] == 0 || (c->line[0] == '\r' && c->line[1] == 0))
                        done(c);
                } else {
                    c->left = (size_t)strtoull(c->line, NULL, 16);
                    c->st = c->left ? S_CDATA : S_CTRAIL;
                }
            } else if (c->linelen < sizeof c->line - 1) {
                c->line[c->linelen++] = *p;
            }
            p++;
            n--;
            break;
        case S_CDATA: {
            first_body(c);
            size_t take = n < c->left ? n : c->left;
            c->left -= take;
            p += take;
            n -= take;
            if (!c->left) {
                c->st = S_CCRLF;
                c->left = 2;
            }
            break;
        }
        case S_CCRLF:
            p++;
            n--;
            if (!--c->left) {
                c->st = S_CSIZE;
                c->linelen = 0;
            }
            break;
        }
    }
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = malloc(1 << 20);
    *len = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    int conns = 1, holdn = 0, refused = 0;
    double dur = 5, rate = 0;
    const char *bodyfile = NULL, *url = NULL;
    char extra[2048] = "";
    size_t extralen = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            conns = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            dur = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            rate = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "-b") && i + 1 < argc)
            bodyfile = argv[++i];
        else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
            holdn = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-H") && i + 1 < argc) {
            int w = snprintf(extra + extralen, sizeof extra - extralen, "%s\r\n", argv[++i]);
            if (w < 0 || (size_t)w >= sizeof extra - extralen)
                return 2;
            extralen += (size_t)w;
        } else if (argv[i][0] != '-' && !url)
            url = argv[i];
        else {
            fprintf(stderr, "usage: hc [-c N] [-d S] [-r RATE] [-b FILE] [--hold N] [-H H] URL\n");
            return 2;
        }
    }
    if (holdn)
        conns = holdn;
    char host[64];
    int port;
    char path[1024];
    if (!url || sscanf(url, "http://%63[^:]:%d%1023s", host, &port, path) != 3 || conns < 1) {
        fprintf(stderr, "hc: need URL like http://127.0.0.1:8080/v1/chat/completions\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    size_t blen = 0;
    char *body = bodyfile ? slurp(bodyfile, &blen) : NULL;
    if (bodyfile && !body) {
        perror(bodyfile);
        return 2;
    }
    req = malloc(blen + 4096);
    int hl = snprintf(req, 4096,
                      "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n%s\r\n", body ? "POST" : "GET", path, host, port,
                      blen, extra);
    memcpy(req + hl, body ? body : "", blen);
    reqlen = (size_t)hl + blen;
    ttfb = malloc(MAXSAMPLES * sizeof *ttfb);
    total = malloc(MAXSAMPLES * sizeof *total);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_sig);
    signal(SIGINT, on_sig);
    ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs || !ttfb || !total)
        return 1;
    uint64_t t0 = now_us(), tend = t0 + (uint64_t)(dur * 1e6);
    uint64_t interval = rate > 0 ? (uint64_t)(1e6 * conns / rate) : 0;
    uint64_t *next = calloc((size_t)conns, sizeof *next);
    for (int i = 0; i < conns; i++) {
        cs[i].fd = -1;
        next[i] = t0 + (interval ? interval * (uint64_t)i / (uint64_t)conns : 0);
        if (conn_open(&cs[i]) < 0)
            errors++;
    }
    int held = 0, announced = 0;
    uint64_t t_done = 0; /* reqs count at the end of the window (in-flight ones excluded) */
    struct epoll_event evs[512];
    char *buf = malloc(RBUF);
    while (!stop) {
        uint64_t t = now_us();
        if (t >= tend && !holdn)
            break;
        if (holdn && t >= tend && announced)
            break;
        if (holdn && !announced && t >= t0 + 60000000u) {
            printf("held %d (timeout)\n", held);
            fflush(stdout);
            break;
        }
        int timeout = 10;
        if (interval) {
            uint64_t soon = UINT64_MAX;
            for (int i = 0; i < conns; i++) {
                struct conn *c = &cs[i];
                if (c->fd < 0 && conn_open(c) < 0)
                    continue;
                if (c->st == S_IDLE && c->connected) {
                    if (next[i] <= t) {
                        next[i] += interval;
                        if (next[i] < t)
                            next[i] = t; /* late: do not burst to catch up */
                        start_req(c);
                    } else if (next[i] < soon)
                        soon = next[i];
                }
            }
            if (soon != UINT64_MAX && soon > t)
                timeout = (int)((soon - t) / 1000);
        }
        int n = epoll_wait(ep, evs, 512, timeout);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            int bad = 0;
            if (!c->connected && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err)
                    bad = 1;
                else {
                    c->connected = 1;
                    want_out(c, 0);
                    if (!interval)
                        start_req(c);
                    if (c->fd < 0)
                        continue;
                }
            } else if (evs[i].events & EPOLLOUT) {
                bad = send_req(c) < 0;
            }
            if (!bad && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t r = recv(c->fd, buf, RBUF, 0);
                if (r > 0) {
                    int was = c->got_body;
                    bad = feed(c, buf, (size_t)r) < 0;
                    /* an error answer (a refused upstream connection, say) is not a held
                     * stream: counted apart, so the caller sees how many really are */
                    if (holdn && !was && c->got_body)
                        *(c->status_ok ? &held : &refused) += 1;
                    if (!bad && c->st == S_IDLE && !interval && !holdn)
                        start_req(c);
                } else if (r == 0 || errno != EAGAIN) {
                    if (c->st == S_EOF)
                        done(c);
                    bad = 1;
                }
            }
            if (bad) {
                if (c->st != S_IDLE || !c->connected)
                    errors++;
                conn_close(c);
                if (!holdn && !stop && conn_open(c) < 0)
                    errors++;
            }
        }
        if (holdn && !announced && held + refused >= holdn) {
            if (refused)
                printf("held %d refused %d\n", held, refused);
            else
                printf("held %d\n", held);
            fflush(stdout);
            announced = 1;
            tend = now_us() + (uint64_t)(dur * 1e6);
        }
    }
    t_done = reqs;
    double el = (double)(now_us() - t0) / 1e6;
    if (holdn)
        return 0;
    qsort(ttfb, nsamples, sizeof *ttfb, cmp64);
    qsort(total, nsamples, sizeof *total, cmp64);
    printf("reqs=%llu errors=%llu rps=%.1f ttfb_p50=%llu ttfb_p99=%llu total_p50=%llu "
           "total_p99=%llu\n", (unsigned long long)t_done, (unsigned long long)errors,
           (double)t_done / el, (unsigned long long)pct(ttfb, nsamples, 0.5),
           (unsigned long long)pct(ttfb, nsamples, 0.99),
           (unsigned long long)pct(total, nsamples, 0.5),
           (unsigned long long)pct(total, nsamples, 0.99));
    return 0;
}
