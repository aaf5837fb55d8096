/* otlp_export - the span queue, the batcher thread and the POST (see otlp.h).
 *
 * Queue: a singly linked list of spans (each span carries its own link, so queueing
 * allocates nothing) with a count capped at queue_max, under one mutex. The exporter takes
 * the whole list in one swap, so producers never wait behind an encode or a POST.
 *
 * A POST that fails drops its batch (counted): retrying would hold spans that newer ones need
 * the room of, and an OTLP collector that is down for a while loses them anyway. */
#include "obs/otlp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "obs/metrics.h"

#define BODY_CAP (64u << 20) /* one batch's JSON; batch_max bounds it well below */
#define ANSWER_CAP 4096      /* what we keep of the collector's answer (for the log) */

struct gw_otlp {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t done_cv; /* handled moved */
    pthread_t thread;
    struct gw_span *head, **tail;
    int n;
    uint64_t accepted, handled; /* spans queued in all; spans exported or dropped since */
    int flush;                  /* a flush was asked for */
    int stopping;               /* stop: send what is left until stop_at, then leave */
    int64_t stop_at_ms;
    atomic_uint_fast64_t exported, dropped_full, dropped_failed, batches;

    char *url;
    char **headers;
    struct curl_slist *slist;
    char *service_name;
    char *service_version;
    int queue_max, batch_max;
    int64_t interval_ms, timeout_ms;
    CURL *curl;
    int64_t last_warn_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void abs_deadline(struct timespec *ts, int64_t at_ms)
{
    /* The condition variable runs on CLOCK_MONOTONIC (see gw_otlp_start). */
    ts->tv_sec = (time_t)(at_ms / 1000);
    ts->tv_nsec = (long)(at_ms % 1000) * 1000000L;
}

static void free_list(struct gw_span *s)
{
    gw_span_free_list(s);
}

void gw_otlp_submit(struct gw_otlp *x, struct gw_span *s)
{
    if (!s)
        return;
    if (!x || !s->recording) {
        gw_span_free(s);
        return;
    }
    s->next = NULL;
    int dropped = 0;
    pthread_mutex_lock(&x->mu);
    if (x->n >= x->queue_max || x->stopping) {
        dropped = 1;
    } else {
        *x->tail = s;
        x->tail = &s->next;
        x->accepted++;
        if (++x->n >= x->batch_max)
            pthread_cond_signal(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
    if (dropped) {
        gw_span_free(s);
        atomic_fetch_add(&x->dropped_full, 1);
        gw_metrics_spans_dropped("queue_full", 1);
    }
}

void gw_otlp_flush(struct gw_otlp *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&x->mu);
    x->flush = 1;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

int gw_otlp_drain(struct gw_otlp *x, int64_t timeout_ms)
{
    if (!x)
        return 0;
    int64_t end = now_ms() + timeout_ms;
    pthread_mutex_lock(&x->mu);
    uint64_t want = x->accepted;
    x->flush = 1;
    pthread_cond_signal(&x->cv);
    while (x->handled < want && now_ms() < end) {
        struct timespec ts;
        abs_deadline(&ts, end);
        pthread_cond_timedwait(&x->done_cv, &x->mu, &ts);
    }
    int ok = x->handled >= want;
    pthread_mutex_unlock(&x->mu);
    return ok ? 0 : -1;
}

/* The exporter thread is done with n more spans. */
static void handled(struct gw_otlp *x, int n)
{
    pthread_mutex_lock(&x->mu);
    x->handled += (uint64_t)n;
    pthread_cond_broadcast(&x->done_cv);
    pthread_mutex_unlock(&x->mu);
}

void gw_otlp_stats(struct gw_otlp *x, struct gw_otlp_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!x)
        return;
    st->exported = atomic_load(&x->exported);
    st->dropped_full = atomic_load(&x->dropped_full);
    st->dropped_failed = atomic_load(&x->dropped_failed);
    st->batches = atomic_load(&x->batches);
    pthread_mutex_lock(&x->mu);
    st->queued = (uint64_t)x->n;
    pthread_mutex_unlock(&x->mu);
}

/* ---- the POST ------------------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct gw_buf *b = ud;
    size_t n = size * nmemb;
    size_t room = b->len < ANSWER_CAP ? ANSWER_CAP - b->len : 0;
    gw_buf_append(b, p, n < room ? n : room);
    return n;
}

/* Aborts a POST that runs past the stop deadline (the timeout bounds it otherwise). */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct gw_otlp *x = ud;
    pthread_mutex_lock(&x->mu);
    int late = x->stopping && now_ms() >= x->stop_at_ms;
    pthread_mutex_unlock(&x->mu);
    return late;
}

void gw_otlp_url_for_log(const char *url, char *out, size_t size)
{
    size_t n = strcspn(url, "?#");
    const char *p = strstr(url, "://");
    size_t host = p && (size_t)(p - url) < n ? (size_t)(p - url) + 3 : 0;
    size_t auth = host + strcspn(url + host, "/?#"); /* where the authority ends */
    const char *at = memchr(url + host, '@', auth - host);
    size_t skip = at ? (size_t)(at + 1 - (url + host)) : 0;
    snprintf(out, size, "%.*s%.*s", (int)host, url, (int)(n - host - skip), url + host + skip);
}

static void warn_failed(struct gw_otlp *x, const char *why, int nspans)
{
    int64_t t = now_ms();
    /* One line a minute at most: a dead collector must not flood the log. */
    if (x->last_warn_ms && t - x->last_warn_ms < 60000)
        return;
    x->last_warn_ms = t;
    char u[256];
    gw_otlp_url_for_log(x->url, u, sizeof u);
    gw_logf(AIGW_LOG_WARN, "otel", NULL, "export to %s failed (%s): %d spans dropped", u, why,
            nspans);
}

static void post(struct gw_otlp *x, struct gw_span *batch, int nspans)
{
    struct gw_buf body, answer;
    gw_buf_init(&body, BODY_CAP);
    gw_buf_init(&answer, ANSWER_CAP + 1);
    struct gw_otlp_resource res = {x->service_name, x->service_version};
    int rc = gw_otlp_encode(&res, batch, &body);
    long status = 0;
    char why[96] = "";
    if (rc) {
        snprintf(why, sizeof why, "encoding: error %d", rc);
    } else {
        CURL *c = x->curl;
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.ptr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
        CURLcode cc = curl_easy_perform(c);
        atomic_fetch_add(&x->batches, 1);
        if (cc != CURLE_OK)
            snprintf(why, sizeof why, "%s", curl_easy_strerror(cc));
        else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
                 status < 200 || status > 299)
            snprintf(why, sizeof why, "HTTP %ld", status);
    }
    if (why[0]) {
        atomic_fetch_add(&x->dropped_failed, (uint64_t)nspans);
        gw_metrics_spans_dropped("export_failed", nspans);
        warn_failed(x, why, nspans);
    } else {
        atomic_fetch_add(&x->exported, (uint64_t)nspans);
        gw_metrics_spans_exported(nspans);
    }
    gw_buf_free(&body);
    gw_buf_free(&answer);
}

