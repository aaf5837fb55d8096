/*
 * dialect - the seam between what a client speaks and the request's lifetime.
 *
 * A dialect is a pair: parse (the client's body -> the internal request plugins already
 * receive: an OpenAI chat-shaped cJSON body, validated) and render (normalized chunks -> the
 * dialect's JSON document or SSE events, and its error bodies). The lifetime (core/proxy/)
 * knows dialects only through this table; adding a dialect touches no file of the lifetime:
 * write front/<name>_*.c, fill a struct gw_dialect, and add its endpoints to front/endpoints.c.
 *
 * Threading: parse is stateless; a renderer belongs to one request and is used by one thread
 * at a time.
 */
#ifndef GW_FRONT_DIALECT_H
#define GW_FRONT_DIALECT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

/* What a parse failure says; rendered by the dialect's own error_body. */
struct gw_front_err {
    int status;        /* HTTP status, 400 unless said otherwise */
    const char *type;  /* the dialect's error type, or NULL for the status's default */
    const char *code;  /* static string or NULL */
    const char *param; /* static string or NULL */
    char message[512];
};

/* The client's request as the HTTP side received it. Bytes are borrowed for the call. */
struct gw_inbound {
    const char *body; /* the whole body (not NUL-terminated) */
    size_t len;
    const char *path;  /* without the query */
    const char *query; /* after '?', or NULL */
    /* Header lookup (case-insensitive name); NULL when absent. */
    const char *(*header)(void *ud, const char *name);
    void *header_ud;
    /* The public id of the gateway key the caller presented, or NULL (a static key, none). */
    const char *key_id;
    /* 1: a parse that would read the state store (a conversation kept there) reads nothing
     * and returns GW_PARSE_STORE, so that the caller parses it again off its event loop. */
    int defer_store;
};

/* What a parse with gw_inbound.defer_store returns for a body that reads the store. */
#define GW_PARSE_STORE 1

/* The internal request: what every phase after parsing reads. */
struct gw_parsed {
    cJSON *body;       /* OpenAI chat-shaped (or embeddings/images) request; owned */
    const char *model; /* points into body; may be "" for images without a model */
    int stream;
    int include_usage; /* the renderer wants a usage report at the end of a stream */
    int op;            /* enum aigw_op */
    int legacy;        /* /v1/completions: text_completion shapes */
    /* The client's own body, kept when a target that speaks the dialect natively may forward
     * it (fidelity: cache_control, signatures, citations); owned, may be NULL. */
    cJSON *native;
    /* Texts the native body carries to the model that body does not (a JSON array, owned, or
     * NULL, of string references into native): dropped by the translation, they still reach a
     * native target, so the input guardrails read them too. */
    cJSON *native_only;
    /* Tools the dialect dropped because no target can run them (comma-separated names, for
     * the X-Gateway-Dropped-Tools header and the log); "" when none. */
    char dropped_tools[256];
    /* The dialect's own context from parse to render (e.g. tool-name maps, echoed request
     * fields); freed by the dialect's ctx_free. */
    void *ctx;
    const struct gw_dialect *dialect;
    /* An input guardrail changed a text of the request, a redaction, not only a number such
     * as max_tokens (set before any renderer is made; Responses requests only): what the
     * client sent holds what a guard matched, so the dialect keeps none of it. */
    int guard_rewrote;
};

struct gw_dialect {
    const char *name; /* "openai", "anthropic", "responses": log, metrics, trace label */
    /* The body -> out (zeroed by the caller). 0, or negative with err filled; out is freed by
     * gw_parsed_free either way. */
    int (*parse)(const struct gw_inbound *in, struct gw_parsed *out, struct gw_front_err *err);
    void (*ctx_free)(void *ctx);

    /* A renderer for one request: model is the routed model (the first target's), echoed
     * until the upstream names its own. NULL when out of memory. */
    void *(*render_new)(const struct gw_parsed *p, const char *model, const char *request_id);
    void (*render_free)(void *r);
    /* Stream: appends events to out as they are due. Non-stream: accumulates. 0 or negative. */
    int (*render_chunk)(void *r, const struct aigw_chunk *c, struct gw_buf *out);
    /* The successful end: the closing events of a stream, or the whole document. */
    int (*render_end)(void *r, struct gw_buf *out);
    /* A stream that fails after its first byte: the dialect's in-stream error ending. */
    int (*render_stream_error)(void *r, const struct aigw_error *e, struct gw_buf *out);
    /* What keeps an idle stream alive (an SSE comment, Anthropic's ping event). */
    int (*render_heartbeat)(void *r, struct gw_buf *out);
    /* Optional (NULL: render_heartbeat): a stream's start ahead of its first content, for a
     * stream committed before it has any (stream.commit_ms): exactly the events render_chunk
     * would have opened the answer with, which it then leaves out, so they go out once with
     * the same ids. Writes nothing once the stream started or for a non-stream. 0 or
     * negative. */
    int (*render_start)(void *r, struct gw_buf *out);

    /* An error document in the dialect's shape for a failure before any byte was sent.
     * type NULL: the dialect's type for status. Messages are redacted by the caller. */
    int (*error_body)(struct gw_buf *out, int status, const char *type, const char *code,
                      const char *param, const char *message);

    /* Optional (NULL: OpenAI's shape as it is): GET /v1/models (single 0) and
     * /v1/models/{id} (single 1) for this dialect's clients, rewritten from the OpenAI-shaped
     * document aigw builds. 0 or negative. */
    int (*models_body)(const char *openai, size_t n, int single, struct gw_buf *out);
};

void gw_parsed_free(struct gw_parsed *p);
/* Adds a dropped tool's name to a gw_parsed.dropped_tools list of size bytes: once, as a
 * header-safe token ("unknown" when empty); past the cap it is left out. */
void gw_parsed_note_dropped(char *list, size_t size, const char *name);
/* The JSON a target's plugin parses out of the request's strings (tool calls' arguments, tool
 * results, for providers that take them as objects) counts against GW_BODY_MAX_VALUES too:
 * 0, or AIGW_EINVAL with err filled (400 too_many_values). */
int gw_parsed_check_embedded(const struct gw_parsed *p, struct gw_front_err *err);

#endif
