/* offload - work done off the worker while a request sleeps (see offload.h). */
#include "proxy/offload.h"

#include <pthread.h>
#include <stdlib.h>

#include "aigw/plugin.h"
#include "net/worker.h"

struct gw_wait {
    struct MHD_Connection *conn; /* NULL once MHD let go of it */
    int refs;                    /* the connection's side and the other thread's */
    int ended;                   /* gw_wait_done ran, with rc and result */
    int rc;
    void *result;
    void (*result_free)(void *result);
    int asleep; /* the connection is suspended: gw_wait_done resumes it */
};

/* One lock for every wait: they are rare (a key's first use, a stored conversation read
 * back), short, and cross threads. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* The front is stopping its daemons: a connection they let go of must not be resumed, and
 * resuming under mu while MHD closes connections could wait on MHD's own lock. */
static int closing;

void gw_wait_closing(int on)
{
    pthread_mutex_lock(&mu);
    closing = on;
    pthread_mutex_unlock(&mu);
}

static void unref_locked(struct gw_wait *w)
{
    if (--w->refs > 0)
        return;
    if (w->result && w->result_free)
        w->result_free(w->result);
    free(w);
}

struct gw_wait *gw_wait_new(struct MHD_Connection *conn, void (*result_free)(void *result))
{
    struct gw_wait *w = calloc(1, sizeof *w);
    if (w) {
        w->conn = conn;
        w->refs = 2;
        w->result_free = result_free;
    }
    return w;
}

void gw_wait_done(struct gw_wait *w, int rc, void *result)
{
    pthread_mutex_lock(&mu);
    w->ended = 1;
    w->rc = rc;
    w->result = result;
    if (w->asleep && w->conn && !closing)
        gw_worker_resume(w->conn);
    unref_locked(w);
    pthread_mutex_unlock(&mu);
}

void gw_wait_loaded(void *ud, int rc)
{
    gw_wait_done(ud, rc, NULL);
}

void gw_wait_cancel(struct gw_wait *w)
{
    pthread_mutex_lock(&mu);
    w->refs = 1; /* the other side never had it */
    unref_locked(w);
    pthread_mutex_unlock(&mu);
}

/* The connection side's end: its rc and result, taken (locked). */
static int take_locked(struct gw_wait *w, void **result)
{
    int rc = w->ended ? w->rc : AIGW_EINTERNAL;
    if (result) {
        *result = w->result;
        w->result = NULL;
    }
    unref_locked(w);
    return rc;
}

int gw_wait_sleep(struct gw_wait *w, int *rc, void **result)
{
    pthread_mutex_lock(&mu);
    int asleep = !w->ended;
    if (asleep) {
        /* Under the lock: the other thread cannot resume before the suspend. */
        MHD_suspend_connection(w->conn);
        w->asleep = 1;
    } else {
        *rc = take_locked(w, result); /* the other side is gone already: this frees w */
    }
    pthread_mutex_unlock(&mu);
    return asleep;
}

int gw_wait_end(struct gw_wait *w, void **result)
{
    pthread_mutex_lock(&mu);
    w->conn = NULL;
    int rc = take_locked(w, result);
    pthread_mutex_unlock(&mu);
    return rc;
}

void gw_wait_drop(struct gw_wait *w)
{
    pthread_mutex_lock(&mu);
    w->conn = NULL;
    unref_locked(w);
    pthread_mutex_unlock(&mu);
}

/* ---- the offload thread ------------------------------------------------------------------ */

#define OFFLOAD_JOBS_MAX 256

struct job {
    struct job *next;
    void (*fn)(void *job);
    void *arg;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    int started, stop;
    struct job *head, *tail;
    int n;
} q = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void *offload_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&q.mu);
    for (;;) {
        while (!q.head && !q.stop)
            pthread_cond_wait(&q.wake, &q.mu);
        struct job *j = q.head;
        if (!j)
            break;
        q.head = j->next;
        if (!q.head)
            q.tail = NULL;
        q.n--;
        pthread_mutex_unlock(&q.mu);
        /* Stopping too: each job ends its wait (the reads it makes are bounded). */
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&q.mu);
    }
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

int gw_offload_start(void)
{
    pthread_mutex_lock(&q.mu);
    q.stop = 0;
    int rc =
        q.started || pthread_create(&q.thread, NULL, offload_main, NULL) == 0 ? 0 : AIGW_EINTERNAL;
    if (!rc)
        q.started = 1;
    pthread_mutex_unlock(&q.mu);
    return rc;
}

void gw_offload_stop(void)
{
    pthread_mutex_lock(&q.mu);
    int started = q.started;
    q.stop = 1;
    pthread_cond_signal(&q.wake);
    pthread_mutex_unlock(&q.mu);
    if (started)
        pthread_join(q.thread, NULL);
    pthread_mutex_lock(&q.mu);
    q.started = 0;
    pthread_mutex_unlock(&q.mu);
}

int gw_offload(void (*fn)(void *job), void *arg)
{
    struct job *j = malloc(sizeof *j);
    if (!j)
        return AIGW_ENOMEM;
    j->next = NULL;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&q.mu);
    int ok = q.started && !q.stop && q.n < OFFLOAD_JOBS_MAX;
    if (ok) {
        if (q.tail)
            q.tail->next = j;
        else
            q.head = j;
        q.tail = j;
        q.n++;
        pthread_cond_signal(&q.wake);
    }
    pthread_mutex_unlock(&q.mu);
    if (!ok) {
        free(j);
        return AIGW_ETOOBIG;
    }
    return 0;
}
