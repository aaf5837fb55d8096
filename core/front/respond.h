/*
 * respond - the small pieces every response path shares: common headers (X-Request-ID),
 * a JSON or OpenAI-error response queued on an MHD connection, and the building blocks of
 * the JSON access-log line. Threading: stateless; any thread.
 */
#ifndef GW_RESPOND_H
#define GW_RESPOND_H

#include <stdint.h>

#include <microhttpd.h>

#include "lib/buf.h"

enum MHD_Result gw_respond_json(struct MHD_Connection *conn, int status, const char *body,
                                size_t len, const char *request_id);
enum MHD_Result gw_respond_error(struct MHD_Connection *conn, int status, const char *type,
                                 const char *code, const char *param, const char *message,
                                 const char *request_id);
struct gw_dialect;
/* An error answer in d's shape (OpenAI's when d is NULL or has no error_body), with one extra
 * header when hname and hvalue are set (Allow, Retry-After). */
enum MHD_Result gw_respond_error_as(struct MHD_Connection *conn, const struct gw_dialect *d,
                                    int status, const char *type, const char *code, const char *msg,
                                    const char *hname, const char *hvalue, const char *request_id);
void gw_access_log_simple(const char *request_id, const char *method, const char *path,
                          int status, int64_t latency_ms);
void gw_add_common_headers(struct MHD_Response *resp, const char *request_id);
/* Opens an access-log object: {"time":...,"request_id":... */
void gw_log_json_open(struct gw_buf *b, const char *request_id);
/* Appends ,"key":"value" (JSON-escaped; null when v is NULL). */
void gw_log_json_field(struct gw_buf *b, const char *key, const char *v);

#endif
