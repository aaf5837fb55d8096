/* encoding - a request body's Content-Encoding undone (see encoding.h). */
#include "proxy/encoding.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aigw/plugin.h"

static const char *const coding_names[] = {
    [GW_CODING_GZIP] = "gzip",
    [GW_CODING_DEFLATE] = "deflate",
    [GW_CODING_ZSTD] = "zstd",
    [GW_CODING_BR] = "br",
};

struct read_state {
    struct gw_codings *out;
    int rc;
    char bad[40];
};

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct read_state *s = cls;
    if (strcasecmp(key, "Content-Encoding") != 0 || !value)
        return MHD_YES;
    s->rc = gw_coding_parse(value, strlen(value), s->out, s->bad, sizeof s->bad);
    return s->rc < 0 ? MHD_NO : MHD_YES;
}

static void fail(struct gw_decode_fail *f, int status, const char *type, const char *code)
{
    f->status = status;
    f->type = type;
    f->code = code;
}

int gw_encoding_read(struct MHD_Connection *conn, struct gw_codings *out, struct gw_decode_fail *f)
{
    /* A list may be split over several field lines (RFC 9110 5.3); MHD keeps each. */
    struct read_state s = {out, 0, ""};
    out->n = 0;
    /* Almost no request has one: a lookup (length first, then the name) answers that for
     * about a fifth of what walking every header with strcasecmp costs. */
    static const char name[] = "Content-Encoding";
    if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, name, sizeof name - 1, NULL, NULL) ==
        MHD_NO)
        return 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, each_header, &s);
    if (s.rc == 0)
        return 0;
    fail(f, 415, "invalid_request_error", "unsupported_content_encoding");
    if (s.rc == AIGW_ETOOBIG)
        snprintf(f->message, sizeof f->message, "the request body has more than %d content codings",
                 GW_CODING_MAX_LAYERS);
    else
        snprintf(f->message, sizeof f->message,
                 "unsupported Content-Encoding '%s'; accepted: " GW_CODING_ACCEPTED, s.bad);
    out->n = 0;
    return s.rc;
}

/* The codings as the client listed them, for a message: "gzip, zstd". */
static void list_names(const struct gw_codings *c, char *dst, size_t size)
{
    size_t k = 0;
    dst[0] = '\0';
    for (int i = 0; i < c->n && k < size; i++) {
        int w = snprintf(dst + k, size - k, "%s%s", i ? ", " : "", coding_names[c->c[i]]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

int gw_encoding_decode(const struct gw_codings *c, const char *p, size_t n, size_t cap,
                       int cap_is_total, struct gw_buf *out, struct gw_decode_fail *f)
{
    int rc = gw_coding_decode(c, p, n, cap, out);
    if (rc == 0)
        return 0;
    char names[64];
    list_names(c, names, sizeof names);
    if (rc == AIGW_ETOOBIG && cap_is_total) {
        fail(f, 503, "service_unavailable_error", "server_busy");
        snprintf(f->message, sizeof f->message,
                 "the gateway holds as many request bodies as it may (max_body_bytes_total); "
                 "retry");
    } else if (rc == AIGW_ETOOBIG) {
        fail(f, 413, "invalid_request_error", "request_too_large");
        snprintf(f->message, sizeof f->message,
                 "the request body, decoded (Content-Encoding: %s), is larger than %zu bytes",
                 names, cap);
    } else if (rc == AIGW_EINVAL) {
        fail(f, 400, "invalid_request_error", "invalid_content_encoding");
        snprintf(f->message, sizeof f->message,
                 "the request body could not be decoded as its Content-Encoding (%s) says: "
                 "corrupt or truncated",
                 names);
    } else {
        fail(f, 500, "server_error", "out_of_memory");
        snprintf(f->message, sizeof f->message, "out of memory decoding the request body");
    }
    return rc;
}
