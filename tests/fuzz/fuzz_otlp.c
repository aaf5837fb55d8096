/*
 * libFuzzer target for the OTLP exporter's input: spans built from arbitrary bytes (names,
 * string, string-array, number and captured-content attributes, events, statuses, a parent
 * context and tracestate from the client's headers) and encoded by gw_otlp_encode. Every
 * output must be one valid JSON document (invalid UTF-8 replaced, controls escaped), and a
 * registered secret given anywhere in a value must not come out. Attribute keys and event
 * names are literals of aigw's own code, so they come from a table here. `make check` runs it
 * under driver.c over seeds/otlp/; run-libfuzzer runs it coverage-guided (lf_otlp).
 *
 * Input: a sequence of records, each an op byte then a field running to the next NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/buf.h"
#include "lib/redact.h"
#include "obs/otlp.h"
#include "obs/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "sk-fuzz-SECRET-0123456789"

static const char *const keys[] = {"gen_ai.request.model",
                                   "url.full",
                                   "error.type",
                                   "gen_ai.input.messages",
                                   "gen_ai.response.finish_reasons",
                                   "http.response.status_code",
                                   "aigw.cost_usd",
                                   "server.address"};

static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        gw_redact_register(SECRET);
        ready = 1;
    }
    struct gw_span *head = NULL, *cur = NULL;
    struct gw_trace_ctx parent;
    int have_parent = 0;
    size_t i = 0;
    int nspans = 0;
    while (i < size) {
        uint8_t op = data[i++];
        const char *f = (const char *)data + i;
        size_t n = 0;
        while (i + n < size && data[i + n])
            n++;
        i += n + (i + n < size); /* past the NUL */
        char field[512];
        size_t fl = n < sizeof field - 1 ? n : sizeof field - 1;
        memcpy(field, f, fl);
        field[fl] = '\0';
        const char *key = keys[(op >> 3) % (sizeof keys / sizeof *keys)];
        switch (op & 7) {
        case 0: /* a client's traceparent then tracestate: "tp|ts" */
        {
            const char *bar = memchr(f, '|', n);
            size_t tpl = bar ? (size_t)(bar - f) : n;
            have_parent = gw_traceparent_parse(f, tpl, &parent) == 0;
            if (have_parent && bar)
                (void)gw_tracestate_parse(bar + 1, n - tpl - 1, &parent);
            break;
        }
        case 1: /* a new span named by the field */
            if (nspans >= 8)
                break;
            cur = cur ? gw_span_child(cur, field, 1 + op % 3)
                      : gw_span_start(have_parent ? &parent : NULL, 1.0, field, 1 + op % 3);
            if (!cur)
                break;
            cur->next = head;
            head = cur;
            nspans++;
            break;
        case 2:
            gw_span_set_str(cur, key, f, n); /* the raw bytes, NULs and all */
            break;
        case 3: {
            const char *v[3] = {field, SECRET, field + fl / 2};
            gw_span_set_strs(cur, key, v, 1 + op % 3);
            break;
        }
        case 4:
            gw_span_set_big(cur, key, f, n, 1 + (size_t)(op >> 3) * 7);
            break;
        case 5:
            gw_span_set_int(cur, key, (int64_t)strtoll(field, NULL, 10));
            gw_span_set_double(cur, "aigw.cost_usd", strtod(field, NULL));
            break;
        case 6:
            gw_span_add_event(cur, op & 8 ? "gen_ai.content.prompt" : "first_token",
                              (int64_t)(op >> 4) * 1000);
            gw_span_set_bool(cur, key, op & 16);
            break;
        case 7:
            gw_span_set_status(cur, op >> 3, field);
            gw_span_end(cur);
            break;
        }
    }
    struct gw_buf out;
    gw_buf_init(&out, 16u << 20);
    struct gw_otlp_resource res = {"aigw", "0.0.0-fuzz"};
    if (gw_otlp_encode(&res, head, &out) != 0)
        abort();
    cJSON *doc = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
    if (!doc)
        abort(); /* the collector would refuse the whole batch */
    cJSON_Delete(doc);
    if (out.ptr && memmem(out.ptr, out.len, SECRET, strlen(SECRET)))
        abort(); /* a secret in a span */
    gw_buf_free(&out);
    gw_span_free_list(head);
    return 0;
}
