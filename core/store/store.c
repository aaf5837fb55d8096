/* store - open, close, flush, stats (see store.h). */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"

#define SPOOL_REPLAY_WAIT_MS 10000 /* how long an open waits for a replayed spool to commit */

int gw_store_default_url(const char *state_dir, char *out, size_t size)
{
    int n = snprintf(out, size, "sqlite:%s/aigw.db", state_dir && *state_dir ? state_dir : ".");
    return n < 0 || (size_t)n >= size ? AIGW_ETOOBIG : 0;
}

const char *gw_store_backend(const struct gw_store *s)
{
    return s->ops->name;
}

static void opts_fill(struct gw_store_opts *o, const struct gw_store_opts *in)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof *o);
    if (o->key_cache_ms <= 0)
        o->key_cache_ms = 1000;
    if (o->read_timeout_ms <= 0)
        o->read_timeout_ms = 2000;
    if (o->log_queue_rows <= 0)
        o->log_queue_rows = 10000;
    if (!o->log_queue_bytes)
        o->log_queue_bytes = 32u << 20;
    if (o->ops_queue_rows <= 0)
        o->ops_queue_rows = 50000;
    if (!o->ops_queue_bytes)
        o->ops_queue_bytes = 64u << 20;
    if (!o->log_body_cap)
        o->log_body_cap = 16u << 10;
    if (o->log_retention_days < 0)
        o->log_retention_days = 0;
}

/* The backend and its target from the URL; 0 or AIGW_EINVAL. */
static int parse_url(struct gw_store *s, const char *url, char *err, size_t errsize)
{
    if (!strncmp(url, "sqlite:", 7)) {
        const char *path = url + 7;
        if (!strncmp(path, "//", 2))
            path += 2; /* sqlite:///abs/path */
        if (!*path) {
            snprintf(err, errsize, "store.url: sqlite: needs a file path");
            return AIGW_EINVAL;
        }
        s->ops = &gw_store_sqlite_ops;
        s->target = strdup(path);
    } else if (!strcmp(url, "memory:")) {
        /* one shared-cache database per open store, named so no other store can reach it */
        static _Atomic unsigned seq;
        char uri[128];
        snprintf(uri, sizeof uri, "file:aigw-mem-%ld-%u?mode=memory&cache=shared", (long)getpid(),
                 seq++);
        s->ops = &gw_store_sqlite_ops;
        s->memory = 1;
        s->target = strdup(uri);
    } else if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)) {
        s->ops = &gw_store_pg_ops;
        s->target = strdup(url);
    } else {
        /* the URL may hold a password: name only its scheme */
        const char *colon = strchr(url, ':');
        int n = colon ? (int)(colon - url) : (int)strlen(url);
        snprintf(err, errsize, "store.url: unknown scheme \"%.*s\" (sqlite:PATH or postgres://...)",
                 n > 32 ? 32 : n, url);
        return AIGW_EINVAL;
    }
    return s->target ? 0 : AIGW_ENOMEM;
}

static void store_free(struct gw_store *s)
{
    for (int i = 0; i < STORE_READERS; i++) {
        if (s->readers[i].conn)
            s->ops->disconnect(s->readers[i].conn);
        pthread_mutex_destroy(&s->readers[i].mu);
    }
    if (s->wconn)
        s->ops->disconnect(s->wconn);
    if (s->anchor)
        s->ops->disconnect(s->anchor);
    gw_store_keycache_free(s);
    gw_sql_texts_free(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done);
    free(s->target);
    free(s);
}

