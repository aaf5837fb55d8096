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

#endif
