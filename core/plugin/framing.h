/*
 * framing - cuts a streamed upstream body into frames: SSE events, NDJSON lines, JSON
 * sequences (SSE events plus bare JSON objects between them, as Google streams end a failure),
 * or AWS event-stream messages (eventstream.c). Incremental: bytes may arrive split anywhere;
 * the result is the same for any split. Every framer holds at most `cap` pending bytes.
 *
 * Threading: a framer belongs to one call; no locking.
 */
#ifndef GW_FRAMING_H
#define GW_FRAMING_H

#include <stddef.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "plugin/eventstream.h"

/* Called once per complete frame. A non-zero return stops feeding and is returned by
 * gw_framer_feed(). */
typedef int (*gw_frame_fn)(void *ud, const struct aigw_frame *frame);

struct gw_framer {
    int kind;            /* enum aigw_framing */
    size_t cap;          /* max bytes of one pending frame */
    struct gw_buf line;  /* SSE / NDJSON: the current partial line */
    struct gw_buf data;  /* SSE: the data lines of the current event */
    struct gw_buf event; /* SSE: the event name of the current event */
    int have_data;       /* SSE: a data: line was seen in the current event */
    int skip_lf;         /* a CR ended the last line; swallow a following LF */
    int bom_checked;     /* SSE: a leading UTF-8 BOM was looked for */
    int bare_depth;      /* JSON_SEQ: open braces of the bare object being read (0: none) */
    int bare_in_str;     /* JSON_SEQ: inside a string of that object */
    int bare_esc;        /* JSON_SEQ: the last byte of that string was an escaping backslash */
    struct gw_evs evs;   /* EVENTSTREAM */
};

#define GW_FRAMER_DEFAULT_CAP (4u << 20)

void gw_framer_init(struct gw_framer *f, int kind, size_t cap);
void gw_framer_free(struct gw_framer *f);
/* Returns 0, a callback's non-zero return, AIGW_ETOOBIG when a frame passes the cap, or
 * AIGW_EPROTO on a malformed event-stream message. */
int gw_framer_feed(struct gw_framer *f, const char *p, size_t n, gw_frame_fn fn, void *ud);
/* End of body: flushes a final SSE event / NDJSON line that had no terminator. AIGW_EPROTO
 * when a JSON sequence ends inside a bare object. */
int gw_framer_finish(struct gw_framer *f, gw_frame_fn fn, void *ud);

#endif
