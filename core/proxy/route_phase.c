/*
 * route_phase - the phase that turns the request into its ordered targets: X-Provider, a
 * "provider/model" id, an alias, or the catalog, through the configured strategy
 * (route/route.c does the choosing).
 */
#include "proxy/req_int.h"
#include "proxy/snapshot.h"

static const char *request_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

int gw_phase_route(struct gw_req *r)
{
    if (r->route.n)
        return 0; /* admit routed already: a key's allowlist is checked on the targets */
    struct gw_request_err err;
    struct gw_route_ctx rctx = {
        .op = r->parsed.op,
        .model = r->parsed.model,
        .x_provider = r->x_provider[0] ? r->x_provider : NULL,
        .body = r->parsed.body,
        .header = request_header,
        .header_ud = r->conn,
    };
    gw_route_note_request(&r->snap->router);
    if (gw_route(&r->snap->router, &rctx, &r->route, &err) < 0) {
        gw_deliver_fail(r, err.status, NULL, err.code, err.param, err.message);
        return AIGW_EINVAL;
    }
    return 0;
}
