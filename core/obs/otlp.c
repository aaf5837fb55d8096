/* otlp - the OTLP/JSON encoder of an ExportTraceServiceRequest (see otlp.h).
 *
 * The JSON mapping of OTLP differs from plain proto3 JSON in two places that collectors
 * check: trace and span ids are lowercase hex (not base64), and enums are integers. 64-bit
 * integers (times, intValue) are JSON strings, as proto3 JSON says. */
#include "obs/otlp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/crypto.h"
#include "lib/redact.h"
#include "lib/utf8.h"

struct enc {
    struct gw_buf *b;
    int rc; /* the first error; later writes are skipped */
};

static void raw(struct enc *e, const char *s, size_t n)
{
    if (!e->rc)
        e->rc = gw_buf_append(e->b, s, n);
}

static void lit(struct enc *e, const char *s)
{
    raw(e, s, strlen(s));
}

/* Escapes valid UTF-8 text (JSON: quote, backslash and control characters). */
static void escape_valid(struct enc *e, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        raw(e, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"':
            lit(e, "\\\"");
            break;
        case '\\':
            lit(e, "\\\\");
            break;
        case '\n':
            lit(e, "\\n");
            break;
        case '\r':
            lit(e, "\\r");
            break;
        case '\t':
            lit(e, "\\t");
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            lit(e, esc);
        }
    }
    raw(e, s + run, n - run);
}

/* A JSON string of s after redaction; invalid UTF-8 bytes become U+FFFD. */
static void str(struct enc *e, const char *s, size_t n)
{
    char stack[1024];
    char *heap = NULL, *r = stack;
    /* A secret of 4+ bytes becomes "[REDACTED]": at most 2.5 times longer. */
    size_t size = 3 * n + 16;
    if (size > sizeof stack && !(r = heap = malloc(size))) {
        e->rc = e->rc ? e->rc : AIGW_ENOMEM;
        return;
    }
    size_t m = gw_redact(s, n, r, size);
    lit(e, "\"");
    for (size_t i = 0; i < m;) {
        size_t bad = gw_utf8_invalid_at(r + i, m - i);
        size_t good = bad == (size_t)-1 ? m - i : bad;
        escape_valid(e, r + i, good);
        i += good;
        if (i < m) {
            lit(e, "\\ufffd");
            i++;
        }
    }
    lit(e, "\"");
    free(heap);
}

static void cstr(struct enc *e, const char *s)
{
    str(e, s, strlen(s));
}

/* Attribute keys and event names: literals of our own code, escaped but not redacted. */
static void name(struct enc *e, const char *s)
{
    lit(e, "\"");
    escape_valid(e, s, strlen(s));
    lit(e, "\"");
}

static void hex(struct enc *e, const uint8_t *id, size_t n)
{
    char h[2 * GW_TRACE_ID_LEN + 3];
    h[0] = '"';
    gw_hex(id, n, h + 1);
    h[2 * n + 1] = '"';
    raw(e, h, 2 * n + 2);
}

static void i64str(struct enc *e, int64_t v)
{
    char d[24];
    int n = snprintf(d, sizeof d, "\"%" PRId64 "\"", v);
    raw(e, d, (size_t)n);
}

static void key_value(struct enc *e, const char *key, const char *v)
{
    lit(e, "{\"key\":");
    cstr(e, key);
    lit(e, ",\"value\":{\"stringValue\":");
    cstr(e, v);
    lit(e, "}}");
}

static void attr_value(struct enc *e, const struct gw_span_attr *a)
{
    char d[40];
    switch (a->type) {
    case GW_ATTR_STR:
        lit(e, "{\"stringValue\":");
        str(e, a->v.s, a->len);
        lit(e, "}");
        break;
    case GW_ATTR_INT:
        lit(e, "{\"intValue\":");
        i64str(e, a->v.i);
        lit(e, "}");
        break;
    case GW_ATTR_DOUBLE:
        /* The shortest of %.15g and %.17g that reads back the same (0.000125, not
         * 0.00012500000000000001); setters let no NaN or infinity in. */
        snprintf(d, sizeof d, "%.15g", a->v.d);
        if (strtod(d, NULL) != a->v.d)
            snprintf(d, sizeof d, "%.17g", a->v.d);
        lit(e, "{\"doubleValue\":");
        lit(e, d);
        lit(e, "}");
        break;
    case GW_ATTR_BOOL:
        lit(e, a->v.b ? "{\"boolValue\":true}" : "{\"boolValue\":false}");
        break;
    case GW_ATTR_STRS: {
        lit(e, "{\"arrayValue\":{\"values\":[");
        const char *p = a->v.s;
        for (uint32_t i = 0; i < a->count; i++) {
            size_t n = strlen(p);
            lit(e, i ? ",{\"stringValue\":" : "{\"stringValue\":");
            str(e, p, n);
            lit(e, "}");
            p += n + 1;
        }
        lit(e, "]}}");
        break;
    }
    default:
        lit(e, "{}");
    }
}

