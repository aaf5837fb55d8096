/*
 * call - one upstream attempt: the public struct aigw_call a plugin sees, plus the request the
 * plugin built, the response as it arrives, per-call memory and where emitted chunks go.
 *
 * Threading: a call is used by one thread at a time (built in an MHD callback, driven by its
 * engine's callbacks); whoever holds it owns it.
 */
#ifndef GW_CALL_H
#define GW_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "aigw/plugin.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/headers.h"
#include "lib/jsonarena.h"
#include "plugin/framing.h"

struct gw_plugin;

/* A tree parsed with cJSON's own allocator for a plugin built before the read-only contract
 * (ABI 1.0 to 1.2), which may take it apart: freed with cJSON_Delete. */
struct gw_json_node {
    struct gw_json_node *next;
    cJSON *json;
};

/* Where the documents parsed so far end: released LIFO after each callback. */
struct gw_json_mark {
    struct gw_jsonarena_mark mem;
    struct gw_json_node *legacy;
};

/* Where a call's chunks go (the renderer in the gateway, a recorder in tests). */
typedef int (*gw_sink_fn)(void *ud, const struct aigw_chunk *chunk);

#define GW_RESPONSE_BODY_CAP (32u << 20)
/* Parsed trees of one call: a node is 64 bytes, so a body of floats (about 12 bytes each)
 * within the response cap still fits, while `[0,0,...]` at 32x fails instead of taking 1 GiB. */
#define GW_JSON_CAP ((size_t)GW_RESPONSE_BODY_CAP * 5)

struct gw_call {
    struct aigw_call pub; /* first: plugins get &pub and the host casts back */
    struct gw_plugin *plugin;
    struct gw_arena arena; /* the built requests and response headers */
    struct gw_arena keep;  /* lives as long as the call: plugin state, parsed JSON strings */
    const char *request_id;

    /* The upstream request being built (arena memory). */
    const char *method;
    const char *url;
    struct gw_header *headers;
    struct gw_header **headers_tail;
    char *body;
    size_t body_len;
    int framing;     /* framing of this step's response */
    int framing_set; /* the plugin chose the framing explicitly */
    int64_t delay_ms;
    int credential_step; /* this step fetches a credential */
    int repeats;         /* times this step was sent again after failing (exchange.c) */
    int epilogue;        /* this step was set up by stream_end, after the whole answer */

    /* The response. */
    int status;
    struct gw_header *resp_headers;
    struct gw_buf resp_body; /* whole-body responses and error bodies */
    struct gw_framer framer;
    int streaming; /* this step's 2xx body goes through the framer */
    int done;      /* the plugin returned AIGW_DONE */
    int framed;    /* a frame of this step's stream reached the plugin */
    /* The host's OpenAI-wire stream parser read this step's events (oai_stream), and saw
     * the stream's end in them: a finish_reason or [DONE] (oai_ended). */
    int oai_stream;
    int oai_ended;

    struct gw_jsonarena jsonmem; /* trees from host->json_parse (read-only, see plugin.h) */
    struct gw_json_node *json;   /* legacy trees (in jsonmem) to cJSON_Delete */

    gw_sink_fn sink;
    void *sink_ud;
    int64_t chunks_emitted;

    /* An upstream failure: a non-2xx response mapped by the plugin, or an in-band error. */
    struct aigw_error error;
    int has_error;
    int error_in_band; /* came as an ERROR chunk inside a 2xx response */
    /* The upstream said x-should-retry: false. OpenAI's SDKs read it as advice about sending
     * the same request to the same API again: this target is not asked again, but a failure
     * that fails over by its status still may (exchange.c sets it, attempt.c reads it). */
    int no_retry_here;
};

/* The built request body is no longer needed (sent whole): frees it when it is large. */
void gw_call_drop_body(struct gw_call *c);
int gw_call_init(struct gw_call *c, struct gw_plugin *p, int op, const cJSON *body,
                 const char *model, int stream, int include_usage);
void gw_call_free(struct gw_call *c);
/* Parses a plugin's JSON into call memory (NULL on bad input or past GW_JSON_CAP). */
cJSON *gw_call_json_parse(struct gw_call *c, const char *p, size_t n);
struct gw_json_mark gw_call_json_mark(const struct gw_call *c);
/* Frees the documents parsed after `m`. */
void gw_call_json_release(struct gw_call *c, struct gw_json_mark m);
/* The client's dialect name (static, e.g. "anthropic") and, when the target may forward it,
 * its own body (borrowed for the call; NULL otherwise). gw_call_init sets "openai" and NULL. */
void gw_call_set_inbound(struct gw_call *c, const char *dialect, const cJSON *native);
/* Forget the built request (before a plugin builds the next step's). Arena memory stays
 * until the call ends, so strings handed out earlier remain valid. */
void gw_call_clear_request(struct gw_call *c);
/* Forget the response (before the next step's response arrives). */
void gw_call_clear_response(struct gw_call *c);
/* Records one response header (copied). */
int gw_call_add_resp_header(struct gw_call *c, const char *name, size_t nlen, const char *value,
                            size_t vlen);
const char *gw_call_find_header(const struct gw_header *h, const char *name);

static inline struct gw_call *gw_call_of(struct aigw_call *pub)
{
    return (struct gw_call *)pub;
}

#endif
