/* upstream - the libcurl multi thread (see upstream.h). */
#include "net/upstream.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/log.h"
#include "net/sockwatch.h"

#define SWEEP_MS 100
/* Easy handles kept for reuse: curl_easy_init + cleanup per request was 4% of the CPU under
 * load; a reset handle keeps its allocations. Beyond this many idle ones, they are freed. */
#define EASY_POOL_MAX 256
#define EPOLL_BATCH 64

enum msg_kind { MSG_START, MSG_CANCEL, MSG_UNPAUSE, MSG_CANCEL_ALL };

struct gw_xfer {
    atomic_int refs;
    struct gw_upstream *u;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    const struct gw_xfer_ops *ops;
    void *ud;
    struct gw_xfer_req req;
    char *method;
    char *url;
    int64_t not_before;  /* delayed start, monotonic ms */
    int64_t started_ms;  /* sent */
    int64_t last_byte_ms;
    int64_t last_notify_ms;
    int got_byte;
    int in_multi;
    int done;
    int paused;
    int status_sent;
    int result_override; /* our own deadline or abort reason */
    struct gw_xfer *prev, *next; /* active or delayed list */
};

struct msg {
    struct msg *next;
    int kind;
    struct gw_xfer *x;
};

struct gw_upstream {
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t lock;
    struct msg *queue;
    struct msg **queue_tail;
    int stop;
    struct gw_xfer *active; /* in the multi handle or delayed */
    atomic_llong nactive;
    /* The thread sleeps in epoll_wait on curl's sockets plus wake_fd; curl tells us which
     * sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call back (TIMERFUNCTION), so a
     * wakeup touches only the transfers whose sockets are ready. */
    int epfd;
    int wake_fd;
    struct gw_sockwatch sw; /* curl's sockets in epfd */
    int64_t curl_deadline; /* monotonic ms; -1 none */
    int64_t last_sweep;
    /* Embedded: no thread of its own; a worker loop (core/http.c) drives it with
     * gw_upstream_run_once() beside its MHD daemon, so a request never changes threads. */
    int embedded;
    pthread_t owner;
    int owned;
    /* gw_upstream_cancel_all waits until its cancel was carried out (under lock). */
    pthread_cond_t cancel_cond;
    unsigned cancels_asked, cancels_done;
    pthread_mutex_t pool_lock;
    CURL *pool[EASY_POOL_MAX];
    int npool;
};

/* Transfers in flight across every engine (one per worker plus the shared one). */
static atomic_llong total_active;

static _Thread_local struct gw_upstream *here;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *gw_xfer_result_name(int r)
{
    switch (r) {
    case GW_XFER_OK:
        return "ok";
    case GW_XFER_ECONNECT:
        return "connect_error";
    case GW_XFER_ETIMEOUT_CONNECT:
        return "connect_timeout";
    case GW_XFER_ETIMEOUT_FIRST:
        return "first_byte_timeout";
    case GW_XFER_ETIMEOUT_IDLE:
        return "idle_timeout";
    case GW_XFER_ETIMEOUT_TOTAL:
        return "total_timeout";
    case GW_XFER_ECANCELLED:
        return "cancelled";
    case GW_XFER_EIO:
        return "connection_error";
    default:
        return "aborted";
    }
}

static CURL *easy_get(struct gw_upstream *u)
{
    CURL *e = NULL;
    pthread_mutex_lock(&u->pool_lock);
    if (u->npool)
        e = u->pool[--u->npool];
    pthread_mutex_unlock(&u->pool_lock);
    return e ? e : curl_easy_init();
}

