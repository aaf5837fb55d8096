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
/* p[0..n) as a JSON string literal, quoted and escaped: '"', '\\', \n, \r and \t short, other
 * controls \u00xx, but \b and \f short when cjson is set, as cJSON writes them. The one string
 * escaper of aigw's own writers (front/render.h's gw_json_escape is this with cjson 0). */
int gw_json_quote(struct gw_buf *out, const char *p, size_t n, int cjson);
/* A string as cJSON quotes one (gw_json_quote with cjson set); NULL as "". */
int gw_json_print_string(struct gw_buf *out, const char *s);

#endif
