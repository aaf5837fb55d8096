/* local_status - /health, /ready and /metrics: what aigw says of itself (see local.h). */
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "front/respond.h"
#include "lib/buf.h"
#include "net/http.h"
#include "obs/metrics.h"
#include "plugin/plugin_loader.h"
#include "proxy/accept.h"
#include "proxy/authenticate.h"
#include "proxy/cache_phase.h"
#include "proxy/counters_loop.h"
#include "proxy/gateway.h"
#include "proxy/local.h"

enum MHD_Result gw_local_health(struct gw_local_call *lc)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    enum MHD_Result rc = gw_respond_json(lc->conn, 200, ok, sizeof ok - 1, lc->rid);
    gw_access_log_simple(lc->rid, lc->method, lc->url, 200, 0);
    return rc;
}

enum MHD_Result gw_local_ready(struct gw_local_call *lc)
{
    size_t n = gw_plugins_active_count(gw_front_gateway(lc->front)->plugins);
    char body[128];
    int len = snprintf(body, sizeof body, "{\"status\":\"%s\",\"active_providers\":%zu}",
                       n ? "ready" : "no_provider", n);
    int status = n ? 200 : 503;
    enum MHD_Result rc = gw_respond_json(lc->conn, status, body, (size_t)len, lc->rid);
    gw_access_log_simple(lc->rid, lc->method, lc->url, status, 0);
    return rc;
}

/* ---- /metrics ---------------------------------------------------------------------------- */

enum MHD_Result gw_local_metrics_serve(struct gw_front *f, struct MHD_Connection *conn,
                                       const char *method, const char *rid)
{
    struct gw_gateway *gw = gw_front_gateway(f);
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return gw_respond_error_as(conn, NULL, 405, "invalid_request_error", "method_not_allowed",
                                   "method not allowed; use GET, HEAD", "Allow", "GET, HEAD", rid);
    if (!gw_token_matches(gw->cfg->metrics_token,
                          MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"))) {
        gw_access_log_simple(rid, method, "/metrics", 401, 0);
        return gw_respond_error(conn, 401, "authentication_error", "invalid_metrics_token", NULL,
                                "missing or invalid metrics token", rid);
    }
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_cache_metrics_refresh(gw);
    gw_counters_metrics_refresh(gw);
    int rc = gw_metrics_render(gw, &b);
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

enum MHD_Result gw_local_metrics(struct gw_local_call *lc)
{
    return gw_local_metrics_serve(lc->front, lc->conn, lc->method, lc->rid);
}

enum MHD_Result gw_local_metrics_listener(void *cls, struct MHD_Connection *conn, const char *url,
                                          const char *method, const char *version,
                                          const char *upload_data, size_t *upload_data_size,
                                          void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    char rid[GW_REQUEST_ID_SIZE];
    gw_request_id(NULL, rid);
    if (strcmp(url, "/metrics"))
        return gw_respond_error(conn, 404, "not_found_error", "unknown_route", NULL,
                                "no such endpoint", rid);
    return gw_local_metrics_serve(cls, conn, method, rid);
}
