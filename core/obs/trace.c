/* trace - span records: allocation and recycling, attributes, events, status (see trace.h).
 * The W3C trace context and id generation are in trace_context.c. */
#include "obs/trace.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/utf8.h"

int64_t gw_trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Now on the span's clock: its wall-clock start plus monotonic time since, so a clock step
 * during a request cannot give a negative duration. */
static int64_t span_now(const struct gw_span *s)
{
    return s->start_ns + (mono_ns() - s->start_mono_ns);
}

/* ---- spans --------------------------------------------------------------------------------- */

/* Recycled blocks of recording spans: request threads take, the exporter gives back whole
 * batches. Bounded: past the cap blocks go back to malloc. */
#define SPAN_CACHE_MAX 1024

static struct {
    pthread_mutex_t mu;
    struct gw_span *head;
    int n;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

/* base: a span of the same request whose wall-clock start this one derives its own from (one
 * clock read fewer; clock_gettime is not cheap on every virtual machine), or NULL. */
#define SPAN_HEAD offsetof(struct gw_span, start_ns) /* what a span not recording has */

/* extra: bytes after the head of a span not recording (its tracestate). */
static struct gw_span *span_alloc(int recording, const char *name, int kind,
                                  const struct gw_span *base, size_t extra)
{
    struct gw_span *s = NULL;
    if (recording) {
        pthread_mutex_lock(&cache.mu);
        if ((s = cache.head)) {
            cache.head = s->next;
            cache.n--;
        }
        pthread_mutex_unlock(&cache.mu);
    }
    if (!s && !(s = malloc(recording ? sizeof *s : SPAN_HEAD + extra)))
        return NULL;
    /* Only the header is cleared: names, attributes, events and the pool are read up to
     * their counts. */
    memset(s, 0, recording ? offsetof(struct gw_span, name) : SPAN_HEAD);
    s->recording = (uint8_t)(recording != 0);
    s->kind = kind;
    if (!recording)
        return s; /* its times are never sent */
    s->start_mono_ns = mono_ns();
    s->start_ns = base && base->recording
                      ? base->start_ns + (s->start_mono_ns - base->start_mono_ns)
                      : gw_trace_now_ns();
    gw_span_set_name(s, name);
    return s;
}

/* Copies n bytes into the pool; NULL when it is full. */
static const char *pool_copy(struct gw_span *s, const char *v, size_t n)
{
    if (n + 1 > sizeof s->pool - s->pool_used)
        return NULL;
    char *p = s->pool + s->pool_used;
    memcpy(p, v, n);
    p[n] = '\0';
    s->pool_used += n + 1;
    return p;
}

/* Keeps the tracestate the span passes on: in the pool, or in the extra bytes span_alloc
 * gave a span not recording (n + 1 of them). */
static void keep_state(struct gw_span *s, const char *state, size_t n)
{
    if (!state || !n || n > GW_TRACESTATE_MAX)
        return;
    if (s->recording) {
        if ((s->state = pool_copy(s, state, n)))
            s->state_len = n;
        return;
    }
    char *p = (char *)s + SPAN_HEAD;
    memcpy(p, state, n);
    p[n] = '\0';
    s->state = p;
    s->state_len = n;
}

static size_t state_room(const char *state, size_t n)
{
    return state && n && n <= GW_TRACESTATE_MAX ? n + 1 : 0;
}

struct gw_span *gw_span_start(const struct gw_trace_ctx *parent, double ratio, const char *name,
                              int kind)
{
    uint8_t tid[GW_TRACE_ID_LEN];
    int sampled;
    if (parent) {
        memcpy(tid, parent->trace_id, sizeof tid);
        sampled = parent->flags & GW_TRACE_FLAG_SAMPLED;
    } else {
        gw_trace_new_trace_id(tid);
        sampled = gw_trace_ratio_sampled(ratio, tid);
    }
    struct gw_span *s = span_alloc(sampled, name, kind, NULL,
                                   parent ? state_room(parent->state, parent->state_len) : 0);
    if (!s)
        return NULL;
    memcpy(s->trace_id, tid, sizeof tid);
    gw_trace_new_span_id(s->span_id);
    s->flags = sampled ? GW_TRACE_FLAG_SAMPLED : 0;
    if (parent) {
        memcpy(s->parent_id, parent->span_id, GW_SPAN_ID_LEN);
        s->has_parent = 1;
        s->parent_remote = 1;
        keep_state(s, parent->state, parent->state_len);
    }
    return s;
}

struct gw_span *gw_span_child(const struct gw_span *parent, const char *name, int kind)
{
    if (!parent)
        return NULL;
    struct gw_span *s = span_alloc(parent->recording, name, kind, parent,
                                   state_room(parent->state, parent->state_len));
    if (!s)
        return NULL;
    memcpy(s->trace_id, parent->trace_id, GW_TRACE_ID_LEN);
    memcpy(s->parent_id, parent->span_id, GW_SPAN_ID_LEN);
    gw_trace_new_span_id(s->span_id);
    s->has_parent = 1;
    s->flags = parent->flags;
    keep_state(s, parent->state, parent->state_len);
    return s;
}

void gw_span_context(const struct gw_span *s, struct gw_trace_ctx *out)
{
    memcpy(out->trace_id, s->trace_id, GW_TRACE_ID_LEN);
    memcpy(out->span_id, s->span_id, GW_SPAN_ID_LEN);
    out->flags = s->flags;
    out->state = s->state;
    out->state_len = s->state_len;
}

void gw_span_set_name(struct gw_span *s, const char *name)
{
    if (!s || !s->recording)
        return;
    size_t n = name ? strlen(name) : 0;
    n = gw_utf8_cut(name ? name : "", n, sizeof s->name - 1);
    memcpy(s->name, name ? name : "", n);
    s->name[n] = '\0';
}

/* The slot for key: the existing one, a new one, or NULL (table full: counted as dropped). */
static struct gw_span_attr *slot(struct gw_span *s, const char *key)
{
    size_t kn = strlen(key);
    for (int i = 0; i < s->nattrs; i++)
        if (s->attrs[i].key == key || (s->attrs[i].klen == kn && !memcmp(s->attrs[i].key, key, kn)))
            return &s->attrs[i];
    if (s->nattrs == GW_SPAN_MAX_ATTRS) {
        s->dropped_attrs++;
        return NULL;
    }
    struct gw_span_attr *a = &s->attrs[s->nattrs++];
    a->key = key;
    a->klen = (uint16_t)(kn < UINT16_MAX ? kn : UINT16_MAX);
    return a;
}

/* Undoes a slot handed out for a value that then did not fit. */
static void unslot(struct gw_span *s, struct gw_span_attr *a)
{
    size_t i = (size_t)(a - s->attrs);
    memmove(a, a + 1, (size_t)(s->nattrs - 1 - (int)i) * sizeof *a);
    s->nattrs--;
    s->dropped_attrs++;
}

void gw_span_set_str(struct gw_span *s, const char *key, const char *v, size_t n)
{
    if (!s || !s->recording || !key || !v)
        return;
    struct gw_span_attr *a = slot(s, key);
    if (!a)
        return;
    n = gw_utf8_cut(v, n, GW_SPAN_STR_MAX);
    const char *p = pool_copy(s, v, n);
    if (!p) {
        unslot(s, a);
        return;
    }
    a->type = GW_ATTR_STR;
    a->len = (uint32_t)n;
    a->v.s = p;
}

void gw_span_set_cstr(struct gw_span *s, const char *key, const char *v)
{
    if (v)
        gw_span_set_str(s, key, v, strlen(v));
}

void gw_span_set_int(struct gw_span *s, const char *key, int64_t v)
{
    struct gw_span_attr *a = s && s->recording && key ? slot(s, key) : NULL;
    if (a) {
        a->type = GW_ATTR_INT;
        a->v.i = v;
    }
}

void gw_span_set_double(struct gw_span *s, const char *key, double v)
{
    /* JSON has no NaN or infinity; a value we cannot send is no value. */
    struct gw_span_attr *a = s && s->recording && key && isfinite(v) ? slot(s, key) : NULL;
    if (a) {
        a->type = GW_ATTR_DOUBLE;
        a->v.d = v;
    }
}

void gw_span_set_bool(struct gw_span *s, const char *key, int v)
{
    struct gw_span_attr *a = s && s->recording && key ? slot(s, key) : NULL;
    if (a) {
        a->type = GW_ATTR_BOOL;
        a->v.b = v != 0;
    }
}

void gw_span_set_strs(struct gw_span *s, const char *key, const char *const *v, int n)
{
    if (!s || !s->recording || !key || n < 0)
        return;
    struct gw_span_attr *a = slot(s, key);
    if (!a)
        return;
    /* The strings go into the pool back to back, each NUL-terminated. */
    size_t start = s->pool_used;
    int count = 0;
    for (int i = 0; i < n && count < GW_SPAN_STRS_MAX; i++) {
        if (!v[i])
            continue;
        size_t len = gw_utf8_cut(v[i], strlen(v[i]), GW_SPAN_STR_MAX);
        if (!pool_copy(s, v[i], len)) {
            s->pool_used = start;
            unslot(s, a);
            return;
        }
        count++;
    }
    a->type = GW_ATTR_STRS;
    a->count = (uint32_t)count;
    a->len = (uint32_t)(s->pool_used - start);
    a->v.s = s->pool + start;
}

void gw_span_set_big(struct gw_span *s, const char *key, const char *v, size_t n, size_t cap)
{
    if (!s || !s->recording || !key || !v)
        return;
    int k = 0;
    while (k < GW_SPAN_BIG_MAX && s->big[k])
        k++;
    struct gw_span_attr *a = k < GW_SPAN_BIG_MAX ? slot(s, key) : NULL;
    if (!a) {
        if (k == GW_SPAN_BIG_MAX)
            s->dropped_attrs++;
        return;
    }
    n = gw_utf8_cut(v, n, cap);
    char *p = malloc(n + 1);
    if (!p) {
        unslot(s, a);
        return;
    }
    memcpy(p, v, n);
    p[n] = '\0';
    s->big[k] = p;
    a->type = GW_ATTR_STR;
    a->len = (uint32_t)n;
    a->v.s = p;
}

void gw_span_add_event(struct gw_span *s, const char *name, int64_t time_ns)
{
    if (!s || !s->recording || !name)
        return;
    if (s->nevents == GW_SPAN_MAX_EVENTS) {
        s->dropped_events++;
        return;
    }
    s->events[s->nevents].name = name;
    s->events[s->nevents++].time_ns = time_ns ? time_ns : span_now(s);
}

void gw_span_set_status(struct gw_span *s, int status, const char *msg)
{
    if (!s || !s->recording)
        return;
    s->status = status;
    s->status_msg = NULL;
    /* Only an error carries a description (OTLP says so for the other codes too). */
    if (msg && status == GW_SPAN_ERROR)
        s->status_msg = pool_copy(s, msg, gw_utf8_cut(msg, strlen(msg), GW_SPAN_STR_MAX));
}

int64_t gw_span_elapsed_ns(const struct gw_span *s)
{
    return s && s->recording ? mono_ns() - s->start_mono_ns : 0;
}

void gw_span_end(struct gw_span *s)
{
    if (s && s->recording && !s->end_ns)
        s->end_ns = span_now(s);
}

void gw_span_free_list(struct gw_span *list)
{
    struct gw_span *keep = NULL, *spill = NULL;
    while (list) {
        struct gw_span *s = list;
        list = s->next;
        if (s->recording) {
            for (int k = 0; k < GW_SPAN_BIG_MAX; k++)
                free(s->big[k]);
            s->next = keep;
            keep = s;
        } else {
            free(s);
        }
    }
    if (keep) {
        pthread_mutex_lock(&cache.mu);
        while (keep && cache.n < SPAN_CACHE_MAX) {
            struct gw_span *s = keep;
            keep = s->next;
            s->next = cache.head;
            cache.head = s;
            cache.n++;
        }
        spill = keep;
        pthread_mutex_unlock(&cache.mu);
    }
    while (spill) {
        struct gw_span *s = spill;
        spill = s->next;
        free(s);
    }
}

void gw_span_free(struct gw_span *s)
{
    if (s) {
        s->next = NULL;
        gw_span_free_list(s);
    }
}

void gw_trace_cache_drop(void)
{
    pthread_mutex_lock(&cache.mu);
    struct gw_span *s = cache.head;
    cache.head = NULL;
    cache.n = 0;
    pthread_mutex_unlock(&cache.mu);
    while (s) {
        struct gw_span *next = s->next;
        free(s);
        s = next;
    }
}

const struct gw_span_attr *gw_span_attr(const struct gw_span *s, const char *key)
{
    if (!s || !s->recording || !key)
        return NULL;
    for (int i = 0; i < s->nattrs; i++)
        if (!strcmp(s->attrs[i].key, key))
            return &s->attrs[i];
    return NULL;
}
