/* newer_minor - built against a newer minor than this aigw: it may rely on host members the
 * host does not have, so it must be refused. */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = ((uint32_t)AIGW_ABI_MAJOR << 16) | (AIGW_ABI_MINOR + 1),
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Newer Minor",
    .vkey = "loader-newer-minor",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
