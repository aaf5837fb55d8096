/*
 * admin_routes - the admin router's rows for the log, usage, providers and config views:
 * each adapts a gw_admin_req to its transport-agnostic handler (admin_logs.h,
 * admin_status.h). Query arguments arrive decoded from the router; they are encoded again
 * here, so a model name holding '&' or '%' reaches the handler intact.
 *
 * Threading: as admin.h (any HTTP worker; blocks on the store).
 */
#ifndef GW_ADMIN_ROUTES_H
#define GW_ADMIN_ROUTES_H

#include "admin/admin.h"

int gw_admin_route_logs(const struct gw_admin_req *q, struct gw_admin_resp *a);
int gw_admin_route_usage(const struct gw_admin_req *q, struct gw_admin_resp *a);
int gw_admin_route_providers(const struct gw_admin_req *q, struct gw_admin_resp *a);
int gw_admin_route_config(const struct gw_admin_req *q, struct gw_admin_resp *a);

#endif
