/*
 * upstream_int - what the engine (upstream.c) and one transfer's curl side (xfer.c) share.
 * net/ only.
 */
#ifndef GW_NET_UPSTREAM_INT_H
#define GW_NET_UPSTREAM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "net/sockwatch.h"
#include "net/upstream.h"

/* Easy handles kept for reuse: curl_easy_init + cleanup per request was 4% of the CPU under
 * load; a reset handle keeps its allocations. Beyond this many idle ones, they are freed. */
#define EASY_POOL_MAX 256
/* Parsed URLs kept per engine (CURLOPT_CURLU): curl then copies the parsed form instead of
 * parsing the text on every transfer (5k instructions a request). A slot lives as long as
 * the engine (handles point at it); past this many distinct URLs, the text is passed. */
#define URL_CACHE_MAX 32

enum msg_kind { MSG_START, MSG_CANCEL, MSG_UNPAUSE, MSG_CANCEL_ALL };

struct gw_xfer {
    atomic_int refs;
    struct gw_upstream *u;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    int body_owned; /* body is our copy (else the caller's: body_borrowed) */
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
    int was_paused;    /* paused at least once: its handle is reset before reuse */
    int attempts;      /* requests curl began on a connection (CURLOPT_PREREQFUNCTION) */
    int reusable;      /* finished cleanly: its handle keeps its options (see easy_put) */
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
    unsigned char pool_configured[EASY_POOL_MAX];
    int npool;
    /* Under pool_lock; entries never change once added, so curl may read them unlocked. */
    struct {
        uint64_t hash;
        char *text;
        CURLU *h;
    } urls[URL_CACHE_MAX];
    int nurls;
};

/* upstream.c: the engine's side, for the transfer's. */
int64_t gw_upstream_now_ms(void);
/* A handle from the pool; *configured says it kept the options every transfer sets alike. */
CURL *gw_upstream_easy_get(struct gw_upstream *u, int *configured);
/* keep: the transfer finished cleanly and curl never retried it (see xfer.c), so the
 * handle goes back with its options; else it is reset. */
void gw_upstream_easy_put(struct gw_upstream *u, CURL *e, int keep);
curl_socket_t gw_upstream_open_cb(void *ud, curlsocktype purpose, struct curl_sockaddr *a);
int gw_upstream_close_cb(void *ud, curl_socket_t fd);

/* xfer.c: one transfer's curl handle and callbacks. */
size_t gw_xfer_header_cb(char *p, size_t size, size_t n, void *ud);
size_t gw_xfer_write_cb(char *p, size_t size, size_t n, void *ud);
int gw_xfer_setup_easy(struct gw_xfer *x);
/* proxyenv.c: sets CURLOPT_PROXY and CURLOPT_NOPROXY on e to what curl would read from the
 * environment for url, without its getenv calls per transfer. */
void gw_proxyenv_apply(CURL *e, const char *url);
int gw_xfer_map_curl(struct gw_xfer *x, CURLcode rc);

#endif
