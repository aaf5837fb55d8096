/*
 * guard_phase - the guardrail chain in the request's lifetime (guard/ is the service):
 *
 *   - the gateway's chain, counted: each configuration snapshot holds a reference on its
 *     chain, and a request takes one from its snapshot and keeps that chain to its end, so a
 *     reload (gw_gateway_swap_guards, then a new snapshot) never pulls it from under one;
 *   - the input stage, after admit and before the cache lookup: allow goes on, a rewrite
 *     changes the internal request (and the client's own body is no longer forwarded), a deny
 *     or a failure answers in the caller's dialect;
 *   - a guard's service call (host->fetch): made here on the worker's engine with the guard's
 *     deadline; the request sleeps meanwhile as it does for the shared cache;
 *   - what the request log, the metrics and the span say: outcomes and guard names, never
 *     what was matched.
 *
 * The output stage is deliver_guard.c.
 */
#include "proxy/req_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "obs/metrics.h"
#include "plugin/errors.h"
#include "proxy/snapshot.h"
#include "store/store.h"

/* ---- the gateway's chain ------------------------------------------------------------------ */

struct gw_guards {
    struct gw_guard_chain *chain;
    atomic_int refs;           /* the gateway's (while current) + one per request */
    struct gw_guards *retired; /* swapped out, freed by the main thread once unused */
};

struct gw_guards *gw_gateway_guards(struct gw_gateway *gw)
{
    pthread_mutex_lock(&gw->guards_lock);
    struct gw_guards *g = gw->guards && gw->guards->chain ? gw->guards : NULL;
    if (g)
        atomic_fetch_add(&g->refs, 1);
    pthread_mutex_unlock(&gw->guards_lock);
    return g;
}

struct gw_guards *gw_guards_ref(struct gw_guards *g)
{
    if (g && g->chain)
        atomic_fetch_add(&g->refs, 1);
    return g && g->chain ? g : NULL;
}

/* Chains are freed on the main thread only (libltdl is not thread-safe): a request dropping
 * the last reference of a retired chain leaves it for the next swap or gw_gateway_free. */
void gw_guards_release(struct gw_guards *g)
{
    if (g)
        atomic_fetch_sub(&g->refs, 1);
}

const struct gw_guard_chain *gw_guards_chain(const struct gw_guards *g)
{
    return g ? g->chain : NULL;
}

static void guards_free(struct gw_guards *g)
{
    gw_guard_chain_free(g->chain);
    free(g);
}

/* Frees the retired chains no request holds any more (all of them when all). Main thread. */
static void guards_reap(struct gw_gateway *gw, int all)
{
    pthread_mutex_lock(&gw->guards_lock);
    struct gw_guards **pp = gw->guards ? &gw->guards->retired : NULL, *dead = NULL;
    while (pp && *pp) {
        struct gw_guards *g = *pp;
        if (all || atomic_load(&g->refs) == 0) {
            *pp = g->retired;
            g->retired = dead;
            dead = g;
        } else {
            pp = &g->retired;
        }
    }
    if (all && gw->guards) {
        gw->guards->retired = dead;
        dead = gw->guards;
        gw->guards = NULL;
    }
    pthread_mutex_unlock(&gw->guards_lock);
    while (dead) {
        struct gw_guards *next = dead->retired;
        guards_free(dead);
        dead = next;
    }
}

void gw_gateway_swap_guards(struct gw_gateway *gw, struct gw_guard_chain *chain)
{
    struct gw_guards *g = calloc(1, sizeof *g);
    if (!g) {
        GW_ERROR("guardrails: out of memory; the previous chain stays");
        gw_guard_chain_free(chain);
        return;
    }
    g->chain = chain;
    atomic_init(&g->refs, 1);
    pthread_mutex_lock(&gw->guards_lock);
    struct gw_guards *old = gw->guards;
    g->retired = old; /* old's own retired list hangs off it */
    gw->guards = g;
    pthread_mutex_unlock(&gw->guards_lock);
    gw_guards_release(old); /* the gateway's reference */
    guards_reap(gw, 0);
}

void gw_gateway_guards_free(struct gw_gateway *gw)
{
    guards_reap(gw, 1);
}

/* ---- the input stage ---------------------------------------------------------------------- */

/* A deny or failure, answered in the caller's dialect. Returns negative (answered). */
static int refuse(struct gw_req *r)
{
    struct aigw_error err;
    if (gw_guard_error(r->guard, &err) < 0)
        gw_deliver_fail(r, 500, NULL, NULL, NULL, "out of memory");
    else
        gw_deliver_fail(r, err.status, err.type, err.code, err.param, err.message);
    return -1;
}