static void span(struct enc *e, const struct gw_span *s)
{
    lit(e, "{\"traceId\":");
    hex(e, s->trace_id, GW_TRACE_ID_LEN);
    lit(e, ",\"spanId\":");
    hex(e, s->span_id, GW_SPAN_ID_LEN);
    if (s->has_parent) {
        lit(e, ",\"parentSpanId\":");
        hex(e, s->parent_id, GW_SPAN_ID_LEN);
    }
    if (s->state && s->state_len) {
        lit(e, ",\"traceState\":");
        str(e, s->state, s->state_len);
    }
    /* flags: the W3C trace flags, plus bit 8 "has parent-is-remote info" and bit 9 "is
     * remote" (OTLP 1.1), which lets a backend tell a continued client trace from ours. */
    char d[64];
    snprintf(d, sizeof d, ",\"flags\":%u",
             (unsigned)s->flags | 0x100u | (s->parent_remote ? 0x200u : 0u));
    lit(e, d);
    lit(e, ",\"name\":");
    cstr(e, s->name);
    snprintf(d, sizeof d, ",\"kind\":%d,\"startTimeUnixNano\":", s->kind);
    lit(e, d);
    i64str(e, s->start_ns);
    lit(e, ",\"endTimeUnixNano\":");
    i64str(e, s->end_ns ? s->end_ns : s->start_ns);
    lit(e, ",\"attributes\":[");
    for (int i = 0; i < s->nattrs; i++) {
        lit(e, i ? ",{\"key\":" : "{\"key\":");
        name(e, s->attrs[i].key);
        lit(e, ",\"value\":");
        attr_value(e, &s->attrs[i]);
        lit(e, "}");
    }
    lit(e, "]");
    if (s->dropped_attrs) {
        snprintf(d, sizeof d, ",\"droppedAttributesCount\":%" PRIu32, s->dropped_attrs);
        lit(e, d);
    }
    lit(e, ",\"events\":[");
    for (int i = 0; i < s->nevents; i++) {
        lit(e, i ? ",{\"timeUnixNano\":" : "{\"timeUnixNano\":");
        i64str(e, s->events[i].time_ns);
        lit(e, ",\"name\":");
        name(e, s->events[i].name);
        lit(e, "}");
    }
    lit(e, "]");
    if (s->dropped_events) {
        snprintf(d, sizeof d, ",\"droppedEventsCount\":%" PRIu32, s->dropped_events);
        lit(e, d);
    }
    snprintf(d, sizeof d, ",\"status\":{\"code\":%d", s->status);
    lit(e, d);
    if (s->status_msg) {
        lit(e, ",\"message\":");
        cstr(e, s->status_msg);
    }
    lit(e, "}}");
}

int gw_otlp_encode(const struct gw_otlp_resource *res, const struct gw_span *spans,
                   struct gw_buf *out)
{
    struct enc e = {out, 0};
    lit(&e, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    key_value(&e, "service.name", res && res->service_name ? res->service_name : "aigw");
    if (res && res->service_version) {
        lit(&e, ",");
        key_value(&e, "service.version", res->service_version);
    }
    lit(&e, ",");
    key_value(&e, "telemetry.sdk.name", "aigw");
    lit(&e, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"aigw\"");
    if (res && res->service_version) {
        lit(&e, ",\"version\":");
        cstr(&e, res->service_version);
    }
    lit(&e, "},\"spans\":[");
    int first = 1;
    for (const struct gw_span *s = spans; s; s = s->next) {
        if (!s->recording)
            continue;
        if (!first)
            lit(&e, ",");
        first = 0;
        span(&e, s);
    }
    lit(&e, "]}]}]}");
    return e.rc;
}
