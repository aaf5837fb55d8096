/*
 * store_keyload - the thread that reads gateway key records for request threads.
 *
 * A key's record is read from the database the first time a request presents it and once
 * its cache period is over (store_keycache.c). A worker that did that read itself would
 * stop serving every other connection of its loop for the read's round trip, and for the
 * whole read deadline (2 s) when the database is slow: PostgreSQL is a network away, and a
 * lock, a failover or a busy server hold a read up. So a worker queues the read here and
 * its request sleeps; this thread reads, caches the record and calls the request back.
 *
 * Reads of the same id queued before the first of them started are done once: a burst of
 * requests with a new key costs one read, and each of them is called back. The queue holds
 * at most KL_JOBS_MAX ids; past that the caller reads itself (as before this thread).
 *
 * Threading: s->kl->mu guards the queue; callbacks run on this thread with no lock held.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

#define KL_JOBS_MAX 1024
#define KL_HAS_KEYS "" /* the id of the job that reads whether any key exists */

struct kl_waiter {
    struct kl_waiter *next;
    gw_key_loaded_fn done;
    void *ud;
};

struct kl_job {
    struct kl_job *next;
    char id[GW_KEY_ID_LEN + 1];
    struct kl_waiter *waiters;
};

struct store_keyload {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    int started;
    int stop;
    struct kl_job *head, *tail;
    size_t n;
};

static void call_waiters(struct kl_waiter *w, int rc)
{
    while (w) {
        struct kl_waiter *next = w->next;
        w->done(w->ud, rc);
        free(w);
        w = next;
    }
}

static void *keyload_main(void *arg)
{
    struct gw_store *s = arg;
    struct store_keyload *kl = s->kl;
    pthread_mutex_lock(&kl->mu);
    for (;;) {
        while (!kl->head && !kl->stop)
            pthread_cond_wait(&kl->wake, &kl->mu);
        struct kl_job *j = kl->head;
        if (!j)
            break;
        kl->head = j->next;
        if (!kl->head)
            kl->tail = NULL;
        kl->n--;
        int stopping = kl->stop;
        pthread_mutex_unlock(&kl->mu);
        /* Stopping: nobody reads any more; each request still waiting is told so. */
        int rc = GW_STORE_EUNAVAIL;
        if (!stopping)
            rc = j->id[0] ? gw_store_keycache_reload(s, j->id) : gw_store_keycache_has_read(s);
        call_waiters(j->waiters, rc);
        free(j);
        pthread_mutex_lock(&kl->mu);
    }
    pthread_mutex_unlock(&kl->mu);
    return NULL;
}

int gw_store_keyload_start(struct gw_store *s)
{
    struct store_keyload *kl = calloc(1, sizeof *kl);
    if (!kl)
        return AIGW_ENOMEM;
    pthread_mutex_init(&kl->mu, NULL);
    pthread_cond_init(&kl->wake, NULL);
    s->kl = kl;
    if (pthread_create(&kl->thread, NULL, keyload_main, s) != 0)
        return AIGW_EINTERNAL;
    kl->started = 1;
    return 0;
}

void gw_store_keyload_stop(struct gw_store *s)
{
    struct store_keyload *kl = s->kl;
    if (!kl)
        return;
    if (kl->started) {
        pthread_mutex_lock(&kl->mu);
        kl->stop = 1;
        pthread_cond_signal(&kl->wake);
        pthread_mutex_unlock(&kl->mu);
        pthread_join(kl->thread, NULL);
    }
    /* Not started: jobs may have been queued before the thread failed to start. */
    for (struct kl_job *j = kl->head, *next; j; j = next) {
        next = j->next;
        call_waiters(j->waiters, GW_STORE_EUNAVAIL);
        free(j);
    }
    pthread_mutex_destroy(&kl->mu);
    pthread_cond_destroy(&kl->wake);
    free(kl);
    s->kl = NULL;
}

int gw_store_keyload_queue(struct gw_store *s, const char *id, gw_key_loaded_fn done, void *ud)
{
    struct store_keyload *kl = s->kl;
    if (!kl || !kl->started)
        return AIGW_EINTERNAL;
    struct kl_waiter *w = NULL;
    if (done) {
        w = calloc(1, sizeof *w);
        if (!w)
            return AIGW_ENOMEM;
        w->done = done;
        w->ud = ud;
    }
    pthread_mutex_lock(&kl->mu);
    struct kl_job *j = kl->head;
    while (j && strcmp(j->id, id))
        j = j->next;
    if (!j && !kl->stop && kl->n < KL_JOBS_MAX && (j = calloc(1, sizeof *j)) != NULL) {
        gw_strlcpy(j->id, id, sizeof j->id);
        if (kl->tail)
            kl->tail->next = j;
        else
            kl->head = j;
        kl->tail = j;
        kl->n++;
        pthread_cond_signal(&kl->wake);
    }
    if (j && w) {
        w->next = j->waiters;
        j->waiters = w;
    }
    pthread_mutex_unlock(&kl->mu);
    if (!j) {
        free(w);
        return AIGW_ETOOBIG; /* full (or stopping): the caller reads itself */
    }
    return 0;
}

int gw_store_keyload_has_keys(struct gw_store *s)
{
    return gw_store_keyload_queue(s, KL_HAS_KEYS, NULL, NULL);
}
