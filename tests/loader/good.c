/* good - a well-formed provider: active when LOADER_GOOD_KEY is set, unless init() declines
 * (LOADER_GOOD_MODE=decline). Its plugin_data is the mode host->env() returned, so the test
 * sees that env defaults reach init(). */
#include <string.h>

#include "module.h"

static const struct aigw_env_var env[] = {
    {"LOADER_GOOD_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL, "test credential"},
    {"LOADER_GOOD_MODE", 0, "plain", "\"decline\" makes init() refuse"},
    {NULL, 0, NULL, NULL},
};

static int init(const struct aigw_host *host, void **plugin_data, const char **why)
{
    const char *mode = host->env("LOADER_GOOD_MODE");
    if (mode && strcmp(mode, "decline") == 0) {
        *why = "LOADER_GOOD_MODE says no";
        return AIGW_ECONFIG;
    }
    *plugin_data = (void *)(uintptr_t)mode;
    return 0;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Good",
    .vkey = "loader-good",
    .version = "1.2.3",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = env,
    .init = init,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
