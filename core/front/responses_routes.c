/* responses_routes - GET/DELETE /v1/responses/{id}[/input_items] (see responses.h). */
#include <string.h>

#include "endpoints.h"
#include "front/respond.h"
#include "front/responses.h"

static const char *header_of(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static const char *arg_of(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_GET_ARGUMENT_KIND, name);
}

enum MHD_Result gw_responses_local(struct gw_local_call *lc)
{
    static const char prefix[] = "/v1/responses/";
    const char *rest = lc->url + sizeof prefix - 1;
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    int items = slash && !strcmp(slash, "/input_items");
    int is_get = strcmp(lc->method, "DELETE") != 0;
    struct gw_buf out;
    gw_buf_init(&out, 0);
    int status = 404, rc = 0;
    char id[GW_RESP_ID_MAX], owner[GW_RESP_ID_MAX];
    if (!idlen || idlen >= sizeof id || (slash && !items) || (items && !is_get)) {
        rc = gw_responses_error_body(&out, 404, "not_found_error", "unknown_route", NULL,
                                     "no such endpoint");
    } else {
        memcpy(id, rest, idlen);
        id[idlen] = '\0';
        gw_resp_owner(header_of, lc->conn, owner);
        struct gw_store *st = gw_responses_store();
        if (items)
            rc = gw_responses_input_items_list(st, owner, id, arg_of, lc->conn, &out, &status);
        else if (is_get)
            rc = gw_responses_get(st, owner, id, &out, &status);
        else
            rc = gw_responses_delete(st, owner, id, &out, &status);
    }
    enum MHD_Result r = MHD_NO;
    if (!rc)
        r = gw_respond_json(lc->conn, status, out.ptr ? out.ptr : "", out.len, lc->rid);
    gw_access_log_simple(lc->rid, lc->method, lc->url, rc ? 500 : status, 0);
    gw_buf_free(&out);
    return r;
}
