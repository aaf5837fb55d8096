/*
 * reasoning - OpenAI's rule for reasoning models, shared by the openai and azure-openai plugins
 * (they held a copy each, and the copies had drifted: only one stripped "ft:"). o1 / o3 /
 * o4-mini / gpt-5... refuse max_tokens: "Unsupported parameter: 'max_tokens' ... Use
 * 'max_completion_tokens' instead."
 *
 * Part of plugins/common (compiled into each plugin that links it; nothing exported).
 * Stateless; any thread.
 */
#ifndef AIGW_PLUGIN_REASONING_H
#define AIGW_PLUGIN_REASONING_H

#include "aigw/plugin.h"

/* 1 for a model (or Azure deployment) name of OpenAI's reasoning families, fine-tunes
 * ("ft:o4-mini-...") included; 0 for anything else, NULL included. */
int oair_is_reasoning_model(const char *model);

/* Renames the body's max_tokens to max_completion_tokens; the client's own
 * max_completion_tokens wins when both were sent. 0 or AIGW_ENOMEM. */
int oair_rename_max_tokens(cJSON *body);

#endif
