/*
 * route_phase - the phase that turns the request into its ordered targets: X-Provider, a
 * "provider/model" id, an alias, or the catalog, through the configured strategy
 * (route/route.c does the choosing).
 *
 * A keyed request with an allowlist or a budget is planned when it is admitted (its targets
 * are judged and priced then), with the circuit breakers left for later: the response cache
 * comes between, and a hit needs no healthy target nor takes a half-open probe. The breakers
 * are applied here, after a miss, on the targets the plan kept.
 */
#include "proxy/req_int.h"
#include "proxy/snapshot.h"

static const char *request_header(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static int route(struct gw_req *r, int plan)
{
    struct gw_request_err err;
    struct gw_route_ctx rctx = {
        .op = r->parsed.op,
        .model = r->parsed.model,
        .x_provider = r->x_provider[0] ? r->x_provider : NULL,
        .body = r->parsed.body,
        .header = request_header,
        .header_ud = r->conn,
        .plan = plan,
    };
    gw_route_note_request(&r->snap->router);
    if (gw_route(&r->snap->router, &rctx, &r->route, &err) < 0) {
        if (err.retry_after_ms > 0)
            r->retry_after_ms = err.retry_after_ms; /* every target paused: until one is not */
        gw_deliver_fail(r, err.status, NULL, err.code, err.param, err.message);
        return AIGW_EINVAL;
    }
    return 0;
}

int gw_phase_route_plan(struct gw_req *r)
{
    return route(r, 1);
}

int gw_phase_route(struct gw_req *r)
{
    if (!r->route.n)
        return route(r, 0);
    struct gw_request_err err;
    if (gw_route_claim(&r->snap->router, &r->route, r->parsed.model, &err) < 0) {
        if (err.retry_after_ms > 0)
            r->retry_after_ms = err.retry_after_ms;
        gw_deliver_fail(r, err.status, NULL, err.code, err.param, err.message);
        return AIGW_EINVAL;
    }
    return 0;
}
