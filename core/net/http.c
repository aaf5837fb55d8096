/* http - the libmicrohttpd front end (see http.h). */
#include "net/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "lib/crypto.h"
#include "proxy/errors.h"
#include "proxy/gateway.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "front/models.h"
#include "front/models_live.h"
#include "front/request.h"
#include "net/upstream.h"

/* MHD's per-connection pool: request line + headers, the read buffer and the response block
 * being sent. MHD touches all of it, so it is resident for every open connection: 16 KiB
 * (not MHD's 32 KiB default) keeps a held stream under 64 KiB and still admits about 12 KiB
 * of request headers (tests/e2e/test_core.c pins both sides). */
#define MAX_HEADER_BYTES (16 * 1024)

#define MAX_WORKERS 1024 /* the config's limit for threads */

/* One event loop per core: an MHD daemon in external epoll mode (all sharing the listen
 * socket) beside its own upstream engine, so a request is read, sent upstream, relayed and
 * answered on one thread. A hand-off between an HTTP thread and a curl thread cost two
 * cross-CPU wakeups per request (measured at 0.5-2 ms on an idle VM) and most of the
 * gateway's added latency. */
struct worker {
    struct gw_http *h;
    struct MHD_Daemon *d;
    struct gw_upstream *u;
    pthread_t thread;
    int started;
    int ep;      /* watches the daemon's epoll fd, the engine's epoll fd and wake */
    int wake_fd; /* stop, or a connection resumed from another thread */
    int resumed; /* a connection of this daemon was resumed on this thread */
};

struct gw_http {
    struct worker *workers;
    unsigned nworkers;
    atomic_int stop;
    struct MHD_Daemon *md; /* metrics.listen */
    struct gw_gateway *gw;
    struct gw_models_live *live; /* what providers' servers report, for /v1/models */
    int port;
};

void gw_request_id(const char *in, char out[129])
{
    size_t o = 0;
    for (size_t i = 0; in && in[i] && o < 128; i++) {
        char c = in[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == ':')
            out[o++] = c;
    }
    out[o] = '\0';
    if (o == 0)
        gw_random_hex(out);
}

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

static int route_kind(const char *url)
{
    if (!strcmp(url, "/v1/chat/completions"))
        return GW_ROUTE_CHAT;
    if (!strcmp(url, "/v1/completions"))
        return GW_ROUTE_COMPLETIONS;
    if (!strcmp(url, "/v1/embeddings"))
        return GW_ROUTE_EMBEDDINGS;
    if (!strcmp(url, "/v1/images/generations"))
        return GW_ROUTE_IMAGES;
    return 0;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *conn, const char *allow,
                                          const char *rid)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char msg[128];
    snprintf(msg, sizeof msg, "method not allowed; use %s", allow);
    gw_error_json(&b, "invalid_request_error", "method_not_allowed", NULL, msg);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b.len, b.ptr ? b.ptr : (char *)"", MHD_RESPMEM_MUST_COPY);
    gw_buf_free(&b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Allow", allow);
    MHD_add_response_header(resp, "X-Request-ID", rid);
    enum MHD_Result rc = MHD_queue_response(conn, 405, resp);
    MHD_destroy_response(resp);
    return rc;
}

static int authorized(const struct gw_gateway *gw, struct MHD_Connection *conn)
{
    if (!gw->cfg->auth_keys || cJSON_GetArraySize(gw->cfg->auth_keys) == 0)
        return 1;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *key = auth + 7;
    size_t kl = strlen(key);
    int ok = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, gw->cfg->auth_keys)
    {
        size_t n = strlen(k->valuestring);
        /* Constant-time compare of equal-length keys: no timing oracle on key bytes. */
        unsigned diff = (unsigned)(n ^ kl);
        for (size_t i = 0; i < n; i++)
            diff |= (unsigned)(k->valuestring[i] ^ (i < kl ? key[i] : 0));
        ok |= diff == 0;
    }
    return ok;
}

