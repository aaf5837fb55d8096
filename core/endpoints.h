/*
 * endpoints - the table of what aigw answers: path + method -> a dialect (parsed, routed and
 * sent upstream by the request's lifetime) or a local handler (answered here). A new dialect
 * adds its rows here and touches no file of the lifetime.
 *
 * Threading: a constant table.
 */
#ifndef GW_ENDPOINTS_H
#define GW_ENDPOINTS_H

#include <stddef.h>

#include <microhttpd.h>

struct gw_dialect;
struct gw_front;

/* What a local handler gets: one request, on its first call (and later calls for handlers
 * that suspend, as /v1/models does while live listings refresh). */
struct gw_local_call {
    struct gw_front *front;
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    const char *rid;
    void **con_cls;
    const struct gw_dialect *dialect; /* the shape of its errors */
    const char *body;                 /* endpoints with `body` set: the whole body (capped) */
    size_t body_len;
    const char *key_id; /* the gateway key the caller presented ("" for none or a static one) */
};

struct gw_endpoint {
    const char *method; /* "POST", "GET" (GET also answers HEAD), "DELETE" */
    const char *path;   /* exact, or a prefix when prefix is set */
    int prefix;
    int auth; /* needs a gateway key (or a static one) when keys are configured */
    /* Proxied: the dialect that parses the body and renders the answer. */
    const struct gw_dialect *dialect;
    /* Local: answers without an upstream. Its error shape is error_dialect's (OpenAI when
     * NULL). */
    enum MHD_Result (*local)(struct gw_local_call *lc);
    const struct gw_dialect *error_dialect;
    /* Chooses this row only when the header is present (e.g. anthropic-version on
     * /v1/models), NULL for always. */
    const char *when_header;
    /* Local handlers that read a body: it is gathered (up to max_body_bytes) before the
     * handler runs. */
    int body;
};

/* The row for method + path (the query already cut off). NULL when nothing matches; then
 * *allow says which methods the path does take ("" when the path is unknown). HEAD matches
 * GET rows. has_header tells whether a request header is present. */
const struct gw_endpoint *gw_endpoint_find(const char *method, const char *path,
                                           int (*has_header)(void *ud, const char *name),
                                           void *ud, char *allow, size_t allow_size);

/* For a path no row has (not even for another method): the dialect whose shape its 404
 * takes (NULL: OpenAI's) and, in msg, what to say, naming the endpoint a misconfigured base
 * URL most likely meant. has_header as for gw_endpoint_find. */
const struct gw_dialect *gw_endpoint_unknown(const char *method, const char *path,
                                             int (*has_header)(void *ud, const char *name),
                                             void *ud, char *msg, size_t msg_size);

/* Row i of the table, NULL past its end (tests walk it: every route, not a hand list). */
const struct gw_endpoint *gw_endpoint_at(size_t i);

#endif
