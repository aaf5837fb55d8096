/*
 * redis_resp - RESP2 replies read from bytes and commands written to bytes, on hiredis 0.14's
 * reply reader and command formatter and nothing else of hiredis (its blocking and async
 * clients have no deadlines and abort on out-of-memory).
 *
 * The reader owns every byte a Redis server sends before aigw trusts it, so it has hard caps:
 * unread bytes buffered (a bulk string announced as 2^40 bytes waits in that buffer and hits
 * the cap), elements per array (an array header is allocated up front), and nesting (hiredis
 * stops at 7 levels). Replies are aigw's own objects (struct gw_resp), built through hiredis'
 * object hooks, so a cap is an error reply of the reader, never an abort.
 *
 * Threading: a reader is used by one thread at a time; the formatter is reentrant.
 */
#ifndef GW_REDIS_RESP_H
#define GW_REDIS_RESP_H

#include <stddef.h>

#include "lib/buf.h"

/* Same values as hiredis' REDIS_REPLY_*. */
enum gw_resp_type {
    GW_RESP_STRING = 1,
    GW_RESP_ARRAY = 2,
    GW_RESP_INTEGER = 3,
    GW_RESP_NIL = 4,
    GW_RESP_STATUS = 5,
    GW_RESP_ERROR = 6,
};

struct gw_resp {
    int type;
    long long integer; /* GW_RESP_INTEGER */
    size_t len;        /* STRING, STATUS, ERROR: bytes at str (NUL-terminated too) */
    char *str;
    size_t elements; /* ARRAY */
    struct gw_resp **element;
};

struct gw_resp_reader;

/* max_buffer: unread bytes held at most (0: 1 MiB); max_elements: per array (0: 4096). */
int gw_resp_reader_new(size_t max_buffer, size_t max_elements, struct gw_resp_reader **out);
void gw_resp_reader_free(struct gw_resp_reader *rd);
/* Appends bytes from the network. AIGW_ETOOBIG when the unread bytes would pass max_buffer,
 * AIGW_ENOMEM; the reader is then unusable (drop the connection). */
int gw_resp_reader_feed(struct gw_resp_reader *rd, const char *p, size_t n);
/* 1 and *out (the caller frees it with gw_resp_free) when a whole reply is in; 0 when more
 * bytes are needed; AIGW_EPROTO on a protocol error or a cap (the reader is then unusable). */
int gw_resp_reader_next(struct gw_resp_reader *rd, struct gw_resp **out);
/* Why the reader failed (static text, no reply bytes in it). */
const char *gw_resp_reader_error(const struct gw_resp_reader *rd);
void gw_resp_free(struct gw_resp *r);

/* Appends one command (argc arguments, binary-safe) in RESP. 0, AIGW_ETOOBIG, AIGW_ENOMEM. */
int gw_resp_format(struct gw_buf *out, int argc, const char *const *argv, const size_t *lens);

#endif
