/*
 * responses - the OpenAI Responses API as an inbound dialect (POST /v1/responses, and the
 * stored-response routes GET/DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items).
 *
 * parse (responses_parse.c, responses_items.c, responses_tools.c): a Responses body -> the
 * internal chat-shaped request. Custom tools become functions with one string argument
 * "input"; namespace tools are flattened to one function each; built-in tools no target can
 * run are dropped and named in gw_parsed.dropped_tools. What the answer must echo, the tool
 * name map and this turn's input items ride in gw_parsed.ctx (struct gw_resp_ctx).
 * render (responses_render.c, responses_doc.c): chunks -> the response object, or its SSE
 * events with sequence_number, output_index, item_id and content_index kept consistent.
 * input_tokens (responses_tokens.c): POST /v1/responses/input_tokens, counted by a target that
 * can count (AIGW_CAP_COUNT_TOKENS) or estimated locally (front/tokens.c).
 * compact (responses_compact.c): POST /v1/responses/compact, and a compaction_trigger item ending
 * a /v1/responses input, answered by a summary call to the routed model; a compaction item
 * aigw made is read back as a user message carrying the summary.
 * state (responses_state.c): store: true keeps the request echo, input items and response;
 * previous_response_id rebuilds the conversation from the chain (instructions are not
 * inherited); a stored response is visible only to the gateway key that made it.
 *
 * Threading: parse and the state functions are stateless (the store serializes itself); a
 * renderer belongs to one request and is used by one thread at a time.
 */
#ifndef GW_FRONT_RESPONSES_H
#define GW_FRONT_RESPONSES_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "front/dialect.h"
#include "lib/buf.h"

#define GW_RESP_ID_MAX 64 /* response and call ids, OpenAI's own limit for call_id */
#define GW_RESP_MAX_TOOLS 512
#define GW_RESP_MAX_ITEMS 100000 /* input items of one request, chain included */

struct gw_store;

/* What a request compacts (gw_resp_ctx.compact). */
enum gw_resp_compact_mode {
    GW_RESP_COMPACT_NONE = 0,
    GW_RESP_COMPACT_ENDPOINT = 1, /* POST /v1/responses/compact: a response.compaction */
    GW_RESP_COMPACT_TRIGGER = 2,  /* a compaction_trigger ended the input: one compaction item */
};

/* What starts the encrypted_content of a compaction item aigw made; "v1" is the encoding of
 * what follows (the summary's UTF-8 in standard base64). */
#define GW_RESP_COMPACTION_PREFIX "aigw.compaction.v1:"

enum gw_resp_tool_kind { GW_RESP_TOOL_FUNCTION = 0, GW_RESP_TOOL_CUSTOM = 1 };

/* One tool as the target sees it (flat) and as the client named it (ns + name). */
struct gw_resp_tool {
    char *flat; /* the function name sent upstream */
    char *name; /* the client's name */
    char *ns;   /* the client's namespace, or NULL */
    int kind;   /* enum gw_resp_tool_kind */
};

/* From parse to render and storage. */
struct gw_resp_ctx {
    char id[GW_RESP_ID_MAX]; /* resp_...: minted at parse so storage and render agree */
    int64_t created_at;
    /* The request fields the response object repeats, printed once as runs of ,"k":v in its
     * order: [0, echo_mid) before model, [echo_mid, echo_tail) after output, [echo_tail,
     * echo_len) after usage. */
    char *echo;
    size_t echo_mid, echo_tail, echo_len;
    size_t echo_store, echo_store_len; /* where the echo's "store" value is, and its length */
    char *instructions; /* the system message, NULL for none: never inherited through a chain */
    cJSON *input_items; /* this turn's input as items, each with an id (input_items, chain) */
    int nrefs;          /* item_reference items among them, until resolved */
    struct gw_resp_tool *tools;
    int ntools;
    int store;          /* keep this response (the API's default) */
    int want_encrypted; /* include: reasoning.encrypted_content */
    char previous_id[GW_RESP_ID_MAX];
    char key_id[GW_RESP_ID_MAX]; /* the gateway key that owns what is stored ("" none) */
    struct gw_store *st;         /* where to keep it; NULL keeps nothing */
    int compact;                 /* enum gw_resp_compact_mode */
    /* POST /v1/responses/input_tokens: count this input, answer nothing else, keep nothing */
    int count;
    int64_t input_estimate; /* for count: the local estimate of the translated request */
};

