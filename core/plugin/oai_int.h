/*
 * oai_int - what oai_compat.c (responses) and oai_error.c (errors) share: bounds and small
 * JSON accessors. Internal to those two files.
 */
#ifndef GW_OAI_INT_H
#define GW_OAI_INT_H

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"

/* A retry hint longer than this is a misparse or hostile; nobody waits a day. */
#define MAX_RETRY_AFTER_MS (24LL * 3600 * 1000)
/* Error messages built from structured bodies (pydantic lists etc.) are cut here. */
#define MAX_ERROR_MESSAGE 2048

/* ---- small JSON accessors ------------------------------------------------------------------ */

/* aigw_json_get's answer (the first member so named, as cJSON_GetObjectItemCaseSensitive
 * finds it) with the first byte compared inline: a streamed event's dozen lookups otherwise
 * cost a call into libcjson and one to strcmp for every member they pass (7 % of a 20-event
 * stream's instructions). */
static inline const cJSON *jget(const cJSON *obj, const char *key)
{
    if (!obj || (obj->type & 0xFF) != cJSON_Object)
        return NULL;
    for (const cJSON *m = obj->child; m && m->string; m = m->next)
        if (m->string[0] == key[0] && strcmp(m->string, key) == 0)
            return m;
    return NULL;
}

/* The string obj[key], or NULL when absent or not a string (aigw_json_str by jget). */
static inline const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = jget(obj, key);
    return v && (v->type & 0xFF) == cJSON_String ? v->valuestring : NULL;
}

static inline int present(const cJSON *it)
{
    return it && !cJSON_IsNull(it);
}

/* A JSON number as an int64, rejecting NaN, fractions far out of range and non-numbers. */
static inline int jint(const cJSON *it, int64_t *out)
{
    double d;
    if (!cJSON_IsNumber(it))
        return -1;
    d = it->valuedouble;
    if (!isfinite(d) || d < -9.0e15 || d > 9.0e15)
        return -1;
    *out = (int64_t)d;
    return 0;
}

static inline int jint_key(const cJSON *obj, const char *key, int64_t *out)
{
    return jint(jget(obj, key), out);
}

/* Without surrounding spaces, tabs and line ends. */
static inline struct aigw_bytes trim(struct aigw_bytes b)
{
    while (b.len && isspace((unsigned char)b.ptr[0]))
        b.ptr++, b.len--;
    while (b.len && isspace((unsigned char)b.ptr[b.len - 1]))
        b.len--;
    return b;
}

#endif
