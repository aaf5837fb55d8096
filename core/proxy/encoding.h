/*
 * encoding - a request body's Content-Encoding undone before anything reads it (the dialect
 * parsers, the request log, the guards and the cache key see the plain JSON; the upstream
 * never sees the client's coding, as no client header is passed on). The MHD side of
 * lib/coding: the header's field lines collected, the outcomes named as the client will read
 * them. Called on the worker that holds the connection.
 */
#ifndef GW_PROXY_ENCODING_H
#define GW_PROXY_ENCODING_H

#include <stddef.h>

#include <microhttpd.h>

#include "lib/buf.h"
#include "lib/coding.h"

/* Why a body was refused, in the terms every dialect renders. */
struct gw_decode_fail {
    int status; /* 415 unknown coding, 400 undecodable, 413 too large, 500 out of memory */
    const char *type;
    const char *code;
    char message[256];
};

/* Every Content-Encoding field line of the request, in order, into out (n 0: nothing to
 * undo). 0, or negative with f filled (415). */
int gw_encoding_read(struct MHD_Connection *conn, struct gw_codings *out, struct gw_decode_fail *f);

/* Decodes p[n] per c into out (at most cap bytes). cap_is_total: the cap was lowered to
 * what every body held at once leaves (max_body_bytes_total), so passing it is a 503, not
 * a 413. 0, or negative with f filled. */
int gw_encoding_decode(const struct gw_codings *c, const char *p, size_t n, size_t cap,
                       int cap_is_total, struct gw_buf *out, struct gw_decode_fail *f);

#endif