extern const struct gw_dialect gw_responses_dialect;
/* POST /v1/responses/compact: the Responses dialect with its own parse and document. */
extern const struct gw_dialect gw_responses_compact_dialect;
/* POST /v1/responses/input_tokens (responses_tokens.c): the same parse, op
 * AIGW_OP_COUNT_TOKENS, and {"object":"response.input_tokens","input_tokens":N}. */
extern const struct gw_dialect gw_responses_input_tokens_dialect;

/* ---- parse (the dialect's parse; exposed for tests and the fuzz target) ---- */
int gw_responses_parse(const struct gw_inbound *in, struct gw_parsed *out,
                       struct gw_front_err *err);
/* The same for a given enum gw_resp_compact_mode (the compact endpoint's parse). */
int gw_responses_parse_as(const struct gw_inbound *in, struct gw_parsed *out,
                          struct gw_front_err *err, int compact);
/* The input_tokens endpoint's parse: the request as /v1/responses reads it (the chain of a
 * previous_response_id and item references expanded), then made a count: no stream, nothing
 * stored, no summary call for a compaction_trigger, and the local estimate taken. */
int gw_responses_parse_count(const struct gw_inbound *in, struct gw_parsed *out,
                             struct gw_front_err *err);
void gw_responses_ctx_free(void *ctx);
/* Keep nothing of this request, and say so in the echo ("store":false). 0 or AIGW_ENOMEM. */
int gw_resp_echo_unstore(struct gw_resp_ctx *ctx);
/* Items -> chat messages appended to msgs (instructions excluded). 0 or negative + err. */
int gw_resp_items_to_messages(const struct gw_resp_ctx *ctx, const cJSON *items, cJSON *msgs,
                              struct gw_front_err *err);
/* A copy of the request's input as items (a string becomes one user message), ids minted. */
cJSON *gw_resp_input_items(const cJSON *input, const char *resp_id, struct gw_front_err *err);
/* item_reference (responses_refs.c): */
/* The item_reference items among items. */
int gw_resp_count_refs(const cJSON *items);
/* Each item_reference of ctx->input_items (and of native's "input", when given) replaced by a
 * copy of the stored item it names, read with ctx->key_id from ctx->st. 0, or negative with
 * err filled (404 for an item not found). */
int gw_resp_resolve_refs(struct gw_resp_ctx *ctx, cJSON *native, struct gw_front_err *err);
/* instructions (never inherited through a chain), then chain (NULL for none), then this turn's
 * items, as the request's messages. */
int gw_resp_build_messages(struct gw_parsed *p, const cJSON *chain, struct gw_front_err *err);
/* Tools of the request -> chat tools in body; fills ctx->tools and the dropped list. */
int gw_resp_tools_parse(const cJSON *req, cJSON *body, struct gw_resp_ctx *ctx, char *dropped,
                        size_t dropped_size, struct gw_front_err *err);
/* The flat name for (ns, name): the same for a definition and a call in history. */
int gw_resp_flat_name(const struct gw_resp_ctx *ctx, const char *ns, const char *name, char *out,
                      size_t size);
