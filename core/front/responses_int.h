/*
 * responses_int - the Responses renderer's state, shared by responses_render.c (the stream's
 * state machine and events) and responses_doc.c (the response object and its items).
 * Threading: one renderer per request, one thread at a time.
 */
#ifndef GW_FRONT_RESPONSES_INT_H
#define GW_FRONT_RESPONSES_INT_H

#include "front/responses.h"

#define GW_RESP_MAX_OUTPUT 1024 /* output items of one response */
#define GW_RESP_MAX_PARTS 16    /* content parts of one message */

enum gw_resp_item_kind {
    GW_RESP_MESSAGE = 1,
    GW_RESP_REASONING = 2,
    GW_RESP_FUNCTION = 3,
    GW_RESP_CUSTOM = 4,
    GW_RESP_COMPACTION = 5, /* its encrypted_content is the render's summary */
};

struct gw_resp_part {
    int refusal; /* a refusal part, else output_text */
    struct gw_buf text;
};

struct gw_resp_item {
    int kind;
    char id[GW_RESP_ID_MAX];
    char call_id[GW_RESP_ID_MAX];
    char *name;       /* the client's tool name */
    char *ns;         /* its namespace, or NULL */
    int tool_index;   /* the upstream's index of a tool call, else -1 */
    int output_index; /* position in output once announced, else -1 */
    int closed;
    int waiting; /* a tool call that began while another was open: buffered, unannounced */
    int nparts;  /* message: content parts; reasoning: parts[0] is the summary text */
    struct gw_resp_part parts[GW_RESP_MAX_PARTS];
    int part_open;      /* stream: the last part was announced and is not done */
    struct gw_buf args; /* tool calls: the arguments as the upstream sent them */
    struct gw_buf enc;  /* reasoning: its encrypted content (signature or redacted data) */
};

struct gw_resp_render {
    struct gw_resp_ctx *ctx; /* the parse's, borrowed (it lives as long as the request) */
    int stream;
    char *model;
    int seq;     /* the next sequence_number */
    int started; /* response.created and response.in_progress went out */
    int ended;
    int finish;                 /* enum aigw_finish of choice 0 */
    struct gw_resp_item *items; /* in creation order */
    int nitems;
    int noutput; /* items announced */
    int open;    /* the item receiving deltas, or -1 */
    struct aigw_usage usage;
    int have_usage;
    /* A text delta event's bytes up to its text, for the item (index + 1; 0: none) and part it
     * was made for: a message streams hundreds of deltas into one part. */
    struct gw_buf dhead;
    int dhead_item, dhead_part;
    struct gw_buf summary; /* a compacting request: the answer's text, never sent as text */
};

/* The response object as of now; status "in_progress" writes no output and null usage. error
 * is set only for "failed". */
int gw_resp_write_response(const struct gw_resp_render *r, struct gw_buf *out, const char *status,
                           const struct aigw_error *error);
/* One item: its state now (final 0: as output_item.added shows it) or final. */
int gw_resp_write_item(const struct gw_resp_render *r, const struct gw_resp_item *it,
                       struct gw_buf *out, int final);
/* The usage member (,"usage":{...}) of a finished response. */
int gw_resp_write_usage(const struct gw_resp_render *r, struct gw_buf *out);
/* ---- compaction (responses_compact.c) ---- */
/* Keeps n more bytes of the summary's text (cut at its cap). 0 or negative. */
int gw_resp_compact_text(struct gw_resp_render *r, const char *p, size_t n);
/* The compaction item {"id","type","encrypted_content"} holding the summary. */
int gw_resp_write_compaction_item(const struct gw_resp_render *r, const char *id,
                                  struct gw_buf *out);
/* The response.compaction document of POST /v1/responses/compact. */
int gw_resp_write_compacted(const struct gw_resp_render *r, struct gw_buf *out);
/* A custom tool call's raw input from the {"input": ...} arguments the upstream produced. */
char *gw_resp_custom_input(const char *args, size_t len);
/* Keeps a finished response when the request asked to (store: true and a store bound): 0
 * when kept or not asked, negative when the store refused it (too large, its queue full). */
int gw_resp_keep(const struct gw_resp_render *r, const char *response_json, size_t len);

/* ---- the stream's events (responses_events.c): each appends one whole event to out ---- */
int gw_resp_ev_open(struct gw_resp_render *r, struct gw_buf *out, const char *type);
int gw_resp_ev_close(struct gw_resp_render *r, struct gw_buf *out);
int gw_resp_ev_item(struct gw_buf *out, const struct gw_resp_item *it);
int gw_resp_ev_index(struct gw_buf *out, const char *key, int v);
int gw_resp_ev_text(struct gw_buf *out, const char *key, const char *p, size_t n);
int gw_resp_ev_response(struct gw_resp_render *r, struct gw_buf *out, const char *type,
                        const char *status, const struct aigw_error *e);
int gw_resp_ev_start(struct gw_resp_render *r, struct gw_buf *out);
int gw_resp_ev_item_state(struct gw_resp_render *r, struct gw_buf *out,
                          const struct gw_resp_item *it, int final);
int gw_resp_ev_part(struct gw_resp_render *r, struct gw_buf *out, const struct gw_resp_item *it,
                    int idx, int final);
int gw_resp_ev_part_text(struct gw_resp_render *r, struct gw_buf *out,
                         const struct gw_resp_item *it, int idx, const char *p, size_t n);
int gw_resp_ev_args(struct gw_resp_render *r, struct gw_buf *out, const struct gw_resp_item *it,
                    const char *p, size_t n, int done);

#endif
