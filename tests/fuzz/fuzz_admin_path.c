/*
 * libFuzzer target for the admin key API's paths and query strings (GET /admin/keys?limit=
 * &after=, /{id}, /{id}/rotate, whatever else follows the route's prefix), through the whole
 * handler and a real SQLite store in a temp directory: the first byte picks the method, the
 * rest is the path after "/admin/keys" (query included). Every input must be answered with a
 * JSON document and a 2xx or 4xx status (an error with a message), never a crash, a leak or
 * a 5xx, and never a secret (a GET or DELETE shows no "key"). `make check` runs it under
 * driver.c over seeds/admin_path/; run-libfuzzer runs it coverage-guided (lf_admin_path).
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

static void setup(void)
{
    store = fuzz_store_open("fuzz_admin_path");
    char err[256];
    /* A few keys with known ids ("k0000000" ...) would need the store's own id maker: make
     * real ones, which the seeds cannot name, so lists have pages to walk. */
    for (int i = 0; i < 3; i++) {
        char token[GW_KEY_TOKEN_SIZE];
        struct gw_key_spec spec = {0};
        struct gw_key *k = NULL;
        if (gw_store_key_create(store, &spec, token, &k, err, sizeof err))
            abort();
        gw_key_unref(k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size < 1 || size > 4096)
        return 0;
    /* POST to "" would make a key per input: only rotate (a path with an id) is a POST. */
    static const char *const methods[] = {"GET", "DELETE", "PATCH", "POST", "HEAD", "PUT"};
    const char *method = methods[data[0] % 6];
    char *path = malloc(size);
    if (!path)
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    if (!strcmp(method, "POST") && (!path[0] || path[0] == '?'))
        method = "GET";
    struct gw_buf out;
    gw_buf_init(&out, 1u << 20);
    int status = 0;
    if (gw_admin_keys_handle(store, method, path, "{\"name\":\"n\"}", 12, &out, &status) != 0)
        abort();
    cJSON *doc = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
    if (!doc || status < 200 || (status >= 500 && !fuzz_store_timed_out(doc, status)))
        abort();
    if (status >= 400) {
        const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "message");
        if (!cJSON_IsString(m) || !m->valuestring[0])
            abort(); /* every refusal explains itself */
    } else if (strcmp(method, "POST") && cJSON_GetObjectItem(doc, "key")) {
        abort(); /* only create and rotate ever show a secret */
    }
    cJSON_Delete(doc);
    gw_buf_free(&out);
    free(path);
    return 0;
}
