/*
 * http - the libmicrohttpd front: the daemon (epoll thread pool, suspend/resume), the route
 * table, request ids, header sanity checks, client auth, and the small local endpoints
 * (/health, /ready, /v1/models). Proxied routes are handed to gateway.c.
 *
 * Threading: callbacks run on MHD's pool threads; they never block.
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
void gw_http_stop(struct gw_http *h);
/* Sanitized copy of a client X-Request-ID into out (129 bytes), or a fresh id. */
void gw_request_id(const char *in, char out[129]);

#endif
