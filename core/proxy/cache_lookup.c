/*
 * cache_lookup - the phase that answers a request from an exact earlier answer, and the
 * recorder that keeps new answers (cache/ is the service; cache_shared.c the gateway's side).
 *
 * Lookup (after admit, before route: a hit claims no target and needs no healthy provider):
 * the request's key (scope, endpoint, model, canonical body; cache/key.h). In memory the
 * answer is there or not at once. In Redis the lookup is sent on the worker's connection and
 * the request sleeps; the reply (or the deadline, or a dead connection) wakes it, and
 * gw_phase_cache_resume goes on from there, in the access handler as every phase does.
 *
 * A hit is replayed chunk by chunk through the request's own dialect (cache/chunklog.h), so
 * it is a well-formed answer streamed or not, whichever way the stored one came; it costs $0
 * and never reaches an upstream. A miss goes on to route; its answer is recorded as it is
 * delivered and kept when it ended whole and successful.
 */
#include "proxy/req_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cache/chunklog.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "plugin/usage.h"
#include "proxy/cache_int.h"
#include "store/store.h"

static const char *header(struct gw_req *r, const char *name)
{
    return r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name) : NULL;
}

/* Every Cache-Control and X-Gateway-Cache field line counts: Cache-Control is a list (RFC
 * 9110 5.3), so a directive on a line of its own (a proxy adds one) means what it says. */
static enum MHD_Result add_directives(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct gw_cache_directives *d = cls, one;
    if (!key || !value)
        return MHD_YES;
    if (!strcasecmp(key, "Cache-Control"))
        gw_cache_directives(value, NULL, &one);
    else if (!strcasecmp(key, "X-Gateway-Cache"))
        gw_cache_directives(NULL, value, &one);
    else
        return MHD_YES;
    d->no_lookup |= one.no_lookup;
    d->no_store |= one.no_store;
    return MHD_YES;
}

/* Whose cache this request reads: "" under scope global. Under scope key, the gateway key's
 * public id when the caller presented one; else the static key presented, as a hash (the
 * secret is never kept, and the cache key hashes it again): the same credential the
 * authenticate phase accepted, so two keys never share an entry. */
static void scope_of(struct gw_req *r, int scope, char out[48])
{
    out[0] = '\0';
    if (scope == GW_CACHE_SCOPE_GLOBAL)
        return;
    if (r->key) {
        /* A gateway key: its public id, so a rotated secret keeps the key's entries. */
        snprintf(out, 48, "key:%s", r->key->id);
        return;
    }
    const char *auth = header(r, "Authorization");
    const char *tok = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
    if (!tok)
        tok = header(r, "x-api-key");
    if (!tok || !*tok)
        return; /* no credential: the anonymous callers' one cache */
    unsigned char h[32];
    char hex[65];
    gw_sha256(tok, strlen(tok), h);
    gw_hex(h, 16, hex);
    memcpy(out, "cred:", 5);
    memcpy(out + 5, hex, 33);
}

/* ---- replay ------------------------------------------------------------------------------ */

/* The relay's back-pressure, for the replay: go on (0), pause (1), or the client left. */
static int replay_gate(void *ud)
{
    struct gw_req *r = ud;
    if (r->gfetch)
        return 1; /* a guard's call is out: resumed when it ends */
    int g = gw_relay_gate(&r->relay);
    return g < 0 ? AIGW_EINTERNAL : g;
}

/* Replays what the relay has room for; at the end (or on a failure) the answer is finished.
 * A stream larger than the relay goes on as the client drains it (gw_cache_replay_resume,
 * from the consumer's side), as an upstream transfer would. */
static void replay_step(struct gw_req *r)
{
    struct gw_cache_val *v = r->cache_val;
    int rc =
        gw_cache_log_replay_some(v->data, v->len, &r->cache_pos, gw_deliver_chunk, replay_gate, r);
    if (rc > 0)
        return;
    r->cache_replaying = 0;
    r->cache_val = NULL;
    gw_cache_val_unref(v);
    gw_deliver_finish(r, rc);
}

void gw_cache_replay_resume(struct gw_req *r)
{
    if (r->cache_replaying)
        replay_step(r);
}

/* Answers r from v (a checked log; its reference is the request's now). Returns negative:
 * the request is answered (or being answered, as the client reads). */