/* Sends list in batches of batch_max. */
static void export_list(struct gw_otlp *x, struct gw_span *list)
{
    while (list) {
        struct gw_span *batch = list, *last = list;
        int n = 1;
        while (n < x->batch_max && last->next) {
            last = last->next;
            n++;
        }
        list = last->next;
        last->next = NULL;
        pthread_mutex_lock(&x->mu);
        int late = x->stopping && now_ms() >= x->stop_at_ms;
        pthread_mutex_unlock(&x->mu);
        if (late) {
            int left = n;
            for (struct gw_span *s = list; s; s = s->next)
                left++;
            atomic_fetch_add(&x->dropped_failed, (uint64_t)left);
            gw_metrics_spans_dropped("export_failed", left);
            free_list(batch);
            free_list(list);
            handled(x, left);
            return;
        }
        post(x, batch, n);
        free_list(batch);
        handled(x, n);
    }
}

static void *run(void *arg)
{
    struct gw_otlp *x = arg;
    int64_t next = now_ms() + x->interval_ms;
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->stopping && !x->flush && x->n < x->batch_max && (x->n == 0 || now_ms() < next)) {
            struct timespec ts;
            abs_deadline(&ts, x->n ? next : now_ms() + x->interval_ms);
            pthread_cond_timedwait(&x->cv, &x->mu, &ts);
        }
        struct gw_span *list = x->head;
        x->head = NULL;
        x->tail = &x->head;
        x->n = 0;
        x->flush = 0;
        int stopping = x->stopping;
        pthread_mutex_unlock(&x->mu);
        export_list(x, list);
        next = now_ms() + x->interval_ms;
        pthread_mutex_lock(&x->mu);
        if (stopping && !x->head)
            break;
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------ */

