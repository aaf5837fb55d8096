/* trace - W3C trace context and span records (see trace.h). */
#include "obs/trace.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/crypto.h"

/* ---- W3C trace context --------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is invalid in traceparent */
}

/* n hex digits into n/2 bytes; -1 on a non-hex digit. *nonzero: any byte was not zero. */
static int unhex(const char *s, size_t n, uint8_t *out, int *nonzero)
{
    int any = 0;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
        any |= out[i / 2];
    }
    *nonzero = any != 0;
    return 0;
}

int gw_traceparent_parse(const char *s, size_t n, struct gw_trace_ctx *out)
{
    if (!s || n < GW_TRACEPARENT_LEN)
        return AIGW_EINVAL;
    uint8_t version, flags, tid[GW_TRACE_ID_LEN], sid[GW_SPAN_ID_LEN];
    int nz_tid, nz_sid, nz;
    if (unhex(s, 2, &version, &nz) < 0 || version == 0xff || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return AIGW_EINVAL;
    /* Version 00 is exactly this long; a later version may append fields after a '-'. */
    if (version == 0 ? n != GW_TRACEPARENT_LEN : n > GW_TRACEPARENT_LEN && s[55] != '-')
        return AIGW_EINVAL;
    if (unhex(s + 3, 32, tid, &nz_tid) < 0 || unhex(s + 36, 16, sid, &nz_sid) < 0 ||
        unhex(s + 53, 2, &flags, &nz) < 0 || !nz_tid || !nz_sid)
        return AIGW_EINVAL;
    memcpy(out->trace_id, tid, sizeof tid);
    memcpy(out->span_id, sid, sizeof sid);
    /* Only the sampled bit is ours to act on; others are not passed on as ours. */
    out->flags = flags & GW_TRACE_FLAG_SAMPLED;
    out->state = NULL;
    out->state_len = 0;
    return 0;
}

static int lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static int keychar(char c)
{
    return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

static int keychars(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!keychar(k[i]))
            return 0;
    return 1;
}

/* W3C key: simple-key (lcalpha, then up to 255 key chars), or tenant@system (tenant: lcalpha
 * or digit then up to 240; system: lcalpha then up to 13). */
static int key_ok(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at)
        return n >= 1 && n <= 256 && lcalpha(k[0]) && keychars(k + 1, n - 1);
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    return tn >= 1 && tn <= 241 && sn >= 1 && sn <= 14 &&
           (lcalpha(k[0]) || (k[0] >= '0' && k[0] <= '9')) && keychars(k + 1, tn - 1) &&
           lcalpha(at[1]) && keychars(at + 2, sn - 1);
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr excludes ',' and '='. */
static int value_ok(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

#define TRACESTATE_MEMBERS_MAX 32

int gw_tracestate_parse(const char *s, size_t n, struct gw_trace_ctx *ctx)
{
    ctx->state = NULL;
    ctx->state_len = 0;
    if (!s)
        return AIGW_EINVAL;
    const char *keys[TRACESTATE_MEMBERS_MAX];
    size_t klens[TRACESTATE_MEMBERS_MAX];
    int members = 0;
    size_t keep = 0; /* bytes of the members that fit in GW_TRACESTATE_MAX */
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        while (i < n && s[i] != ',')
            i++;
        size_t a = start, b = i; /* the member, OWS trimmed */
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (a < b) {
            const char *eq = memchr(s + a, '=', b - a);
            if (!eq || members == TRACESTATE_MEMBERS_MAX)
                return AIGW_EINVAL;
            size_t kn = (size_t)(eq - (s + a));
            if (!key_ok(s + a, kn) || !value_ok(eq + 1, b - a - kn - 1))
                return AIGW_EINVAL;
            for (int k = 0; k < members; k++)
                if (klens[k] == kn && !memcmp(keys[k], s + a, kn))
                    return AIGW_EINVAL; /* keys are unique */
            keys[members] = s + a;
            klens[members++] = kn;
            /* b only grows: the members that fit are a prefix. */
            if (b - (size_t)(keys[0] - s) <= GW_TRACESTATE_MAX)
                keep = b;
        }
        i++;
    }
    if (!members)
        return AIGW_EINVAL;
    /* Dropping members from the right is what the spec asks when a list must be cut. */
    size_t first = (size_t)(keys[0] - s);
    if (keep <= first)
        return AIGW_EINVAL; /* not even the first member fits */
    ctx->state = s + first;
    ctx->state_len = keep - first;
    return 0;
}

void gw_traceparent_format(const uint8_t trace_id[GW_TRACE_ID_LEN],
                           const uint8_t span_id[GW_SPAN_ID_LEN], uint8_t flags, char *out)
{
    memcpy(out, "00-", 3);
    gw_hex(trace_id, GW_TRACE_ID_LEN, out + 3);
    out[35] = '-';
    gw_hex(span_id, GW_SPAN_ID_LEN, out + 36);
    out[52] = '-';
    gw_hex(&flags, 1, out + 53);
    out[GW_TRACEPARENT_LEN] = '\0';
}

int gw_trace_ratio_sampled(double ratio, const uint8_t trace_id[GW_TRACE_ID_LEN])
{
    if (!(ratio > 0))
        return 0;
    if (ratio >= 1)
        return 1;
    /* The last 7 bytes are the random part W3C level 2 guarantees; sampled when they fall
     * under ratio * 2^56 (the same rule OpenTelemetry's consistent samplers use). */
    uint64_t r = 0;
    for (int i = 9; i < GW_TRACE_ID_LEN; i++)
        r = r << 8 | trace_id[i];
    /* Compared as integers: 56 bits do not fit a double's mantissa. */
    return r < (uint64_t)(ratio * 72057594037927936.0);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna), one state per thread. */
static uint64_t next64(void)
{
    static _Thread_local uint64_t st[4];
    static _Thread_local unsigned left;
    if (!left) {
        do
            gw_random_bytes(st, sizeof st);
        while (!(st[0] | st[1] | st[2] | st[3]));
        left = 65536;
    }
    left--;
    uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 45);
    return r;
}

