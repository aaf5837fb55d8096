/* models_live - live model listings of providers with AIGW_CAP_MODELS (see models_live.h). */
#include "proxy/models_live.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "net/worker.h"

#include "plugin/call.h"
#include "proxy/driver.h"
#include "plugin/exchange.h"
#include "proxy/gateway.h"
#include "lib/log.h"
#include "plugin/plugin_loader.h"
#include "net/upstream.h"
#include "lib/utf8.h"

struct entry {
    struct gw_live_list *list; /* the last good list, or NULL */
    int64_t fresh_until;       /* monotonic ms; 0: never asked */
    int refreshing;
    uint64_t gen;   /* refreshes completed: a waiter waits for the one after the current */
    int failing;    /* the last refresh failed: one warning per failing streak */
    int warned_cap; /* the id cap was hit once: said once */
};

struct gw_models_wait {
    struct gw_models_live *live;
    struct MHD_Connection *conn;
    struct gw_models_wait *prev, *next;
    int suspended;
    int ready;
    uint64_t *want; /* per provider: the generation awaited, 0 for none */
};

struct gw_models_live {
    atomic_int refs;
    struct gw_gateway *gw;
    pthread_mutex_t lock;
    size_t n;
    struct entry *e;
    struct gw_models_wait *waiters;
    int closing; /* a refresh was cancelled by the upstream engine stopping */
};

/* One refresh of one provider's list: a call driven through an upstream engine. */
struct refresh {
    struct gw_models_live *live;
    size_t idx;
    struct gw_call call;
    struct gw_driver driver; /* runs call over the engine */
    int driver_ready;
    cJSON *body; /* an empty object: plugins may read call->body whatever the op */
    int64_t deadline_ms;
    char **ids;
    size_t n;
    size_t dropped;  /* ids past GW_LIVE_MAX_MODELS */
};

static int capable(const struct gw_plugin *p)
{
    return p->active && (p->desc.capabilities & AIGW_CAP_MODELS) && p->desc.models_build &&
           p->desc.models_parse;
}

/* ---- lists --------------------------------------------------------------------------- */

