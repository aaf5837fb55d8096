/*
 * worker - one event loop per core: an MHD daemon in external epoll mode (all sharing one
 * listen socket) beside its own upstream engine, so a request is read, sent upstream, relayed
 * and answered on one thread. A hand-off between an HTTP thread and a curl thread cost two
 * cross-CPU wakeups per request (measured at 0.5-2 ms on an idle VM) and most of the
 * gateway's added latency.
 *
 * Threading: each worker's loop runs on its own thread; gw_worker_resume may be called from
 * any thread (it wakes the owning loop through an eventfd when called from elsewhere).
 */
#ifndef GW_NET_WORKER_H
#define GW_NET_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

struct gw_upstream;

/* Something else a worker's loop drives beside its daemon and engine (a Redis connection,
 * say): its descriptor is watched for input, its timer bounds the loop's sleep, and run()
 * is called on every turn (ready: the descriptor was reported). */
struct gw_worker_source {
    int fd;                     /* -1: none (timer only) */
    int (*timeout_ms)(void *ud); /* -1: no timer */
    void (*run)(void *ud, int ready);
    void *ud;
};

#define GW_WORKER_SOURCES 4

struct gw_worker {
    struct MHD_Daemon *d;
    struct gw_upstream *u;
    pthread_t thread;
    int started;
    int ep;      /* watches the daemon's epoll fd, the engine's epoll fd and wake */
    int wake_fd; /* stop, or a connection resumed from another thread */
    int resumed; /* a connection of this daemon was resumed on this thread */
    atomic_int *stop;
    struct gw_worker_source src[GW_WORKER_SOURCES];
    int nsrc;
    void *app; /* what the application keeps per worker (set up by conf->setup) */
};

/* What every worker's daemon is started with. */
struct gw_worker_conf {
    unsigned mhd_flags;
    unsigned conn_limit;
    MHD_AccessHandlerCallback access;
    void *access_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    /* Called for each worker before its thread starts (may add sources, set w->app);
     * negative fails the start. May be NULL. */
    int (*setup)(void *cls, struct gw_worker *w, unsigned idx);
    void *setup_cls;
    unsigned index; /* this worker's number, for setup */
};

/* Starts w's daemon on a duplicate of listen_fd, its engine and its thread. 0 or -1 (w may be
 * partly set up: gw_worker_free it). */
int gw_worker_start(struct gw_worker *w, int listen_fd, const struct gw_worker_conf *conf,
                    atomic_int *stop);
/* Adds a source before the worker starts (from conf->setup). 0, or AIGW_ETOOBIG. */
int gw_worker_add_source(struct gw_worker *w, const struct gw_worker_source *s);
/* The worker whose loop runs on the calling thread, or NULL. */
struct gw_worker *gw_worker_current(void);

/* Wakes the loop so it sees *stop. */
void gw_worker_wake(struct gw_worker *w);
/* Joins the thread (after *stop was set and the loop woken), then frees engine and daemon. */
void gw_worker_free(struct gw_worker *w);

/* The process's workers, for gw_worker_resume (set by the front end once they run). */
void gw_worker_register(struct gw_worker *ws, unsigned n);
/* MHD_resume_connection, plus what MHD leaves to an external-polling loop: the worker that
 * owns the connection runs its daemon again before it sleeps. Any thread. */
void gw_worker_resume(struct MHD_Connection *conn);

#endif
