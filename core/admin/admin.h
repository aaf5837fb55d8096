/*
 * admin - the admin API's router under /admin/ on the main listener: who may call it and
 * which handler answers. A route is one row of the table in admin.c: a path prefix and a
 * handler that gets the method, the rest of the path, the query, the body and the store, and
 * fills a JSON (or other) answer; the router does the rest (authentication, address checks,
 * the access log, the response).
 *
 * Who may call: a bearer token equal to the admin key (AIGW_ADMIN_KEY, else admin.key, which
 * may be "${VAR}"), compared in constant time. With no admin key configured the API does not
 * exist: every /admin/ path answers 404, so nothing can be tried against it. admin.allow
 * (CIDR list) limits the client addresses (403 otherwise). Failed authentications are counted
 * per client address (proxy/authfail.h): past auth.max_failures in auth.failure_window_s,
 * that address gets 429 with Retry-After without its token being checked.
 *
 * Threading: gw_admin_configure on the main thread at startup; the handler on any HTTP
 * worker. Handlers block on the store (admin calls are rare; the worker's other connections
 * wait that long): acceptable here, never on a request's path.
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <stddef.h>

#include "config.h"
#include "endpoints.h"
#include "lib/buf.h"

struct gw_store;
struct gw_gateway;

/* What a route's handler gets. */
struct gw_admin_req {
    struct gw_store *store;
    struct gw_gateway *gw; /* the running gateway (router, plugins), for the status views */
    const struct gw_config *cfg;
    const char *method; /* "GET", "POST", ... (HEAD is answered as GET) */
    const char *rest;   /* the path after the route's prefix: "", "/{id}", ... */
    const char *query;  /* the query rebuilt from its arguments ("limit=10&after=x"), or "" */
    const char *(*arg)(void *ud, const char *name); /* one query argument, or NULL */
    void *arg_ud;
    const char *body; /* the whole body ("" for none) */
    size_t body_len;
};

/* What it answers: the body in out, its status, its content type (NULL: application/json). */
struct gw_admin_resp {
    struct gw_buf *out;
    int status;
    const char *content_type;
};

/* Reads the admin key (AIGW_ADMIN_KEY, else admin.key) into cfg->admin_key and checks
 * admin.allow. 0, or AIGW_EINVAL with the reason in err. */
int gw_admin_configure(struct gw_config *cfg, char *err, size_t errsize);

/* The local handler of every /admin/ row in endpoints.c. */
enum MHD_Result gw_admin_local(struct gw_local_call *lc);

/* GET /v1/usage: a gateway key's own usage (authenticated as any inference request). */
enum MHD_Result gw_admin_usage_local(struct gw_local_call *lc);

/* The path prefix of the router's route i ("/admin/keys"), NULL past the last (tests walk
 * every route). */
const char *gw_admin_route_at(size_t i);

/* 1 when text ("a.b.c.d/n", "v6::/n", or one address) parses as a CIDR block. */
int gw_admin_cidr_valid(const char *text);

#endif
