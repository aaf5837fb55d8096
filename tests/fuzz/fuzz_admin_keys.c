/*
 * libFuzzer target for the admin key API's JSON bodies, through the whole handler and a real
 * SQLite store in a temp directory: the first byte picks create, update or rotate, the rest is
 * the body. Every input must be answered with a JSON document and a 2xx or 4xx status (an
 * error with a message), never a crash, a leak or a 5xx. Build with core/libgwcore and
 * -fsanitize=fuzzer for coverage-guided runs; `make check` runs it under driver.c.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin/admin_keys.h"
#include "aigw/plugin.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_store *store;
static char dir[64];
static char key_path[64], rotate_path[80];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static void done(void)
{
    gw_store_close(store);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/aigw-fuzz-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/aigw.db", dir);
    store = gw_store_open(url, NULL, err, sizeof err);
    if (!store) {
        fprintf(stderr, "fuzz_admin_keys: %s\n", err);
        abort();
    }
    atexit(done);
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

/* The one 5xx allowed: a store read past its deadline (2 s) on a starved machine is answered
 * 503 store_unavailable, by design. Anything else from the 5xx range is a finding. */
static int store_timed_out(const cJSON *doc, int status)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "code");
    return status == 503 && cJSON_IsString(c) && !strcmp(c->valuestring, "store_unavailable");
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
    if (!doc || status < 200 || (status >= 500 && !store_timed_out(doc, status)))
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