static void request_fetched(struct gw_req *r)
{
    pthread_mutex_lock(&r->relay.lock);
    r->guard_wait = 2;
    gw_relay_wake_locked(&r->relay);
    pthread_mutex_unlock(&r->relay.lock);
}

/* The texts only the client's own body carries (front/dialect.h's native_only), as one more
 * user message while the input guards run: what a native target would be sent, they read.
 * 0, or AIGW_ENOMEM. */
static int extra_add(struct gw_req *r)
{
    const cJSON *t;
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(r->parsed.body, "messages");
    if (!cJSON_GetArraySize(r->parsed.native_only) || !cJSON_IsArray(msgs))
        return 0;
    cJSON *m = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(m, "content");
    if (!parts || !cJSON_AddStringToObject(m, "role", "user")) {
        cJSON_Delete(m);
        return AIGW_ENOMEM;
    }
    cJSON_ArrayForEach(t, r->parsed.native_only)
    {
        cJSON *p = cJSON_CreateObject();
        if (!cJSON_AddItemToArray(parts, p) || !cJSON_AddStringToObject(p, "type", "text") ||
            !cJSON_AddStringToObject(p, "text", t->valuestring)) {
            cJSON_Delete(m);
            return AIGW_ENOMEM;
        }
    }
    if (!cJSON_AddItemToArray(msgs, m)) {
        cJSON_Delete(m);
        return AIGW_ENOMEM;
    }
    r->guard_extra = m;
    return 0;
}

/* The guards are done with the request: the extra message goes (a guard's edit of it too: a
 * rewritten request is forwarded translated, where those texts do not exist). */
static void extra_drop(struct gw_req *r)
{
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(r->parsed.body, "messages");
    if (r->guard_extra && msgs)
        cJSON_Delete(cJSON_DetachItemViaPointer(msgs, r->guard_extra));
    r->guard_extra = NULL;
}

/* FNV-1a over every string under v (with its member name), each ended by a byte no UTF-8
 * text has: whether a rewrite changed a text (a redaction), not only a number such as the
 * max_tokens max-size sets or adds. */
static uint64_t texts_hash(const cJSON *v, uint64_t h)
{
    for (; v; v = v->next) {
        if (cJSON_IsString(v)) {
            const char *s[2] = {v->string, v->valuestring};
            for (int k = 0; k < 2; k++) {
                for (const unsigned char *p = (const unsigned char *)s[k]; p && *p; p++)
                    h = (h ^ *p) * 1099511628211u;
                h = (h ^ 0xffu) * 1099511628211u;
            }
        }
        h = texts_hash(v->child, h);
    }
    return h;
}

#define TEXTS_SEED 14695981039346656037u

/* One pass of the request hooks, from where the chain stopped. */
static int request_stage(struct gw_req *r)
{
    int v = gw_guard_on_request(r->guard, r->parsed.body);
    while (v == GW_GUARD_PENDING) {
        r->guard_wait = 1;
        if (gw_guard_fetch_start(r, request_fetched) == 0)
            return 1;
        r->guard_wait = 0;
        /* The call failed at once: settles it (fail_open goes on, maybe to another call). */
        v = gw_guard_on_request(r->guard, r->parsed.body);
    }
    extra_drop(r);
    if (gw_guard_rewrote(r->guard)) {
        r->guard_no_native = 1; /* what the guards let through is what the upstream sees */
        r->parsed.guard_rewrote =
            r->guard_texts && (texts_hash(r->parsed.body, TEXTS_SEED) | 1) != r->guard_texts;
    }
    if (v == GW_GUARD_ALLOW)
        return 0;
    if (v == GW_GUARD_DENY)
        gw_buf_free(&r->log_req); /* log.bodies: what a guard matched is never stored */
    if (v == GW_GUARD_DENY || v == GW_GUARD_FAILED)
        return refuse(r);
    gw_deliver_fail(r, 500, NULL, NULL, NULL, "a guardrail could not run");
    return -1;
}

/* The guards a gateway key names in its metadata ({"guardrails": ["name", ...]}): the
 * entries with keys_only that run for its requests. Names no entry has are ignored. */
#define KEY_GUARDS_MAX GW_GUARD_MAX_ENTRIES