void gw_trace_new_trace_id(uint8_t out[GW_TRACE_ID_LEN])
{
    uint64_t a, b;
    do {
        a = next64();
        b = next64();
    } while (!(a | b));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

void gw_trace_new_span_id(uint8_t out[GW_SPAN_ID_LEN])
{
    uint64_t a;
    do
        a = next64();
    while (!a);
    memcpy(out, &a, 8);
}

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
static struct gw_span *span_alloc(int recording, const char *name, int kind,
                                  const struct gw_span *base)
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
    if (!s && !(s = malloc(recording ? sizeof *s : offsetof(struct gw_span, start_ns))))
        return NULL;
    /* Only the header is cleared: names, attributes, events and the pool are read up to
     * their counts. */
    memset(s, 0, recording ? offsetof(struct gw_span, name) : offsetof(struct gw_span, start_ns));
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
    struct gw_span *s = span_alloc(sampled, name, kind, NULL);
    if (!s)
        return NULL;
    memcpy(s->trace_id, tid, sizeof tid);
    gw_trace_new_span_id(s->span_id);
    s->flags = sampled ? GW_TRACE_FLAG_SAMPLED : 0;
    if (parent) {
        memcpy(s->parent_id, parent->span_id, GW_SPAN_ID_LEN);
        s->has_parent = 1;
        s->parent_remote = 1;
        if (s->recording && parent->state && parent->state_len <= GW_TRACESTATE_MAX &&
            (s->state = pool_copy(s, parent->state, parent->state_len)))
            s->state_len = parent->state_len;
    }
    return s;
}

struct gw_span *gw_span_child(const struct gw_span *parent, const char *name, int kind)
{
    if (!parent)
        return NULL;
    struct gw_span *s = span_alloc(parent->recording, name, kind, parent);
    if (!s)
        return NULL;
    memcpy(s->trace_id, parent->trace_id, GW_TRACE_ID_LEN);
    memcpy(s->parent_id, parent->span_id, GW_SPAN_ID_LEN);
    gw_trace_new_span_id(s->span_id);
    s->has_parent = 1;
    s->flags = parent->flags;
    if (s->recording && parent->state &&
        (s->state = pool_copy(s, parent->state, parent->state_len)))
        s->state_len = parent->state_len;
    return s;
}

void gw_span_context(const struct gw_span *s, struct gw_trace_ctx *out)
{
    memcpy(out->trace_id, s->trace_id, GW_TRACE_ID_LEN);
    memcpy(out->span_id, s->span_id, GW_SPAN_ID_LEN);
    out->flags = s->flags;
    out->state = s->recording ? s->state : NULL;
    out->state_len = s->recording ? s->state_len : 0;
}

/* The longest prefix of at most max bytes that does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *v, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    /* Step back over continuation bytes, then drop the lead byte whose sequence is cut. */
    while (k > 0 && ((unsigned char)v[k] & 0xc0) == 0x80)
        k--;
    return k;
}

void gw_span_set_name(struct gw_span *s, const char *name)
{
    if (!s || !s->recording)
        return;
    size_t n = name ? strlen(name) : 0;
    n = utf8_cut(name ? name : "", n, sizeof s->name - 1);
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
    n = utf8_cut(v, n, GW_SPAN_STR_MAX);
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
        size_t len = utf8_cut(v[i], strlen(v[i]), GW_SPAN_STR_MAX);
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
    n = utf8_cut(v, n, cap);
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
        s->status_msg = pool_copy(s, msg, utf8_cut(msg, strlen(msg), GW_SPAN_STR_MAX));
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
