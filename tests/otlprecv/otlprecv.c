/* otlprecv - the test OTLP receiver (see otlprecv.h). One thread per connection: a stalled
 * request simply waits on the condition variable, which is all a test receiver needs. */
#include "otlprecv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#define BODY_CAP (16u << 20)
#define MAX_BATCHES 4096

struct batch {
    cJSON *body;
    cJSON *headers; /* object: lowercase name -> value */
};

struct otlprecv {
    struct MHD_Daemon *d;
    char url[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int status;
    int stall;
    int stopping;
    int posts, bad, spans;
    struct batch batches[MAX_BATCHES];
    int nbatches;
};

struct upload {
    char *p;
    size_t n, cap;
    int too_big;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result answer(struct MHD_Connection *c, int status, const char *body)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    char name[256];
    size_t i = 0;
    for (; key[i] && i < sizeof name - 1; i++)
        name[i] = (char)tolower((unsigned char)key[i]);
    name[i] = '\0';
    cJSON_AddStringToObject(cls, name, value ? value : "");
    return MHD_YES;
}

/* Spans in a well-formed ExportTraceServiceRequest, or -1. */
static int count_spans(const cJSON *body)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(body, "resourceSpans");
    if (!cJSON_IsArray(rs))
        return -1;
    int n = 0;
    const cJSON *r, *ss, *sp;
    cJSON_ArrayForEach(r, rs)
    {
        const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(r, "scopeSpans");
        if (!cJSON_IsArray(scopes))
            return -1;
        cJSON_ArrayForEach(ss, scopes)
        {
            const cJSON *spans = cJSON_GetObjectItemCaseSensitive(ss, "spans");
            if (!cJSON_IsArray(spans))
                return -1;
            cJSON_ArrayForEach(sp, spans)
            {
                if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sp, "traceId")) ||
                    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sp, "spanId")))
                    return -1;
                n++;
            }
        }
    }
    return n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **ctx)
{
    (void)version;
    struct otlprecv *r = cls;
    struct upload *u = *ctx;
    if (!u) {
        if (!(u = calloc(1, sizeof *u)))
            return MHD_NO;
        *ctx = u;
        return MHD_YES;
    }
    if (*size) {
        if (u->n + *size > BODY_CAP) {
            u->too_big = 1;
        } else {
            if (u->n + *size > u->cap) {
                size_t cap = (u->n + *size) * 2;
                char *p = realloc(u->p, cap + 1);
                if (!p)
                    return MHD_NO;
                u->p = p;
                u->cap = cap;
            }
            memcpy(u->p + u->n, data, *size);
            u->n += *size;
        }
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->mu);
    r->posts++;
    pthread_mutex_unlock(&r->mu);
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    int bad = 0, status = 0;
    const char *why = "{}";
    cJSON *body = NULL, *headers = NULL;
    if (strcmp(method, "POST") || strcmp(url, "/v1/traces")) {
        bad = 1, status = 404, why = "{\"error\":\"POST /v1/traces only\"}";
    } else if (!ct || strncmp(ct, "application/json", 16)) {
        bad = 1, status = 415, why = "{\"error\":\"application/json only\"}";
    } else if (u->too_big || !(body = cJSON_ParseWithLength(u->p ? u->p : "", u->n)) ||
               count_spans(body) < 0) {
        bad = 1, status = 400, why = "{\"error\":\"not an ExportTraceServiceRequest\"}";
    }
    if (!bad && (headers = cJSON_CreateObject()))
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, headers);
    pthread_mutex_lock(&r->mu);
    if (bad) {
        r->bad++;
    } else if (r->nbatches < MAX_BATCHES) {
        r->batches[r->nbatches].body = body;
        r->batches[r->nbatches++].headers = headers;
        r->spans += count_spans(body);
        body = headers = NULL;
        pthread_cond_broadcast(&r->cv);
    }
    while (r->stall && !r->stopping)
        pthread_cond_wait(&r->cv, &r->mu);
    if (!status)
        status = r->status;
    int stopping = r->stopping;
    pthread_mutex_unlock(&r->mu);
    cJSON_Delete(body);
    cJSON_Delete(headers);
    return stopping ? MHD_NO : answer(c, status, why);
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct upload *u = *ctx;
    if (u) {
        free(u->p);
        free(u);
    }
    *ctx = NULL;
}

struct otlprecv *otlprecv_start(void)
{
    struct otlprecv *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->status = 200;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL,
        NULL, handler, r, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
        completed, r, MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
    const union MHD_DaemonInfo *di =
        r->d ? MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!di || !di->port) {
        fprintf(stderr, "otlprecv: cannot listen on 127.0.0.1\n");
        otlprecv_stop(r);
        return NULL;
    }
    snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u", (unsigned)di->port);
    return r;
}