/* Only handles out of the multi handle come here (finish removed them). */
static void easy_put(struct gw_upstream *u, CURL *e)
{
    curl_easy_reset(e);
    pthread_mutex_lock(&u->pool_lock);
    if (u->npool < EASY_POOL_MAX) {
        u->pool[u->npool++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&u->pool_lock);
    if (e)
        curl_easy_cleanup(e);
}

void gw_xfer_unref(struct gw_xfer *x)
{
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    if (x->easy)
        easy_put(x->u, x->easy);
    curl_slist_free_all(x->hdrs);
    free(x->body);
    free(x->method);
    free(x->url);
    free(x);
}

static void wake(struct gw_upstream *u)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the thread will wake anyway. */
    while (write(u->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

static void post(struct gw_upstream *u, int kind, struct gw_xfer *x)
{
    struct msg *m = malloc(sizeof *m);
    if (!m)
        return; /* a lost cancel/unpause is recovered by deadlines */
    m->next = NULL;
    m->kind = kind;
    m->x = x;
    if (x)
        atomic_fetch_add(&x->refs, 1);
    pthread_mutex_lock(&u->lock);
    /* The thread takes the whole queue at once: only the message that finds it empty needs
     * to wake it; the others ride along (one write per burst instead of one per message). */
    int was_empty = u->queue == NULL;
    *u->queue_tail = m;
    u->queue_tail = &m->next;
    pthread_mutex_unlock(&u->lock);
    /* The owning worker drains its queue before it sleeps again: no wakeup needed. */
    if (was_empty && !(u->owned && pthread_equal(u->owner, pthread_self())))
        wake(u);
}

static void list_add(struct gw_upstream *u, struct gw_xfer *x)
{
    x->prev = NULL;
    x->next = u->active;
    if (u->active)
        u->active->prev = x;
    u->active = x;
}

static void list_del(struct gw_upstream *u, struct gw_xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else if (u->active == x)
        u->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void finish(struct gw_upstream *u, struct gw_xfer *x, int result)
{
    if (x->done)
        return;
    x->done = 1;
    if (x->in_multi) {
        curl_multi_remove_handle(u->multi, x->easy);
        x->in_multi = 0;
    }
    list_del(u, x);
    atomic_fetch_sub(&u->nactive, 1);
    atomic_fetch_sub(&total_active, 1);
    x->ops->on_done(x->ud, result);
    gw_xfer_unref(x);
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
    struct gw_xfer *x = ud;
    size_t len = size * n;
    x->last_byte_ms = now_ms();
    x->got_byte = 1;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return len; /* a status line: a new header block starts (1xx, then the final) */
    size_t l = len;
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        l--;
    if (l == 0) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && !x->status_sent) {
            x->status_sent = 1;
            if (x->ops->on_status(x->ud, (int)code) < 0) {
                x->result_override = GW_XFER_EABORT;
                return 0;
            }
        }
        return len;
    }
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 100 && code < 200)
        return len;
    const char *colon = memchr(p, ':', l);
    if (!colon)
        return len;
    const char *v = colon + 1;
    while (v < p + l && (*v == ' ' || *v == '\t'))
        v++;
    if (x->ops->on_header(x->ud, p, (size_t)(colon - p), v, (size_t)(p + l - v)) < 0) {
        x->result_override = GW_XFER_EABORT;
        return 0;
    }
    return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct gw_xfer *x = ud;
    size_t len = size * n;
    x->last_byte_ms = now_ms();
    x->got_byte = 1;
    if (!x->status_sent) {
        /* Some servers send a body with no header block end seen (HTTP/0.9-ish); treat the
         * status as known now. */
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        x->status_sent = 1;
        if (x->ops->on_status(x->ud, (int)code) < 0) {
            x->result_override = GW_XFER_EABORT;
            return 0;
        }
    }
    int rc = x->ops->on_data(x->ud, p, len);
    if (rc == 1) {
        x->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc < 0) {
        x->result_override = GW_XFER_EABORT;
        return 0;
    }
    return len;
}

static curl_socket_t open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a);
static int close_cb(void *ud, curl_socket_t fd);

static int setup_easy(struct gw_xfer *x)
{
    CURL *e = easy_get(x->u);
    if (!e)
        return -1;
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x->u);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, x->u);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)x->req.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    /* curl allocates this per transfer: 16 KiB keeps 10,000 held streams affordable. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 16384L);
    /* Expect: 100-continue costs a round trip for bodies over 1 KiB; providers don't need it. */
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    for (const struct gw_header *h = x->req.headers; h; h = h->next) {
        /* "name: value" (curl copies it); on the stack unless unusually long. */
        char small[512];
        size_t ln = strlen(h->name), lv = strlen(h->value), n = ln + 2 + lv + 1;
        char *line = n <= sizeof small ? small : malloc(n);
        if (!line)
            return -1;
        memcpy(line, h->name, ln);
        memcpy(line + ln, ": ", 2);
        memcpy(line + ln + 2, h->value, lv + 1);
        struct curl_slist *s = curl_slist_append(x->hdrs, line);
        if (line != small)
            free(line);
        if (!s)
            return -1;
        x->hdrs = s;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    const char *m = x->method ? x->method : (x->body ? "POST" : "GET");
    if (x->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.body_len);
    }
    if (strcmp(m, "GET") == 0 && !x->body)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(m, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    return 0;
}

