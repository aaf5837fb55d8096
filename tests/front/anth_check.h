/*
 * anth_check - an independent reading of an Anthropic answer, the way the official SDKs read
 * it (@anthropic-ai/sdk MessageStream, the Python accumulator, Claude Code's own checks):
 * named events whose name is their JSON type, message_start first with usage, blocks one at a
 * time with matching indexes, deltas of the block's own kind, a signature on every thinking
 * block, tool input that parses to an object, message_delta with usage, message_stop last (or
 * an error event). Used by the dialect's tests and its fuzz target. No Criterion here.
 */
#ifndef AIGW_TEST_ANTH_CHECK_H
#define AIGW_TEST_ANTH_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* What a client made of a stream: the message the SDKs would assemble, the error event's
 * type if the stream ended with one. */
struct at_stream {
    cJSON *message;
    char error_type[64];
    int events;
    int pings;
    int64_t start_input; /* usage.input_tokens of message_start */
    int64_t start_cache; /* its cache_read + cache_creation input tokens */
};
/* 0, or -1 with why filled. st->message is the caller's (cJSON_Delete) either way. */
int at_check_sse(const char *sse, size_t n, struct at_stream *st, char *why, size_t whylen);
/* A non-stream message object checked the same way. */
int at_check_message(const cJSON *m, char *why, size_t whylen);

#endif
