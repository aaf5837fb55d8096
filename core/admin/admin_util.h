/*
 * admin_util - what the admin API handlers share: OpenAI-shaped error answers, emitting a
 * cJSON document, splitting "path?query" and reading percent-encoded query arguments, and
 * parsing the since/until times every listing takes.
 *
 * Threading: any thread; no state.
 */
#ifndef GW_ADMIN_UTIL_H
#define GW_ADMIN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lib/buf.h"

/* Writes an error document with status st; 0 or AIGW_ENOMEM. */
int gw_admin_fail(struct gw_buf *out, int *status, int st, const char *code, const char *param,
                  const char *msg);
/* Prints doc (which it frees) into out with status st; 0 or AIGW_ENOMEM. */
int gw_admin_emit(struct gw_buf *out, int *status, int st, cJSON *doc);
/* The value of name in query ("a=1&b=2", no '?'), percent-decoded ('+' is a space): 1 found,
 * 0 absent, -1 too long for size or badly encoded. */
int gw_admin_query_arg(const char *query, const char *name, char *v, size_t size);
/* A time argument: unix seconds, unix milliseconds (13 digits and more), "YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC). Unix ms into *ms: 0, or -1 when it is none of these. */
int gw_admin_parse_time(const char *s, int64_t *ms);

#endif
