/* respond - OpenAI-shaped local responses and the JSON access-log line helpers (see respond.h). */
#include "front/respond.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "front/dialect.h"
#include "front/openai.h"
#include "front/render.h"
#include "lib/log.h"
#include "plugin/errors.h"

void gw_add_common_headers(struct MHD_Response *resp, const char *request_id)
{
    if (request_id)
        MHD_add_response_header(resp, "X-Request-ID", request_id);
}

enum MHD_Result gw_respond_json(struct MHD_Connection *conn, int status, const char *body,
                                size_t len, const char *request_id)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    gw_add_common_headers(resp, request_id);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result gw_respond_error(struct MHD_Connection *conn, int status, const char *type,
                                 const char *code, const char *param, const char *message,
                                 const char *request_id)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_error_json(&b, type ? type : gw_error_type_for_status(status), code, param, message);
    enum MHD_Result rc = gw_respond_json(conn, status, b.ptr ? b.ptr : "{}", b.len, request_id);
    gw_buf_free(&b);
    return rc;
}

enum MHD_Result gw_respond_error_as(struct MHD_Connection *conn, const struct gw_dialect *d,
                                    int status, const char *type, const char *code, const char *msg,
                                    const char *hname, const char *hvalue, const char *rid)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    if (d && d->error_body)
        d->error_body(&b, status, type, code, NULL, msg);
    else
        gw_openai_error_body(&b, status, type, code, NULL, msg);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(b.len, b.ptr ? b.ptr : (char *)"", MHD_RESPMEM_MUST_COPY);
    gw_buf_free(&b);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (hname && hvalue)
        MHD_add_response_header(resp, hname, hvalue);
    gw_add_common_headers(resp, rid);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

void gw_log_json_field(struct gw_buf *b, const char *key, const char *v)
{
    gw_buf_printf(b, ",\"%s\":", key);
    if (v)
        gw_json_escape(b, v, strlen(v));
    else
        gw_buf_append_str(b, "null");
}

void gw_log_json_open(struct gw_buf *b, const char *request_id)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    gw_buf_printf(b, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000);
    gw_log_json_field(b, "request_id", request_id);
}

void gw_access_log_simple(const char *request_id, const char *method, const char *path,
                          int status, int64_t latency_ms)
{
    if (!gw_log_access_on())
        return;
    struct gw_buf b;
    gw_buf_init(&b, 8192);
    gw_log_json_open(&b, request_id);
    gw_log_json_field(&b, "method", method);
    gw_log_json_field(&b, "path", path);
    gw_buf_printf(&b, ",\"status\":%d,\"latency_ms\":%" PRId64 "}", status, latency_ms);
    if (b.ptr)
        gw_log_access(b.ptr, b.len);
    gw_buf_free(&b);
}

