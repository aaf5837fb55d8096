/* no_entry - exports a provider under the wrong name (a typo a plugin author could make). */
#include "module.h"

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader No Entry",
    .vkey = "loader-no-entry",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    LOADER_STUBS,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry_point(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry_point(void)
{
    return &provider;
}
