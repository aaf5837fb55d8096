/*
 * anthropic - the Anthropic Messages dialect (POST /v1/messages, /v1/messages/count_tokens):
 * the client's Messages body becomes the internal OpenAI chat-shaped request, and normalized
 * chunks become Anthropic's message object or its named-event SSE stream, with Anthropic's
 * error shape. The client's own body is kept (gw_parsed.native) for a target that speaks
 * Messages natively, so what chat cannot express (cache_control, thinking signatures, redacted
 * thinking, documents, citations, server tools) survives the round trip there.
 *
 * Files: anthropic_parse.c (top level), anthropic_content.c (messages and blocks),
 * anthropic_ids.c (tool ids and names both sides accept), front/tokens.c (input estimate),
 * anthropic_render.c and anthropic_events.c (stream and message), anthropic_errors.c (error
 * bodies), anthropic_models.c (GET /v1/models in Anthropic's shape), and anthropic_dialect.c
 * (the struct gw_dialect).
 *
 * The anthropic plugin and this dialect share one private channel, used only when the call's
 * inbound dialect is "anthropic": AIGW_CHUNK_EXTRA chunks whose name starts with "anthropic."
 * (GW_ANTH_EXTRA_*) carry what normalized chunks cannot (the exact stop_reason, block
 * boundaries, citations, server-tool blocks). Any other renderer never sees them.
 *
 * Threading: parse is stateless; a renderer belongs to one request, one thread at a time.
 */
#ifndef GW_FRONT_ANTHROPIC_H
#define GW_FRONT_ANTHROPIC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "front/dialect.h"

extern const struct gw_dialect gw_dialect_anthropic;

/* ---- the private chunk channel (anthropic plugin -> this dialect) ----------------------- */

/* {"stop_reason":"...","stop_sequence":"..."|null}: the upstream's own reason, sent before
 * FINISH (pause_turn, refusal, stop_sequence survive instead of folding into end_turn). */
#define GW_ANTH_EXTRA_STOP "anthropic.stop"
/* A content block the chunk types cannot carry (server_tool_use, *_tool_result, a text block
 * with citations in a non-streamed answer): the block itself, appended as it is. */
#define GW_ANTH_EXTRA_BLOCK "anthropic.block"
/* Streams: content_block_start of such a block ({"content_block":{...}}), a delta on the open
 * block ({"delta":{...}}, e.g. citations_delta inside a text block), and the end of the open
 * block (any value) so consecutive text blocks stay apart. */
#define GW_ANTH_EXTRA_BLOCK_START "anthropic.block_start"
#define GW_ANTH_EXTRA_BLOCK_DELTA "anthropic.block_delta"
#define GW_ANTH_EXTRA_BLOCK_STOP "anthropic.block_stop"

/* A thinking block that did not come from Anthropic gets a signature with this prefix (':' is
 * not in base64, so no real signature has it); such blocks are stripped before a client's
 * history is forwarded to a real Anthropic model, which would reject the signature. */
#define GW_ANTH_SIG_PREFIX "aigw:"

/* ---- parse context (gw_parsed.ctx) ------------------------------------------------------ */

#define GW_ANTH_NAME_MAX 64 /* tool names and ids both sides accept */

struct gw_anth_name_map {
    char *client; /* the tool name the client declared */
    char mapped[GW_ANTH_NAME_MAX + 1];
};

struct gw_anth_ctx {
    int count_tokens;       /* /v1/messages/count_tokens */
    int64_t input_estimate; /* input tokens, estimated before any upstream answer */
    /* Tool names that had to change for chat providers (too long, or characters outside
     * [a-zA-Z0-9_-]), so tool_use blocks name the client's tool again. */
    struct gw_anth_name_map *names;
    int nnames, names_cap;
};

void gw_anth_ctx_free(void *ctx);
/* The client's tool name for a name the upstream used (itself when it was not mapped). */
const char *gw_anth_client_name(const struct gw_anth_ctx *ctx, const char *name, size_t n);

/* ---- ids and names --------------------------------------------------------------------- */

