/*
 * claude - Claude's extended-thinking rules for a chat request, shared by the anthropic plugin
 * (which vertex-ai's Claude models use too) and bedrock's Claude models: each held its own
 * copy, and a fix to one (no thinking on a tool loop's next turn) had to be found again in
 * the other.
 *
 * Part of plugins/common (compiled into each plugin that links it; nothing exported).
 * Stateless; any thread.
 */
#ifndef AIGW_PLUGIN_CLAUDE_H
#define AIGW_PLUGIN_CLAUDE_H

#include <stdint.h>

#include "aigw/plugin.h"

/* OpenAI's reasoning_effort as a thinking budget: low 1024, medium 4096, high 16384 tokens;
 * 0 (no thinking) for none, minimal, anything else and NULL. */
int64_t claude_effort_budget(const char *effort);

/* 1 when the last assistant message of chat messages called tools: the request continues a
 * tool loop, and Claude would require that turn's signed thinking block, which chat
 * messages cannot carry back ("Expected `thinking` ... but found `tool_use`"). */
int claude_in_tool_loop(const cJSON *messages);

#endif