void otlprecv_stop(struct otlprecv *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->d)
        MHD_stop_daemon(r->d);
    for (int i = 0; i < r->nbatches; i++) {
        cJSON_Delete(r->batches[i].body);
        cJSON_Delete(r->batches[i].headers);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

const char *otlprecv_url(const struct otlprecv *r)
{
    return r->url;
}

void otlprecv_set_status(struct otlprecv *r, int status)
{
    pthread_mutex_lock(&r->mu);
    r->status = status;
    pthread_mutex_unlock(&r->mu);
}

void otlprecv_set_stall(struct otlprecv *r, int stall)
{
    pthread_mutex_lock(&r->mu);
    r->stall = stall;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int otlprecv_wait_spans(struct otlprecv *r, int n, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    pthread_mutex_lock(&r->mu);
    while (r->spans < n && now_ms() < end) {
        struct timespec ts = {(time_t)(end / 1000), (long)(end % 1000) * 1000000L};
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    int ok = r->spans >= n;
    pthread_mutex_unlock(&r->mu);
    return ok ? 0 : -1;
}

static int get_int(struct otlprecv *r, const int *field)
{
    pthread_mutex_lock(&r->mu);
    int v = *field;
    pthread_mutex_unlock(&r->mu);
    return v;
}

int otlprecv_span_count(struct otlprecv *r)
{
    return get_int(r, &r->spans);
}

int otlprecv_post_count(struct otlprecv *r)
{
    return get_int(r, &r->posts);
}

int otlprecv_bad_count(struct otlprecv *r)
{
    return get_int(r, &r->bad);
}

static const char *service_name(const cJSON *resource_spans)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(resource_spans, "resource"), "attributes");
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "key");
        if (cJSON_IsString(k) && !strcmp(k->valuestring, "service.name")) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(a, "value"), "stringValue");
            return cJSON_IsString(v) ? v->valuestring : NULL;
        }
    }
    return NULL;
}

cJSON *otlprecv_spans(struct otlprecv *r)
{
    cJSON *out = cJSON_CreateArray();
    pthread_mutex_lock(&r->mu);
    for (int i = 0; out && i < r->nbatches; i++) {
        const cJSON *rs, *ss, *sp;
        cJSON_ArrayForEach(rs,
                           cJSON_GetObjectItemCaseSensitive(r->batches[i].body, "resourceSpans"))
        {
            const char *svc = service_name(rs);
            cJSON_ArrayForEach(ss, cJSON_GetObjectItemCaseSensitive(rs, "scopeSpans"))
            {
                cJSON_ArrayForEach(sp, cJSON_GetObjectItemCaseSensitive(ss, "spans"))
                {
                    cJSON *copy = cJSON_Duplicate(sp, 1);
                    if (!copy)
                        continue;
                    cJSON_AddStringToObject(copy, "resource.service.name", svc ? svc : "");
                    cJSON_AddItemToArray(out, copy);
                }
            }
        }
    }
    pthread_mutex_unlock(&r->mu);
    return out;
}

cJSON *otlprecv_batch(struct otlprecv *r, int k)
{
    pthread_mutex_lock(&r->mu);
    cJSON *b = k >= 0 && k < r->nbatches ? cJSON_Duplicate(r->batches[k].body, 1) : NULL;
    pthread_mutex_unlock(&r->mu);
    return b;
}

char *otlprecv_header(struct otlprecv *r, int k, const char *name)
{
    char *v = NULL;
    pthread_mutex_lock(&r->mu);
    if (k >= 0 && k < r->nbatches) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(r->batches[k].headers, name);
        if (cJSON_IsString(h))
            v = strdup(h->valuestring);
    }
    pthread_mutex_unlock(&r->mu);
    return v;
}

static void value_text(const cJSON *v, char *buf, size_t size)
{
    const cJSON *x;
    buf[0] = '\0';
    if ((x = cJSON_GetObjectItemCaseSensitive(v, "stringValue")) && cJSON_IsString(x)) {
        snprintf(buf, size, "%s", x->valuestring);
    } else if ((x = cJSON_GetObjectItemCaseSensitive(v, "intValue"))) {
        /* OTLP/JSON sends 64-bit integers as strings; accept a number too. */
        if (cJSON_IsString(x))
            snprintf(buf, size, "%s", x->valuestring);
        else
            snprintf(buf, size, "%.0f", x->valuedouble);
    } else if ((x = cJSON_GetObjectItemCaseSensitive(v, "doubleValue"))) {
        snprintf(buf, size, "%.17g", x->valuedouble);
    } else if ((x = cJSON_GetObjectItemCaseSensitive(v, "boolValue"))) {
        snprintf(buf, size, "%s", cJSON_IsTrue(x) ? "true" : "false");
    } else if ((x = cJSON_GetObjectItemCaseSensitive(v, "arrayValue"))) {
        const cJSON *e;
        size_t n = 0;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(x, "values"))
        {
            char one[512];
            value_text(e, one, sizeof one);
            int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", one);
            if (w < 0 || (size_t)w >= size - n)
                break;
            n += (size_t)w;
        }
    }
}

const char *otlprecv_attr(const cJSON *span, const char *key, char *buf, size_t size)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(span, "attributes"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "key");
        if (cJSON_IsString(k) && !strcmp(k->valuestring, key)) {
            value_text(cJSON_GetObjectItemCaseSensitive(a, "value"), buf, size);
            return buf;
        }
    }
    return NULL;
}

const cJSON *otlprecv_find(const cJSON *spans, const char *name, int nth)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, spans)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(s, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name) && nth-- == 0)
            return s;
    }
    return NULL;
}