int gw_upstream_start(struct gw_upstream *u, const struct gw_xfer_req *req,
                      const struct gw_xfer_ops *ops, void *ud, struct gw_xfer **out)
{
    struct gw_xfer *x = calloc(1, sizeof *x);
    if (!x)
        return AIGW_ENOMEM;
    atomic_init(&x->refs, 2);
    x->u = u;
    x->ops = ops;
    x->ud = ud;
    x->req = *req;
    x->req.headers = req->headers; /* copied into the slist below, before returning */
    x->url = strdup(req->url);
    x->method = req->method ? strdup(req->method) : NULL;
    if (req->body) {
        x->body = malloc(req->body_len + 1);
        if (x->body) {
            memcpy(x->body, req->body, req->body_len);
            x->body[req->body_len] = '\0';
        }
    }
    if (!x->url || (req->method && !x->method) || (req->body && !x->body) ||
        setup_easy(x) != 0) {
        atomic_store(&x->refs, 1);
        gw_xfer_unref(x);
        return AIGW_ENOMEM;
    }
    x->req.headers = NULL; /* not needed after setup; the caller may free them */
    x->req.body = NULL;
    x->not_before = now_ms() + (req->delay_ms > 0 ? req->delay_ms : 0);
    atomic_fetch_add(&u->nactive, 1);
    atomic_fetch_add(&total_active, 1);
    *out = x;
    /* refs: the caller's, the engine's (dropped in finish), and the message's. */
    post(u, MSG_START, x);
    return 0;
}

/* A transfer belongs to the engine that started it, whichever engine the caller names. */
void gw_upstream_cancel(struct gw_upstream *u, struct gw_xfer *x)
{
    (void)u;
    if (x)
        post(x->u, MSG_CANCEL, x);
}

void gw_upstream_unpause(struct gw_upstream *u, struct gw_xfer *x)
{
    (void)u;
    if (x)
        post(x->u, MSG_UNPAUSE, x);
}

void gw_upstream_cancel_all(struct gw_upstream *u, int timeout_ms)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    unsigned want = ++u->cancels_asked;
    pthread_mutex_unlock(&u->lock);
    post(u, MSG_CANCEL_ALL, NULL);
    /* The callers go on to free what on_done uses (the router, the gateway's state): they
     * must not before every on_done ran. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&u->lock);
    while ((int)(u->cancels_done - want) < 0 &&
           pthread_cond_timedwait(&u->cancel_cond, &u->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&u->lock);
}

void gw_upstream_set_here(struct gw_upstream *u)
{
    here = u;
    if (u) {
        u->owner = pthread_self();
        u->owned = 1;
    }
}

struct gw_upstream *gw_upstream_here(struct gw_upstream *fallback)
{
    return here ? here : fallback;
}

int64_t gw_upstream_active(struct gw_upstream *u)
{
    (void)u;
    return atomic_load(&total_active);
}

static void launch(struct gw_upstream *u, struct gw_xfer *x)
{
    x->started_ms = now_ms();
    x->last_byte_ms = x->started_ms;
    x->last_notify_ms = x->started_ms;
    if (curl_multi_add_handle(u->multi, x->easy) != CURLM_OK) {
        finish(u, x, GW_XFER_ECONNECT);
        return;
    }
    x->in_multi = 1;
}

static void process_queue(struct gw_upstream *u, int stopping)
{
    pthread_mutex_lock(&u->lock);
    struct msg *m = u->queue;
    u->queue = NULL;
    u->queue_tail = &u->queue;
    pthread_mutex_unlock(&u->lock);
    while (m) {
        struct msg *next = m->next;
        struct gw_xfer *x = m->x;
        switch (m->kind) {
        case MSG_START:
            if (!x->done) {
                list_add(u, x);
                if (stopping)
                    finish(u, x, GW_XFER_ECANCELLED);
                else if (x->not_before <= now_ms())
                    launch(u, x);
            }
            break;
        case MSG_CANCEL:
            if (!x->done) {
                if (!x->in_multi && !x->prev && !x->next && u->active != x)
                    list_add(u, x); /* cancelled before its start message: still finish once */
                finish(u, x, GW_XFER_ECANCELLED);
            }
            break;
        case MSG_UNPAUSE:
            if (!x->done && x->paused && x->in_multi) {
                x->paused = 0;
                x->last_byte_ms = now_ms();
                curl_easy_pause(x->easy, CURLPAUSE_CONT);
            }
            break;
        case MSG_CANCEL_ALL:
            while (u->active)
                finish(u, u->active, GW_XFER_ECANCELLED);
            pthread_mutex_lock(&u->lock);
            u->cancels_done++;
            pthread_cond_broadcast(&u->cancel_cond);
            pthread_mutex_unlock(&u->lock);
            break;
        }
        if (x)
            gw_xfer_unref(x);
        free(m);
        m = next;
    }
}

