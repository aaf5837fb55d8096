/* console - the embedded console files and their headers (see console.h). */
#include "admin/console.h"

#include <string.h>

#include <microhttpd.h>

#include "endpoints.h"
#include "front/respond.h"

const struct gw_ui_asset *gw_console_find(const char *path)
{
    for (const struct gw_ui_asset *a = gw_ui_assets; a->path; a++)
        if (!strcmp(a->path, path))
            return a;
    return NULL;
}

int gw_console_path(const char *path)
{
    return !strcmp(path, "/admin") || !strcmp(path, "/admin/") || !strncmp(path, "/admin/ui/", 10);
}

static void common(struct MHD_Response *resp, const char *rid)
{
    MHD_add_response_header(resp, "Content-Security-Policy", GW_CONSOLE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    /* the files change with the binary: always revalidate, never serve a stale script */
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    gw_add_common_headers(resp, rid);
}

int gw_console_serve(struct gw_local_call *lc, int *status)
{
    static const char missing[] = "not found\n";
    const struct gw_ui_asset *a = gw_console_find(lc->url);
    struct MHD_Response *resp;
    if (a) {
        *status = MHD_HTTP_OK;
        resp = MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    } else {
        *status = strcmp(lc->url, "/admin") ? MHD_HTTP_NOT_FOUND : MHD_HTTP_PERMANENT_REDIRECT;
        resp = MHD_create_response_from_buffer(sizeof missing - 1, (void *)missing,
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    common(resp, lc->rid);
    MHD_add_response_header(resp, "Content-Type", a ? a->type : "text/plain; charset=utf-8");
    if (*status == MHD_HTTP_PERMANENT_REDIRECT)
        MHD_add_response_header(resp, "Location", "/admin/");
    int rc = MHD_queue_response(lc->conn, (unsigned)*status, resp);
    MHD_destroy_response(resp);
    return rc;
}
