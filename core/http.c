/* http - the libmicrohttpd front end (see http.h). */
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "crypto.h"
#include "errors.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"
#include "models.h"
#include "models_live.h"
#include "request.h"

/* MHD's per-connection pool: request line + headers, the read buffer and the response block
 * being sent. MHD touches all of it, so it is resident for every open connection: 16 KiB
 * (not MHD's 32 KiB default) keeps a held stream under 64 KiB and still admits about 12 KiB
 * of request headers (tests/e2e/test_core.c pins both sides). */
#define MAX_HEADER_BYTES (16 * 1024)

struct gw_http {
    struct MHD_Daemon *d;
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

int gw_http_start(struct gw_http **out, struct gw_gateway *gw, char *err, size_t errsize)
{
    struct gw_http *h = calloc(1, sizeof *h);
    if (!h)
        return AIGW_ENOMEM;
    h->gw = gw;
    if (gw_models_live_new(gw, &h->live) < 0) {
        snprintf(err, errsize, "out of memory");
        free(h);
        return AIGW_ENOMEM;
    }
    const struct gw_config *cfg = gw->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->listen_host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
    } else if (inet_pton(AF_INET6, cfg->listen_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->listen_port);
        flags |= MHD_USE_IPv6;
    } else if (!strcmp(cfg->listen_host, "localhost")) {
        inet_pton(AF_INET, "127.0.0.1", &in4->sin_addr);
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
    } else {
        snprintf(err, errsize, "listen: '%s' is not a numeric address", cfg->listen_host);
        gw_models_live_release(h->live);
        free(h);
        return AIGW_EINVAL;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : (unsigned)(ncpu > 0 ? ncpu : 2);
    h->d = MHD_start_daemon(
        flags, (uint16_t)cfg->listen_port, NULL, NULL, handler, h, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)MAX_HEADER_BYTES,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errsize, "cannot listen on %s:%d (address in use or not permitted)",
                 cfg->listen_host, cfg->listen_port);
        gw_models_live_release(h->live);
        free(h);
        return AIGW_EINVAL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->listen_port;
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
    if (h && h->d) {
        MHD_socket s = MHD_quiesce_daemon(h->d);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

void gw_http_stop(struct gw_http *h)
{
    if (!h)
        return;
    if (h->d)
        MHD_stop_daemon(h->d);
    if (h->md)
        MHD_stop_daemon(h->md);
    /* Refreshes still in flight hold their own references. */
    gw_models_live_release(h->live);
    free(h);
}
