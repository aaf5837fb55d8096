/* admin_routes - router rows for the admin views (see admin_routes.h). */
#include "admin/admin_routes.h"

#include <stdio.h>
#include <string.h>

#include "admin/admin_logs.h"
#include "admin/admin_status.h"
#include "admin/admin_util.h"
#include "aigw/plugin.h"
#include "lib/redact.h"
#include "proxy/gateway.h"
#include "proxy/reload.h"
#include "proxy/snapshot.h"

static const char *const names[] = {"key",   "model",  "provider", "status",  "since",
                                    "until", "cursor", "limit",    "group_by"};

/* rest + "?" + the known arguments, percent-encoded again. 0, or -1 when too long. */
static int rebuild(const struct gw_admin_req *q, char *path, size_t size)
{
    size_t n = (size_t)snprintf(path, size, "%s", q->rest);
    if (n >= size)
        return -1;
    static const char hex[] = "0123456789ABCDEF";
    int first = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = q->arg ? q->arg(q->arg_ud, names[i]) : NULL;
        if (!v)
            continue;
        int w = snprintf(path + n, size - n, "%s%s=", first ? "?" : "&", names[i]);
        if (w < 0 || (size_t)w >= size - n)
            return -1;
        n += (size_t)w;
        first = 0;
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
            int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                        (*p >= '0' && *p <= '9') || strchr("-._~:", *p);
            if (n + (plain ? 1 : 3) >= size)
                return -1;
            if (plain) {
                path[n++] = (char)*p;
            } else {
                path[n++] = '%';
                path[n++] = hex[*p >> 4];
                path[n++] = hex[*p & 15];
            }
        }
        path[n] = '\0';
    }
    return 0;
}

#define ROUTE_PATH_MAX 2048

static int too_long(struct gw_admin_resp *a)
{
    return gw_admin_fail(a->out, &a->status, 414, "uri_too_long", NULL, "the query is too long");
}

int gw_admin_route_logs(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    char path[ROUTE_PATH_MAX];
    if (rebuild(q, path, sizeof path))
        return too_long(a);
    return gw_admin_logs_handle(q->store, q->method, path, a->out, &a->status);
}

int gw_admin_route_usage(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    char path[ROUTE_PATH_MAX];
    if (rebuild(q, path, sizeof path))
        return too_long(a);
    return gw_admin_usage_handle(q->store, q->method, path, a->out, &a->status);
}

int gw_admin_route_providers(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    struct gw_gateway *gw = q->gw;
    struct gw_snap *snap = gw ? gw_snap_acquire(gw) : NULL; /* the router in effect now */
    int rc = gw_admin_providers_handle(gw ? gw->plugins : NULL, snap ? &snap->router : NULL,
                                       q->store, q->method, q->rest, a->out, &a->status);
    gw_snap_release(snap);
    return rc;
}

/* POST /admin/config/reload: what SIGHUP does, with the outcome as the answer. */
static int reload(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    if (strcmp(q->method, "POST"))
        return gw_admin_fail(a->out, &a->status, 405, "method_not_allowed", NULL, "use POST");
    if (!q->gw)
        return gw_admin_fail(a->out, &a->status, 404, "not_found", NULL, "no such admin route");
    struct gw_reload_result rr;
    if (gw_gateway_reload(q->gw, &rr) < 0) {
        char msg[sizeof rr.error];
        gw_redact(rr.error, strlen(rr.error), msg, sizeof msg);
        return gw_admin_fail(a->out, &a->status, 400, "invalid_config", NULL, msg);
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "object", "config.reload");
    cJSON_AddBoolToObject(doc, "reloaded", 1);
    cJSON_AddNumberToObject(doc, "generation", (double)rr.generation);
    cJSON *pending = cJSON_AddArrayToObject(doc, "needs_restart");
    for (const char *p = rr.restart; *p;) {
        size_t n = strcspn(p, ",");
        char k[128];
        snprintf(k, sizeof k, "%.*s", (int)(n < sizeof k ? n : sizeof k - 1), p);
        cJSON_AddItemToArray(pending, cJSON_CreateString(k));
        p += n;
        p += strspn(p, ", ");
    }
    return gw_admin_emit(a->out, &a->status, 200, doc);
}

int gw_admin_route_config(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    if (!strcmp(q->rest, "/reload"))
        return reload(q, a);
    if (!q->gw)
        return gw_admin_config_handle(q->cfg, q->method, q->rest, a->out, &a->status);
    struct gw_snap *snap = gw_snap_acquire(q->gw);
    int rc = gw_admin_config_view(q->cfg, &snap->cfg, snap->generation, gw_reload_restart_keys(),
                                  snap->needs_restart, q->method, q->rest, a->out, &a->status);
    gw_snap_release(snap);
    return rc;
}
