/*
 * replicate - Replicate predictions: language models (prompt in, tokens out) for chat, and
 * image models (flux-style) for /v1/images/generations. Internal interface between the
 * plugin's files:
 *
 *   replicate.c         descriptor, environment, endpoints, auth, error mapping
 *   replicate_prompt.c  OpenAI chat request -> prediction input (prompt rendering)
 *   replicate_parse.c   prediction objects (polling, stream URL) and SSE stream events
 *
 * A chat or image call is a small state machine over upstream requests: create the prediction
 * (with Prefer: wait), then either read its result, poll urls.get, or (streams) read urls.stream
 * and, once it is done, get the prediction again for its token counts (the stream has none).
 *
 * Threading: no globals; per-call data lives in call->state (struct replicate_state).
 */
#ifndef REPLICATE_H
#define REPLICATE_H

#include "aigw/plugin.h"

struct replicate_state {
    int64_t start_ms;   /* host->now_ms() when the prediction was created: polling deadline */
    int64_t max_tokens; /* the max token input sent (0: none), to tell "length" from "stop" */
    int b64;            /* images: the client asked for response_format b64_json */
    /* Streams: the prediction's poll URL (call memory), kept to fetch its final state, with the
     * token counts, once the stream is done (the stream itself reports none). */
    const char *get_url;
    int usage_fetch; /* 1: the stream's usage is being fetched (the answer is complete) */
    int usage_polls; /* fetches of a prediction not yet marked succeeded */
    /* The prediction started and not seen finished: its id and cancel URL (call memory), for
     * the cancel the host sends when the call ends without its answer (cancel_build). */
    const char *job_id;
    const char *cancel_url;
    int finished; /* succeeded, failed, canceled or aborted: nothing left to cancel */
};

int replicate_reject(struct aigw_call *call, int code, const char *why);
/* The configured API base without a trailing '/' or "/v1", in call memory. */
const char *replicate_base(struct aigw_call *call);
/* Adds the Authorization header. */
int replicate_auth(struct aigw_call *call);
/* POSTs a prediction for call->model with `input` (taken over, even on failure). */
int replicate_create(struct aigw_call *call, cJSON *input, int stream);
/* 1 when url is on the configured API origin. */
int replicate_same_origin(struct aigw_call *call, const char *url);
/* 1 when a URL handed back by the API may receive the token: the configured origin, or https
 * on replicate.com / replicate.net (stream hosts differ from the API host). */
int replicate_url_trusted(struct aigw_call *call, const char *url);

/* A non-negative integer variable of the plugin's table, else dflt. */
int64_t replicate_env_ms(struct aigw_call *call, const char *name, int64_t dflt);

int replicate_chat_input(struct aigw_call *call, cJSON **input);

int replicate_parse_response(struct aigw_call *call, struct aigw_bytes body);
int replicate_images_parse(struct aigw_call *call, struct aigw_bytes body);
int replicate_stream_event(struct aigw_call *call, const struct aigw_frame *frame);
int replicate_stream_end(struct aigw_call *call);
int replicate_cancel_build(struct aigw_call *call, const char **job_id);

#endif