static cJSON *key_guards(const struct gw_req *r, const char *names[KEY_GUARDS_MAX + 1])
{
    size_t n = 0;
    names[0] = NULL;
    /* parsed only when some entry is keys_only: otherwise no name can change what runs */
    cJSON *meta = r->key && r->key->metadata_json && gw_guard_chain_keys_only(r->guards->chain)
                      ? cJSON_Parse(r->key->metadata_json)
                      : NULL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(meta, "guardrails"), *it;
    if (!cJSON_IsArray(list))
        list = NULL;
    cJSON_ArrayForEach(it, list)
    {
        if (cJSON_IsString(it) && n < KEY_GUARDS_MAX)
            names[n++] = it->valuestring;
    }
    names[n] = NULL;
    return meta;
}

int gw_phase_guard(struct gw_req *r)
{
    r->guards = gw_guards_ref(r->snap->guards); /* its configuration's chain (snapshot.h) */
    if (!r->guards)
        return 0;
    const char *named[KEY_GUARDS_MAX + 1];
    cJSON *meta = key_guards(r, named);
    struct gw_guard_run_opts o = {
        .op = r->parsed.op,
        .stream = r->parsed.stream,
        .model = r->parsed.model,
        .inbound = r->dialect->name,
        .request_id = r->request_id,
        .named = named,
    };
    r->guard = gw_guard_run_new(r->guards->chain, &o);
    cJSON_Delete(meta);
    if (!r->guard) {
        gw_deliver_fail(r, 500, NULL, NULL, NULL, "out of memory");
        return -1;
    }
    if (!gw_guard_chain_has(r->guards->chain, AIGW_GUARD_INPUT))
        return 0;
    /* Responses keeps what the client sent unless a guard changed a text of it (its store
     * must not hold what a guard matched); only that dialect pays for the hash. */
    if (!strcmp(r->dialect->name, "responses"))
        r->guard_texts = texts_hash(r->parsed.body, TEXTS_SEED) | 1;
    if (extra_add(r) < 0) {
        gw_deliver_fail(r, 500, NULL, NULL, NULL, "out of memory");
        return -1;
    }
    return request_stage(r);
}

int gw_phase_guard_resume(struct gw_req *r)
{
    pthread_mutex_lock(&r->relay.lock);
    r->guard_wait = 0;
    pthread_mutex_unlock(&r->relay.lock);
    return request_stage(r);
}

/* ---- a guard's service call --------------------------------------------------------------- */

struct gw_guard_fetch {
    struct gw_req *r;
    void (*done)(struct gw_req *r);
    struct gw_xfer *xfer;
    struct gw_header *headers;
    struct gw_buf body;
    int status;
    int64_t started_ms;
};

static void fetch_free(struct gw_guard_fetch *f)
{
    while (f->headers) {
        struct gw_header *h = f->headers;
        f->headers = h->next;
        free(h->name);
        free(h);
    }
    gw_buf_free(&f->body);
    free(f);
}

static int f_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    (void)ud, (void)name, (void)nlen, (void)value, (void)vlen;
    return 0; /* the guard reads the status and the body only */
}

static int f_status(void *ud, int status)
{
    struct gw_guard_fetch *f = ud;
    f->status = status;
    return 0;
}

static int f_data(void *ud, const char *p, size_t n)
{
    struct gw_guard_fetch *f = ud;
    size_t room = GW_GUARD_FETCH_BODY_CAP - f->body.len;
    gw_buf_append(&f->body, p, n < room ? n : room); /* the rest is cut, as documented */
    return 0;
}

static void f_done(void *ud, int result)
{
    struct gw_guard_fetch *f = ud;
    struct gw_req *r = f->r;
    if (result == GW_XFER_OK)
        gw_guard_fetch_done(r->guard, f->status, f->body.ptr ? f->body.ptr : "", f->body.len,
                            gw_now_ms() - f->started_ms);
    else
        gw_guard_fetch_failed(r->guard, gw_xfer_result_name(result));
    gw_xfer_unref(f->xfer);
    r->gfetch = NULL;
    void (*done)(struct gw_req *) = f->done;
    fetch_free(f);
    done(r);
    gw_req_unref(r); /* the call's reference */
}

static const struct gw_xfer_ops fetch_ops = {
    .on_header = f_header,
    .on_status = f_status,
    .on_data = f_data,
    .on_done = f_done,
};