static void list_unref(struct gw_live_list *ls)
{
    if (!ls || atomic_fetch_sub(&ls->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ls->n; i++)
        free(ls->ids[i]);
    free(ls->ids);
    free(ls);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Takes the refresh's ids (sorted, duplicates dropped) into a new list. */
static struct gw_live_list *list_take(struct refresh *r)
{
    struct gw_live_list *ls = calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    atomic_init(&ls->refs, 1);
    if (r->n)
        qsort(r->ids, r->n, sizeof *r->ids, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (k && !strcmp(r->ids[k - 1], r->ids[i]))
            free(r->ids[i]);
        else
            r->ids[k++] = r->ids[i];
    }
    ls->ids = r->ids;
    ls->n = k;
    r->ids = NULL;
    r->n = 0;
    return ls;
}

int gw_live_list_has(const struct gw_live_list *l, const char *id)
{
    if (!l || !l->n)
        return 0;
    return bsearch(&id, l->ids, l->n, sizeof *l->ids, cmp_str) != NULL;
}

/* ---- the object ------------------------------------------------------------------------ */

int gw_models_live_new(struct gw_gateway *gw, struct gw_models_live **out)
{
    struct gw_models_live *l = calloc(1, sizeof *l);
    if (!l)
        return AIGW_ENOMEM;
    l->n = gw->plugins->n;
    l->e = calloc(l->n ? l->n : 1, sizeof *l->e);
    if (!l->e) {
        free(l);
        return AIGW_ENOMEM;
    }
    atomic_init(&l->refs, 1);
    l->gw = gw;
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return 0;
}

void gw_models_live_release(struct gw_models_live *l)
{
    if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    for (size_t i = 0; i < l->n; i++)
        list_unref(l->e[i].list);
    free(l->e);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* ---- waiters --------------------------------------------------------------------------- */

static int satisfied_locked(const struct gw_models_live *l, const struct gw_models_wait *w)
{
    if (l->closing)
        return 1;
    for (size_t i = 0; i < l->n; i++)
        if (w->want[i] && l->e[i].gen < w->want[i])
            return 0;
    return 1;
}

static void wake_locked(struct gw_models_live *l)
{
    for (struct gw_models_wait *w = l->waiters; w; w = w->next) {
        if (w->ready || !satisfied_locked(l, w))
            continue;
        w->ready = 1;
        if (w->suspended) {
            w->suspended = 0;
            gw_worker_resume(w->conn);
        }
    }
}

int gw_models_wait_ready(struct gw_models_wait *w)
{
    struct gw_models_live *l = w->live;
    pthread_mutex_lock(&l->lock);
    if (!w->ready && satisfied_locked(l, w))
        w->ready = 1;
    int rc = w->ready ? (l->closing ? -1 : 1) : 0;
    if (!w->ready && !w->suspended) {
        w->suspended = 1;
        MHD_suspend_connection(w->conn);
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void gw_models_wait_free(struct gw_models_wait *w)
{
    if (!w)
        return;
    struct gw_models_live *l = w->live;
    pthread_mutex_lock(&l->lock);
    if (w->prev)
        w->prev->next = w->next;
    else if (l->waiters == w)
        l->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&l->lock);
    free(w->want);
    free(w);
}

/* ---- refreshes -------------------------------------------------------------------------- */

static void refresh_free(struct refresh *r)
{
    if (r->driver_ready)
        gw_driver_free(&r->driver);
    gw_call_free(&r->call);
    cJSON_Delete(r->body);
    for (size_t i = 0; i < r->n; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r);
}

/* Publishes the outcome, wakes the waiters it satisfies, logs, frees r. Any thread. */
static void complete(struct refresh *r, int ok, const char *why, int cancelled)
{
    struct gw_models_live *l = r->live;
    const char *vkey = l->gw->plugins->items[r->idx]->desc.vkey;
    struct gw_live_list *fresh = ok ? list_take(r) : NULL;
    if (ok && !fresh) {
        ok = 0;
        why = "out of memory";
    }
    int warn = 0, recovered = 0, cap = 0;
    struct gw_live_list *old = NULL;
    pthread_mutex_lock(&l->lock);
    struct entry *e = &l->e[r->idx];
    int64_t now = gw_now_ms();
    if (ok) {
        old = e->list;
        e->list = fresh;
        e->fresh_until = now + GW_LIVE_TTL_MS;
        recovered = e->failing;
        e->failing = 0;
        cap = r->dropped && !e->warned_cap;
        e->warned_cap |= cap;
    } else {
        e->fresh_until = now + GW_LIVE_RETRY_MS;
        warn = !e->failing && !cancelled;
        e->failing = 1;
    }
    /* Only the engine stopping cancels a refresh (nothing else holds the transfer). */
    if (cancelled)
        l->closing = 1;
    e->refreshing = 0;
    e->gen++;
    wake_locked(l);
    size_t kept = fresh ? fresh->n : 0;
    pthread_mutex_unlock(&l->lock);
    list_unref(old);
    /* No URL and no body in these lines: a base URL or an error body may carry credentials. */
    if (warn)
        gw_logf(AIGW_LOG_WARN, vkey, NULL,
                "live model list unavailable (%s); /v1/models shows the catalog and the last "
                "list the server reported, asking again in %d s",
                why ? why : "error", GW_LIVE_RETRY_MS / 1000);
    else if (!ok && !cancelled)
        gw_logf(AIGW_LOG_DEBUG, vkey, NULL, "live model list still unavailable (%s)",
                why ? why : "error");
    if (recovered)
        gw_logf(AIGW_LOG_INFO, vkey, NULL, "live model list available again (%zu models)", kept);
    if (cap)
        gw_logf(AIGW_LOG_WARN, vkey, NULL,
                "the server reported more than %d models; /v1/models lists the first %d",
                GW_LIVE_MAX_MODELS, GW_LIVE_MAX_MODELS);
    refresh_free(r);
    gw_models_live_release(l);
}

static int valid_id(const char *p, size_t n)
{
    if (!p || n == 0 || n > GW_LIVE_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    return gw_utf8_invalid_at(p, n) == (size_t)-1;
}

/* The call's sink: keeps MODEL ids, up to the cap; other chunk types mean nothing here. */
static int sink(void *ud, const struct aigw_chunk *chunk)
{
    struct refresh *r = ud;
    if (chunk->type != AIGW_CHUNK_MODEL || !valid_id(chunk->id.ptr, chunk->id.len))
        return 0;
    if (r->n >= GW_LIVE_MAX_MODELS) {
        r->dropped++;
        return 0;
    }
    if (!r->ids) {
        r->ids = calloc(GW_LIVE_MAX_MODELS, sizeof *r->ids);
        if (!r->ids)
            return AIGW_ENOMEM;
    }
    char *s = malloc(chunk->id.len + 1);
    if (!s)
        return AIGW_ENOMEM;
    memcpy(s, chunk->id.ptr, chunk->id.len);
    s[chunk->id.len] = '\0';
    r->ids[r->n++] = s;
    return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* Each step within what is left of the refresh's deadline. */
static int limits(void *ud, struct gw_xfer_req *xr)
{
    struct refresh *r = ud;
    const struct gw_gateway *gw = r->live->gw;
    int64_t left = r->deadline_ms - gw_now_ms();
    if (left <= 0 || atomic_load(&gw->shutting_down) || !gw->upstream)
        return GW_XFER_ETIMEOUT_TOTAL;
    xr->delay_ms = xr->delay_ms < left ? xr->delay_ms : 0;
    xr->connect_timeout_ms = min64(gw->cfg->connect_timeout_ms, left);
    xr->first_byte_timeout_ms = min64(gw->cfg->first_byte_timeout_ms, left);
    xr->idle_timeout_ms = min64(gw->cfg->idle_timeout_ms, left);
    xr->total_timeout_ms = left;
    return 0;
}

static const char *step_failure(struct refresh *r, int rc, char *buf, size_t size)
{
    struct gw_call *c = &r->call;
    if (rc == AIGW_ETOOBIG)
        return "response larger than the listing cap";
    if (rc < 0)
        return "unreadable response";
    if (c->has_error && c->status >= 300) {
        snprintf(buf, size, "HTTP %d", c->status);
        return buf;
    }
    return c->has_error ? "error reported in the response" : NULL;
}

static void on_done(void *ud, int result, int rc)
{
    struct refresh *r = ud;
    char buf[32];
    const char *why = NULL;
    if (r->driver.step_failed)
        why = r->driver.step_failed == GW_XFER_ETIMEOUT_TOTAL ? "deadline reached"
                                                               : "cannot send";
    else if (result == GW_XFER_OK)
        why = step_failure(r, rc, buf, sizeof buf);
    else if (r->driver.data_rc == AIGW_ETOOBIG)
        why = "response larger than the listing cap";
    else
        why = gw_xfer_result_name(result);
    complete(r, why == NULL, why, result == GW_XFER_ECANCELLED);
}

static const struct gw_driver_ops driver_ops = {
    .limits = limits,
    .done = on_done,
};

/* Starts provider idx's refresh (its entry is marked refreshing). Failing to start completes
 * it at once, as a failed refresh. */
static void refresh_start(struct gw_models_live *l, size_t idx)
{
    struct refresh *r = calloc(1, sizeof *r);
    if (!r) {
        pthread_mutex_lock(&l->lock);
        l->e[idx].refreshing = 0;
        l->e[idx].fresh_until = gw_now_ms() + GW_LIVE_RETRY_MS;
        l->e[idx].gen++;
        wake_locked(l);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    atomic_fetch_add(&l->refs, 1);
    r->live = l;
    r->idx = idx;
    int64_t deadline = min64(GW_LIVE_DEADLINE_MS, l->gw->cfg->request_timeout_ms);
    r->deadline_ms = gw_now_ms() + (deadline > 0 ? deadline : GW_LIVE_DEADLINE_MS);
    r->body = cJSON_CreateObject();
    struct gw_plugin *p = l->gw->plugins->items[idx];
    const char *why = "out of memory";
    int rc = r->body ? gw_call_init(&r->call, p, AIGW_OP_MODELS, r->body, NULL, 0, 0) : AIGW_ENOMEM;
    if (rc == 0) {
        r->call.sink = sink;
        r->call.sink_ud = r;
        /* A listing is small; a server sending more is broken or hostile. */
        gw_buf_init(&r->call.resp_body, GW_LIVE_BODY_CAP);
        rc = gw_exchange_begin(&r->call);
        why = "the plugin could not build the request";
        if (rc == 0) {
            gw_driver_init(&r->driver, &r->call, gw_upstream_here(l->gw->upstream), &driver_ops,
                           r);
            r->driver_ready = 1;
            rc = gw_driver_send(&r->driver, 0);
            why = "cannot send";
        }
    }
    if (rc < 0)
        complete(r, 0, why, 0);
}

int gw_models_live_begin(struct gw_models_live *l, struct MHD_Connection *conn, const char *vkey,
                         struct gw_models_wait **out)
{
    *out = NULL;
    if (!l || atomic_load(&l->gw->shutting_down))
        return 0;
    struct gw_models_wait *w = calloc(1, sizeof *w);
    size_t *start = calloc(l->n ? l->n : 1, sizeof *start);
    if (w)
        w->want = calloc(l->n ? l->n : 1, sizeof *w->want);
    if (!w || !start || !w->want) {
        if (w)
            free(w->want);
        free(w);
        free(start);
        return AIGW_ENOMEM;
    }
    w->live = l;
    w->conn = conn;
    size_t nstart = 0;
    int waiting = 0;
    const struct gw_plugins *ps = l->gw->plugins;
    pthread_mutex_lock(&l->lock);
    int64_t now = gw_now_ms();
    for (size_t i = 0; i < l->n && !l->closing; i++) {
        const struct gw_plugin *p = ps->items[i];
        if (!capable(p) || (vkey && strcmp(p->desc.vkey, vkey)))
            continue;
        struct entry *e = &l->e[i];
        if (!e->refreshing && now < e->fresh_until)
            continue;
        if (!e->refreshing) {
            e->refreshing = 1;
            start[nstart++] = i;
        }
        w->want[i] = e->gen + 1;
        waiting = 1;
    }
    if (waiting) {
        w->next = l->waiters;
        if (l->waiters)
            l->waiters->prev = w;
        l->waiters = w;
    }
    pthread_mutex_unlock(&l->lock);
    /* Started outside the lock: a refresh that fails at once completes (and locks) here. */
    for (size_t k = 0; k < nstart; k++)
        refresh_start(l, start[k]);
    free(start);
    if (!waiting) {
        free(w->want);
        free(w);
        return 0;
    }
    *out = w;
    return 0;
}

/* ---- snapshots -------------------------------------------------------------------------- */

int gw_models_live_snapshot(struct gw_models_live *l, struct gw_live_snap *s)
{
    s->n = 0;
    s->lists = NULL;
    if (!l || !l->n)
        return 0;
    struct gw_live_list **v = calloc(l->n, sizeof *v);
    if (!v)
        return AIGW_ENOMEM;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->n; i++) {
        v[i] = l->e[i].list;
        if (v[i])
            atomic_fetch_add(&v[i]->refs, 1);
    }
    pthread_mutex_unlock(&l->lock);
    s->n = l->n;
    s->lists = v;
    return 0;
}

void gw_live_snap_free(struct gw_live_snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        list_unref(s->lists[i]);
    free(s->lists);
    s->lists = NULL;
    s->n = 0;
}

const struct gw_live_list *gw_live_snap_get(const struct gw_live_snap *s, size_t i)
{
    return s && i < s->n ? s->lists[i] : NULL;
}