/* The tool a flat name sent upstream stands for, or NULL (a plain function). */
const struct gw_resp_tool *gw_resp_tool_by_flat(const struct gw_resp_ctx *ctx, const char *flat);
/* Fills err and returns AIGW_EINVAL (or AIGW_ENOTSUP when code is "unsupported"). */
int gw_resp_fail(struct gw_front_err *err, const char *param, const char *code, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

/* ---- compaction (responses_compact.c) ---- */
/* The encrypted_content of a compaction item holding summary. 0 or negative. */
int gw_resp_compaction_encode(const char *summary, size_t n, struct gw_buf *out);
/* The summary of an encrypted_content aigw made, appended to out: 0; AIGW_ENOTSUP when it is
 * not aigw's (no prefix); AIGW_EINVAL when it has the prefix but does not decode to UTF-8. */
int gw_resp_compaction_decode(const char *enc, size_t n, struct gw_buf *out);
/* The user message (chat-shaped, *msg owned by the caller) an aigw compaction item stands
 * for. 0; AIGW_ENOTSUP (*msg NULL) for a foreign item; negative with err filled otherwise. */
int gw_resp_compaction_message(const cJSON *item, cJSON **msg, struct gw_front_err *err);
/* Each aigw compaction item of native's "input" replaced by the user message it stands for
 * (no provider can read aigw's encoding); foreign ones stay. 0 or negative + err. */
int gw_resp_compaction_native(cJSON *native, struct gw_front_err *err);
/* The request becomes the summary call (p->ctx->compact set): the summary turn appended, no
 * tool call or format asked, the client's native body dropped. 0 or negative + err. */
int gw_resp_compact_prepare(struct gw_parsed *p, struct gw_front_err *err);

/* ---- render ---- */
void *gw_responses_render_new(const struct gw_parsed *p, const char *model, const char *request_id);
void gw_responses_render_free(void *r);
int gw_responses_render_chunk(void *r, const struct aigw_chunk *c, struct gw_buf *out);
int gw_responses_render_end(void *r, struct gw_buf *out);
int gw_responses_render_stream_error(void *r, const struct aigw_error *e, struct gw_buf *out);
int gw_responses_render_heartbeat(void *r, struct gw_buf *out);
/* response.created and response.in_progress ahead of the first content (stream.commit_ms). */
int gw_responses_render_start(void *r, struct gw_buf *out);
int gw_responses_error_body(struct gw_buf *out, int status, const char *type, const char *code,
                            const char *param, const char *message);

/* ---- state ---- */
/* The store responses are kept in: the one given to gw_responses_use_store, else an in-memory
 * one made on first use (until core/store lands). */
void gw_responses_use_store(struct gw_store *st);
struct gw_store *gw_responses_store(void);
/* Who owns what a request stores: the gateway key's public id (key_id, when the caller
 * presented one), else a hash of the credential it presented ("" for none). Authentication
 * has already accepted it. */
void gw_resp_owner(const char *key_id, const char *(*header)(void *ud, const char *name),
                   void *ud, char out[GW_RESP_ID_MAX]);
/* Run by parse (which follows authentication): binds the request to the caller's key and store,
 * replaces item_reference items by the stored items they name (an unknown, expired or foreign
 * one is a 404), and when it names a previous_response_id, rebuilds its messages (and its
 * native body) from the stored chain. An unknown, expired or foreign previous_response_id is a
 * 400 previous_response_not_found. */
int gw_responses_resolve(struct gw_parsed *p, struct gw_store *st, const char *key_id,
                         struct gw_front_err *err);
/* GET /v1/responses/{id}, GET /v1/responses/{id}/input_items (query arguments limit, order,
 * after through arg), DELETE /v1/responses/{id}: the answer's body in out and its HTTP
 * status. 0 or AIGW_ENOMEM. */
int gw_responses_get(struct gw_store *st, const char *key_id, const char *id, struct gw_buf *out,
                     int *status);
int gw_responses_input_items_list(struct gw_store *st, const char *key_id, const char *id,
                                  const char *(*arg)(void *ud, const char *name), void *ud,
                                  struct gw_buf *out, int *status);
int gw_responses_delete(struct gw_store *st, const char *key_id, const char *id, struct gw_buf *out,
                        int *status);
/* The local handler of GET and DELETE under /v1/responses/ (endpoints.c). */
struct gw_local_call;
enum MHD_Result gw_responses_local(struct gw_local_call *lc);

#endif
