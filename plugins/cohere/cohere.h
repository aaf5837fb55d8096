/*
 * cohere - internal interface between the Cohere v2 plugin's files. Nothing here is exported:
 * the plugin is built with -fvisibility=hidden and exports only aigw_plugin_entry.
 *
 *   cohere.c          descriptor, env table, base URL + auth, errors, embeddings
 *   cohere_request.c  OpenAI chat request -> Cohere /v2/chat body
 *   cohere_response.c Cohere chat response / SSE events -> normalized chunks
 */
#ifndef AIGW_PLUGIN_COHERE_H
#define AIGW_PLUGIN_COHERE_H

#include "aigw/plugin.h"

/* Cohere's stream index of a tool call is mapped to ours through a small table; more tool calls
 * than this in one response is treated as a protocol error rather than silently merged. */
#define COHERE_MAX_TOOLS 64

/* Streamed citations kept for the final chunk; more are dropped (the text is unaffected). */
#define COHERE_MAX_CITES 64

struct cohere_state {
    int ntools;                     /* tool calls started so far in this response */
    int tool_map[COHERE_MAX_TOOLS]; /* Cohere index -> our tool_index + 1 (0 = unseen) */
    int finished;                   /* message-end was handled */
    int ncites;
    size_t cites_len;                    /* sum of strlen(cites[i]) */
    const char *cites[COHERE_MAX_CITES]; /* serialized citation objects, in call memory */
};

/* "<base>/v2/<path>" with the configured base URL, in call memory (NULL on failure). */
const char *cohere_url(struct aigw_call *call, const char *path);
/* Authorization: Bearer <COHERE_API_KEY>, marked secret. */
int cohere_set_auth(struct aigw_call *call);
/* Logs why a client request cannot be translated, records it as the client's error (code
 * "unsupported" for AIGW_ENOTSUP) and returns `rc`. */
int cohere_reject(struct aigw_call *call, int rc, const char *why);

/* cohere_request.c */
int cohere_build_chat(struct aigw_call *call);

/* cohere_response.c */
int cohere_parse_chat(struct aigw_call *call, struct aigw_bytes body);
int cohere_stream_event(struct aigw_call *call, const struct aigw_frame *frame);
/* Fills u from a Cohere usage object; returns 1 when any count was present. */
int cohere_usage(const cJSON *usage, struct aigw_usage *u);

#endif
