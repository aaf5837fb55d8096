/* accept - the front door (see accept.h). */
#include "proxy/accept.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

#include "endpoints.h"
#include "front/dialect.h"
#include "front/respond.h"
#include "lib/log.h"
#include "net/http.h"
#include "proxy/authenticate.h"
#include "proxy/authfail.h"
#include "proxy/cache_phase.h"
#include "proxy/counters_loop.h"
#include "proxy/encoding.h"
#include "proxy/gateway.h"
#include "proxy/local.h"
#include "proxy/models.h"
#include "proxy/models_live.h"
#include "proxy/offload.h"
#include "store/store.h"

struct gw_front {
    struct gw_gateway *gw;
    struct gw_http *http;
    struct gw_models_live *live; /* what providers' servers report, for /v1/models */
};

struct header_scan {
    int content_length;
    int transfer_encoding;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    (void)value;
    struct header_scan *s = cls;
    if (strcasecmp(key, "Content-Length") == 0)
        s->content_length++;
    else if (strcasecmp(key, "Transfer-Encoding") == 0)
        s->transfer_encoding++;
    return MHD_YES;
}

static const char *conn_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static int conn_has_header(void *ud, const char *name)
{
    return conn_header(ud, name) != NULL;
}

/* An error before the lifetime began, in the endpoint's dialect (OpenAI's when unknown). */
static enum MHD_Result refuse(struct MHD_Connection *conn, const struct gw_dialect *d, int status,
                              const char *type, const char *code, const char *msg,
                              const char *allow, const char *rid)
{
    return gw_respond_error_as(conn, d, status, type, code, msg, "Allow", allow, rid);
}

/* ---- /v1/models ------------------------------------------------------------------------- */

/* A /v1/models request waiting for live listings. Its con_cls pointer carries a low tag bit
 * so the handler and `completed` tell it from a gw_req without wrapping every proxied request
 * (malloc'd pointers are at least 8-aligned, so bit 0 is free). */
struct models_conn {
    struct gw_front *front;
    const struct gw_dialect *dialect; /* the list's shape (NULL: OpenAI's) */
    struct gw_models_wait *w;
    int64_t t0;
    int queued;
    char rid[GW_REQUEST_ID_SIZE];
    char url[1024];
};

/* What a connection's context is, in its pointer's two low bits: a request (0), a live model
 * listing, an admin body being read, or a wait for the caller's key (offload.h). */
#define CTX_TAGS ((uintptr_t)3)
#define MODELS_TAG ((uintptr_t)1)
#define BODY_TAG ((uintptr_t)2)
#define AUTH_TAG ((uintptr_t)3)

static void *ctx_of(void *con_cls, uintptr_t tag)
{
    return ((uintptr_t)con_cls & CTX_TAGS) == tag ? (void *)((uintptr_t)con_cls & ~CTX_TAGS) : NULL;
}

static struct models_conn *models_conn_of(void *con_cls)
{
    return ctx_of(con_cls, MODELS_TAG);
}

static void models_conn_free(struct models_conn *mc)
{
    struct gw_gateway *gw = mc->front->gw;
    gw_models_wait_free(mc->w);
    free(mc);
    /* Counted like a proxied request, so a graceful stop waits for the listing. */
    gw_gateway_leave(gw);
}

/* Answers from the catalog, the aliases and the live lists as they are now. */
static enum MHD_Result models_respond(struct gw_front *f, const struct gw_dialect *d,
                                      struct MHD_Connection *conn, const char *url,
                                      const char *rid, int64_t t0)
{
    struct gw_live_snap snap = {0, NULL};
    gw_models_live_snapshot(f->live, &snap); /* out of memory: the catalog alone */
    struct gw_buf b;
    gw_buf_init(&b, 0);
    int r;
    if (!strcmp(url, "/v1/models"))
        r = gw_models_list(f->gw, &snap, &b);
    else
        r = gw_models_get(f->gw, &snap, url + strlen("/v1/models/"), &b);
    gw_live_snap_free(&snap);
    if (r == 0 && d && d->models_body) {
        struct gw_buf shaped;
        gw_buf_init(&shaped, 0);
        r = d->models_body(b.ptr ? b.ptr : "", b.len, strcmp(url, "/v1/models") != 0, &shaped);
        gw_buf_free(&b);
        b = shaped;
    }
    enum MHD_Result rc;
    int status = 200;
    if (r == 0) {
        rc = gw_respond_json(conn, 200, b.ptr, b.len, rid);
    } else if (r == AIGW_EINVAL) {
        status = 404;
        rc = d ? refuse(conn, d, 404, "not_found_error", "model_not_found",
                        "no such model among the active providers", NULL, rid)
               : gw_respond_error(conn, 404, "not_found_error", "model_not_found", "model",
                                  "no such model among the active providers", rid);
    } else {
        status = 500;
        rc = gw_respond_error(conn, 500, NULL, NULL, NULL, "out of memory", rid);
    }
    gw_buf_free(&b);
    gw_access_log_simple(rid, "GET", url, status, gw_now_ms() - t0);
    return rc;
}

