/*
 * anthropic_xlate.h - OpenAI chat <-> Anthropic Messages API translation.
 *
 * Owns the whole wire translation of the Messages API (request body, response body, named-event
 * SSE stream, error envelope). It is shared by two plugins: anthropic.so (api.anthropic.com) and
 * vertex-ai.so (Claude on Vertex rawPredict / streamRawPredict), which only differ in URL, auth
 * and two body keys (see anth_build_body's for_vertex).
 *
 * Threading: no globals; everything per call lives in call->state (a struct anth_stream_state,
 * zeroed by the host) or in call memory, so every function is safe to run for different calls
 * concurrently.
 *
 * Build: compile anthropic_request.c, anthropic_messages.c, anthropic_response.c and
 * anthropic_stream.c into the plugin, with -I$(srcdir)/plugins/anthropic.
 */
#ifndef AIGW_ANTHROPIC_XLATE_H
#define AIGW_ANTHROPIC_XLATE_H

#include <stdint.h>

#include "aigw/plugin.h"

/* Content blocks we remember the kind of, for mapping a block index to an OpenAI tool index.
 * Blocks past this count still stream; they fall back to the most recent block's mapping. */
#define ANTH_MAX_BLOCKS 128

/* Per-call stream state. Plain data: the host zeroes it, nothing in it needs freeing. Embed it
 * (or make it the whole of) the plugin's call->state; state_size = sizeof(struct anth_stream_state)
 * when it is the whole state. */
struct anth_stream_state {
    int started;    /* message_start seen */
    int finished;   /* a FINISH chunk was emitted */
    int done;       /* message_stop or error event seen */
    int tool_count; /* tool_use blocks started so far (next OpenAI tool index) */
    /* Per content block: its kind (0 unknown; the values are private to anthropic_stream.c);
     * block_tool holds the OpenAI tool index of a tool_use block. Blocks past ANTH_MAX_BLOCKS
     * use last_kind / last_tool (Anthropic streams blocks one after another). */
    unsigned char block_kind[ANTH_MAX_BLOCKS];
    int block_tool[ANTH_MAX_BLOCKS];
    int last_kind;
    int last_tool;
    int tool_args_seen; /* the open tool_use block got a non-empty arguments piece */
    /* Usage reported so far (zero = not seen unless its have_ bit is set). output_tokens is
     * cumulative in message_delta; the last value wins. */
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cache_read;
    int64_t cache_creation;
    unsigned have;     /* bit 0 input, 1 output, 2 cache_read, 3 cache_creation */
    int usage_emitted; /* the current counts were emitted */
    int native;        /* the client speaks Messages too: anth_is_native() at the first frame */
    int native_known;
};

/* Build the Messages API request body from call->body (call->model is the upstream model id);
 * when the client spoke Messages itself (anth_is_native), its own body (anth_native_body,
 * anthropic_beta left in the body for Vertex, dropped otherwise).
 * for_vertex = 0: "model" is set. for_vertex = 1: no "model" key, and
 * "anthropic_version":"vertex-2023-10-16" is put in the body (Vertex takes the model from the
 * URL and the version from the body). "stream" follows call->stream.
 * response_format json_schema becomes native structured output (output_config.format), so
 * the JSON comes back as ordinary text content.
 * Returns 0 with *out owned by the caller (usually handed to host->set_body_json), or
 * AIGW_EINVAL (untranslatable client request, e.g. tool_calls arguments that are not a JSON
 * object; the reason is logged), AIGW_ENOTSUP (n > 1, audio input, legacy function messages,
 * non-function tools), AIGW_ENOMEM. When the client gave no max_tokens, uses
 * host->env("ANTHROPIC_MAX_TOKENS") (4096 when unset) plus any thinking budget. */
int anth_build_body(struct aigw_call *call, int for_vertex, cJSON **out);
/* The same, but the client's own Messages body when anth_is_native() (see below); *betas as
 * for anth_native_body (always NULL for the translated body). */
int anth_body_for(struct aigw_call *call, int for_vertex, cJSON **out, const char **betas);

/* A 2xx non-stream Messages response: emits META, TEXT, REASONING, TOOL_CALL, FINISH, USAGE.
 * Returns 0, or AIGW_EPROTO on a body that is not a Messages response. */