/* A tool id both sides accept (^[a-zA-Z0-9_-]{1,64}$), the same for the same input on every
 * turn: a valid id is kept; any other becomes "toolu_" + its valid characters + "_" + 8 hex
 * digits of its SHA-256, at most 64 characters. An empty id is made from `fallback` and idx. */
void gw_anth_tool_id(const char *id, size_t n, const char *fallback, int idx,
                     char out[GW_ANTH_NAME_MAX + 1]);
/* The id of a tool call in an answer: the upstream's when it is valid and long enough to be
 * unique (Anthropic's toolu_, OpenAI's call_...); a short or foreign one ("call_0" from Gemini,
 * "functions.Bash:0" from others, both the same on every turn) becomes "toolu_" + its valid
 * characters + "_" + 8 hex digits of SHA-256 over msg_id, idx and the id, so no two answers
 * share one. The client sends it back valid, and gw_anth_tool_id keeps it. */
#define GW_ANTH_ID_UNIQUE_MIN 16
void gw_anth_answer_tool_id(const char *id, size_t n, const char *msg_id, int idx,
                            char out[GW_ANTH_NAME_MAX + 1]);
/* A tool name chat providers accept: kept when valid, else its valid characters (at most 55)
 * + "_" + 8 hex digits of its SHA-256. Returns 1 when it changed. */
int gw_anth_tool_name(const char *name, char out[GW_ANTH_NAME_MAX + 1]);

/* ---- parse helpers (anthropic_content.c) ------------------------------------------------ */

struct gw_anth_conv {
    struct gw_anth_ctx *ctx;
    struct gw_front_err *err;
    cJSON *messages; /* the internal messages array being filled */
    int oom;         /* sticky: an allocation failed somewhere */
    /* What the native body carries to the model and messages do not (strings), or NULL:
     * the input guardrails must read it too (struct gw_parsed's native_only). */
    cJSON *unseen;
};

/* system (string or text blocks) -> a leading system message. 0 or negative with err. */
int gw_anth_system(struct gw_anth_conv *cv, const cJSON *system);
/* messages -> internal messages (tool_result blocks become role "tool" messages placed
 * first, tool_use becomes tool_calls, thinking is dropped). 0 or negative with err. */
int gw_anth_messages(struct gw_anth_conv *cv, const cJSON *messages);
/* The client's body made safe to forward to a real Anthropic model: thinking blocks signed
 * by aigw are removed (with "thinking" itself when the last assistant turn lost one). */
void gw_anth_native_clean(cJSON *native);

/* ---- errors (anthropic_errors.c) -------------------------------------------------------- */

/* Anthropic's error.type for an HTTP status and, when given, the internal (OpenAI-style)
 * type: overloaded_error for 529/503/overloaded, rate_limit_error for 429, ... */
const char *gw_anth_error_type(int status, const char *type);
/* {"type":"error","error":{"type":...,"message":...}} (message redacted). */
int gw_anth_error_body(struct gw_buf *out, int status, const char *type, const char *code,
                       const char *param, const char *message);
/* JSON string literal for p/n. */
int gw_anth_json_str(struct gw_buf *out, const char *p, size_t n);

/* ---- render (anthropic_render.c) -------------------------------------------------------- */

void *gw_anth_render_new(const struct gw_parsed *p, const char *model, const char *request_id);
void gw_anth_render_free(void *r);
int gw_anth_render_chunk(void *r, const struct aigw_chunk *c, struct gw_buf *out);
int gw_anth_render_end(void *r, struct gw_buf *out);
int gw_anth_render_stream_error(void *r, const struct aigw_error *e, struct gw_buf *out);
int gw_anth_render_heartbeat(void *r, struct gw_buf *out);
/* message_start ahead of the first content (stream.commit_ms); never twice. */
int gw_anth_render_start(void *r, struct gw_buf *out);

int gw_anth_parse(const struct gw_inbound *in, struct gw_parsed *out, struct gw_front_err *err);

/* anthropic_models.c: aigw's OpenAI-shaped model list (or one model) in Anthropic's shape. */
int gw_anth_models_body(const char *openai, size_t n, int single, struct gw_buf *out);

#endif