static enum MHD_Result local_get(struct gw_http *h, struct MHD_Connection *conn, const char *url,
                                 const char *rid)
{
    struct gw_gateway *gw = h->gw;
    int64_t t0 = gw_now_ms();
    enum MHD_Result rc;
    int status = 200;
    if (!strcmp(url, "/health")) {
        static const char ok[] = "{\"status\":\"ok\"}";
        rc = gw_respond_json(conn, 200, ok, sizeof ok - 1, rid);
    } else {
        /* /ready */
        size_t n = gw_plugins_active_count(gw->plugins);
        char body[128];
        int len = snprintf(body, sizeof body, "{\"status\":\"%s\",\"active_providers\":%zu}",
                           n ? "ready" : "no_provider", n);
        status = n ? 200 : 503;
        rc = gw_respond_json(conn, status, body, (size_t)len, rid);
    }
    gw_access_log_simple(rid, "GET", url, status, gw_now_ms() - t0);
    return rc;
}

/* ---- /v1/models ------------------------------------------------------------------------- */

/* A /v1/models request waiting for live listings. Its con_cls pointer carries a low tag bit
 * so the handler and `completed` tell it from a gw_req without wrapping every proxied request
 * (malloc'd pointers are at least 8-aligned, so bit 0 is free). */
struct models_conn {
    struct gw_gateway *gw;
    struct gw_models_wait *w;
    int64_t t0;
    int queued;
    char rid[129];
    char url[1024];
};

#define MODELS_TAG ((uintptr_t)1)

static struct models_conn *models_conn_of(void *con_cls)
{
    return ((uintptr_t)con_cls & MODELS_TAG)
               ? (struct models_conn *)((uintptr_t)con_cls & ~MODELS_TAG)
               : NULL;
}

static void models_conn_free(struct models_conn *mc)
{
    struct gw_gateway *gw = mc->gw;
    gw_models_wait_free(mc->w);
    free(mc);
    /* Counted like a proxied request, so a graceful stop waits for the listing. */
    if (atomic_fetch_sub(&gw->inflight, 1) == 1) {
        pthread_mutex_lock(&gw->drain_lock);
        pthread_cond_broadcast(&gw->drain_cond);
        pthread_mutex_unlock(&gw->drain_lock);
    }
}

