/*
 * floor.c - the least a reverse proxy built like aigw can cost: libmicrohttpd in front,
 * libcurl's multi interface behind, and nothing else.
 *
 * Issue 25 asks aigw for CPU per request within 2x nginx's, 20 KiB per held stream and a
 * stream's TTFB within nginx's + 100 us. aigw is built on libmicrohttpd 0.9.75 and libcurl
 * 7.88 by design; this program measures what those two alone cost, so that each target can
 * be read as "the libraries' floor, plus what aigw adds". It has aigw's architecture and is
 * otherwise as lean as these libraries allow:
 *
 *   - one event loop per thread (--threads, default 2), each with its own MHD daemon
 *     (MHD_USE_EPOLL, MHD_ALLOW_SUSPEND_RESUME, a 16 KiB connection pool as aigw's) on a
 *     shared listening socket, and its own curl multi handle driven by
 *     curl_multi_socket_action; MHD's epoll set and curl's sockets sit in the loop's one
 *     epoll set (aigw nests curl's sockets in a set of their own);
 *   - each POST body is read whole (any size up to 64 MiB, Content-Length or chunked; MHD
 *     decodes), the connection is suspended, the same body is POSTed to --upstream by a
 *     reused easy handle over a kept-alive connection, and the connection is resumed when
 *     curl has the whole answer, which goes out with a Content-Length;
 *   - a body with "stream":true is relayed as it arrives: a chunked MHD callback response,
 *     the connection suspended while the relay buffer is empty and resumed by each chunk
 *     (as aigw does), curl paused while 64 KiB wait unsent. A stream already over when its
 *     headers go out is sent as one body with a length (aigw does that too).
 *
 * No JSON, routing, headers beyond Content-Type, logging, timeouts or metrics: anything a
 * gateway adds is aigw's own cost. Nor does it notice a client that leaves while its upstream
 * is silent (MHD does not watch a suspended connection; aigw peeks at each one periodically):
 * a long-running proxy must, but that is CPU over time per held stream, not per request.
 * Used by bench/run (the "MHD+curl floor" column).
 *
 *   cc -O2 -g -pthread -o floor floor.c $(pkg-config --cflags --libs libmicrohttpd libcurl)
 *   floor --port 18400 --upstream http://127.0.0.1:18401/v1/chat/completions [--threads 2]
 *         [--pool BYTES]   (MHD's per-connection memory; default 16384, as aigw)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

#define MAX_BODY (64u << 20)
#define RELAY_HIGH (64 * 1024) /* curl pauses above this much unsent stream data */
#define RELAY_LOW (16 * 1024)  /* ... and goes on below this */
#define EASY_POOL 256
#define MAX_THREADS 16

/* Per fd of curl's: its state in the loop's epoll set (see sock_cb), beside the epoll events
 * it is registered for (EPOLLIN, EPOLLOUT: the low bits). */
enum { S_OURS = 1 << 16, S_IN_SET = 1 << 17, S_WANTED = 1 << 18 };

struct worker {
    pthread_t thread;
    int ep, mhd_fd, resumed;
    struct MHD_Daemon *d;
    CURLM *multi;
    int64_t curl_deadline; /* ms, CLOCK_MONOTONIC; -1 none */
    uint32_t *st;          /* per-fd socket state, grown on demand */
    size_t nst;
    CURL *pool[EASY_POOL];
    int npool;
};

struct req {
    struct worker *w;
    struct MHD_Connection *conn;
    CURL *easy;                   /* while the transfer runs */
    char *in;                     /* the request body */
    size_t inlen, incap;
    char *out;                    /* the upstream's answer not yet sent */
    size_t outoff, outlen, outcap;
    long status;                  /* the upstream's; 0 when the transfer failed */
    int stream, started, finished, suspended, paused, too_big;
};

