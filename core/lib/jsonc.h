/*
 * jsonc - reads the config dialect: JSON plus // and block comments, trailing commas, and
 * ${VAR} / ${VAR:-default} expansion inside strings. Output is plain JSON for cJSON.
 * Threading: stateless.
 */
#ifndef GW_JSONC_H
#define GW_JSONC_H

#include <stddef.h>

#include "lib/buf.h"

/* Converts src into plain JSON in out. On error returns negative and writes a message
 * naming the line into err. An unset ${VAR} without a default is an error. */
int gw_jsonc_to_json(const char *src, size_t n, struct gw_buf *out, char *err, size_t errsize);

#endif
