/*
 * gemini_xlate.h - OpenAI chat <-> Gemini GenerateContent translation.
 *
 * Owns the whole wire translation of generateContent / streamGenerateContent?alt=sse (request
 * body, response body, SSE stream of GenerateContentResponse objects, google.rpc error
 * envelope). Shared by two plugins: gemini.so (generativelanguage.googleapis.com) and
 * vertex-ai.so (Gemini models on Vertex), which differ only in URL and auth.
 *
 * Threading: no globals; per-call data lives in a struct gem_stream_state inside call->state
 * (zeroed by the host) or in call memory, so every function is safe for concurrent calls.
 *
 * Build: compile gemini_request.c, gemini_schema.c and gemini_response.c into the plugin.
 */
#ifndef AIGW_GEMINI_XLATE_H
#define AIGW_GEMINI_XLATE_H

#include "aigw/plugin.h"

/* Gemini's candidateCount tops out at 8; choices past this are a protocol error. */
#define GEM_MAX_CHOICES 8

/* Per-call stream state: plain data, zeroed by the host. */
struct gem_stream_state {
    /* Set by the plugin's build_request: scrubbed from upstream error messages, which Google
     * sometimes fills with the credential it rejected. NULL for none. */
    const char *secret;
    int meta_sent;               /* META emitted */
    int done;                    /* an in-band error ended the stream: emit nothing more */
    int ntools[GEM_MAX_CHOICES]; /* tool calls per choice (the OpenAI tool index) */
    int finish[GEM_MAX_CHOICES]; /* last finishReason per choice (enum aigw_finish), 0 none */
    int seen[GEM_MAX_CHOICES];   /* the choice appeared in the response */
};

/* Build the GenerateContentRequest for call->body. Returns 0 with *out owned by the caller
 * (usually handed to host->set_body_json), AIGW_EINVAL (untranslatable request: a reason is
 * logged; also a schema too large after $ref expansion), AIGW_ENOTSUP (a part or tool kind
 * Gemini has no form for) or AIGW_ENOMEM. */
int gem_build_body(struct aigw_call *call, cJSON **out);
/* gemini_config.c: req's generationConfig, and its tools and toolConfig, from the call's
 * body. 0, or the call failed (400 for what Gemini cannot take). */
int gem_generation_config(struct aigw_call *call, cJSON *req);
int gem_tools(struct aigw_call *call, cJSON *req);
/* Logs why and fails the call with 400 naming it: the reason is the client's message. */
int gem_inval(struct aigw_call *call, const char *why);

/* A 2xx GenerateContentResponse body: META, TEXT, REASONING, TOOL_CALL, FINISH, USAGE.
 * st is the call's state (only st->secret is read). Returns 0, or AIGW_EPROTO when the body
 * is not a GenerateContentResponse. */
int gem_parse_response(struct aigw_call *call, struct gem_stream_state *st, struct aigw_bytes body);

/* One frame of a stream the host cuts with AIGW_FRAMING_JSON_SEQ: an SSE event's data (one
 * whole GenerateContentResponse: Google never splits one over several data lines), or the
 * bare, multi-line google.rpc error object (no data: prefix) Google ends a failing stream
 * with, which becomes an ERROR chunk and AIGW_DONE.
 * Finish reasons are held in st until gem_stream_end: Vertex repeats finishReason on every
 * event and text may follow it. Returns 0, AIGW_DONE or a negative code. */
int gem_stream_event(struct aigw_call *call, struct gem_stream_state *st,
                     const struct aigw_frame *frame);

/* The stream ended: emits each choice's held finish. Returns 0 or a negative code. */
int gem_stream_end(struct aigw_call *call, struct gem_stream_state *st);

/* A non-2xx response with the google.rpc envelope {"error":{code,message,status,details}}
 * (falls back to host->oai_map_error for other bodies). code = the RPC status name;
 * API_KEY_INVALID -> 401 invalid_api_key; RESOURCE_EXHAUSTED -> 429 retryable with
 * RetryInfo.retryDelay (else Retry-After) as retry_after_ms; UNAVAILABLE / INTERNAL /
 * DEADLINE_EXCEEDED -> 5xx retryable. st->secret (st may be NULL) is masked in the message.
 * Strings live in call memory. Returns 0. */
int gem_map_error(struct aigw_call *call, const struct gem_stream_state *st, struct aigw_bytes body,
                  struct aigw_error *err);

/* ---- internal: shared by the translation files, not part of the plugin interface ---- */

/* Fill err from a google.rpc status object (the value of "error"; NULL allowed) and the HTTP
 * status (0 inside a 200 stream). Strings are copied to call memory, with every occurrence of
 * secret (NULL for none) masked. */
void gem_error_from_rpc(struct aigw_call *call, const cJSON *error, int http_status,
                        const char *secret, struct aigw_error *err);

/* Translate a JSON Schema (tool parameters, response_format schema) into the OpenAPI subset
 * Gemini's Schema accepts: unknown keywords dropped, $ref resolved against the schema's own
 * $defs/definitions (recursion cut at a fixed depth), anyOf/oneOf/type arrays with null
 * folded into nullable, types upper-cased (and inferred from properties/items/enum when
 * missing), formats limited to the ones Gemini knows. *out is a new object owned by the
 * caller. Returns 0, AIGW_EINVAL (unresolvable $ref, or nesting / $ref expansion past the
 * caps) or AIGW_ENOMEM. */
int gem_schema_clean(struct aigw_call *call, const cJSON *schema, cJSON **out);

#endif /* AIGW_GEMINI_XLATE_H */