static int replay(struct gw_req *r, struct gw_cache_val *v)
{
    char model[256];
    gw_cache_log_model(v->data, v->len, model, sizeof model);
    r->cache_hit = 1;
    r->cache_status = "hit";
    /* A keyed request with an allowlist or a budget was routed when it was admitted: no
     * target answers a hit, so none is named in its headers, log rows and provider metrics.
     * The plan is set aside, not lost: an output guard may send the hit upstream. So is the
     * recorder (it keeps nothing while the hit replays). */
    r->cache_route_n = r->route.n;
    memcpy(r->cache_route_label, r->route.label, sizeof r->cache_route_label);
    r->route.n = 0;
    r->route.label[0] = '\0';
    /* Counted when the answer ends (gw_cache_hit_final): an output guard may yet send it
     * upstream, and then it is a miss in its header, its log row and the metric alike. */
    r->render =
        r->dialect->render_new(&r->parsed, model[0] ? model : r->parsed.model, r->request_id);
    if (!r->render) {
        gw_cache_val_unref(v);
        gw_cache_hit_final(r);
        gw_deliver_fail(r, 500, NULL, NULL, NULL, "out of memory");
        return AIGW_ENOMEM;
    }
    r->cache_val = v;
    r->cache_pos = 0;
    r->cache_replaying = 1;
    replay_step(r);
    r->answer = MHD_YES; /* the relay holds the answer: gw_req_run queues it */
    return -1;
}

/* A miss; error: the shared cache failed to answer (counted apart, answered as a miss). */
static void miss(struct gw_req *r, int error)
{
    r->cache_status = "miss";
    gw_metrics_cache(error ? "error" : "miss");
}

/* ---- the shared backend ------------------------------------------------------------------- */

/* The worker's loop, once Redis answered (or failed, or the deadline passed). */
static void remote_answer(void *ud, int status, const char *val, size_t len)
{
    struct gw_req *r = ud;
    struct gw_cache_val *v = NULL;
    int failed = status < 0;
    if (status == 0 && val && len <= (size_t)r->gw->cache->cfg.max_entry_bytes) {
        if (gw_cache_log_check(val, len) == 0)
            v = gw_cache_val_new(val, len);
        else
            failed = 1; /* not ours, or damaged: never replayed */
    }
    pthread_mutex_lock(&r->relay.lock);
    r->cache_val = v;
    r->cache_failed = failed;
    r->cache_wait = 2;
    gw_relay_wake_locked(&r->relay);
    pthread_mutex_unlock(&r->relay.lock);
    gw_req_unref(r); /* the lookup's reference */
}

int gw_phase_cache_resume(struct gw_req *r)
{
    pthread_mutex_lock(&r->relay.lock);
    struct gw_cache_val *v = r->cache_val;
    int failed = r->cache_failed;
    r->cache_val = NULL;
    r->cache_wait = 0;
    pthread_mutex_unlock(&r->relay.lock);
    if (!v) {
        miss(r, failed);
        return 0;
    }
    return replay(r, v);
}

/* ---- lookup ------------------------------------------------------------------------------- */

int gw_phase_cache_lookup(struct gw_req *r)
{
    struct gw_cache_gw *c = r->gw->cache;
    if (!c)
        return 0;
    unsigned bit;
    const char *ep = gw_cache_endpoint(r->dialect->name, r->parsed.op, r->parsed.legacy, &bit);
    if (!ep || !(c->cfg.endpoints & bit))
        return 0;
    char scope[48];
    scope_of(r, c->cfg.scope, scope);
    struct gw_cache_key_in in = {
        .scope = scope,
        .endpoint = ep,
        .model = r->parsed.model,
        .provider = r->x_provider[0] ? r->x_provider : NULL,
        .body = r->parsed.body,
        .native = r->parsed.native,
    };
    if (gw_cache_key(&in, r->cache_key) < 0)
        return 0; /* cannot be keyed (out of memory): served uncached */
    struct gw_cache_directives d = {0, 0};
    if (r->conn)
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_directives, &d);
    if (!d.no_store) {
        r->cache_rec = malloc(sizeof *r->cache_rec);
        if (r->cache_rec)
            gw_cache_rec_init(r->cache_rec, (size_t)c->cfg.max_entry_bytes);
    }
    if (d.no_lookup) {
        r->cache_status = "bypass";
        gw_metrics_cache("bypass");
        return 0;
    }
    if (c->mem) {
        struct gw_cache_val *v = gw_cache_mem_get(c->mem, r->cache_key, gw_now_ms());
        if (!v) {
            miss(r, 0);
            return 0;
        }
        return replay(r, v);
    }
    struct gw_cache_remote *rm = gw_cache_remote_here(c);
    atomic_fetch_add(&r->refs, 1); /* the lookup's: the callback may outlive the client */
    r->cache_wait = 1;
    if (!rm || gw_cache_remote_get(rm, r->cache_key, remote_answer, r) < 0) {
        /* Redis is down (or this thread has no connection): a miss at once, never a wait. */
        r->cache_wait = 0;
        atomic_fetch_sub(&r->refs, 1);
        miss(r, 1);
        return 0;
    }
    return 1;
}

