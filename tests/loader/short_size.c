/* short_size - claims a descriptor too small to hold the callbacks every 1.x plugin has. */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = offsetof(struct aigw_provider, build_request),
    .name = "Loader Short Size",
    .vkey = "loader-short-size",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