static int map_curl(struct gw_xfer *x, CURLcode rc)
{
    if (x->result_override)
        return x->result_override;
    if (rc == CURLE_OK)
        return GW_XFER_OK;
    if (rc == CURLE_OPERATION_TIMEDOUT && !x->got_byte) {
        double ct = 0;
        curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME, &ct);
        return ct > 0 ? GW_XFER_ETIMEOUT_FIRST : GW_XFER_ETIMEOUT_CONNECT;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
        rc == CURLE_PEER_FAILED_VERIFICATION)
        return GW_XFER_ECONNECT;
    if (rc == CURLE_GOT_NOTHING && !x->got_byte)
        return GW_XFER_ECONNECT;
    return GW_XFER_EIO;
}

static void sweep(struct gw_upstream *u)
{
    int64_t now = now_ms();
    struct gw_xfer *x = u->active;
    while (x) {
        struct gw_xfer *next = x->next;
        if (!x->in_multi) {
            if (x->not_before <= now)
                launch(u, x);
        } else if (!x->got_byte && x->req.first_byte_timeout_ms &&
                   now - x->started_ms > x->req.first_byte_timeout_ms) {
            finish(u, x, GW_XFER_ETIMEOUT_FIRST);
        } else if (x->got_byte && !x->paused && x->req.idle_timeout_ms &&
                   now - x->last_byte_ms > x->req.idle_timeout_ms) {
            finish(u, x, GW_XFER_ETIMEOUT_IDLE);
        } else if (x->req.total_timeout_ms && now - x->started_ms > x->req.total_timeout_ms) {
            finish(u, x, GW_XFER_ETIMEOUT_TOTAL);
        } else if (x->status_sent && x->ops->on_idle && x->req.idle_notify_ms &&
                   now - x->last_byte_ms >= x->req.idle_notify_ms &&
                   now - x->last_notify_ms >= x->req.idle_notify_ms) {
            x->last_notify_ms = now;
            x->ops->on_idle(x->ud);
        }
        x = next;
    }
}

/* curl asks us to watch (or stop watching) one of its sockets. */
static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
    (void)e;
    (void)sockp;
    struct gw_upstream *u = userp;
    gw_sockwatch_want(&u->sw, fd, what);
    return 0;
}

/* Connection sockets are opened and closed here so that sockwatch knows each one's life and
 * can leave it in the epoll set between transfers. */
static curl_socket_t open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct gw_upstream *u = ud;
    int fd = gw_sockwatch_open(&u->sw, a->family, a->socktype, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int close_cb(void *ud, curl_socket_t fd)
{
    struct gw_upstream *u = ud;
    return gw_sockwatch_close(&u->sw, fd);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct gw_upstream *u = userp;
    u->curl_deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

static void reap(struct gw_upstream *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct gw_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            finish(u, x, map_curl(x, m->data.result));
    }
}

static void drain_wake(struct gw_upstream *u)
{
    uint64_t n;
    while (read(u->wake_fd, &n, sizeof n) < 0 && errno == EINTR)
        ;
}

/* Milliseconds until this engine has timed work (curl's timer or the deadline sweep). */
int gw_upstream_timeout_ms(struct gw_upstream *u)
{
    int64_t now = now_ms();
    int64_t timeout = u->last_sweep + SWEEP_MS - now;
    if (u->curl_deadline >= 0 && u->curl_deadline - now < timeout)
        timeout = u->curl_deadline - now;
    return timeout < 0 ? 0 : (int)timeout;
}

/* One turn of the engine: queued work, due timers, then sockets ready within wait_ms
 * (wait_ms < 0: the caller knows no socket is ready; skip the epoll_wait). */
static void step(struct gw_upstream *u, int wait_ms)
{
    struct epoll_event evs[EPOLL_BATCH];
    int running = 0;
    process_queue(u, 0);
    int64_t now = now_ms();
    if (u->curl_deadline >= 0 && u->curl_deadline <= now) {
        u->curl_deadline = -1;
        curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        reap(u);
    }
    if (now - u->last_sweep >= SWEEP_MS) {
        sweep(u);
        u->last_sweep = now;
    }
    if (wait_ms > 0) {
        int t = gw_upstream_timeout_ms(u);
        wait_ms = t < wait_ms ? t : wait_ms;
    }
    int n = wait_ms < 0 ? 0 : epoll_wait(u->epfd, evs, EPOLL_BATCH, wait_ms);
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == u->wake_fd) {
            drain_wake(u);
            continue;
        }
        if (!gw_sockwatch_event(&u->sw, fd))
            continue;
        int mask = 0;
        if (evs[i].events & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(u->multi, fd, mask, &running);
    }
    if (n > 0)
        reap(u);
    /* Work queued by the callbacks above (a retry, an unpause) is started now, not a turn
     * later. */
    process_queue(u, 0);
}

