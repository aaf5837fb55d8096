/* worker - the per-core event loops (see worker.h). */
#include "net/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "lib/log.h"
#include "net/upstream.h"

/* The process's workers, for gw_worker_resume (called where no worker is at hand). */
static struct gw_worker *all_workers;
static unsigned all_n;
static _Thread_local struct gw_worker *tl_worker;

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    gw_vlogf(AIGW_LOG_DEBUG, "mhd", NULL, fmt, ap);
}

void gw_worker_register(struct gw_worker *ws, unsigned n)
{
    all_workers = ws;
    all_n = n;
}

/* MHD in external polling mode does not wake its loop when a connection is resumed: the
 * owning worker must run the daemon again before it sleeps. */
void gw_worker_resume(struct MHD_Connection *conn)
{
    MHD_resume_connection(conn);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    struct MHD_Daemon *d = ci ? ci->daemon : NULL;
    if (tl_worker && tl_worker->d == d) {
        tl_worker->resumed = 1;
        return;
    }
    for (unsigned i = 0; all_workers && d && i < all_n; i++) {
        if (all_workers[i].d != d)
            continue;
        uint64_t one = 1;
        if (write(all_workers[i].wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            GW_WARN("cannot wake HTTP worker %u", i);
        return;
    }
}

int gw_worker_add_source(struct gw_worker *w, const struct gw_worker_source *s)
{
    if (w->nsrc >= GW_WORKER_SOURCES)
        return AIGW_ETOOBIG;
    w->src[w->nsrc++] = *s;
    return 0;
}

struct gw_worker *gw_worker_current(void)
{
    return tl_worker;
}

static void *worker_run(void *arg)
{
    struct gw_worker *w = arg;
    tl_worker = w;
    gw_upstream_set_here(w->u);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    int mhd_fd = di ? di->epoll_fd : -1;
    struct epoll_event evs[4 + GW_WORKER_SOURCES];
    while (!atomic_load(w->stop)) {
        int timeout = gw_upstream_timeout_ms(w->u);
        for (int i = 0; i < w->nsrc; i++) {
            int t = w->src[i].timeout_ms ? w->src[i].timeout_ms(w->src[i].ud) : -1;
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
        }
        MHD_UNSIGNED_LONG_LONG mto = 0;
        if (MHD_get_timeout(w->d, &mto) == MHD_YES && mto < (MHD_UNSIGNED_LONG_LONG)timeout)
            timeout = (int)mto;
        /* Work this thread made for itself (a transfer to start) is done before sleeping:
         * nobody else will wake us for it. */
        if (gw_upstream_pending(w->u))
            timeout = 0;
        int n = epoll_wait(w->ep, evs, 4 + GW_WORKER_SOURCES, timeout);
        /* Each side runs only when it has something to do: every skipped run saves a
         * syscall, and a request takes several turns. */
        int mhd = n <= 0, up = 0;
        unsigned src_ready = 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == w->wake_fd) {
                uint64_t v;
                while (read(w->wake_fd, &v, sizeof v) < 0 && errno == EINTR)
                    ;
                mhd = 1; /* a connection was resumed from another thread */
            }
            mhd |= fd == mhd_fd;
            up |= fd == gw_upstream_fd(w->u);
            for (int k = 0; k < w->nsrc; k++)
                if (w->src[k].fd >= 0 && fd == w->src[k].fd)
                    src_ready |= 1u << k;
        }
        for (int k = 0; k < w->nsrc; k++)
            w->src[k].run(w->src[k].ud, (src_ready >> k) & 1);
        if (mhd)
            MHD_run(w->d);
        gw_upstream_run_once(w->u, up);
        /* MHD does not wake an external loop for a resume: answer the connections our
         * engine just resumed now, not a turn later. */
        while (w->resumed) {
            w->resumed = 0;
            MHD_run(w->d);
            gw_upstream_run_once(w->u, 0);
        }
    }
    return NULL;
}

static int watch(int ep, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = fd;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* MHD's per-connection pool: request line + headers, the read buffer and the response block
 * being sent. MHD touches all of it, so it is resident for every open connection: 16 KiB
 * (not MHD's 32 KiB default) keeps a held stream under 64 KiB and still admits about 12 KiB
 * of request headers (tests/e2e/test_core.c pins both sides). */
#define MAX_HEADER_BYTES (16 * 1024)

int gw_worker_start(struct gw_worker *w, int listen_fd, const struct gw_worker_conf *conf,
                    atomic_int *stop)
{
    w->ep = -1;
    w->wake_fd = -1;
    w->stop = stop;
    int lfd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
    if (lfd < 0)
        return -1;
    w->d = MHD_start_daemon(conf->mhd_flags, 0, NULL, NULL, conf->access, conf->access_cls,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
                            (MHD_socket)lfd, MHD_OPTION_NOTIFY_COMPLETED, conf->completed,
                            conf->completed_cls, MHD_OPTION_CONNECTION_LIMIT, conf->conn_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_HEADER_BYTES,
                            MHD_OPTION_END);
    if (!w->d) {
        close(lfd);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!di || w->ep < 0 || w->wake_fd < 0 || gw_upstream_init_embedded(&w->u) != 0 ||
        watch(w->ep, di->epoll_fd) != 0 || watch(w->ep, gw_upstream_fd(w->u)) != 0 ||
        watch(w->ep, w->wake_fd) != 0)
        return -1;
    if (conf->setup && conf->setup(conf->setup_cls, w, conf->index) < 0)
        return -1;
    for (int k = 0; k < w->nsrc; k++)
        if (w->src[k].fd >= 0 && watch(w->ep, w->src[k].fd) != 0)
            return -1;
    if (pthread_create(&w->thread, NULL, worker_run, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

void gw_worker_wake(struct gw_worker *w)
{
    uint64_t one = 1;
    if (w->started && write(w->wake_fd, &one, sizeof one) < 0)
        GW_WARN("cannot wake an HTTP worker");
}

void gw_worker_free(struct gw_worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = 0;
    /* Transfers left now end here; their requests' connections close with the daemon. */
    if (w->u)
        gw_upstream_free(w->u);
    w->u = NULL;
    if (w->d)
        MHD_stop_daemon(w->d);
    w->d = NULL;
    if (w->ep >= 0)
        close(w->ep);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    w->ep = w->wake_fd = -1;
}
