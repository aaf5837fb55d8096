/*
 * coding - HTTP content codings of a request body (RFC 9110 8.4): the Content-Encoding list
 * read, and the body decoded back to what the client compressed. gzip (x-gzip), deflate
 * (zlib-wrapped, or raw deflate as some clients send it), zstd and br, on zlib, libzstd and
 * libbrotlidec (libcurl loads all three into the process already).
 *
 * Every output is capped: decoding stops the moment the cap would be passed, so a small
 * frame that expands without bound costs at most the cap in memory, and no more CPU than
 * decoding that much. No state is shared: any thread may call these at any time.
 */
#ifndef GW_CODING_H
#define GW_CODING_H

#include <stddef.h>

#include "lib/buf.h"

enum gw_coding { GW_CODING_GZIP = 1, GW_CODING_DEFLATE, GW_CODING_ZSTD, GW_CODING_BR };

/* A request may stack codings (each applied after the one before it); more than this is
 * refused: no client has a reason to, and each layer is one more capped copy. */
#define GW_CODING_MAX_LAYERS 4

/* What gw_coding_parse fills in, in the order the codings were applied. */
struct gw_codings {
    int n;
    enum gw_coding c[GW_CODING_MAX_LAYERS];
};

/* The codings gw_coding_parse accepts, for error messages. */
#define GW_CODING_ACCEPTED "gzip, x-gzip, deflate, zstd, br, identity"

/* Appends the codings of one Content-Encoding field value v[n] to out (call once per field
 * line, in order; start with out->n = 0). Names are case-insensitive, separated by commas
 * with optional spaces or tabs; empty elements and "identity" are skipped. 0;
 * AIGW_EINVAL for an unknown coding, whose name (cut, printable bytes only) is copied into
 * bad[badsize]; AIGW_ETOOBIG past GW_CODING_MAX_LAYERS. */
int gw_coding_parse(const char *v, size_t n, struct gw_codings *out, char *bad, size_t badsize);

/* Undoes c (last applied first) on p[n] into out, which is reset first and never grows past
 * cap bytes. An empty input decodes to an empty output (nothing was sent). 0; AIGW_ETOOBIG
 * when the decoded bytes pass cap (out is then freed); AIGW_EINVAL for data that is not of
 * its coding: corrupt, truncated, or followed by bytes after the end; AIGW_ENOMEM. */
int gw_coding_decode(const struct gw_codings *c, const char *p, size_t n, size_t cap,
                     struct gw_buf *out);

#endif
