/*
 * libFuzzer target for the admin key API's JSON bodies, through the whole handler and a real
 * SQLite store in a temp directory: the first byte picks create, update or rotate, the rest is
 * the body. Every input must be answered with a JSON document and a 2xx or 4xx status (an
 * error with a message), never a crash, a leak or a 5xx. Build with core/libgwcore and
 * -fsanitize=fuzzer for coverage-guided runs; `make check` runs it under driver.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin/admin_keys.h"
#include "aigw/plugin.h"
#include "fuzz_store.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_store *store;
static char key_path[64], rotate_path[80];

static void setup(void)
{
    store = fuzz_store_open("fuzz_admin_keys");
    char err[256];
    /* one key every update and rotation targets */
    char token[GW_KEY_TOKEN_SIZE];
    struct gw_key_spec spec = {0};
    struct gw_key *k = NULL;
    if (gw_store_key_create(store, &spec, token, &k, err, sizeof err))
        abort();
    snprintf(key_path, sizeof key_path, "/%s", k->id);
    snprintf(rotate_path, sizeof rotate_path, "/%s/rotate", k->id);
    gw_key_unref(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size < 1)
        return 0;
    static const char *const methods[] = {"POST", "PATCH", "POST"};
    const char *paths[] = {"", key_path, rotate_path};
    int route = data[0] % 3;
    struct gw_buf out;
    gw_buf_init(&out, 1u << 20);
    int status = 0;
    if (gw_admin_keys_handle(store, methods[route], paths[route], (const char *)data + 1, size - 1,
                             &out, &status) != 0)
        abort();
    cJSON *doc = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
    if (!doc || status < 200 || (status >= 500 && !fuzz_store_timed_out(doc, status)))
        abort();
    if (status >= 400) {
        const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "message");
        if (!cJSON_IsString(m) || !m->valuestring[0])
            abort(); /* every refusal explains itself */
    } else if (route != 1 && !cJSON_IsString(cJSON_GetObjectItem(doc, "key"))) {
        abort(); /* create and rotate show the new secret */
    }
    cJSON_Delete(doc);
    gw_buf_free(&out);
    return 0;
}
