/* admin_routes - router rows for the admin views (see admin_routes.h). */
#include "admin/admin_routes.h"

#include <stdio.h>
#include <string.h>

#include "admin/admin_logs.h"
#include "admin/admin_status.h"
#include "admin/admin_util.h"
#include "aigw/plugin.h"
#include "proxy/gateway.h"

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
    return gw_admin_providers_handle(gw ? gw->plugins : NULL, gw ? &gw->router : NULL, q->store,
                                     q->method, q->rest, a->out, &a->status);
}

int gw_admin_route_config(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    return gw_admin_config_handle(q->cfg, q->method, q->rest, a->out, &a->status);
}
