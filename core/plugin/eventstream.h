/*
 * eventstream - incremental decoder for AWS's application/vnd.amazon.eventstream framing
 * (Bedrock ConverseStream). Checks both CRCs, bounds the message size, and hands each message
 * on as an aigw_frame: event = :event-type (or :exception-type / :error-code for exceptions),
 * data = payload, is_exception set for :message-type exception / error.
 *
 * Threading: a decoder belongs to one call; no locking.
 */
#ifndef GW_EVENTSTREAM_H
#define GW_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

#define GW_EVS_MAX_MESSAGE (24u * 1024 * 1024 + 128u * 1024 + 16)

struct gw_evs {
    struct gw_buf pending; /* bytes of the message being assembled */
    size_t max_message;    /* cap on total_length; 0 = GW_EVS_MAX_MESSAGE */
};

void gw_evs_init(struct gw_evs *d, size_t max_message);
void gw_evs_free(struct gw_evs *d);
/* Feeds bytes; calls fn for each complete message. Returns 0, fn's non-zero return,
 * AIGW_EPROTO (CRC mismatch, bad lengths, malformed headers) or AIGW_ETOOBIG. After an error
 * the decoder must not be fed again. */
int gw_evs_feed(struct gw_evs *d, const char *p, size_t n,
                int (*fn)(void *ud, const struct aigw_frame *frame), void *ud);
/* 0 when no partial message is pending, else AIGW_EPROTO (truncated stream). */
int gw_evs_finish(struct gw_evs *d);

/* CRC-32 (IEEE, as zlib), exposed for tests and encoders. */
uint32_t gw_crc32(uint32_t crc, const void *p, size_t n);

#endif
