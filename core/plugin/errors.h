/*
 * errors - the one place that writes OpenAI-shaped error documents
 * {"error":{"message","type","param","code"}}. Messages pass through redact.
 * Threading: stateless; any thread.
 */
#ifndef GW_ERRORS_H
#define GW_ERRORS_H

#include "aigw/plugin.h"
#include "lib/buf.h"

/* Appends the error document to out. NULL type/code/param become JSON null. */
int gw_error_json(struct gw_buf *out, const char *type, const char *code, const char *param,
                  const char *message);
/* An error document through a dialect's error_body, with the message redacted first. */
int gw_error_document(int (*body)(struct gw_buf *out, int status, const char *type,
                                  const char *code, const char *param, const char *message),
                      struct gw_buf *out, int status, const char *type, const char *code,
                      const char *param, const char *message);
struct gw_call;
/* The error a call's outcome amounts to: rc is the exchange's result (negative: the core's
 * or the plugin's refusal), else the call's own error. 1 with *err filled when it failed, 0
 * when it succeeded. */
int gw_outcome_error(const struct gw_call *c, int rc, struct aigw_error *err);
/* Masks secrets in the call's error type, code and param (what the upstream said, relayed to
 * the client as is by every dialect; the message is redacted where it is written). */
void gw_error_scrub(struct gw_call *c);
/* The status a client should see for err (err->status, else derived from type). */
int gw_error_status(const struct aigw_error *err);
/* The default error.type for an HTTP status. */
const char *gw_error_type_for_status(int status);
/* HTTP status for a negative AIGW_E* code from a plugin or the core. */
int gw_status_for_code(int code);
const char *gw_message_for_code(int code);

#endif
