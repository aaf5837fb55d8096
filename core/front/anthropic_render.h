/*
 * anthropic_render - the renderer's state, shared by its two files: anthropic_render.c (chunks
 * -> content blocks: which block is open, tool calls in order, the stop reason, usage) and
 * anthropic_events.c (a block opened, extended, closed: as SSE events for a stream, into the
 * message object otherwise; message_start / message_delta / message_stop; the document).
 * Private to the Anthropic dialect.
 *
 * Threading: one renderer per request, one thread at a time.
 */
#ifndef GW_FRONT_ANTHROPIC_RENDER_H
#define GW_FRONT_ANTHROPIC_RENDER_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "front/anthropic.h"
#include "lib/buf.h"

#define ANTH_MAX_TOOLS 128

enum anth_block { ANTH_B_NONE = 0, ANTH_B_TEXT, ANTH_B_THINKING, ANTH_B_TOOL, ANTH_B_RAW };

enum anth_tool_state { ANTH_T_PENDING = 0, ANTH_T_OPEN, ANTH_T_CLOSED };

/* Whether a tool's arguments form a whole JSON value yet (so the next tool may start). */
struct anth_json_scan {
    int depth;
    int in_str;
    int esc;
    int opened;
    int complete;
};

struct anth_tool {
    int seen;
    int state; /* enum anth_tool_state */
    char id[GW_ANTH_NAME_MAX + 1];
    char *name;         /* the client's tool name */
    struct gw_buf args; /* arguments not sent yet */
    struct anth_json_scan scan;
};

/* A content chunk held back while a tool call's arguments are still arriving. */
struct anth_held {
    int type;
    char *text;
    size_t len;
};

#define ANTH_MAX_HELD 65536
#define ANTH_MAX_HELD_BYTES ((size_t)16 << 20)

struct anth_render {
    const struct gw_anth_ctx *ctx;
    int stream;
    int count_tokens;
    char id[96];
    char *model;
    int started; /* message_start went out (streams) */
    int ended;
    int late_pieces; /* tool argument pieces that came after their block closed */

    /* The open block. */
    int open;       /* enum anth_block */
    int open_index; /* its index in content */
    int open_tool;  /* tool slot of an open tool block */
    int signed_;    /* an open thinking block got its signature */
    int raw_text;   /* the open block is a text block the plugin opened (citations) */
    int next_index;
    int tool_blocks; /* tool_use blocks emitted */

    struct anth_held *held; /* in arrival order */
    int nheld, cap_held;
    size_t held_bytes;

    /* Tool slots by the upstream's tool index, grown as indexes arrive (most answers call no
     * tool: 128 slots inline were 18 KiB of every request, zeroed, and held by a stream). */
    struct anth_tool *tools;
    int ntools; /* slots allocated */
    int *order; /* tool slots by first appearance; as many as tools */
    int norder;

    int finish;        /* enum aigw_finish; 0 until the upstream said */
    char *stop_reason; /* the upstream's own (the anthropic plugin's private channel) */
    char *stop_sequence;

    struct aigw_usage usage;
    int have_usage;
    int64_t start_input;          /* input_tokens that message_start announced */
    int64_t out_ascii, out_other; /* output characters, for an estimate when none is reported */

    /* Non-streams: the content array being built, and the open block's text. */
    cJSON *content;
    cJSON *cur;
    struct gw_buf text;
    struct gw_buf sig;

    /* Streams: a delta event's bytes up to its string, for the block index and delta type it
     * was made for (dhead_type NULL: none); a block streams hundreds of deltas. */
    struct gw_buf dhead;
    int dhead_index;
    const char *dhead_type;
};

/* anthropic_render.c: the block machine the private channel drives too */
/* The first tool slot waiting to be announced, or -1. */
int anth_first_pending(const struct anth_render *r);
/* Ends the open block, if any. */
int anth_close_open(struct anth_render *r, struct gw_buf *out);
/* Sends every tool call that is waiting, whole, and leaves no block open. */
int anth_flush_tools(struct anth_render *r, struct gw_buf *out);
/* Moves on from a finished tool block to the next waiting one and what was held back. */
int anth_pump(struct anth_render *r, struct gw_buf *out);
/* Opens a text or thinking block after the waiting tools. */
int anth_open_simple(struct anth_render *r, struct gw_buf *out, int kind);

/* anthropic_extra.c: a chunk of the anthropic plugin's private channel. */
int anth_on_extra(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out);

/* anthropic_events.c */
int anth_ev_message_start(struct anth_render *r, struct gw_buf *out);
/* Opens a block of kind with its content_block head (borrowed; "index" is added for streams).
 * Non-streams keep a copy of head as the block being built. */
int anth_ev_open(struct anth_render *r, struct gw_buf *out, int kind, const cJSON *head);
/* A delta on the open block: dtype is text_delta, thinking_delta, signature_delta or
 * input_json_delta with field/p/n, or raw (a whole delta object, borrowed) when dtype NULL. */
int anth_ev_delta(struct anth_render *r, struct gw_buf *out, const char *dtype, const char *field,
                  const char *p, size_t n, const cJSON *raw);
int anth_ev_close(struct anth_render *r, struct gw_buf *out);
/* message_delta + message_stop (streams) or the message object. */
int anth_ev_finish(struct anth_render *r, struct gw_buf *out, const char *stop_reason);
/* count_tokens: {"input_tokens": N}. */
int anth_ev_count(struct anth_render *r, struct gw_buf *out);

#endif
