/* dup_a - first of two providers claiming the vkey "loader-dup"; sorts first, so it wins. */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Dup A",
    .vkey = "loader-dup",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