static const char *upstream_url;
/* MHD_OPTION_CONNECTION_MEMORY_LIMIT: aigw's 16 KiB unless --pool says otherwise. */
static size_t pool_bytes = 16 * 1024;
static struct curl_slist *up_headers; /* the same for every transfer: built once */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 512;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void suspend(struct req *r)
{
    if (!r->suspended) {
        r->suspended = 1;
        MHD_suspend_connection(r->conn);
    }
}

/* MHD in external polling mode does not notice a resume by itself: the loop runs the daemon
 * again before it sleeps. */
static void resume(struct req *r)
{
    if (r->suspended) {
        r->suspended = 0;
        MHD_resume_connection(r->conn);
        r->w->resumed = 1;
    }
}

/* ---- curl side ------------------------------------------------------------------------- */

static uint32_t *state(struct worker *w, int fd)
{
    if (fd >= 0 && (size_t)fd >= w->nst) {
        size_t n = w->nst ? w->nst : 1024;
        while (n <= (size_t)fd)
            n *= 2;
        uint32_t *st = realloc(w->st, n * sizeof *st);
        if (!st)
            return NULL;
        memset(st + w->nst, 0, (n - w->nst) * sizeof *st);
        w->st = st;
        w->nst = n;
    }
    return fd >= 0 ? &w->st[fd] : NULL;
}

static curl_socket_t open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    uint32_t *s = state(ud, fd);
    if (s)
        *s = S_OURS;
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int close_cb(void *ud, curl_socket_t fd)
{
    uint32_t *s = state(ud, fd);
    if (s)
        *s = 0; /* close() takes it out of the epoll set */
    return close(fd);
}

/* curl says which events it wants on a socket. A kept-alive connection stays in the set
 * between transfers (aigw's core/net/sockwatch.c does the same): re-adding it per request
 * would cost two epoll_ctl calls that any user of these libraries can avoid. */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    (void)e, (void)sockp;
    struct worker *w = ud;
    uint32_t *s = state(w, fd);
    if (!s)
        return -1;
    if (what == CURL_POLL_REMOVE && (*s & S_OURS)) {
        *s &= ~(uint32_t)S_WANTED;
    } else if (what == CURL_POLL_REMOVE) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL); /* curl may have closed it already */
        *s = 0;
    } else {
        struct epoll_event ev = {.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
                                           (what & CURL_POLL_OUT ? EPOLLOUT : 0),
                                 .data.fd = fd};
        int rc = 0;
        if (!(*s & S_IN_SET))
            rc = epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
        else if ((*s & 0xffff) != ev.events)
            rc = epoll_ctl(w->ep, EPOLL_CTL_MOD, fd, &ev);
        if (rc != 0)
            return -1;
        *s = (*s & S_OURS) | S_IN_SET | S_WANTED | ev.events;
    }
    return 0;
}

static int timer_cb(CURLM *m, long ms, void *ud)
{
    (void)m;
    struct worker *w = ud;
    w->curl_deadline = ms < 0 ? -1 : now_ms() + ms;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct req *r = ud;
    size_t len = size * n;
    if (r->stream && r->outlen - r->outoff >= RELAY_HIGH) {
        r->paused = 1;
        return CURL_WRITEFUNC_PAUSE; /* curl keeps these bytes and offers them again */
    }
    if (r->outoff && r->outoff == r->outlen)
        r->outoff = r->outlen = 0;
    if (r->outlen + len > MAX_BODY || grow(&r->out, &r->outcap, r->outlen + len) != 0)
        return 0; /* curl fails the transfer */
    memcpy(r->out + r->outlen, p, len);
    r->outlen += len;
    if (r->stream)
        resume(r); /* the chunk goes out now; a whole answer waits for its end */
    return len;
}

static CURL *easy_get(struct worker *w)
{
    if (w->npool)
        return w->pool[--w->npool];
    /* Options that are the same for every transfer are set once per handle. */
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, upstream_url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, up_headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, w);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
    return e;
}

static void easy_put(struct worker *w, CURL *e)
{
    if (w->npool < EASY_POOL)
        w->pool[w->npool++] = e;
    else
        curl_easy_cleanup(e);
}

