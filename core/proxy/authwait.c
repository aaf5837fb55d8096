/* authwait - a request asleep while its key is read (see authwait.h). */
#include "proxy/authwait.h"

#include <pthread.h>
#include <stdlib.h>

#include "net/worker.h"

struct gw_auth_wait {
    struct MHD_Connection *conn; /* NULL once MHD let go of it */
    int refs;                    /* the connection's side and the loader's */
    int ended;                   /* the loader called back, with rc */
    int rc;
    int asleep; /* the connection is suspended: the loader resumes it */
};

/* One lock for every wait: they are rare (a key's first use, its cache period's end), short,
 * and cross threads. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* The front is stopping its daemons: a connection they let go of must not be resumed, and
 * resuming under mu while MHD closes connections could wait on MHD's own lock. */
static int closing;

void gw_auth_wait_closing(int on)
{
    pthread_mutex_lock(&mu);
    closing = on;
    pthread_mutex_unlock(&mu);
}

static void unref_locked(struct gw_auth_wait *w)
{
    if (--w->refs == 0)
        free(w);
}

struct gw_auth_wait *gw_auth_wait_new(struct MHD_Connection *conn)
{
    struct gw_auth_wait *w = calloc(1, sizeof *w);
    if (w) {
        w->conn = conn;
        w->refs = 2;
    }
    return w;
}

void gw_auth_wait_loaded(void *ud, int rc)
{
    struct gw_auth_wait *w = ud;
    pthread_mutex_lock(&mu);
    w->ended = 1;
    w->rc = rc;
    if (w->asleep && w->conn && !closing)
        gw_worker_resume(w->conn);
    unref_locked(w);
    pthread_mutex_unlock(&mu);
}

void gw_auth_wait_cancel(struct gw_auth_wait *w)
{
    pthread_mutex_lock(&mu);
    unref_locked(w);
    unref_locked(w);
    pthread_mutex_unlock(&mu);
}

int gw_auth_wait_sleep(struct gw_auth_wait *w, int *rc)
{
    pthread_mutex_lock(&mu);
    int asleep = !w->ended;
    if (asleep) {
        /* Under the lock: the loader cannot resume before the suspend. */
        MHD_suspend_connection(w->conn);
        w->asleep = 1;
    } else {
        *rc = w->rc;
        unref_locked(w); /* the loader's side is gone already: this frees w */
    }
    pthread_mutex_unlock(&mu);
    return asleep;
}

int gw_auth_wait_end(struct gw_auth_wait *w)
{
    pthread_mutex_lock(&mu);
    int rc = w->ended ? w->rc : -1;
    w->conn = NULL;
    unref_locked(w);
    pthread_mutex_unlock(&mu);
    return rc;
}

void gw_auth_wait_drop(struct gw_auth_wait *w)
{
    pthread_mutex_lock(&mu);
    w->conn = NULL;
    unref_locked(w);
    pthread_mutex_unlock(&mu);
}
