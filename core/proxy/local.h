/*
 * local - endpoints aigw answers itself: /health, /ready, /v1/models and /v1/models/{id},
 * and /metrics on the main listener. Threading: HTTP workers.
 */
#ifndef GW_PROXY_LOCAL_H
#define GW_PROXY_LOCAL_H

#include "endpoints.h"

enum MHD_Result gw_local_health(struct gw_local_call *lc);
enum MHD_Result gw_local_ready(struct gw_local_call *lc);
enum MHD_Result gw_local_models(struct gw_local_call *lc);
enum MHD_Result gw_local_metrics(struct gw_local_call *lc);
struct gw_front;
/* GET /metrics (the metrics token checked) on any listener, before the endpoint table: the
 * main listener's handler calls it when metrics.listen is unset. */
enum MHD_Result gw_local_metrics_serve(struct gw_front *f, struct MHD_Connection *conn,
                                       const char *method, const char *request_id);
/* The access handler of the separate metrics listener (metrics.listen): /metrics only; cls
 * is the struct gw_front. */
enum MHD_Result gw_local_metrics_listener(void *cls, struct MHD_Connection *conn, const char *url,
                                          const char *method, const char *version,
                                          const char *upload_data, size_t *upload_data_size,
                                          void **con_cls);

#endif