int gw_upstream_pending(struct gw_upstream *u)
{
    pthread_mutex_lock(&u->lock);
    int pending = u->queue != NULL;
    pthread_mutex_unlock(&u->lock);
    return pending;
}

void gw_upstream_run_once(struct gw_upstream *u, int sockets_ready)
{
    step(u, sockets_ready ? 0 : -1);
}

int gw_upstream_fd(const struct gw_upstream *u)
{
    return u->epfd;
}

static void shutdown_engine(struct gw_upstream *u)
{
    /* Every transfer still here finishes as cancelled. */
    while (u->active)
        finish(u, u->active, GW_XFER_ECANCELLED);
    process_queue(u, 1);
}

static void *run(void *arg)
{
    struct gw_upstream *u = arg;
    for (;;) {
        pthread_mutex_lock(&u->lock);
        int stop = u->stop;
        pthread_mutex_unlock(&u->lock);
        if (stop)
            break;
        step(u, SWEEP_MS);
    }
    shutdown_engine(u);
    return NULL;
}

static int engine_new(struct gw_upstream **out, int embedded)
{
    struct gw_upstream *u = calloc(1, sizeof *u);
    if (!u)
        return AIGW_ENOMEM;
    u->embedded = embedded;
    u->epfd = epoll_create1(EPOLL_CLOEXEC);
    u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    gw_sockwatch_init(&u->sw, u->epfd);
    u->multi = curl_multi_init();
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = u->wake_fd;
    if (u->epfd < 0 || u->wake_fd < 0 || !u->multi ||
        epoll_ctl(u->epfd, EPOLL_CTL_ADD, u->wake_fd, &ev) != 0)
        goto fail;
    u->curl_deadline = -1;
    u->last_sweep = now_ms();
    curl_multi_setopt(u->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 1024L);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    pthread_mutex_init(&u->lock, NULL);
    pthread_mutex_init(&u->pool_lock, NULL);
    pthread_cond_init(&u->cancel_cond, NULL);
    u->queue_tail = &u->queue;
    atomic_init(&u->nactive, 0);
    if (!embedded && pthread_create(&u->thread, NULL, run, u) != 0) {
        pthread_mutex_destroy(&u->lock);
        pthread_mutex_destroy(&u->pool_lock);
        pthread_cond_destroy(&u->cancel_cond);
        goto fail;
    }
    *out = u;
    return 0;
fail:
    if (u->multi)
        curl_multi_cleanup(u->multi);
    if (u->wake_fd >= 0)
        close(u->wake_fd);
    if (u->epfd >= 0)
        close(u->epfd);
    free(u);
    return AIGW_EINTERNAL;
}

int gw_upstream_init(struct gw_upstream **out)
{
    return engine_new(out, 0);
}

int gw_upstream_init_embedded(struct gw_upstream **out)
{
    return engine_new(out, 1);
}

void gw_upstream_free(struct gw_upstream *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    u->stop = 1;
    pthread_mutex_unlock(&u->lock);
    if (u->embedded) {
        shutdown_engine(u);
    } else {
        wake(u);
        pthread_join(u->thread, NULL);
    }
    curl_multi_cleanup(u->multi); /* closes the cached connections through close_cb */
    for (int i = 0; i < u->npool; i++)
        curl_easy_cleanup(u->pool[i]);
    gw_sockwatch_free(&u->sw);
    close(u->wake_fd);
    close(u->epfd);
    pthread_mutex_destroy(&u->lock);
    pthread_mutex_destroy(&u->pool_lock);
    pthread_cond_destroy(&u->cancel_cond);
    free(u);
}
