/* upstream - the libcurl multi thread (see upstream.h). */
#include "net/upstream.h"

#include <errno.h>
#include <limits.h>
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
#include "net/upstream_int.h"

#define SWEEP_MS 100
#define EPOLL_BATCH 64





/* Transfers in flight across every engine (one per worker plus the shared one). */
static atomic_llong total_active;

static _Thread_local struct gw_upstream *here;

int64_t gw_upstream_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


CURL *gw_upstream_easy_get(struct gw_upstream *u, int *configured)
{
    CURL *e = NULL;
    *configured = 0;
    pthread_mutex_lock(&u->pool_lock);
    if (u->npool) {
        u->npool--;
        e = u->pool[u->npool];
        *configured = u->pool_configured[u->npool];
    }
    pthread_mutex_unlock(&u->pool_lock);
    return e ? e : curl_easy_init();
}

/* Only handles out of the multi handle come here (finish removed them). libcurl 7.88 counts
 * its retries of a request on a dead kept-alive connection (five at most) per handle, and only
 * curl_easy_reset() zeroes the count: a handle whose transfer was retried, failed, paused or
 * was cut short is reset; one that sent its request once and finished cleanly keeps its
 * options (the reset and setting them again were 5k instructions a request). */
void gw_upstream_easy_put(struct gw_upstream *u, CURL *e, int keep)
{
    if (!keep)
        curl_easy_reset(e);
    pthread_mutex_lock(&u->pool_lock);
    if (u->npool < EASY_POOL_MAX) {
        u->pool_configured[u->npool] = keep != 0;
        u->pool[u->npool++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&u->pool_lock);
    if (e)
        curl_easy_cleanup(e);
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
    x->reusable = result == GW_XFER_OK && x->attempts == 1 && !x->was_paused;
    atomic_fetch_sub(&u->nactive, 1);
    atomic_fetch_sub(&total_active, 1);
    x->ops->on_done(x->ud, result);
    gw_xfer_unref(x);
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
    if (req->body && req->body_borrowed) {
        x->body = (char *)req->body;
    } else if (req->body) {
        x->body = malloc(req->body_len + 1);
        x->body_owned = 1;
        if (x->body) {
            memcpy(x->body, req->body, req->body_len);
            x->body[req->body_len] = '\0';
        }
    }
    if (!x->url || (req->method && !x->method) || (req->body && !x->body) ||
        gw_xfer_setup_easy(x) != 0) {
        atomic_store(&x->refs, 1);
        gw_xfer_unref(x);
        return AIGW_ENOMEM;
    }
    x->req.headers = NULL; /* not needed after setup; the caller may free them */
    x->req.body = NULL;
    x->not_before = gw_upstream_now_ms() + (req->delay_ms > 0 ? req->delay_ms : 0);
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
    x->started_ms = gw_upstream_now_ms();
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
                else if (x->not_before <= gw_upstream_now_ms())
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
                x->last_byte_ms = gw_upstream_now_ms();
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


/* No byte for a while: the owner looks at its client. Also while the transfer waits for its
 * status or a back-off (a slow model's plain answer has no headers until its end): a client
 * that left then ends it, instead of the upstream's answer going to nobody, billed. */
static void notify_idle(struct gw_xfer *x, int64_t now)
{
    if (!x->ops->on_idle || !x->req.idle_notify_ms ||
        now - x->last_byte_ms < x->req.idle_notify_ms ||
        now - x->last_notify_ms < x->req.idle_notify_ms)
        return;
    x->last_notify_ms = now;
    x->ops->on_idle(x->ud);
}

static void sweep(struct gw_upstream *u)
{
    int64_t now = gw_upstream_now_ms();
    struct gw_xfer *x = u->active;
    while (x) {
        struct gw_xfer *next = x->next;
        if (!x->in_multi) {
            if (x->not_before <= now)
                launch(u, x);
            else
                notify_idle(x, now);
        } else if (!x->got_byte && x->req.first_byte_timeout_ms &&
                   now - x->started_ms > x->req.first_byte_timeout_ms) {
            finish(u, x, GW_XFER_ETIMEOUT_FIRST);
        } else if (x->got_byte && !x->paused && x->req.idle_timeout_ms &&
                   now - x->last_byte_ms > x->req.idle_timeout_ms) {
            finish(u, x, GW_XFER_ETIMEOUT_IDLE);
        } else if (x->req.total_timeout_ms && now - x->started_ms > x->req.total_timeout_ms) {
            finish(u, x, GW_XFER_ETIMEOUT_TOTAL);
        } else {
            notify_idle(x, now);
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
curl_socket_t gw_upstream_open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct gw_upstream *u = ud;
    int fd = gw_sockwatch_open(&u->sw, a->family, a->socktype, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

int gw_upstream_close_cb(void *ud, curl_socket_t fd)
{
    struct gw_upstream *u = ud;
    return gw_sockwatch_close(&u->sw, fd);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct gw_upstream *u = userp;
    u->curl_deadline = timeout_ms < 0 ? -1 : gw_upstream_now_ms() + timeout_ms;
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
            finish(u, x, gw_xfer_map_curl(x, m->data.result));
    }
}

static void drain_wake(struct gw_upstream *u)
{
    uint64_t n;
    while (read(u->wake_fd, &n, sizeof n) < 0 && errno == EINTR)
        ;
}

/* Milliseconds until this engine has timed work (curl's timer or the deadline sweep), or -1
 * for none: the sweep only checks transfers, so an engine without any sleeps until it is
 * woken (an idle gateway's threads would otherwise wake ten times a second each). */
int gw_upstream_timeout_ms(struct gw_upstream *u)
{
    int64_t now = gw_upstream_now_ms();
    int64_t timeout = -1;
    if (u->active) {
        timeout = u->last_sweep + SWEEP_MS - now;
        timeout = timeout < 0 ? 0 : timeout;
    }
    if (u->curl_deadline >= 0) {
        int64_t c = u->curl_deadline - now;
        c = c < 0 ? 0 : c;
        if (timeout < 0 || c < timeout)
            timeout = c;
    }
    return timeout > INT_MAX ? INT_MAX : (int)timeout;
}

/* One turn of the engine: queued work, due timers, then sockets ready within wait_ms
 * (wait_ms < 0: the caller knows no socket is ready; skip the epoll_wait). */
static void step(struct gw_upstream *u, int wait_ms)
{
    struct epoll_event evs[EPOLL_BATCH];
    int running = 0;
    process_queue(u, 0);
    int64_t now = gw_upstream_now_ms();
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
        wait_ms = t >= 0 && t < wait_ms ? t : wait_ms;
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
        step(u, INT_MAX); /* until its timed work is due, or a wake (new work, the stop) */
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
    u->last_sweep = gw_upstream_now_ms();
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
    curl_multi_cleanup(u->multi); /* closes the cached connections through gw_upstream_close_cb */
    for (int i = 0; i < u->npool; i++)
        curl_easy_cleanup(u->pool[i]);
    for (int i = 0; i < u->nurls; i++) { /* after the handles that point at them */
        curl_url_cleanup(u->urls[i].h);
        free(u->urls[i].text);
    }
    gw_sockwatch_free(&u->sw);
    close(u->wake_fd);
    close(u->epfd);
    pthread_mutex_destroy(&u->lock);
    pthread_mutex_destroy(&u->pool_lock);
    pthread_cond_destroy(&u->cancel_cond);
    free(u);
}
