/*
 * payload - the usage and error structs a plugin hands over, read in the layout of the minor
 * it was built for. ABI 1.2 gave struct aigw_usage and struct aigw_error the size prefix every
 * other shared struct has; a plugin built for 1.0 or 1.1 still passes the unprefixed layout
 * kept here, and the host converts at the boundary so the core only ever sees the current one.
 * Which layout a struct has is told by the abi_version of what carries it: a chunk's (set by
 * the plugin's aigw_chunk_init) for emitted chunks, the descriptor's for map_error().
 *
 * Threading: pure functions.
 */
#ifndef GW_PLUGIN_PAYLOAD_H
#define GW_PLUGIN_PAYLOAD_H

#include <stdint.h>

#include "aigw/plugin.h"

/* struct aigw_usage as ABI 1.0 and 1.1 declared it. */
struct gw_usage_v1_1 {
    int64_t prompt_tokens;
    int64_t completion_tokens;
    int64_t cached_tokens;
    int64_t cache_write_tokens;
    int64_t reasoning_tokens;
};

/* struct aigw_error as ABI 1.0 and 1.1 declared it. */
struct gw_error_v1_1 {
    int status;
    const char *type;
    const char *code;
    const char *param;
    const char *message;
    int retryable;
    int64_t retry_after_ms;
};

/* 1 when a struct stamped with abi_version `v` uses the unprefixed 1.0/1.1 layouts. */
static inline int gw_payload_is_v1_1(uint32_t v)
{
    return AIGW_ABI_MINOR_OF(v) < 2;
}

/* Reads the usage at src, laid out for abi_version v, into out (current layout; members a
 * shorter struct lacks read as -1, "not reported"). AIGW_EINVAL when a prefixed struct is
 * shorter than the first prefixed layout. */
int gw_payload_usage(uint32_t v, const void *src, struct aigw_usage *out);
/* The same for an error; strings stay the plugin's (copy them before the callback returns). */
int gw_payload_error(uint32_t v, const void *src, struct aigw_error *out);
/* The current error into the 1.0/1.1 layout (map_error of an old plugin, oai_map_error on its
 * behalf). */
void gw_payload_error_to_v1_1(const struct aigw_error *in, struct gw_error_v1_1 *out);
void gw_payload_error_from_v1_1(const struct gw_error_v1_1 *in, struct aigw_error *out);

#endif
