/* payload - usage and error structs across ABI minors (see payload.h). */
#include "plugin/payload.h"

#include <stddef.h>
#include <string.h>

/* The smallest prefixed struct a plugin may hand over: the whole 1.2 layout, since 1.2 is the
 * first to carry a prefix. Later minors only append. */
#define USAGE_MIN_SIZE (offsetof(struct aigw_usage, reasoning_tokens) + sizeof(int64_t))
#define ERROR_MIN_SIZE (offsetof(struct aigw_error, retry_after_ms) + sizeof(int64_t))

int gw_payload_usage(uint32_t v, const void *src, struct aigw_usage *out)
{
    aigw_usage_init(out);
    if (gw_payload_is_v1_1(v)) {
        const struct gw_usage_v1_1 *u = src;
        out->prompt_tokens = u->prompt_tokens;
        out->completion_tokens = u->completion_tokens;
        out->cached_tokens = u->cached_tokens;
        out->cache_write_tokens = u->cache_write_tokens;
        out->reasoning_tokens = u->reasoning_tokens;
        return 0;
    }
    const struct aigw_usage *u = src;
    if (u->struct_size < USAGE_MIN_SIZE)
        return AIGW_EINVAL;
    /* Copy what both sides know past the prefix; the prefix stays ours. */
    size_t n = u->struct_size < sizeof *out ? u->struct_size : sizeof *out;
    size_t skip = offsetof(struct aigw_usage, prompt_tokens);
    memcpy((char *)out + skip, (const char *)u + skip, n - skip);
    return 0;
}

int gw_payload_error(uint32_t v, const void *src, struct aigw_error *out)
{
    if (gw_payload_is_v1_1(v)) {
        gw_payload_error_from_v1_1(src, out);
        return 0;
    }
    const struct aigw_error *e = src;
    aigw_error_init(out);
    if (e->struct_size < ERROR_MIN_SIZE)
        return AIGW_EINVAL;
    size_t n = e->struct_size < sizeof *out ? e->struct_size : sizeof *out;
    size_t skip = offsetof(struct aigw_error, status);
    memcpy((char *)out + skip, (const char *)e + skip, n - skip);
    return 0;
}

void gw_payload_error_to_v1_1(const struct aigw_error *in, struct gw_error_v1_1 *out)
{
    memset(out, 0, sizeof *out);
    out->status = in->status;
    out->type = in->type;
    out->code = in->code;
    out->param = in->param;
    out->message = in->message;
    out->retryable = in->retryable;
    out->retry_after_ms = in->retry_after_ms;
}

void gw_payload_error_from_v1_1(const struct gw_error_v1_1 *in, struct aigw_error *out)
{
    aigw_error_init(out);
    out->status = in->status;
    out->type = in->type;
    out->code = in->code;
    out->param = in->param;
    out->message = in->message;
    out->retryable = in->retryable;
    out->retry_after_ms = in->retry_after_ms;
}
