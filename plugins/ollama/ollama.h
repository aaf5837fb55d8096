/*
 * ollama - internal interface between the Ollama plugin's files. Nothing here is exported:
 * the plugin is built with -fvisibility=hidden and exports only aigw_plugin_entry.
 *
 *   ollama.c          descriptor, env table, base URL + auth, errors, embeddings, model list
 *   ollama_request.c  OpenAI chat request -> native /api/chat body
 *   ollama_response.c native chat responses / NDJSON lines -> normalized chunks
 */
#ifndef AIGW_PLUGIN_OLLAMA_H
#define AIGW_PLUGIN_OLLAMA_H

#include "aigw/plugin.h"

struct ollama_state {
    int ntools;    /* tool calls emitted so far (the OpenAI tool_index) */
    int meta_sent; /* META goes out once, from the first line */
    int finished;  /* the done:true line was handled */
};

/* "<base><path>" in call memory. OLLAMA_BASE_URL wins over OLLAMA_HOST; a host without a
 * scheme gets http:// and, without a port, Ollama's :11434, as the ollama CLI does. */
int ollama_url(struct aigw_call *call, const char *path, const char **out);
/* Authorization: Bearer <OLLAMA_API_KEY> when a key is configured (hosted / proxied Ollama). */
int ollama_set_auth(struct aigw_call *call);
/* Logs why a client request cannot be translated, records it as the client's error (code
 * "unsupported" for AIGW_ENOTSUP) and returns `rc`. */
int ollama_reject(struct aigw_call *call, int rc, const char *why);

/* ollama_request.c */
int ollama_build_chat(struct aigw_call *call);

/* ollama_response.c */
int ollama_parse_chat(struct aigw_call *call, struct aigw_bytes body);
int ollama_stream_event(struct aigw_call *call, const struct aigw_frame *frame);
/* Unix seconds of an RFC 3339 timestamp (any fraction, Z or offset); 0 when malformed. */
int64_t ollama_rfc3339(const char *s);

#endif
