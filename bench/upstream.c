/*
 * upstream.c - a fast loopback "provider" for the aigw benchmark.
 *
 * Answers every request with one fixed OpenAI chat.completion, or, when the body asks for
 * "stream":true, with a 20-chunk SSE stream written in one go. With --hold a stream sends its
 * headers and first two chunks and then never ends (held-stream memory test). One epoll loop per
 * thread, each with its own SO_REUSEPORT listener, so it is never the bottleneck.
 * --pace MS (with --hold): each held stream then gets one more chunk every MS milliseconds, as
 * a model streams tokens; GET /count answers how many such chunks went out (the CPU-per-chunk
 * case of bench/run).
 *
 *   cc -O2 -pthread -o upstream upstream.c
 *   upstream --port 18001 [--threads 2] [--hold [--pace MS]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Room for a request of a coding agent's size (bench/run's 115 KB prompt); a connection's
 * buffer is touched only as far as its request goes. */
#define INCAP (256 * 1024)
#define MAXTHREADS 64

static const char JSON_BODY[] =
    "{\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion\",\"created\":1732406400,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"Hello from the aigw benchmark upstream. This is a short fixed "
    "answer.\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{"
    "\"prompt_tokens\":14,\"completion_tokens\":15,\"total_tokens\":29},"
    "\"system_fingerprint\":\"fp_bench\"}";

static char *json_resp, *sse_resp, *hold_resp;
static size_t json_len, sse_len, hold_len;
static int port = 18001, nthreads = 2, hold, pace_ms;
static char *pace_chunk; /* one more token chunk of a paced stream */
static size_t pace_len;
static atomic_ullong paced_sent;

struct conn {
    int fd;
    size_t inlen;
    const char *out; /* pending static response bytes */
    size_t outlen;
    int held;
    int pidx;         /* index in its thread's paced list, -1 none */
    uint64_t next_ms; /* when its next paced chunk is due */
    char own[96];     /* a response of its own (GET /count) */
    char in[INCAP];
};

/* A thread's paced streams. */
struct paced {
    struct conn **v;
    int n, cap;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void paced_add(struct paced *p, struct conn *c)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->v = realloc(p->v, (size_t)p->cap * sizeof *p->v);
        if (!p->v)
            abort();
    }
    c->pidx = p->n;
    c->next_ms = now_ms() + (uint64_t)pace_ms;
    p->v[p->n++] = c;
}

static void paced_del(struct paced *p, struct conn *c)
{
    if (c->pidx < 0)
        return;
    p->v[c->pidx] = p->v[--p->n];
    p->v[c->pidx]->pidx = c->pidx;
    c->pidx = -1;
}

static char *xstrdup_printf(size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *xstrdup_printf(size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    *len = (size_t)n;
    return s;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
}

static void sse_chunk(char **buf, size_t *len, size_t *cap, int i)
{
    char ev[512], ch[600];
    int n;
    if (i == 0)
        n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1732406400,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":"
                     "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                     "\"finish_reason\":null}]}\n\n");
    else if (i == 19)
        n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1732406400,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":"
                     "[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    else
        n = snprintf(ev, sizeof ev,
                     "data: {\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion.chunk\","
                     "\"created\":1732406400,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":"
                     "[{\"index\":0,\"delta\":{\"content\":\"word%02d \"},"
                     "\"finish_reason\":null}]}\n\n", i);
    int m = snprintf(ch, sizeof ch, "%x\r\n%s\r\n", n, ev);
    append(buf, len, cap, ch, (size_t)m);
}