/* First call: answers at once when every list it needs is fresh; otherwise refreshes were
 * started (or joined) and the answer comes once they are in, never blocking this thread. */
enum MHD_Result gw_local_models(struct gw_local_call *lc)
{
    struct gw_front *f = lc->front;
    const char *url = lc->url;
    int64_t t0 = gw_now_ms();
    char vkey[64];
    const char *only = NULL;
    if (strcmp(url, "/v1/models")) {
        const char *id = url + strlen("/v1/models/");
        const char *slash = strchr(id, '/');
        /* No "vkey/" prefix: an alias or unknown; neither needs a server's list. */
        if (!slash || (size_t)(slash - id) >= sizeof vkey)
            return models_respond(f, lc->dialect, lc->conn, url, lc->rid, t0);
        memcpy(vkey, id, (size_t)(slash - id));
        vkey[slash - id] = '\0';
        only = vkey;
    }
    struct models_conn *mc = strlen(url) < sizeof mc->url ? calloc(1, sizeof *mc) : NULL;
    if (!mc || gw_models_live_begin(f->live, lc->conn, only, &mc->w) < 0 || !mc->w) {
        free(mc);
        return models_respond(f, lc->dialect, lc->conn, url, lc->rid, t0);
    }
    mc->front = f;
    mc->dialect = lc->dialect;
    mc->t0 = t0;
    gw_strlcpy(mc->rid, lc->rid, sizeof mc->rid);
    gw_strlcpy(mc->url, url, sizeof mc->url);
    gw_gateway_enter(f->gw);
    *lc->con_cls = (void *)((uintptr_t)mc | MODELS_TAG);
    return MHD_YES;
}

/* Later calls: suspended until the lists are in, then the answer. */
static enum MHD_Result models_run(struct gw_front *f, struct MHD_Connection *conn,
                                  struct models_conn *mc, size_t *upload_data_size)
{
    if (*upload_data_size) {
        *upload_data_size = 0; /* a body on a GET means nothing */
        return MHD_YES;
    }
    if (mc->queued)
        return MHD_YES;
    int st = gw_models_wait_ready(mc->w);
    if (st == 0)
        return MHD_YES;
    mc->queued = 1;
    if (st < 0) {
        gw_access_log_simple(mc->rid, "GET", mc->url, 503, gw_now_ms() - mc->t0);
        return gw_respond_error(conn, 503, "service_unavailable_error", "shutting_down", NULL,
                                "the gateway is shutting down", mc->rid);
    }
    return models_respond(f, mc->dialect, conn, mc->url, mc->rid, mc->t0);
}

/* ---- local endpoints that read a body ------------------------------------------------------ */

/* A local request whose body is still arriving (tag bit 1 of con_cls, see MODELS_TAG). */
struct body_conn {
    struct gw_front *front;
    const struct gw_endpoint *e;
    struct gw_buf body;
    int too_big;
    char rid[GW_REQUEST_ID_SIZE];
    char url[512];
    char method[16];
    char key_id[GW_KEY_ID_LEN + 4];
};

static struct body_conn *body_conn_of(void *con_cls)
{
    return ctx_of(con_cls, BODY_TAG);
}

static void body_conn_free(struct body_conn *bc)
{
    gw_buf_free(&bc->body);
    free(bc);
}

