/*
 * http - the libmicrohttpd front: the worker loops (daemon + upstream engine per core), the route
 * table, request ids, header sanity checks, client auth, and the small local endpoints
 * (/health, /ready, /v1/models). Proxied routes are handed to gateway.c.
 *
 * Threading: one worker thread per core runs an MHD daemon (external epoll mode, sharing
 * the listen socket) and an embedded upstream engine; callbacks never block.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct gw_gateway;
struct gw_http;

int gw_http_start(struct gw_http **out, struct gw_gateway *gw, char *err, size_t errsize);
/* The port actually bound (useful with port 0). */
int gw_http_port(const struct gw_http *h);
/* Stop accepting new connections (in-flight requests continue). */
void gw_http_quiesce(struct gw_http *h);
/* Cancel every upstream transfer of the workers and wait until their callbacks ran (their
 * requests end with an error, answered by the still-running workers). After the grace
 * period, before anything those callbacks use is freed. */
void gw_http_cancel_transfers(struct gw_http *h);
void gw_http_stop(struct gw_http *h);
struct MHD_Connection;
/* MHD_resume_connection, plus what MHD leaves to an external-polling loop: the worker that
 * owns the connection runs its daemon again before it sleeps. Any thread. */
void gw_http_resume(struct MHD_Connection *conn);
/* Sanitized copy of a client X-Request-ID into out (129 bytes), or a fresh id. */
void gw_request_id(const char *in, char out[129]);

#endif
