/*
 * libFuzzer target for client-facing parsers: request validation (every route kind) and the
 * config dialect (comments, trailing commas, ${VAR}); tests/fuzz/run-libfuzzer runs it. Any
 * input must give a result or a clean error, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/jsonc.h"
#include "front/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (data[0] & 0x80) {
        struct gw_buf out;
        char err[256];
        gw_buf_init(&out, 1u << 20);
        int rc = gw_jsonc_to_json(p, n, &out, err, sizeof err);
        if (rc == 0) {
            cJSON *j = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
            cJSON_Delete(j);
        } else if (!err[0] && rc != AIGW_ETOOBIG && rc != AIGW_ENOMEM) {
            abort(); /* every refusal explains itself */
        }
        gw_buf_free(&out);
        return 0;
    }
    struct gw_parsed parsed;
    struct gw_request_err err;
    int kind = data[0] % 4 + GW_ROUTE_CHAT;
    if (gw_request_parse(kind, p, n, &parsed, &err) == 0) {
        if (!parsed.body || !parsed.model)
            abort();
        gw_parsed_free(&parsed);
    } else if (err.status != 400 || !err.message[0]) {
        abort();
    }
    return 0;
}
