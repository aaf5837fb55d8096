/*
 * bedrock - AWS Bedrock Runtime: Converse / ConverseStream for chat (every model family),
 * InvokeModel for Titan and Cohere embeddings. Internal interface between the plugin's files:
 *
 *   bedrock.c           descriptor, environment, endpoint, auth (SigV4 or Bedrock API key)
 *   bedrock_request.c   OpenAI chat request -> Converse body
 *   bedrock_content.c   image and document content blocks
 *   bedrock_response.c  Converse response, ConverseStream events, error mapping
 *   bedrock_embed.c     embeddings through InvokeModel
 *   sigv4.c             AWS Signature Version 4
 *
 * Threading: no globals; per-call data lives in call->state (struct bedrock_state).
 */
#ifndef BEDROCK_H
#define BEDROCK_H

#include "aigw/plugin.h"

/* Content blocks of one streamed message that can be tracked as tool calls. */
#define BEDROCK_MAX_BLOCKS 128

struct bedrock_state {
    /* ConverseStream */
    int ntools;                         /* tool calls started so far */
    int block_tool[BEDROCK_MAX_BLOCKS]; /* contentBlockIndex -> tool index + 1 (0: not a tool) */
    unsigned char block_args[BEDROCK_MAX_BLOCKS]; /* the tool block streamed some input */
    int finished;                       /* a FINISH was emitted */
    /* response_format json_object: the answer is the input of the forced BEDROCK_JSON_TOOL,
     * handed to the client as text; block_json marks that tool's streamed block */
    int json_tool;
    unsigned char block_json[BEDROCK_MAX_BLOCKS];
    /* embeddings */
    int embed_next;       /* index of the input being embedded (Titan: one per request) */
    int64_t embed_tokens; /* tokens counted so far */
};

/* The tool a json_object answer is asked of (Converse's structured output takes a schema). */
#define BEDROCK_JSON_TOOL "json_answer"

/* Sets method, URL, headers and body for POST /model/<modelId>/<action> and signs it. */
int bedrock_send(struct aigw_call *call, const char *action, const char *body, size_t len,
                 const char *accept);
/* Logs why a request cannot be translated, records it as the client's error (code
 * "unsupported" for AIGW_ENOTSUP; 500 for AIGW_ECONFIG) and returns code. */
int bedrock_reject(struct aigw_call *call, int code, const char *why);

int bedrock_build_converse(struct aigw_call *call, cJSON **out);
/* Append a Converse image block for an image_url data: URL, or a document block for a file
 * part ({"filename","file_data":"data:<mime>;base64,..."}; n names it when it has no
 * filename). Return 0 or the bedrock_reject() code. */
int bedrock_image_block(struct aigw_call *call, cJSON *blocks, const char *url);
int bedrock_document_block(struct aigw_call *call, int n, cJSON *blocks, const cJSON *file);

int bedrock_parse_response(struct aigw_call *call, struct aigw_bytes body);
int bedrock_stream_event(struct aigw_call *call, const struct aigw_frame *frame);
int bedrock_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err);

int bedrock_embeddings_build(struct aigw_call *call);
int bedrock_embeddings_parse(struct aigw_call *call, struct aigw_bytes body);

/* bedrock_format.c: response_format. 0 or an AIGW_E* code (a refusal is reported). */
int bedrock_output_config(struct aigw_call *call, cJSON *out);
/* How response_format json_object is answered: not through BEDROCK_JSON_TOOL (no json_object,
 * or the client forced a tool of its own), through it forced (no client tool to call), or
 * through it beside the client's tools under toolChoice "any"; or a refusal's AIGW_E* code. */
enum { BEDROCK_JSON_NONE = 0, BEDROCK_JSON_FORCED = 1, BEDROCK_JSON_ANY = 2 };
int bedrock_json_object_tool(struct aigw_call *call);
/* Adds the tool to out's toolConfig (made when absent) with mode's toolChoice. */
int bedrock_add_json_tool(cJSON *out, int mode);

#endif