static void end_transfer(struct req *r)
{
    if (!r->easy)
        return;
    curl_multi_remove_handle(r->w->multi, r->easy);
    easy_put(r->w, r->easy);
    r->easy = NULL;
}

static int start_transfer(struct req *r)
{
    CURL *e = easy_get(r->w);
    if (!e)
        return -1;
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->in ? r->in : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->inlen);
    /* Held by the handle for the whole transfer: a stream needs little (aigw: 2 KiB). */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, r->stream ? 2048L : 16384L);
    r->easy = e;
    if (curl_multi_add_handle(r->w->multi, e) != CURLM_OK) {
        r->easy = NULL;
        easy_put(r->w, e);
        return -1;
    }
    return 0;
}

/* Finished transfers: the answer is complete (or failed); its connection goes on. */
static void reap(struct worker *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        long code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        r->status = m->data.result == CURLE_OK ? code : 0;
        r->finished = 1;
        end_transfer(r);
        resume(r);
    }
}

static void curl_due(struct worker *w)
{
    int running;
    if (w->curl_deadline >= 0 && w->curl_deadline <= now_ms()) {
        w->curl_deadline = -1;
        curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

/* ---- MHD side -------------------------------------------------------------------------- */

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct req *r = cls;
    if (r->outoff == r->outlen) {
        if (r->finished)
            return r->status != 200 ? MHD_CONTENT_READER_END_WITH_ERROR
                             : MHD_CONTENT_READER_END_OF_STREAM;
        suspend(r); /* until the next chunk (write_cb) or the end (reap) */
        return 0;
    }
    size_t n = r->outlen - r->outoff < max ? r->outlen - r->outoff : max;
    memcpy(buf, r->out + r->outoff, n);
    r->outoff += n;
    if (r->paused && r->easy && r->outlen - r->outoff <= RELAY_LOW) {
        r->paused = 0;
        curl_easy_pause(r->easy, CURLPAUSE_CONT);
    }
    return (ssize_t)n;
}

/* Queues the answer: whole (with a Content-Length) once the transfer is over, else a chunked
 * stream fed by reader(). */
static enum MHD_Result answer(struct req *r, unsigned status, const char *type)
{
    struct MHD_Response *resp;
    if (r->finished || !r->started) {
        size_t n = r->outlen - r->outoff;
        resp = MHD_create_response_from_buffer(n, n ? r->out + r->outoff : (char *)"",
                                               MHD_RESPMEM_MUST_COPY);
    } else {
        /* MHD callocs the block with the response; a chunked body never uses it. */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, reader, r, NULL);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)url, (void)version;
    struct req *r = *con_cls;
    if (!r) {
        if (strcmp(method, "POST") != 0)
            return MHD_NO; /* nothing but POST is proxied: close */
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->w = cls;
        r->conn = conn;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->inlen + *upload_size > MAX_BODY ||
            grow(&r->in, &r->incap, r->inlen + *upload_size) != 0)
            r->too_big = 1;
        else
            memcpy(r->in + r->inlen, upload, *upload_size);
        r->inlen += r->too_big ? 0 : *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return answer(r, 413, "text/plain");
    if (!r->started) {
        r->stream = r->in && (memmem(r->in, r->inlen, "\"stream\":true", 13) ||
                              memmem(r->in, r->inlen, "\"stream\": true", 14));
        if (start_transfer(r) != 0)
            return answer(r, 502, "text/plain");
        r->started = 1;
        suspend(r);
        return MHD_YES;
    }
    /* Resumed: by the end of the transfer, or by a stream's first bytes. */
    const char *type = r->stream ? "text/event-stream" : "application/json";
    if (r->finished && r->status == 0) {
        r->outoff = r->outlen; /* no answer, or a part of one: nothing of it goes out */
        return answer(r, 502, "text/plain");
    }
    if (r->finished)
        return answer(r, (unsigned)r->status, type);
    long code = 0;
    if (r->stream && r->outlen > r->outoff &&
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
        return answer(r, 200, type); /* an error answer is not streamed: it waits whole */
    suspend(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    struct req *r = *con_cls;
    if (!r)
        return;
    end_transfer(r); /* the client left before the answer's end */
    free(r->in);
    free(r->out);
    free(r);
    *con_cls = NULL;
}

/* ---- the loop -------------------------------------------------------------------------- */

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];
    int running;
    for (;;) {
        int timeout = -1;
        if (w->curl_deadline >= 0) {
            int64_t t = w->curl_deadline - now_ms();
            timeout = t < 0 ? 0 : (int)t;
        }
        MHD_UNSIGNED_LONG_LONG mto;
        if (MHD_get_timeout(w->d, &mto) == MHD_YES && (timeout < 0 || mto < (unsigned)timeout))
            timeout = (int)mto;
        int n = epoll_wait(w->ep, evs, 64, timeout);
        int mhd = n == 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == w->mhd_fd) {
                mhd = 1;
                continue;
            }
            if ((size_t)fd < w->nst && (w->st[fd] & S_OURS) && !(w->st[fd] & S_WANTED)) {
                /* An idle kept-alive connection: the upstream closed it. curl finds out
                 * when it next checks the connection; stop listening to it meanwhile. */
                epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL);
                w->st[fd] = S_OURS;
                continue;
            }
            int mask = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                       (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                       (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(w->multi, fd, mask, &running);
        }
        reap(w);
        if (mhd)
            MHD_run(w->d);
        curl_due(w); /* transfers the handlers just added start here */
        reap(w);
        while (w->resumed) {
            w->resumed = 0;
            MHD_run(w->d);
            curl_due(w);
            reap(w);
        }
    }
    return NULL;
}

