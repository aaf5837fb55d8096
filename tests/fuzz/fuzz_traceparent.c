/*
 * libFuzzer target for the W3C trace context parsers of core/obs/trace.c. Input: a
 * traceparent and a tracestate separated by the first newline. Checks what must hold for
 * any input: a parsed traceparent formats back to the input (version 00, flags 00/01), a
 * kept tracestate is a piece of the input of at most 512 bytes that parses again to itself.
 * Coverage-guided: tests/fuzz/run-libfuzzer SECONDS traceparent (the lf_traceparent build).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    size_t tpn = nl ? (size_t)(nl - p) : size;
    const char *ts = nl ? nl + 1 : NULL;
    size_t tsn = nl ? size - tpn - 1 : 0;

    struct gw_trace_ctx c;
    memset(&c, 0, sizeof c);
    if (gw_traceparent_parse(p, tpn, &c) == 0) {
        if (tpn < GW_TRACEPARENT_LEN || c.flags > 1)
            abort();
        char out[GW_TRACEPARENT_LEN + 1];
        gw_traceparent_format(c.trace_id, c.span_id, c.flags, out);
        /* Same ids; version and flags may differ only where the input had a later version or
         * extra flag bits. */
        if (memcmp(out + 2, p + 2, 51) != 0)
            abort();
        if (p[0] == '0' && p[1] == '0' && (p[53] == '0' && (p[54] == '0' || p[54] == '1')) &&
            memcmp(out, p, GW_TRACEPARENT_LEN) != 0)
            abort();
        struct gw_trace_ctx again;
        if (gw_traceparent_parse(out, GW_TRACEPARENT_LEN, &again) != 0 ||
            memcmp(again.trace_id, c.trace_id, 16) || memcmp(again.span_id, c.span_id, 8))
            abort();
    }
    if (ts && gw_tracestate_parse(ts, tsn, &c) == 0) {
        if (!c.state || c.state < ts || c.state + c.state_len > ts + tsn || !c.state_len ||
            c.state_len > GW_TRACESTATE_MAX)
            abort();
        struct gw_trace_ctx again;
        if (gw_tracestate_parse(c.state, c.state_len, &again) != 0 || again.state != c.state ||
            again.state_len != c.state_len)
            abort();
    } else if (ts && (c.state || c.state_len)) {
        abort();
    }
    return 0;
}