/* "Name: value" lines -> a header list (copies; the values are secret: never logged). */
static int fetch_headers(struct gw_guard_fetch *f, const char *const *lines)
{
    struct gw_header **tail = &f->headers;
    for (size_t i = 0; lines && lines[i]; i++) {
        const char *colon = strchr(lines[i], ':');
        if (!colon)
            return AIGW_EINVAL;
        struct gw_header *h = calloc(1, sizeof *h);
        char *copy = h ? strdup(lines[i]) : NULL;
        if (!copy) {
            free(h);
            return AIGW_ENOMEM;
        }
        copy[colon - lines[i]] = '\0';
        const char *v = copy + (colon - lines[i]) + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        h->name = copy;
        h->value = (char *)v;
        h->flags = AIGW_HDR_SECRET;
        *tail = h;
        tail = &h->next;
    }
    return 0;
}

int gw_guard_fetch_start(struct gw_req *r, void (*done)(struct gw_req *r))
{
    const struct gw_guard_fetch_req *q = gw_guard_fetch_request(r->guard);
    if (!q)
        return AIGW_EINVAL;
    struct gw_guard_fetch *f = calloc(1, sizeof *f);
    int rc = f ? fetch_headers(f, q->headers) : AIGW_ENOMEM;
    if (rc < 0) {
        if (f)
            fetch_free(f);
        gw_guard_fetch_failed(r->guard, "the call could not be prepared");
        return rc;
    }
    f->r = r;
    f->done = done;
    f->started_ms = gw_now_ms();
    gw_buf_init(&f->body, GW_GUARD_FETCH_BODY_CAP);
    int64_t t = q->timeout_ms;
    struct gw_xfer_req xr = {
        .method = q->method,
        .url = q->url,
        .headers = f->headers,
        .body = q->body,
        .body_len = q->body_len,
        .connect_timeout_ms = t,
        .first_byte_timeout_ms = t,
        .idle_timeout_ms = t,
        .total_timeout_ms = t, /* the guard's deadline, whatever the service does */
    };
    gw_logf(AIGW_LOG_DEBUG, "guard", r->request_id, "guardrail %s: calling its service (%lld ms)",
            q->guard, (long long)t);
    atomic_fetch_add(&r->refs, 1); /* the call's: its answer may outlive the client */
    r->gfetch = f;
    rc = gw_upstream_start(gw_upstream_here(r->gw->upstream), &xr, &fetch_ops, f, &f->xfer);
    if (rc < 0) {
        r->gfetch = NULL;
        atomic_fetch_sub(&r->refs, 1);
        fetch_free(f);
        gw_guard_fetch_failed(r->guard, "the call could not be started");
        return rc;
    }
    return 0;
}

/* ---- what is said about it ---------------------------------------------------------------- */

void gw_guard_req_free(struct gw_req *r)
{
    gw_guard_run_free(r->guard); /* counts the run into its chain */
    r->guard = NULL;
    gw_guards_release(r->guards);
    r->guards = NULL;
}

/* The metric's and the manual's word for an outcome. */
static const char *metric_outcome(int o)
{
    return o == GW_GUARD_O_FAIL_CLOSED ? "error" : gw_guard_outcome_name(o);
}

void gw_guard_req_outcome(const struct gw_req *r, char *out, size_t size, const char **word)
{
    int top = GW_GUARD_O_NONE;
    size_t n = r->guard ? gw_guard_chain_size(r->guards->chain) : 0;
    for (size_t i = 0; i < n; i++) {
        int a = gw_guard_run_outcome(r->guard, i, AIGW_GUARD_INPUT);
        int b = gw_guard_run_outcome(r->guard, i, AIGW_GUARD_OUTPUT);
        top = a > top ? a : top;
        top = b > top ? b : top;
    }
    *word = top == GW_GUARD_O_NONE ? NULL : metric_outcome(top);
    const char *by = gw_guard_blocked_by(r->guard);
    if (!*word) {
        if (size) /* no guard acted (and none configured): no printf for an empty string */
            out[0] = '\0';
    } else if (by)
        snprintf(out, size, "%s:%s", *word, by);
    else
        snprintf(out, size, "%s", *word);
}

void gw_guard_req_metrics(const struct gw_req *r)
{
    size_t n = r->guard ? gw_guard_chain_size(r->guards->chain) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = gw_guard_chain_entry(r->guards->chain, i, NULL, NULL);
        int a = gw_guard_run_outcome(r->guard, i, AIGW_GUARD_INPUT);
        int b = gw_guard_run_outcome(r->guard, i, AIGW_GUARD_OUTPUT);
        if (a != GW_GUARD_O_NONE)
            gw_metrics_guard(name, "request", metric_outcome(a));
        if (b != GW_GUARD_O_NONE)
            gw_metrics_guard(name, "response", metric_outcome(b));
    }
}
