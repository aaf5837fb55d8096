/* dup_b - second provider claiming the vkey "loader-dup": must be skipped. */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Dup B",
    .vkey = "loader-dup",
    .version = "2.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_TOOLS,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