/* Answers from the catalog, the aliases and the live lists as they are now. */
static enum MHD_Result models_respond(struct gw_http *h, struct MHD_Connection *conn,
                                      const char *url, const char *rid, int64_t t0)
{
    struct gw_live_snap snap = {0, NULL};
    gw_models_live_snapshot(h->live, &snap); /* out of memory: the catalog alone */
    struct gw_buf b;
    gw_buf_init(&b, 0);
    int r;
    if (!strcmp(url, "/v1/models"))
        r = gw_models_list(h->gw, &snap, &b);
    else
        r = gw_models_get(h->gw, &snap, url + strlen("/v1/models/"), &b);
    gw_live_snap_free(&snap);
    enum MHD_Result rc;
    int status = 200;
    if (r == 0) {
        rc = gw_respond_json(conn, 200, b.ptr, b.len, rid);
    } else if (r == AIGW_EINVAL) {
        status = 404;
        rc = gw_respond_error(conn, 404, "not_found_error", "model_not_found", "model",
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
static enum MHD_Result models_begin(struct gw_http *h, struct MHD_Connection *conn, const char *url,
                                    const char *rid, void **con_cls)
{
    int64_t t0 = gw_now_ms();
    char vkey[64];
    const char *only = NULL;
    if (strcmp(url, "/v1/models")) {
        const char *id = url + strlen("/v1/models/");
        const char *slash = strchr(id, '/');
        /* No "vkey/" prefix: an alias or unknown; neither needs a server's list. */
        if (!slash || (size_t)(slash - id) >= sizeof vkey)
            return models_respond(h, conn, url, rid, t0);
        memcpy(vkey, id, (size_t)(slash - id));
        vkey[slash - id] = '\0';
        only = vkey;
    }
    struct models_conn *mc = strlen(url) < sizeof mc->url ? calloc(1, sizeof *mc) : NULL;
    if (!mc || gw_models_live_begin(h->live, conn, only, &mc->w) < 0 || !mc->w) {
        free(mc);
        return models_respond(h, conn, url, rid, t0);
    }
    mc->gw = h->gw;
    mc->t0 = t0;
    snprintf(mc->rid, sizeof mc->rid, "%s", rid);
    snprintf(mc->url, sizeof mc->url, "%s", url);
    atomic_fetch_add(&h->gw->inflight, 1);
    *con_cls = (void *)((uintptr_t)mc | MODELS_TAG);
    return MHD_YES;
}

/* Later calls: suspended until the lists are in, then the answer. */
static enum MHD_Result models_run(struct gw_http *h, struct MHD_Connection *conn,
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
    return models_respond(h, conn, mc->url, mc->rid, mc->t0);
}

static int metrics_authorized(const struct gw_gateway *gw, struct MHD_Connection *conn)
{
    const char *want = gw->cfg->metrics_token;
    if (!want[0])
        return 1;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *key = auth + 7;
    size_t n = strlen(want), kl = strlen(key);
    unsigned diff = (unsigned)(n ^ kl);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(want[i] ^ (i < kl ? key[i] : 0));
    return diff == 0;
}

static enum MHD_Result serve_metrics(struct gw_http *h, struct MHD_Connection *conn,
                                     const char *method, const char *rid)
{
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return method_not_allowed(conn, "GET, HEAD", rid);
    if (!metrics_authorized(h->gw, conn)) {
        gw_access_log_simple(rid, method, "/metrics", 401, 0);
        return gw_respond_error(conn, 401, "authentication_error", "invalid_metrics_token", NULL,
                                "missing or invalid metrics token", rid);
    }
    struct gw_buf b;
    gw_buf_init(&b, 0);
    int rc = gw_metrics_render(h->gw, &b);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        rc ? 0 : b.len, rc || !b.ptr ? (char *)"" : b.ptr, MHD_RESPMEM_MUST_COPY);
    gw_buf_free(&b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result r = MHD_queue_response(conn, rc ? 500 : 200, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result metrics_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *upload_data, size_t *upload_data_size,
                                       void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    char rid[129];
    gw_request_id(NULL, rid);
    if (strcmp(url, "/metrics"))
        return gw_respond_error(conn, 404, "not_found_error", "unknown_route", NULL,
                                "no such endpoint", rid);
    return serve_metrics(cls, conn, method, rid);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct gw_http *h = cls;
    struct models_conn *mc = models_conn_of(*con_cls);
    if (mc)
        return models_run(h, conn, mc, upload_data_size);
    struct gw_req *req = *con_cls;
    if (req) {
        if (*upload_data_size) {
            gw_req_body(req, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        return gw_req_run(req);
    }
    char rid[129];
    gw_request_id(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID"), rid);
    /* Draining: no new connections are accepted, and a new request on a kept-alive one is
     * refused too; it could otherwise start after the router it needs has been freed. */
    if (atomic_load(&h->gw->shutting_down)) {
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
    if (!strcmp(url, "/metrics") && h->gw->cfg->metrics_enabled && !h->gw->cfg->metrics_listen[0])
        return serve_metrics(h, conn, method, rid);
    int kind = route_kind(url);
    int is_models = !strcmp(url, "/v1/models") || !strncmp(url, "/v1/models/", 11);
    int is_local = !strcmp(url, "/health") || !strcmp(url, "/ready") || is_models;
    if (!kind && !is_local) {
        gw_access_log_simple(rid, method, url, 404, 0);
        return gw_respond_error(conn, 404, "not_found_error", "unknown_route", NULL,
                                "no such endpoint", rid);
    }
    if (kind && strcmp(method, "POST")) {
        gw_access_log_simple(rid, method, url, 405, 0);
        return method_not_allowed(conn, "POST", rid);
    }
    if (is_local && strcmp(method, "GET") && strcmp(method, "HEAD")) {
        gw_access_log_simple(rid, method, url, 405, 0);
        return method_not_allowed(conn, "GET, HEAD", rid);
    }
    if ((kind || is_models) && !authorized(h->gw, conn)) {
        gw_access_log_simple(rid, method, url, 401, 0);
        return gw_respond_error(conn, 401, "authentication_error", "invalid_api_key", NULL,
                                "missing or invalid gateway API key", rid);
    }
    if (is_models)
        return models_begin(h, conn, url, rid, con_cls);
    if (is_local)
        return local_get(h, conn, url, rid);
    req = gw_req_new(h->gw, conn, kind, method, url, rid,
                     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Provider"));
    if (!req)
        return MHD_NO;
    *con_cls = req;
    return MHD_YES;
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
    gw_req_completed(ctx, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    gw_vlogf(AIGW_LOG_DEBUG, "mhd", NULL, fmt, ap);
}

/* The process's one front end, for gw_http_resume (called where no gw_http is at hand). */
static struct gw_http *the_http;
static _Thread_local struct worker *tl_worker;

/* MHD in external polling mode does not wake its loop when a connection is resumed: the
 * owning worker must run the daemon again before it sleeps. */
void gw_http_resume(struct MHD_Connection *conn)
{
    MHD_resume_connection(conn);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    struct MHD_Daemon *d = ci ? ci->daemon : NULL;
    if (tl_worker && tl_worker->d == d) {
        tl_worker->resumed = 1;
        return;
    }
    struct gw_http *h = the_http;
    for (unsigned i = 0; h && d && i < h->nworkers; i++) {
        if (h->workers[i].d != d)
            continue;
        uint64_t one = 1;
        if (write(h->workers[i].wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            GW_WARN("cannot wake HTTP worker %u", i);
        return;
    }
}

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    tl_worker = w;
    gw_upstream_set_here(w->u);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    int mhd_fd = di ? di->epoll_fd : -1;
    struct epoll_event evs[4];
    while (!atomic_load(&w->h->stop)) {
        int timeout = gw_upstream_timeout_ms(w->u);
        MHD_UNSIGNED_LONG_LONG mto = 0;
        if (MHD_get_timeout(w->d, &mto) == MHD_YES && mto < (MHD_UNSIGNED_LONG_LONG)timeout)
            timeout = (int)mto;
        /* Work this thread made for itself (a transfer to start) is done before sleeping:
         * nobody else will wake us for it. */
        if (gw_upstream_pending(w->u))
            timeout = 0;
        int n = epoll_wait(w->ep, evs, 4, timeout);
        /* Each side runs only when it has something to do: every skipped run saves a
         * syscall, and a request takes several turns. */
        int mhd = n <= 0, up = 0;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == w->wake_fd) {
                uint64_t v;
                while (read(w->wake_fd, &v, sizeof v) < 0 && errno == EINTR)
                    ;
                mhd = 1; /* a connection was resumed from another thread */
            }
            mhd |= fd == mhd_fd;
            up |= fd == gw_upstream_fd(w->u);
        }
        if (mhd)
            MHD_run(w->d);
        gw_upstream_run_once(w->u, up);
        /* MHD does not wake an external loop for a resume: answer the connections our
         * engine just resumed now, not a turn later. */
        while (w->resumed) {
            w->resumed = 0;
            MHD_run(w->d);
            gw_upstream_run_once(w->u, 0);
        }
    }
    return NULL;
}

static int watch(int ep, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = fd;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The listening socket every worker's daemon accepts from (each gets its own dup). */
static int open_listener(const struct sockaddr_storage *ss, socklen_t len, int *port)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    return fd;
}

static int start_worker(struct gw_http *h, struct worker *w, int listen_fd, unsigned flags,
                        unsigned conn_limit)
{
    w->h = h;
    w->ep = -1;
    w->wake_fd = -1;
    int lfd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 0);
    if (lfd < 0)
        return -1;
    w->d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, conn_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MAX_HEADER_BYTES, MHD_OPTION_END);
    if (!w->d) {
        close(lfd);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!di || w->ep < 0 || w->wake_fd < 0 || gw_upstream_init_embedded(&w->u) != 0 ||
        watch(w->ep, di->epoll_fd) != 0 || watch(w->ep, gw_upstream_fd(w->u)) != 0 ||
        watch(w->ep, w->wake_fd) != 0)
        return -1;
    if (pthread_create(&w->thread, NULL, worker_run, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

int gw_http_start(struct gw_http **out, struct gw_gateway *gw, char *err, size_t errsize)
{
    struct gw_http *h = calloc(1, sizeof *h);
    if (!h)
        return AIGW_ENOMEM;
    h->gw = gw;
    atomic_init(&h->stop, 0);
    the_http = h;
    if (gw_models_live_new(gw, &h->live) < 0) {
        snprintf(err, errsize, "out of memory");
        the_http = NULL;
        free(h);
        return AIGW_ENOMEM;
    }
    const struct gw_config *cfg = gw->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sslen = sizeof(struct sockaddr_in);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->listen_host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
    } else if (inet_pton(AF_INET6, cfg->listen_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->listen_port);
        sslen = sizeof(struct sockaddr_in6);
        flags |= MHD_USE_IPv6;
    } else if (!strcmp(cfg->listen_host, "localhost")) {
        inet_pton(AF_INET, "127.0.0.1", &in4->sin_addr);
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
    } else {
        snprintf(err, errsize, "listen: '%s' is not a numeric address", cfg->listen_host);
        gw_models_live_release(h->live);
        the_http = NULL;
        free(h);
        return AIGW_EINVAL;
    }
    h->port = cfg->listen_port;
    int lfd = open_listener(&ss, sslen, &h->port);
    if (lfd < 0) {
        snprintf(err, errsize, "cannot listen on %s:%d (address in use or not permitted)",
                 cfg->listen_host, cfg->listen_port);
        gw_models_live_release(h->live);
        the_http = NULL;
        free(h);
        return AIGW_EINVAL;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cfg->threads > 0 ? (unsigned)cfg->threads : (unsigned)(ncpu > 0 ? ncpu : 2);
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    h->workers = calloc(n, sizeof *h->workers);
    if (!h->workers) {
        snprintf(err, errsize, "out of memory");
        close(lfd);
        gw_http_stop(h);
        return AIGW_ENOMEM;
    }
    /* max_connections is split across the workers, exactly: the remainder goes to the first
     * ones, and there are never more workers than connections allowed. */
    unsigned maxc = cfg->max_connections > 0 ? (unsigned)cfg->max_connections : 1;
    if (n > maxc)
        n = maxc;
    for (unsigned i = 0; i < n; i++) {
        h->nworkers = i + 1;
        unsigned limit = maxc / n + (i < maxc % n ? 1 : 0);
        if (start_worker(h, &h->workers[i], lfd, flags, limit) != 0) {
            snprintf(err, errsize, "cannot start HTTP worker %u", i);
            close(lfd);
            gw_http_stop(h);
            return AIGW_EINTERNAL;
        }
    }
    close(lfd); /* each daemon holds its own duplicate */
    if (cfg->metrics_enabled && cfg->metrics_listen[0]) {
        struct gw_config mc = *cfg;
        if (gw_config_set_listen(&mc, cfg->metrics_listen, err, errsize) < 0) {
            gw_http_stop(h);
            return AIGW_EINVAL;
        }
        struct sockaddr_in m4;
        memset(&m4, 0, sizeof m4);
        m4.sin_family = AF_INET;
        m4.sin_port = htons((uint16_t)mc.listen_port);
        inet_pton(AF_INET, mc.listen_host, &m4.sin_addr);
        h->md = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                                 metrics_handler, h, MHD_OPTION_SOCK_ADDR, &m4, MHD_OPTION_END);
        if (!h->md) {
            snprintf(err, errsize, "cannot listen on metrics.listen %s", cfg->metrics_listen);
            gw_http_stop(h);
            return AIGW_EINVAL;
        }
    }
    *out = h;
    return 0;
}

int gw_http_port(const struct gw_http *h)
{
    return h->port;
}

void gw_http_quiesce(struct gw_http *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < h->nworkers; i++) {
        if (!h->workers[i].d)
            continue;
        MHD_socket s = MHD_quiesce_daemon(h->workers[i].d);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

void gw_http_cancel_transfers(struct gw_http *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < h->nworkers; i++)
        if (h->workers[i].started)
            gw_upstream_cancel_all(h->workers[i].u, 5000);
}

void gw_http_stop(struct gw_http *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, 1);
    for (unsigned i = 0; i < h->nworkers; i++) {
        struct worker *w = &h->workers[i];
        uint64_t one = 1;
        if (w->started && write(w->wake_fd, &one, sizeof one) < 0)
            GW_WARN("cannot wake HTTP worker %u", i);
    }
    for (unsigned i = 0; i < h->nworkers; i++) {
        struct worker *w = &h->workers[i];
        if (w->started)
            pthread_join(w->thread, NULL);
        /* Transfers left now end here; their requests' connections close with the daemon. */
        if (w->u)
            gw_upstream_free(w->u);
        if (w->d)
            MHD_stop_daemon(w->d);
        if (w->ep >= 0)
            close(w->ep);
        if (w->wake_fd >= 0)
            close(w->wake_fd);
    }
    if (h->md)
        MHD_stop_daemon(h->md);
    /* Refreshes still in flight hold their own references. */
    gw_models_live_release(h->live);
    if (the_http == h)
        the_http = NULL;
    free(h->workers);
    free(h);
}
