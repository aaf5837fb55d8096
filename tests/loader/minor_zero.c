/* minor_zero - built with the current header but targeting ABI 1.0, as a plugin that wants
 * to load on 1.0 hosts too does: the loader must accept it, and its init() probes the host the
 * documented way (AIGW_HOST_HAS) and reports what it found through plugin_data. */
#define AIGW_TARGET_MINOR 0
#include "module.h"

static int init(const struct aigw_host *host, void **plugin_data, const char **why)
{
    int code = AIGW_HOST_HAS(host, fail_code) && host->fail_code;
    int retry = AIGW_HOST_HAS(host, retry_after_ms) && host->retry_after_ms;
    static const char *const seen[2][2] = {{"none", "retry_after_ms"},
                                           {"fail_code", "fail_code,retry_after_ms"}};
    (void)why;
    *plugin_data = (void *)(uintptr_t)seen[code][retry];
    return 0;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION, /* 1.0, from AIGW_TARGET_MINOR */
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Minor Zero",
    .vkey = "loader-minor-zero",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    .init = init,
    LOADER_STUBS,
};

LOADER_ENTRY(provider)
