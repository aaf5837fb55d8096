/*
 * module.h - shared pieces of the loader's test modules. Each module is one tiny provider
 * whose descriptor is wrong (or right) in exactly one way; test_loader.c drops them into a
 * plugin directory and checks what the loader makes of them.
 */
#ifndef LOADER_MODULE_H
#define LOADER_MODULE_H

#include <stddef.h>

#include <aigw/plugin.h>

/* The loader never calls these; they only make a descriptor look complete. */
static inline int stub_build(struct aigw_call *call)
{
    (void)call;
    return AIGW_ENOTSUP;
}

static inline int stub_parse(struct aigw_call *call, struct aigw_bytes body)
{
    (void)call;
    (void)body;
    return AIGW_EPROTO;
}

static inline int stub_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    (void)call;
    (void)frame;
    return AIGW_EPROTO;
}

static inline int stub_map_error(struct aigw_call *call, struct aigw_bytes body,
                                 struct aigw_error *err)
{
    (void)call;
    (void)body;
    (void)err;
    return AIGW_EPROTO;
}

#define LOADER_STUBS                                                                               \
    .build_request = stub_build, .parse_response = stub_parse, .stream_event = stub_event,         \
    .map_error = stub_map_error

/* Defines the exported entry point returning &desc. */
#define LOADER_ENTRY(desc)                                                                         \
    AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);                               \
    AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)                                \
    {                                                                                              \
        return &(desc);                                                                            \
    }

#endif
