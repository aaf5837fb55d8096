/*
 * tokens - input-token estimates a dialect answers with when no upstream counts: Anthropic's
 * count_tokens and message_start before usage (a Messages body), Responses' input_tokens (the
 * translated chat request, chain included). A heuristic with a known shape, not a tokenizer:
 * ASCII text at 4 characters a token, other characters a token each, 1,600 per image, base64
 * PDF data at one token per 12 bytes, 3 per message and per tool. Bounded in depth; never 0.
 *
 * Threading: pure functions of their argument.
 */
#ifndef GW_FRONT_TOKENS_H
#define GW_FRONT_TOKENS_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* Input tokens of an Anthropic Messages body (system, messages, tools). */
int64_t gw_tokens_anthropic(const cJSON *body);
/* Input tokens of the internal (OpenAI chat-shaped) request: messages with their parts and
 * tool calls, tools, and a response_format's schema. */
int64_t gw_tokens_chat(const cJSON *body);

#endif