struct gw_store *gw_store_open(const char *url, const struct gw_store_opts *opts, char *err,
                               size_t errsize)
{
    if (errsize)
        err[0] = '\0';
    struct gw_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    opts_fill(&s->o, opts);
    atomic_init(&s->log_bodies, s->o.log_bodies);
    atomic_init(&s->log_retention_days, s->o.log_retention_days);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_cond_init(&s->done, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < STORE_READERS; i++)
        pthread_mutex_init(&s->readers[i].mu, NULL);
    if (!url || !*url) {
        snprintf(err, errsize, "store.url is empty");
        goto fail;
    }
    if (parse_url(s, url, err, errsize))
        goto fail;
    if (gw_store_keycache_init(s)) {
        snprintf(err, errsize, "out of memory");
        goto fail;
    }
    int64_t deadline = gw_store_mono_ms() + 10000;
    if (s->ops->connect(s, 0, deadline, &s->wconn, err, errsize)) {
        s->wconn = NULL;
        goto fail;
    }
    if (gw_store_migrate(s, s->wconn, err, errsize))
        goto fail;
    /* an in-memory database lives as long as one connection to it: this one, not the
     * writer's, which is dropped and reopened when a statement times out */
    if (s->memory && s->ops->connect(s, 1, deadline, &s->anchor, err, errsize)) {
        s->anchor = NULL;
        goto fail;
    }
    if (gw_store_writer_start(s, err, errsize))
        goto fail;
    /* Whether any key exists is known before the first request (which must not read it). */
    if (gw_store_keycache_has_read(s) != 0)
        gw_logf(AIGW_LOG_WARN, "store", NULL, "cannot read whether keys exist: requiring them");
    if (gw_store_keyload_start(s) != 0) {
        snprintf(err, errsize, "cannot start the key loader thread");
        goto fail;
    }
    if (s->o.spool_prefix && *s->o.spool_prefix) {
        char why[512];
        /* after the writer started: the rows it replays are written at once */
        if (gw_store_spool_open(s, s->o.spool_prefix, why, sizeof why) != 0)
            gw_logf(AIGW_LOG_WARN, "store", NULL, "%s; running without a spool", why);
        /* Budgets start from the committed spend when a key is first seen, which may be the
         * first request: a stopped process's spend is committed before that, or its key
         * could spend it again. Nothing replayed: no wait. */
        if (gw_store_flush(s, SPOOL_REPLAY_WAIT_MS) != 0)
            gw_logf(AIGW_LOG_WARN, "store", NULL,
                    "rows of a stopped process not all written after %d s; budgets may start "
                    "below their spend until they are",
                    SPOOL_REPLAY_WAIT_MS / 1000);
    }
    s->o.spool_prefix = NULL; /* the caller's string */
    return s;
fail:
    gw_store_keyload_stop(s);
    gw_store_writer_stop(s);
    store_free(s);
    return NULL;
}

void gw_store_close(struct gw_store *s)
{
    if (!s)
        return;
    gw_store_keyload_stop(s);
    gw_store_writer_stop(s);
    gw_store_spool_close(s);
    store_free(s);
}

static void deadline_ts(struct timespec *ts, int64_t deadline_mono)
{
    ts->tv_sec = deadline_mono / 1000;
    ts->tv_nsec = (deadline_mono % 1000) * 1000000;
}

int gw_store_flush(struct gw_store *s, int timeout_ms)
{
    int64_t deadline = gw_store_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct timespec ts;
    deadline_ts(&ts, deadline);
    pthread_mutex_lock(&s->mu);
    uint64_t want_log = s->log_enq, want_op = s->op_enq;
    s->hurry++;
    pthread_cond_signal(&s->wake);
    int rc = 0;
    while (s->log_done < want_log || s->op_done < want_op) {
        if (pthread_cond_timedwait(&s->done, &s->mu, &ts) != 0 && gw_store_mono_ms() >= deadline) {
            rc = GW_STORE_EUNAVAIL;
            break;
        }
    }
    s->hurry--;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void gw_store_stats(struct gw_store *s, struct gw_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->logq.n + s->opq.n + s->log_busy.n + s->op_busy.n;
    pthread_mutex_unlock(&s->mu);
    gw_store_keycache_stats(s, &out->key_cache_hits, &out->key_cache_misses);
}

void gw_store_set_log_opts(struct gw_store *s, int bodies, int retention_days)
{
    atomic_store(&s->log_bodies, bodies);
    atomic_store(&s->log_retention_days, retention_days < 0 ? 0 : retention_days);
}