int anth_parse_response(struct aigw_call *call, struct aigw_bytes body);

/* One SSE frame (named event) of a streamed response. st must be zeroed before the first frame
 * (the host's call->state is). Returns 0, AIGW_DONE after message_stop or an error event (the
 * error is emitted as an ERROR chunk), or a negative code. */
int anth_stream_event(struct aigw_call *call, struct anth_stream_state *st,
                      const struct aigw_frame *f);

/* The upstream stream ended (after AIGW_DONE or at EOF). Emits the final usage when it was
 * not emitted yet. Returns 0, or AIGW_EPROTO when the stream stopped before message_stop and
 * before any stop_reason (a cut-off answer). */
int anth_stream_end(struct aigw_call *call, struct anth_stream_state *st);

/* A non-2xx response with the Anthropic error envelope {"type":"error","error":{type,message}}
 * (falls back to host->oai_map_error for other bodies, e.g. Vertex's Google envelope).
 * 529 overloaded_error -> status 503, retryable; 429 -> retryable with retry-after;
 * 5xx -> retryable. Strings live in call memory. Returns 0. */
int anth_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err);

/* ---- the client speaks Messages too (call->inbound "anthropic", SDK 1.2) ----------------
 *
 * Its own body is forwarded, the model replaced, so cache_control, thinking signatures,
 * redacted thinking, documents, citations and server tools survive; and the answer carries,
 * besides the normalized chunks, what they cannot: the private "anthropic.*" EXTRA chunks the
 * Anthropic dialect reads (core/front/anthropic.h: the exact stop_reason, block boundaries,
 * citations, server-tool blocks). Signature and redacted-thinking chunks are emitted for every
 * client (other renderers ignore them). */

#define ANTH_EXTRA_STOP "anthropic.stop"
#define ANTH_EXTRA_BLOCK "anthropic.block"
#define ANTH_EXTRA_BLOCK_START "anthropic.block_start"
#define ANTH_EXTRA_BLOCK_DELTA "anthropic.block_delta"
#define ANTH_EXTRA_BLOCK_STOP "anthropic.block_stop"

/* 1 when the call's client spoke the Messages API and its body may be forwarded. */
int anth_is_native(const struct aigw_call *call);

/* The client's Messages body for this target: model replaced (for_vertex: removed, with
 * Vertex's anthropic_version), "stream" as the call streams, and for AIGW_OP_COUNT_TOKENS only
 * the fields count_tokens takes. The client's anthropic-beta values travel in the body as
 * "anthropic_beta" (Vertex reads them there); unless for_vertex they are taken out and
 * returned in *betas (comma-joined, call memory; NULL when none) for the header. 0 or
 * AIGW_ENOMEM. */
int anth_native_body(struct aigw_call *call, int for_vertex, cJSON **out, const char **betas);

/* A translated Messages body cut to what count_tokens accepts (same list as the native one). */
void anth_count_body(cJSON *body);

/* A count_tokens answer {"input_tokens":N} -> one USAGE chunk (prompt_tokens N). */
int anth_count_parse(struct aigw_call *call, struct aigw_bytes body);

/* An "anthropic.*" EXTRA chunk (value borrowed). */
int anth_emit_extra(struct aigw_call *call, const char *name, const cJSON *value);
/* ANTH_EXTRA_STOP from the stop_reason / stop_sequence members of holder (a message or a
 * message_delta's delta); nothing when it has no stop_reason. */
int anth_emit_stop(struct aigw_call *call, const cJSON *holder);

/* ---- internal: shared by the translation files, not part of the plugin interface ---- */

/* Anthropic stop_reason -> enum aigw_finish (AIGW_FINISH_STOP for unknown reasons). */
int anth_finish_from_reason(struct aigw_call *call, struct aigw_bytes reason);

/* Fill err from an Anthropic error object {"type","message"} (NULL allowed) given the HTTP
 * status (0 inside a 200 stream). Strings are copied to call memory. */
void anth_error_from_json(struct aigw_call *call, const cJSON *error, int http_status,
                          struct aigw_error *err);

#endif /* AIGW_ANTHROPIC_XLATE_H */