static enum MHD_Result body_begin(struct gw_front *f, const struct gw_endpoint *e,
                                  struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *rid, const char *key_id,
                                  void **con_cls)
{
    struct body_conn *bc = calloc(1, sizeof *bc);
    if (!bc || strlen(url) >= sizeof bc->url || strlen(method) >= sizeof bc->method) {
        free(bc);
        return refuse(conn, e->error_dialect, 414, "invalid_request_error", "uri_too_long",
                      "the request line is too long", NULL, rid);
    }
    bc->front = f;
    bc->e = e;
    gw_buf_init(&bc->body, (size_t)f->gw->cfg->max_body_bytes);
    gw_strlcpy(bc->rid, rid, sizeof bc->rid);
    gw_strlcpy(bc->url, url, sizeof bc->url);
    gw_strlcpy(bc->method, method, sizeof bc->method);
    gw_strlcpy(bc->key_id, key_id, sizeof bc->key_id);
    *con_cls = (void *)((uintptr_t)bc | BODY_TAG);
    return MHD_YES;
}

/* The admin API reads JSON bodies too: their Content-Encoding is undone as a proxied
 * request's is (gateway.c), capped at max_body_bytes. 0, or negative with f filled. */
static int body_decode(struct MHD_Connection *conn, struct body_conn *bc, struct gw_decode_fail *f)
{
    struct gw_codings c;
    memset(f, 0, sizeof *f);
    int rc = gw_encoding_read(conn, &c, f);
    if (rc < 0 || c.n == 0)
        return rc;
    struct gw_buf plain;
    gw_buf_init(&plain, 0);
    rc = gw_encoding_decode(&c, bc->body.ptr ? bc->body.ptr : "", bc->body.len,
                            (size_t)bc->front->gw->cfg->max_body_bytes, 0, &plain, f);
    if (rc < 0)
        return rc;
    gw_buf_free(&bc->body);
    bc->body = plain;
    return 0;
}

