/*
 * accept - the first phase, the front door: libmicrohttpd's access handler for every request on the
 * main listener. Request id, framing sanity, the endpoint table, the authenticate phase, then a
 * local answer or the request's lifetime (proxy/gateway.c). Also the live model listings'
 * owner; /health, /ready and /metrics are answered in proxy/local_status.c.
 *
 * Threading: handlers run on the HTTP workers; start and stop on the main thread.
 */
#ifndef GW_PROXY_ACCEPT_H
#define GW_PROXY_ACCEPT_H

#include <stddef.h>

struct gw_gateway;
struct gw_http;
struct gw_front;

int gw_front_start(struct gw_front **out, struct gw_gateway *gw, char *err, size_t errsize);
/* The listeners, for quiesce / cancel / port. */
struct gw_http *gw_front_http(struct gw_front *f);
/* The gateway the front serves (for local handlers above proxy/, such as the admin API). */
struct gw_gateway *gw_front_gateway(struct gw_front *f);
/* Stops the listeners and workers, then forgets the live listings. */
void gw_front_stop(struct gw_front *f);

#endif