/* A whole decimal argument in [lo, hi], or -1. */
static long num_arg(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < lo || v > hi ? -1 : v;
}

int main(int argc, char **argv)
{
    int port = 0, nthreads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = (int)num_arg(argv[++i], 1, 65535);
        else if (!strcmp(argv[i], "--upstream") && i + 1 < argc)
            upstream_url = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nthreads = (int)num_arg(argv[++i], 1, MAX_THREADS);
        else if (!strcmp(argv[i], "--pool") && i + 1 < argc)
            pool_bytes = (size_t)num_arg(argv[++i], 1024, 1L << 30);
        else
            port = -1, i = argc;
    }
    if (port <= 0 || !upstream_url || nthreads < 1 || pool_bytes == (size_t)-1) {
        fprintf(stderr, "usage: floor --port N --upstream URL [--threads N] [--pool BYTES]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* "Expect:" drops curl's 100-continue wait for bodies over 1 KiB, as aigw does. */
    up_headers = curl_slist_append(NULL, "Content-Type: application/json");
    up_headers = curl_slist_append(up_headers, "Expect:");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1024) != 0) {
        perror("floor: bind/listen");
        return 1;
    }
    static struct worker ws[MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &ws[i];
        w->curl_deadline = -1;
        w->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
                                on_request, w, MHD_OPTION_LISTEN_SOCKET, dup(lfd),
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)(16384 / nthreads),
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_bytes,
                                MHD_OPTION_END);
        const union MHD_DaemonInfo *di =
            w->d ? MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->multi = curl_multi_init();
        if (!di || w->ep < 0 || !w->multi) {
            fprintf(stderr, "floor: cannot start worker %d\n", i);
            return 1;
        }
        w->mhd_fd = di->epoll_fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->mhd_fd};
        epoll_ctl(w->ep, EPOLL_CTL_ADD, w->mhd_fd, &ev);
        curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 1024L);
        curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
        curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
        if (pthread_create(&w->thread, NULL, worker_run, w) != 0)
            return 1;
    }
    close(lfd);
    for (int i = 0; i < nthreads; i++)
        pthread_join(ws[i].thread, NULL);
    return 0;
}
