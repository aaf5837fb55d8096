/*
 * render - normalized chunks in, OpenAI JSON out. The only place that writes OpenAI response
 * shapes: chat.completion, chat.completion.chunk SSE, text_completion (legacy /v1/completions),
 * embeddings lists, images responses, and in-stream error events.
 *
 * Guarantees to clients, whatever the provider did: the first chunk of each choice carries
 * role "assistant"; each choice finishes exactly once; a usage chunk (choices: []) comes last
 * when the client asked for include_usage; the stream ends with data: [DONE].
 *
 * Threading: one renderer per client request, used by one thread at a time.
 */
#ifndef GW_RENDER_H
#define GW_RENDER_H

#include <stdint.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

#define GW_RENDER_MAX_CHOICES 128
#define GW_RENDER_MAX_TOOLS 128

struct gw_render_tool {
    char *id;
    char *name;
    struct gw_buf args;
};

struct gw_render_choice {
    int started;  /* the role was sent (stream) / the choice exists (non-stream) */
    int finished; /* a finish_reason was sent */
    int finish;   /* enum aigw_finish */
    int ntools;   /* tool calls seen */
    int content_null_ok;
    struct gw_buf text;
    struct gw_buf reasoning;
    struct gw_buf refusal;
    struct gw_render_tool *tools; /* non-stream accumulation (and ids for streams) */
};

struct gw_render {
    int op;
    int stream;
    int include_usage;
    int legacy; /* /v1/completions */
    char id[96];
    char *model;
    int64_t created;
    int id_fixed; /* the first byte went out: id/model/created can no longer change */
    char *ev_head; /* a stream event's opening ("data: {...,"model":..), once id_fixed */
    size_t ev_head_len;
    int nchoices;
    struct gw_render_choice *choices;
    struct aigw_usage usage;
    int have_usage;
    int ended;
    void *items; /* cJSON array: embeddings / images data, extra fields */
    void *extras;
    int64_t bytes_out;
};

int gw_render_init(struct gw_render *r, int op, int stream, int include_usage, int legacy,
                   const char *model, const char *request_id);
void gw_render_free(struct gw_render *r);
/* Stream: appends SSE events to out. Non-stream: accumulates (out untouched). */
int gw_render_chunk(struct gw_render *r, const struct aigw_chunk *c, struct gw_buf *out);
/* Completes the response: stream: pending finish chunks, usage chunk, [DONE];
 * non-stream: the whole JSON document. */
int gw_render_end(struct gw_render *r, struct gw_buf *out);
/* A stream committed before its first content (stream.commit_ms): choice 0's role delta,
 * which its first content then goes without (a legacy completion: an SSE comment). */
int gw_render_start(struct gw_render *r, struct gw_buf *out);
/* A stream that fails after its first byte: an error event, then [DONE]. */
int gw_render_stream_error(struct gw_render *r, const struct aigw_error *err,
                           struct gw_buf *out);
/* Appends a JSON string literal (quoted, escaped) for p/n: lib/jsonprint.h's gw_json_quote. */
int gw_json_escape(struct gw_buf *out, const char *p, size_t n);
const char *gw_finish_name(int finish);


struct gw_call;
/* Completes an OpenAI response from the outcome of a call alone (tests drive plugins this
 * way; the lifetime does the same through the dialect seam, proxy/deliver.c). */
int gw_render_outcome(struct gw_render *r, const struct gw_call *c, int rc, size_t bytes_sent,
                      struct gw_buf *out, int *status);

#endif