static void build(void)
{
    json_resp = xstrdup_printf(&json_len,
                               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: %zu\r\n\r\n%s", strlen(JSON_BODY), JSON_BODY);
    static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    size_t cap = 0;
    sse_len = 0;
    sse_resp = NULL;
    append(&sse_resp, &sse_len, &cap, hdr, sizeof hdr - 1);
    for (int i = 0; i < 20; i++)
        sse_chunk(&sse_resp, &sse_len, &cap, i);
    static const char done[] = "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
    append(&sse_resp, &sse_len, &cap, done, sizeof done - 1);
    cap = 0;
    hold_len = 0;
    hold_resp = NULL;
    append(&hold_resp, &hold_len, &cap, hdr, sizeof hdr - 1);
    sse_chunk(&hold_resp, &hold_len, &cap, 0);
    sse_chunk(&hold_resp, &hold_len, &cap, 1); /* a proxy may hold back an empty role chunk */
    cap = 0;
    pace_len = 0;
    sse_chunk(&pace_chunk, &pace_len, &cap, 7);
}

static const char *memcasemem(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    for (size_t i = 0; i + nl <= hl; i++)
        if (!strncasecmp(h + i, n, nl))
            return h + i;
    return NULL;
}

/* Flushes pending output; returns -1 when the connection must be closed. */
static int flush_out(struct conn *c)
{
    while (c->outlen) {
        ssize_t w = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
        if (w < 0)
            return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        c->out += w;
        c->outlen -= (size_t)w;
    }
    return 0;
}

/* Consumes every complete request in the input buffer. */
static int serve(struct conn *c)
{
    for (;;) {
        if (c->outlen || c->held)
            return 0; /* one response at a time; a held stream never answers again */
        char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
        if (!end)
            return c->inlen >= INCAP ? -1 : 0;
        size_t hlen = (size_t)(end - c->in) + 4, blen = 0;
        const char *cl = memcasemem(c->in, hlen, "\r\ncontent-length:");
        if (cl) {
            char *e;
            long v = strtol(cl + 17, &e, 10);
            if (v < 0 || v > INCAP)
                return -1;
            blen = (size_t)v;
        }
        if (hlen + blen > INCAP)
            return -1;
        if (c->inlen < hlen + blen)
            return 0;
        const char *body = c->in + hlen;
        if (!strncmp(c->in, "GET /count ", 11)) {
            char n[32];
            int k = snprintf(n, sizeof n, "%llu", (unsigned long long)atomic_load(&paced_sent));
            snprintf(c->own, sizeof c->own, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", k,
                     n);
            c->out = c->own;
            c->outlen = strlen(c->own);
            memmove(c->in, c->in + hlen, c->inlen - hlen);
            c->inlen -= hlen;
            if (flush_out(c) < 0)
                return -1;
            continue;
        }
        int stream = memmem(body, blen, "\"stream\":true", 13) ||
                     memmem(body, blen, "\"stream\": true", 14);
        if (stream && hold) {
            c->out = hold_resp;
            c->outlen = hold_len;
            c->held = 1;
        } else if (stream) {
            c->out = sse_resp;
            c->outlen = sse_len;
        } else {
            c->out = json_resp;
            c->outlen = json_len;
        }
        memmove(c->in, c->in + hlen + blen, c->inlen - hlen - blen);
        c->inlen -= hlen + blen;
        if (flush_out(c) < 0)
            return -1;
    }
}

/* Sends the due chunk of every paced stream; returns ms until the next one is due. */
static int pace_due(struct paced *p, int ep)
{
    uint64_t t = now_ms(), soon = UINT64_MAX;
    for (int i = 0; i < p->n; i++) {
        struct conn *c = p->v[i];
        if (c->next_ms <= t && !c->outlen) {
            ssize_t w = send(c->fd, pace_chunk, pace_len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w == (ssize_t)pace_len)
                atomic_fetch_add(&paced_sent, 1);
            /* A partial chunk would break the stream: the client reads slower than the pace. */
            else if (w > 0) {
                c->out = pace_chunk + w;
                c->outlen = pace_len - (size_t)w;
                atomic_fetch_add(&paced_sent, 1);
                struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
            }
            c->next_ms += (uint64_t)pace_ms;
            if (c->next_ms < t)
                c->next_ms = t + (uint64_t)pace_ms; /* late: no burst to catch up */
        }
        if (c->next_ms < soon)
            soon = c->next_ms;
    }
    return soon == UINT64_MAX ? -1 : (int)(soon > t ? soon - t : 0);
}

static void *worker(void *arg)
{
    (void)arg;
    struct paced paced = {0};
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) {
        perror("upstream: bind/listen");
        exit(1);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int timeout = pace_ms ? pace_due(&paced, ep) : -1;
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = malloc(sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    nc->inlen = 0;
                    nc->outlen = 0;
                    nc->held = 0;
                    nc->pidx = -1;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            int bad = 0;
            if (evs[i].events & EPOLLOUT) {
                bad = flush_out(c) < 0;
                if (!bad && !c->outlen) {
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
                    bad = serve(c) < 0;
                }
            }
            if (!bad && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                ssize_t r = recv(c->fd, c->in + c->inlen, INCAP - c->inlen, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                    bad = 1;
                else if (r > 0) {
                    c->inlen += (size_t)r;
                    int was = c->held;
                    if (c->held)
                        c->inlen = 0; /* a held stream ignores anything further */
                    bad = serve(c) < 0;
                    if (!bad && pace_ms && c->held && !was)
                        paced_add(&paced, c);
                }
            }
            if (!bad && c->outlen) {
                struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP,
                                         .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
            }
            if (bad) {
                paced_del(&paced, c);
                close(c->fd);
                free(c);
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nthreads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--hold"))
            hold = 1;
        else if (!strcmp(argv[i], "--pace") && i + 1 < argc)
            pace_ms = (int)strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: upstream [--port N] [--threads N] [--hold [--pace MS]]\n");
            return 2;
        }
    }
    if (nthreads < 1 || nthreads > MAXTHREADS || port <= 0 || port > 65535)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    build();
    pthread_t t[MAXTHREADS];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    pthread_join(t[0], NULL);
    return 0;
}
