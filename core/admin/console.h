/*
 * console - the admin console's static files (ui/), built into the binary by
 * scripts/embed-ui (core/admin/ui_assets.c, generated), and how they are served: GET /admin/
 * is the page, /admin/ui/... its script, styles and the vendored chart library. The files
 * hold no secret; the admin router serves them before it asks for the admin key (the page
 * signs in itself), but only when the admin API exists and to allowed addresses.
 *
 * Every answer carries a Content-Security-Policy that allows no inline script and no other
 * origin, X-Content-Type-Options: nosniff and frame-ancestors 'none', so text that came from
 * a request and reached the page can never run as script.
 *
 * Threading: constant tables; any HTTP worker.
 */
#ifndef GW_ADMIN_CONSOLE_H
#define GW_ADMIN_CONSOLE_H

#include <stddef.h>

struct gw_local_call;

struct gw_ui_asset {
    const char *path; /* the URL path it is served at */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};

/* Terminated by an entry with path NULL (ui_assets.c). */
extern const struct gw_ui_asset gw_ui_assets[];

#define GW_CONSOLE_CSP                                                                             \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; frame-ancestors 'none'"

/* The file served at path, or NULL. */
const struct gw_ui_asset *gw_console_find(const char *path);
/* 1 when path belongs to the console ("/admin", "/admin/", "/admin/ui/..."). */
int gw_console_path(const char *path);
/* Answers a console path: the file (200), a redirect from "/admin" to "/admin/" (308), or
 * 404. Returns what MHD_queue_response returned; *status gets the status sent. */
int gw_console_serve(struct gw_local_call *lc, int *status);

#endif
