/*
 * http - the listening side: the main listener shared by one MHD daemon per worker
 * (net/worker.c), and the metrics listener when metrics.listen names its own address. What a
 * request means is not decided here: the access handlers come from the front end.
 *
 * Threading: started and stopped on the main thread; the handlers run on the workers (and on
 * the metrics daemon's own thread).
 */
#ifndef GW_NET_HTTP_H
#define GW_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

struct gw_config;
struct gw_http;
struct gw_worker;

struct gw_http_handlers {
    MHD_AccessHandlerCallback access; /* every request on the main listener */
    void *access_cls;
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    MHD_AccessHandlerCallback metrics; /* the metrics listener's requests */
    void *metrics_cls;
    /* Each worker, before its thread starts (see struct gw_worker_conf). May be NULL. */
    int (*worker_setup)(void *cls, struct gw_worker *w, unsigned idx);
    void *worker_setup_cls;
};

int gw_http_start(struct gw_http **out, const struct gw_config *cfg,
                  const struct gw_http_handlers *hs, char *err, size_t errsize);
/* The port actually bound (useful with port 0). */
int gw_http_port(const struct gw_http *h);
/* Stop accepting new connections (in-flight requests continue). */
void gw_http_quiesce(struct gw_http *h);
/* Cancel every upstream transfer of the workers and wait until their callbacks ran (their
 * requests end with an error, answered by the still-running workers). After the grace
 * period, before anything those callbacks use is freed. */
void gw_http_cancel_transfers(struct gw_http *h);
void gw_http_stop(struct gw_http *h);

/* A request's id, unique per request, starting with 12 hex digits of the time in ms (ids sort
 * by time): then 20 random hex digits; or, with the client's X-Request-ID, "." and that id
 * (sanitized: letters, digits, "-_.:", at most GW_REQUEST_ID_CLIENT_MAX of them, a UUID
 * whole), "." and 12 random hex digits. At most GW_REQUEST_ID_SIZE - 1 characters: what the
 * ledger and the request log keep. */
#define GW_REQUEST_ID_SIZE 64
#define GW_REQUEST_ID_CLIENT_MAX (GW_REQUEST_ID_SIZE - 1 - 12 - 1 - 1 - 12)
void gw_request_id(const char *in, char out[GW_REQUEST_ID_SIZE]);

#endif