/* ---- a hit an output guard sent back ------------------------------------------------------ */

/* The entry under r's key goes: it failed a guard, and every identical request would replay
 * it to be refused again until it expired. */
static void forget(struct gw_req *r)
{
    struct gw_cache_gw *c = r->gw->cache;
    if (c && c->mem) {
        gw_cache_mem_del(c->mem, r->cache_key);
        return;
    }
    struct gw_cache_remote *rm = c ? gw_cache_remote_here(c) : NULL;
    if (rm)
        gw_cache_remote_del(rm, r->cache_key); /* Redis down: it expires by its TTL */
}

int gw_cache_hit_retry(struct gw_req *r)
{
    if (r->parsed.stream || !r->cache_hit)
        return AIGW_EINVAL; /* a stream's bytes went out: never retried */
    forget(r);
    if (gw_guard_retry_body(r->guard, r->parsed.body) < 0)
        return AIGW_ENOMEM; /* refused as any retry that cannot be made */
    r->guard_retry = 0;
    r->guard_no_native = 1; /* the appended messages exist only in the internal request */
    /* From here the request is a miss: its answer comes from (and is paid to) a provider,
     * and the replayed usage was nobody's spend. proceed() renders it anew. */
    r->cache_hit = 0;
    r->cache_status = "miss";
    gw_metrics_cache("miss");
    r->dialect->render_free(r->render);
    r->render = NULL;
    gw_usage_init(&r->usage);
    r->have_usage = 0;
    r->route.n = r->cache_route_n;
    memcpy(r->route.label, r->cache_route_label, sizeof r->route.label);
    gw_logf(AIGW_LOG_INFO, "cache", r->request_id,
            "a cached answer failed a guardrail: dropped, asking upstream");
    pthread_mutex_lock(&r->relay.lock);
    r->cache_upstream_due = 1;
    gw_relay_wake_locked(&r->relay);
    pthread_mutex_unlock(&r->relay.lock);
    return 0;
}

void gw_cache_hit_final(struct gw_req *r)
{
    if (r->cache_hit)
        gw_metrics_cache("hit");
}

/* ---- recording ---------------------------------------------------------------------------- */

void gw_cache_record_chunk(struct gw_req *r, const struct aigw_chunk *c)
{
    struct gw_cache_rec *rec = r->cache_rec;
    if (r->cache_hit)
        return; /* a replay is kept already */
    if (rec->attempt != r->attempts) {
        /* A retry or a fallback starts over: what a failed attempt sent is not the answer. */
        gw_cache_rec_reset(rec);
        rec->attempt = r->attempts;
    }
    gw_cache_rec_add(rec, c);
}

void gw_cache_record_finish(struct gw_req *r, int rc)
{
    struct gw_cache_rec *rec = r->cache_rec;
    struct gw_cache_gw *c = r->gw->cache;
    if (r->cache_hit)
        return; /* replayed: nothing new to keep */
    int whole = rc == 0 && r->call && !r->call->has_error && rec->attempt == r->attempts &&
                gw_cache_rec_complete(rec);
    if (!whole || !c)
        return;
    if (c->mem) {
        struct gw_cache_val *v = gw_cache_val_new(rec->log.ptr, rec->log.len);
        /* aigw_cache_bytes and the evictions are told by the table itself (cache_shared.c). */
        if (v)
            gw_cache_mem_put(c->mem, r->cache_key, v, gw_now_ms(), NULL);
        gw_cache_val_unref(v);
        return;
    }
    /* Redis down: this answer is not shared, and the client never knows. */
    struct gw_cache_remote *rm = gw_cache_remote_here(c);
    if (rm)
        gw_cache_remote_set(rm, r->cache_key, rec->log.ptr, rec->log.len);
}

void gw_cache_req_free(struct gw_req *r)
{
    /* A replay still paused here (its client left while a guard's call was out, so the step
     * gw_req_completed gives it did not end it): it never reached gw_deliver_finish (nor
     * gw_cache_hit_final); it was a hit all the same. Once: a replay that ended cleared
     * cache_replaying before it finished. */
    if (r->cache_hit && r->cache_replaying)
        gw_metrics_cache("hit");
    if (r->cache_rec) {
        gw_cache_rec_free(r->cache_rec);
        free(r->cache_rec);
        r->cache_rec = NULL;
    }
    gw_cache_val_unref(r->cache_val);
    r->cache_val = NULL;
}
