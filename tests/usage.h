/*
 * usage.h - struct aigw_usage literals for tests. Since ABI 1.2 the struct opens with its size
 * prefix, so positional initializers would shift every count by two members.
 *
 *   gw_metrics_usage("openai", "gpt-4o", &USAGE(100, 4, -1, -1, -1), -1);
 */
#ifndef AIGW_TEST_USAGE_H
#define AIGW_TEST_USAGE_H

#include "aigw/plugin.h"

/* prompt, completion, cached, cache-written, reasoning; -1 is "not reported". */
#define USAGE(p, c, ca, w, r)                                                                      \
    ((struct aigw_usage){.abi_version = AIGW_ABI_VERSION,                                          \
                         .struct_size = (uint32_t)sizeof(struct aigw_usage),                       \
                         .prompt_tokens = (p),                                                     \
                         .completion_tokens = (c),                                                 \
                         .cached_tokens = (ca),                                                    \
                         .cache_write_tokens = (w),                                                \
                         .reasoning_tokens = (r)})

#endif
