/*
 * libFuzzer target for the endpoint table's lookup and the 404's suggestion
 * (core/endpoints.c): the first byte picks the method and whether the caller sent
 * anthropic-version, the rest is the path as a client sent it. Every input must find a row
 * or not without reading out of bounds, and a 404's message must be built from the table's
 * own text only: printable ASCII, starting "no such endpoint", never a byte of the path that
 * is not also in a known one. `make check` runs it under driver.c over seeds/endpoints/;
 * run-libfuzzer runs it coverage-guided (lf_endpoints).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has_anthropic(void *ud, const char *name)
{
    return *(int *)ud && strcmp(name, "anthropic-version") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    static const char *const methods[] = {"GET", "POST", "DELETE", "PATCH", "HEAD", "PUT"};
    const char *method = methods[(data[0] & 0x7f) % 6];
    int anthropic = data[0] >> 7;
    char *path = malloc(size);
    if (!path)
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    char allow[64];
    const struct gw_endpoint *e =
        gw_endpoint_find(method, path, has_anthropic, &anthropic, allow, sizeof allow);
    if (!e && !allow[0]) {
        char msg[320];
        memset(msg, 'x', sizeof msg);
        gw_endpoint_unknown(method, path, has_anthropic, &anthropic, msg, sizeof msg);
        size_t n = strnlen(msg, sizeof msg);
        if (n == sizeof msg || strncmp(msg, "no such endpoint", 16) != 0)
            abort();
        for (size_t i = 0; i < n; i++)
            if (msg[i] < 0x20 || msg[i] > 0x7e)
                abort();
    }
    free(path);
    return 0;
}
