/*
 * jsonprint - a cJSON tree written as cJSON_PrintUnformatted() writes it, byte for byte, into
 * a capped buffer: without its 256-byte malloc per call, and without its printf and sscanf
 * round trip for integers within int. Non-integral numbers and raw items are left to cJSON itself.
 * Threading: stateless.
 */
#ifndef GW_JSONPRINT_H
#define GW_JSONPRINT_H

#include <cjson/cJSON.h>

#include "lib/buf.h"

/* Appends item (and its children) to out. 0, or negative (out of memory, past out's cap, a
 * tree deeper than cJSON prints). */
int gw_json_print(struct gw_buf *out, const cJSON *item);
/* A string as cJSON quotes one (\b \f \n \r \t short, other controls \u00xx). */
int gw_json_print_string(struct gw_buf *out, const char *s);

#endif