static void destroy(struct gw_otlp *x)
{
    if (!x)
        return;
    free_list(x->head);
    if (x->curl)
        curl_easy_cleanup(x->curl);
    curl_slist_free_all(x->slist);
    free(x->url);
    free(x->service_name);
    free(x->service_version);
    pthread_cond_destroy(&x->cv);
    pthread_cond_destroy(&x->done_cv);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

static int setup_curl(struct gw_otlp *x, const struct gw_otlp_opts *o)
{
    struct curl_slist *sl = curl_slist_append(NULL, "Content-Type: application/json");
    /* Expect: 100-continue would add a round trip to every batch over 1 KiB. */
    if (sl)
        sl = curl_slist_append(x->slist = sl, "Expect:");
    for (int i = 0; sl && o->headers && o->headers[i]; i++)
        sl = curl_slist_append(x->slist = sl, o->headers[i]);
    if (!sl)
        return AIGW_ENOMEM;
    x->slist = sl;
    CURL *c = x->curl = curl_easy_init();
    if (!c)
        return AIGW_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, x->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->slist);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)x->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)x->timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    return 0;
}

int gw_otlp_start(const struct gw_otlp_opts *o, struct gw_otlp **out)
{
    *out = NULL;
    if (!o || !o->url || o->queue_max < 1 || o->batch_max < 1 || o->interval_ms < 1 ||
        o->timeout_ms < 1)
        return AIGW_EINVAL;
    struct gw_otlp *x = calloc(1, sizeof *x);
    if (!x)
        return AIGW_ENOMEM;
    pthread_mutex_init(&x->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cv, &ca);
    pthread_cond_init(&x->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    x->tail = &x->head;
    x->queue_max = o->queue_max;
    x->batch_max = o->batch_max;
    x->interval_ms = o->interval_ms;
    x->timeout_ms = o->timeout_ms;
    x->url = strdup(o->url);
    x->service_name = strdup(o->resource.service_name ? o->resource.service_name : "aigw");
    x->service_version = o->resource.service_version ? strdup(o->resource.service_version) : NULL;
    int rc = x->url && x->service_name && (x->service_version || !o->resource.service_version)
                 ? setup_curl(x, o)
                 : AIGW_ENOMEM;
    if (!rc && pthread_create(&x->thread, NULL, run, x) != 0)
        rc = AIGW_ENOMEM;
    if (rc) {
        destroy(x);
        return rc;
    }
    *out = x;
    return 0;
}

void gw_otlp_stop(struct gw_otlp *x, int64_t deadline_ms)
{
    if (!x)
        return;
    pthread_mutex_lock(&x->mu);
    x->stopping = 1;
    x->stop_at_ms = now_ms() + (deadline_ms > 0 ? deadline_ms : 0);
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->thread, NULL);
    destroy(x);
}
