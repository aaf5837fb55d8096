/* usage - token counts (see usage.h). */
#include "plugin/usage.h"

#include <math.h>

void gw_usage_init(struct aigw_usage *u)
{
    u->prompt_tokens = u->completion_tokens = u->cached_tokens = -1;
    u->cache_write_tokens = u->reasoning_tokens = -1;
    u->cost_usd = 0;
}

void gw_usage_merge(struct aigw_usage *into, const struct aigw_usage *u)
{
    if (u->prompt_tokens >= 0)
        into->prompt_tokens = u->prompt_tokens;
    if (u->completion_tokens >= 0)
        into->completion_tokens = u->completion_tokens;
    if (u->cached_tokens >= 0)
        into->cached_tokens = u->cached_tokens;
    if (u->cache_write_tokens >= 0)
        into->cache_write_tokens = u->cache_write_tokens;
    if (u->reasoning_tokens >= 0)
        into->reasoning_tokens = u->reasoning_tokens;
    if (u->cost_usd > 0 && isfinite(u->cost_usd))
        into->cost_usd = u->cost_usd;
}
