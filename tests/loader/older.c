/* older - a descriptor as an older 1.x plugin would have it: it ends at map_error. The
 * members after struct_size hold junk here, and the host must read them as absent. */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = offsetof(struct aigw_provider, map_error) + sizeof(void *),
    .name = "Loader Older",
    .vkey = "loader-older",
    .version = "0.9.0",
    .capabilities = AIGW_CAP_CHAT,
    LOADER_STUBS,
    .embeddings_build = stub_build,
    .embeddings_parse = stub_parse,
};

LOADER_ENTRY(provider)
