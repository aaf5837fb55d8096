/* bad_major - built against a future major version of the ABI: must be refused. */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = ((uint32_t)(AIGW_ABI_MAJOR + 1) << 16) | AIGW_ABI_MINOR,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Bad Major",
    .vkey = "loader-bad-major",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
