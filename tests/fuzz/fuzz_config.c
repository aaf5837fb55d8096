/*
 * libFuzzer target for the configuration file: the bytes as aigw.json (comments, ${VAR}),
 * through gw_config_load (every key's type and range, the unknown-key check), then the
 * sections other modules read: cache (gw_cache_cfg_parse), otel (gw_otel_config_parse, with
 * an empty environment), admin (gw_admin_configure: the admin.allow CIDRs) and the store URL.
 * Guardrails have their own target (tests/guard/fuzz_guard_config.c); redis.url is not
 * resolved here (a host name would reach the resolver). Every input is either accepted or
 * refused with a message naming what is wrong, never a crash or a leak. `make check` runs it
 * under driver.c over seeds/config/; run-libfuzzer runs it coverage-guided (lf_config).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin/admin.h"
#include "cache/cache.h"
#include "config.h"
#include "obs/otel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void done(void)
{
    unlink(path);
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/aigw-fuzz-config-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    atexit(done);
    unsetenv("AIGW_ADMIN_KEY");
}

static void need_message(const char *err)
{
    if (!err[0])
        abort(); /* a refusal always says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        setup();
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    struct gw_config c;
    gw_config_defaults(&c);
    char err[512] = "";
    if (gw_config_load(&c, path, err, sizeof err) < 0) {
        need_message(err);
        gw_config_free(&c);
        return 0;
    }
    struct gw_cache_cfg cc;
    err[0] = '\0';
    if (gw_cache_cfg_parse(c.cache, c.redis_url[0] != '\0', &cc, err, sizeof err) < 0)
        need_message(err);
    struct gw_otel_config oc;
    gw_otel_config_init(&oc);
    err[0] = '\0';
    if (gw_otel_config_parse(&oc, cJSON_GetObjectItemCaseSensitive(c.root, "otel"), no_env, err,
                             sizeof err) < 0)
        need_message(err);
    gw_otel_config_free(&oc);
    err[0] = '\0';
    if (gw_admin_configure(&c, err, sizeof err) < 0)
        need_message(err);
    char url[2048];
    (void)gw_config_store_url(&c, url, sizeof url);
    gw_config_free(&c);
    return 0;
}
