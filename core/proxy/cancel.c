/* cancel - cleanup requests for upstream jobs left unfinished (see cancel.h). */
#include "proxy/cancel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "proxy/gateway.h"

/* The request's copy: the call that built it may be freed as soon as gw_cancel_send returns.
 * The arena holds the strings and headers (the key among them) until the cancel ends. */
#define CANCEL_ARENA_CAP (64u << 10)
#define CANCEL_BODY_MAX (16u << 10)

struct cancel {
    struct gw_arena mem;
    struct gw_upstream *engine;
    const char *provider;
    const char *request_id;
    const char *job_id;
    const char *method;
    const char *url;
    struct gw_header *headers;
    const char *body;
    size_t body_len;
    int tries;
    int status;
};

static atomic_int inflight;
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cond = PTHREAD_COND_INITIALIZER;

static const struct gw_xfer_ops cancel_ops;

int gw_cancel_inflight(void)
{
    return atomic_load(&inflight);
}

static const char *dup_str(struct gw_arena *a, const char *s)
{
    return s ? gw_arena_strndup(a, s, strlen(s)) : NULL;
}

static int copy_headers(struct cancel *k, const struct gw_header *h)
{
    struct gw_header **tail = &k->headers;
    for (; h; h = h->next) {
        struct gw_header *n = gw_arena_alloc(&k->mem, sizeof *n);
        if (!n || !(n->name = (char *)dup_str(&k->mem, h->name)) ||
            !(n->value = (char *)dup_str(&k->mem, h->value)))
            return -1;
        n->flags = h->flags;
        *tail = n;
        tail = &n->next;
    }
    return 0;
}

static struct cancel *cancel_new(struct gw_upstream *engine, const char *provider,
                                 const char *request_id, const char *job_id,
                                 const struct gw_call *c)
{
    if (!c->url || !c->method || c->body_len > CANCEL_BODY_MAX)
        return NULL;
    struct cancel *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    gw_arena_init(&k->mem, CANCEL_ARENA_CAP);
    k->engine = engine;
    k->provider = provider;
    k->request_id = dup_str(&k->mem, request_id ? request_id : "-");
    k->job_id = dup_str(&k->mem, job_id ? job_id : "?");
    k->method = dup_str(&k->mem, c->method);
    k->url = dup_str(&k->mem, c->url);
    k->body_len = c->body ? c->body_len : 0;
    k->body = c->body ? gw_arena_strndup(&k->mem, c->body, c->body_len) : NULL;
    if (!k->request_id || !k->job_id || !k->method || !k->url || (c->body && !k->body) ||
        copy_headers(k, c->headers) < 0) {
        gw_arena_free(&k->mem);
        free(k);
        return NULL;
    }
    return k;
}

/* One cancel less in flight: a shutdown waiting in gw_cancel_drain looks again. */
static void leave(void)
{
    if (atomic_fetch_sub(&inflight, 1) == 1) {
        pthread_mutex_lock(&drain_lock);
        pthread_cond_broadcast(&drain_cond);
        pthread_mutex_unlock(&drain_lock);
    }
}

static void cancel_free(struct cancel *k)
{
    gw_arena_free(&k->mem);
    free(k);
    leave();
}

static int start(struct cancel *k, int64_t delay_ms)
{
    struct gw_xfer_req xr = {
        .method = k->method,
        .url = k->url,
        .headers = k->headers,
        .body = k->body,
        .body_len = k->body_len,
        .body_borrowed = 1, /* the arena outlives the transfer */
        .delay_ms = delay_ms,
        .connect_timeout_ms = GW_CANCEL_CONNECT_MS,
        .first_byte_timeout_ms = GW_CANCEL_TOTAL_MS,
        .idle_timeout_ms = GW_CANCEL_TOTAL_MS,
        .total_timeout_ms = GW_CANCEL_TOTAL_MS,
    };
    struct gw_xfer *x = NULL;
    k->tries++;
    k->status = 0;
    int rc = gw_upstream_start(k->engine, &xr, &cancel_ops, k, &x);
    if (rc == 0)
        gw_xfer_unref(x); /* the engine keeps its own reference until on_done */
    return rc;
}

void gw_cancel_send(struct gw_upstream *engine, const char *provider, const char *request_id,
                    const char *job_id, const struct gw_call *c)
{
    /* Counted before the copy: the cap holds however many threads send at once. */
    if (atomic_fetch_add(&inflight, 1) >= GW_CANCEL_MAX_INFLIGHT) {
        atomic_fetch_sub(&inflight, 1);
        gw_logf(AIGW_LOG_WARN, provider, request_id,
                "job %s left running: %d cancel requests already in flight", job_id ? job_id : "?",
                GW_CANCEL_MAX_INFLIGHT);
        gw_metrics_upstream_cancel(provider, "dropped");
        return;
    }
    struct cancel *k = cancel_new(engine, provider, request_id, job_id, c);
    if (!k || start(k, 0) < 0) {
        gw_logf(AIGW_LOG_WARN, provider, request_id,
                "job %s left running: its cancel request could not be started",
                job_id ? job_id : "?");
        gw_metrics_upstream_cancel(provider, "dropped");
        if (k)
            cancel_free(k);
        else
            leave();
    }
}

static int on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    (void)ud, (void)name, (void)nlen, (void)value, (void)vlen;
    return 0;
}

static int on_status(void *ud, int status)
{
    struct cancel *k = ud;
    k->status = status;
    return 0;
}

static int on_data(void *ud, const char *p, size_t n)
{
    (void)ud, (void)p, (void)n;
    return 0; /* the job's final state: nobody reads it */
}

/* A transport failure, a throttle or a server error may pass; a 4xx other than 429 says the
 * job cannot be cancelled (it ended already, or never was): asking again changes nothing.
 * A cancelled transfer is the gateway stopping. */
static int worth_again(int result, int status)
{
    if (result == GW_XFER_ECANCELLED)
        return 0;
    if (result != GW_XFER_OK)
        return 1;
    return status == 429 || status >= 500;
}

static void on_done(void *ud, int result)
{
    struct cancel *k = ud;
    if (worth_again(result, k->status) && k->tries < 2 && start(k, GW_CANCEL_RETRY_DELAY_MS) == 0)
        return;
    const char *outcome = result != GW_XFER_OK                                      ? "failed"
                          : k->status >= 200 && k->status < 300                     ? "ok"
                          : k->status >= 400 && k->status < 500 && k->status != 429 ? "rejected"
                                                                                    : "failed";
    /* Counted before the log line: whoever reads the line finds the count too. */
    gw_metrics_upstream_cancel(k->provider, outcome);
    if (result == GW_XFER_OK)
        gw_logf(AIGW_LOG_INFO, k->provider, k->request_id,
                "job %s left unfinished: cancel answered HTTP %d (%s)", k->job_id, k->status,
                outcome);
    else
        gw_logf(AIGW_LOG_INFO, k->provider, k->request_id,
                "job %s left unfinished: cancel failed (%s)", k->job_id,
                gw_xfer_result_name(result));
    cancel_free(k);
}

static const struct gw_xfer_ops cancel_ops = {
    .on_header = on_header,
    .on_status = on_status,
    .on_data = on_data,
    .on_done = on_done,
};

int gw_cancel_drain(int64_t deadline_ms)
{
    pthread_mutex_lock(&drain_lock);
    while (atomic_load(&inflight) > 0 && gw_now_ms() < deadline_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&drain_cond, &drain_lock, &ts);
    }
    pthread_mutex_unlock(&drain_lock);
    return atomic_load(&inflight);
}