static enum MHD_Result body_run(struct MHD_Connection *conn, struct body_conn *bc,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    if (*upload_data_size) {
        if (!bc->too_big && gw_buf_append(&bc->body, upload_data, *upload_data_size) < 0) {
            bc->too_big = 1;
            gw_buf_free(&bc->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (bc->too_big)
        return refuse(conn, bc->e->error_dialect, 413, "invalid_request_error",
                      "request_too_large", "the request body is too large", NULL, bc->rid);
    struct gw_decode_fail f;
    if (body_decode(conn, bc, &f) < 0)
        return refuse(conn, bc->e->error_dialect, f.status, f.type, f.code, f.message, NULL,
                      bc->rid);
    struct gw_local_call lc = {bc->front, conn,    bc->url,     bc->method,
                               bc->rid,   con_cls, bc->e->error_dialect,
                               bc->body.ptr ? bc->body.ptr : "", bc->body.len,
                               bc->key_id};
    return bc->e->local(&lc);
}

/* 1 when the client closed its side and nothing of it is left to read. */
static int peer_left(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- the access handler ----------------------------------------------------------------- */

/* The key's record must be read first: the read goes to the store's loader thread and the
 * connection sleeps (offload.h). 1 when it sleeps, else 0 with *loaded the read's outcome
 * when it already ended, or GW_AUTH_LOADED_NONE when it was not queued (the caller reads). */
static int auth_sleep(struct gw_front *f, struct MHD_Connection *conn, const struct gw_dialect *d,
                      void **con_cls, int *loaded)
{
    *loaded = GW_AUTH_LOADED_NONE;
    struct gw_wait *w = gw_wait_new(conn, NULL);
    if (!w)
        return 0;
    struct gw_auth auth;
    struct gw_key *key = NULL;
    int rc = gw_authenticate_start(f->gw, d, conn_header, conn, &auth, &key, gw_wait_loaded, w);
    if (rc != 1) {
        /* Answered without a read after all (another request read it meanwhile), or read
         * here: the caller asks again, from the cache. */
        if (key)
            gw_key_unref(key);
        gw_wait_cancel(w);
        return 0;
    }
    if (!gw_wait_sleep(w, loaded, NULL))
        return 0;
    *con_cls = (void *)((uintptr_t)w | AUTH_TAG);
    return 1;
}

/* The first call of a request (headers in, no body yet). loaded: GW_AUTH_LOADED_NONE, or the
 * outcome of its key's read when it slept for one (auth_sleep). */
static enum MHD_Result begin(struct gw_front *f, struct MHD_Connection *conn, const char *url,
                             const char *method, void **con_cls, int loaded)
{
    struct gw_req *req;
    char rid[GW_REQUEST_ID_SIZE];
    gw_request_id(conn_header(conn, "X-Request-ID"), rid);
    /* Draining: no new connections are accepted, and a new request on a kept-alive one is
     * refused too; it could otherwise start after the router it needs has been freed. */
    if (atomic_load(&f->gw->shutting_down)) {
        gw_access_log_simple(rid, method, url, 503, 0);
        return gw_respond_error(conn, 503, "service_unavailable_error", "shutting_down", NULL,
                                "the gateway is shutting down", rid);
    }
    struct header_scan hs = {0, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, scan_header, &hs);
    if (hs.content_length > 1 || (hs.content_length && hs.transfer_encoding)) {
        gw_access_log_simple(rid, method, url, 400, 0);
        return gw_respond_error(conn, 400, "invalid_request_error", "bad_framing", NULL,
                                hs.content_length > 1
                                    ? "duplicate Content-Length headers"
                                    : "Content-Length together with Transfer-Encoding",
                                rid);
    }
    if (!strcmp(url, "/metrics") && f->gw->cfg->metrics_enabled && !f->gw->cfg->metrics_listen[0])
        return gw_local_metrics_serve(f, conn, method, rid);
    char allow[64];
    const struct gw_endpoint *e =
        gw_endpoint_find(method, url, conn_has_header, conn, allow, sizeof allow);
    if (!e && !allow[0]) {
        char msg[320];
        const struct gw_dialect *ed =
            gw_endpoint_unknown(method, url, conn_has_header, conn, msg, sizeof msg);
        gw_access_log_simple(rid, method, url, 404, 0);
        return gw_respond_error_as(conn, ed, 404, "not_found_error", "unknown_route", msg, NULL,
                                   NULL, rid);
    }
    if (!e) {
        char msg[128];
        snprintf(msg, sizeof msg, "method not allowed; use %s", allow);
        gw_access_log_simple(rid, method, url, 405, 0);
        return refuse(conn, NULL, 405, "invalid_request_error", "method_not_allowed", msg, allow,
                      rid);
    }
    const struct gw_dialect *d = e->dialect ? e->dialect : e->error_dialect;
    struct gw_auth auth;
    struct gw_key *key = NULL;
    int64_t wait_s = 0;
    if (e->auth && gw_authfail_blocked(GW_AUTHFAIL_KEY, conn, &wait_s)) {
        /* Too many wrong keys from this address: its tokens are not even looked at. */
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)(wait_s > 0 ? wait_s : 1));
        gw_logf(AIGW_LOG_INFO, "auth", rid, "refused %s %s: too many failed authentications",
                method, url);
        gw_access_log_simple(rid, method, url, 429, 0);
        return gw_respond_error_as(conn, d, 429, "rate_limit_error", "too_many_auth_failures",
                                   "too many failed authentications from this address; retry later",
                                   "Retry-After", ra, rid);
    }
    int arc = 0;
    if (e->auth && loaded == GW_AUTH_LOADED_NONE) {
        arc = gw_authenticate_start(f->gw, d, conn_header, conn, &auth, &key, NULL, NULL);
        if (arc == 1 && auth_sleep(f, conn, d, con_cls, &loaded))
            return MHD_YES; /* asleep until the store's loader has read the key */
    }
    if (e->auth && (arc == 1 || loaded != GW_AUTH_LOADED_NONE))
        arc = gw_authenticate_after(f->gw, d, conn_header, conn, &auth, &key, loaded);
    if (arc < 0) {
        /* The reason and the key's public id for the operator; the client learns nothing. */
        gw_logf(AIGW_LOG_INFO, "auth", rid, "refused %s %s: %s%s%s", method, url, auth.reason,
                auth.key_id[0] ? ", key " : "", auth.key_id);
        gw_access_log_simple(rid, method, url, auth.status, 0);
        if (auth.status == 401 && strcmp(auth.reason, "missing"))
            gw_authfail_count(GW_AUTHFAIL_KEY, conn); /* a wrong token, not a missing one */
        return refuse(conn, d, auth.status, auth.type, auth.code, auth.message, NULL, rid);
    }
    if (e->local) {
        enum MHD_Result lrc;
        if (e->body) {
            lrc = body_begin(f, e, conn, url, method, rid, key ? key->id : "", con_cls);
        } else {
            struct gw_local_call lc = {f, conn, url, method, rid, con_cls, d, NULL, 0,
                                       key ? key->id : ""};
            lrc = e->local(&lc);
        }
        if (key)
            gw_key_unref(key);
        return lrc;
    }
    req = gw_req_new(f->gw, conn, e->dialect, method, url, rid, conn_header(conn, "X-Provider"),
                     key);
    if (!req) {
        if (key)
            gw_key_unref(key);
        return MHD_NO;
    }
    *con_cls = req;
    return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct gw_front *f = cls;
    struct models_conn *mc = models_conn_of(*con_cls);
    if (mc)
        return models_run(f, conn, mc, upload_data_size);
    struct body_conn *bc = body_conn_of(*con_cls);
    if (bc)
        return body_run(conn, bc, upload_data, upload_data_size, con_cls);
    struct gw_wait *aw = ctx_of(*con_cls, AUTH_TAG);
    if (aw) {
        /* Back from the key's read: MHD makes the first call again after a resume. */
        *con_cls = NULL;
        return begin(f, conn, url, method, con_cls, gw_wait_end(aw, NULL));
    }
    struct gw_req *req = *con_cls;
    if (req) {
        if (*upload_data_size) {
            gw_req_body(req, upload_data, *upload_data_size);
            *upload_data_size = 0;
            /* A client that sent part of its body and left: when its close arrived with the
             * data, libmicrohttpd (0.9.75, epoll) never reads the end of the stream and keeps
             * the request until its 120 s connection timeout, holding a shutdown's drain. While
             * the body is short, ask the socket (one peek per partial chunk). */
            if (gw_req_body_short(req) && peer_left(conn))
                return MHD_NO;
            return MHD_YES;
        }
        return gw_req_run(req);
    }
    return begin(f, conn, url, method, con_cls, GW_AUTH_LOADED_NONE);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    void *ctx = *con_cls;
    if (!ctx)
        return;
    *con_cls = NULL;
    struct models_conn *mc = models_conn_of(ctx);
    if (mc) {
        models_conn_free(mc);
        return;
    }
    struct body_conn *bc = body_conn_of(ctx);
    if (bc) {
        body_conn_free(bc);
        return;
    }
    struct gw_wait *aw = ctx_of(ctx, AUTH_TAG);
    if (aw) {
        gw_wait_drop(aw);
        return;
    }
    gw_req_completed(ctx, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
}

/* What each worker's loop drives besides its daemon and engine. */
static int worker_setup(void *cls, struct gw_worker *w, unsigned idx)
{
    struct gw_front *f = cls;
    (void)idx;
    int rc = gw_cache_worker_setup(f->gw, w);
    return rc < 0 ? rc : gw_counters_loop_setup(f->gw, w);
}

int gw_front_start(struct gw_front **out, struct gw_gateway *gw, char *err, size_t errsize)
{
    struct gw_front *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errsize, "out of memory");
        return AIGW_ENOMEM;
    }
    f->gw = gw;
    if (gw_models_live_new(gw, &f->live) < 0) {
        snprintf(err, errsize, "out of memory");
        free(f);
        return AIGW_ENOMEM;
    }
    struct gw_http_handlers hs = {
        .access = handler,
        .access_cls = f,
        .completed = completed,
        .completed_cls = f,
        .metrics = gw_local_metrics_listener,
        .metrics_cls = f,
        .worker_setup = worker_setup,
        .worker_setup_cls = f,
    };
    gw_wait_closing(0);
    if (gw_offload_start() != 0) {
        snprintf(err, errsize, "cannot start the offload thread");
        gw_models_live_release(f->live);
        free(f);
        return AIGW_EINTERNAL;
    }
    int rc = gw_http_start(&f->http, gw->cfg, &hs, err, errsize);
    if (rc < 0) {
        gw_offload_stop();
        gw_counters_loop_free(gw);
        gw_models_live_release(f->live);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

struct gw_http *gw_front_http(struct gw_front *f)
{
    return f ? f->http : NULL;
}

struct gw_gateway *gw_front_gateway(struct gw_front *f)
{
    return f->gw;
}

void gw_front_stop(struct gw_front *f)
{
    if (!f)
        return;
    gw_wait_closing(1); /* no work done elsewhere wakes a connection the daemons let go of */
    gw_http_stop(f->http);
    gw_offload_stop();            /* after the daemons: a job whose request is gone ends its wait */
    gw_counters_loop_free(f->gw); /* every worker has stopped: nothing drives them now */
    /* Refreshes still in flight hold their own references. */
    gw_models_live_release(f->live);
    free(f);
}
