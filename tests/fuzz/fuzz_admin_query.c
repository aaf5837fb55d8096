/*
 * libFuzzer target for the admin views' query strings (/admin/logs, /admin/logs/{id},
 * /admin/usage): the first byte picks the route, the rest is the path after it (a query, or
 * an id and a query), run through the whole handler and an in-memory store holding a few
 * rows. Every input must be answered with a JSON document and a 200, 400, 404 or 405 (never a
 * crash, a leak or a 5xx); the time parser alone must accept or refuse, never read past the
 * input. `make check` runs it under driver.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin/admin_logs.h"
#include "admin/admin_util.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_store *store;

static void done(void)
{
    gw_store_close(store);
}

static void setup(void)
{
    char err[256];
    store = gw_store_open("memory:", NULL, err, sizeof err);
    if (!store) {
        fprintf(stderr, "fuzz_admin_query: %s\n", err);
        abort();
    }
    atexit(done);
    for (int i = 0; i < 5; i++) {
        struct gw_log_row r = {0};
        snprintf(r.request_id, sizeof r.request_id, "req-%d", i);
        snprintf(r.key_id, sizeof r.key_id, "keyAAAAAAAAA");
        snprintf(r.model_asked, sizeof r.model_asked, "gpt-4o-mini");
        snprintf(r.provider, sizeof r.provider, i % 2 ? "openai" : "groq");
        r.status = i == 3 ? 500 : 200;
        r.latency_ms = 10 * i;
        r.ttfb_ms = -1;
        r.input_tokens = r.output_tokens = r.cached_tokens = r.reasoning_tokens = i;
        r.cost_usd = -1;
        gw_store_log_put(store, &r);
    }
    if (gw_store_flush(store, 10000))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size == 0 || size > 4096)
        return 0;
    char *path = malloc(size);
    if (!path)
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';

    int64_t ms;
    if (strlen(path) < 40)
        (void)gw_admin_parse_time(path, &ms);

    struct gw_buf out;
    gw_buf_init(&out, 1u << 22);
    int status = 0, rc;
    if (data[0] % 2)
        rc = gw_admin_usage_handle(store, data[0] & 2 ? "GET" : "POST", path, &out, &status);
    else
        rc = gw_admin_logs_handle(store, data[0] & 2 ? "GET" : "DELETE", path, &out, &status);
    if (rc != 0)
        abort();
    if (status != 200 && status != 400 && status != 404 && status != 405) {
        fprintf(stderr, "fuzz_admin_query: status %d for [%s]: %.*s\n", status, path, (int)out.len,
                out.ptr);
        abort();
    }
    cJSON *doc = cJSON_ParseWithLength(out.ptr, out.len);
    if (!doc)
        abort();
    cJSON_Delete(doc);
    gw_buf_free(&out);
    free(path);
    return 0;
}
