/*
 * oai_compat - the OpenAI-wire helpers offered to plugins through struct aigw_host
 * (oai_request_body, oai_parse_response, oai_stream_event, oai_map_error, finish_from_string).
 * Twelve providers speak OpenAI's wire with quirks; this is where the shared part lives, once.
 *
 * oai_parse_response handles call->op: CHAT (chat.completion), EMBEDDINGS (list of
 * embedding objects; base64 embeddings decoded), IMAGES (data[] with url / b64_json).
 * It emits META, TEXT, REASONING (from reasoning_content or reasoning), REFUSAL, TOOL_CALL,
 * FINISH, USAGE, EMBEDDING, IMAGE chunks, and EXTRA for top-level keys worth keeping
 * (citations, search_results).
 *
 * Threading: stateless apart from the call; any thread.
 */
#ifndef GW_OAI_COMPAT_H
#define GW_OAI_COMPAT_H

#include "aigw/plugin.h"

cJSON *gw_oai_request_body(struct aigw_call *call, const struct aigw_oai_opts *opts);
int gw_oai_parse_response(struct aigw_call *call, struct aigw_bytes body);
int gw_oai_stream_event(struct aigw_call *call, const struct aigw_frame *frame);
int gw_oai_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err);
int gw_finish_from_string(struct aigw_bytes reason);
/* Parse an OpenAI usage object (prompt/completion/total, prompt_tokens_details.cached_tokens,
 * completion_tokens_details.reasoning_tokens); returns 0 when obj held usage. */
int gw_oai_usage_from_json(const cJSON *obj, struct aigw_usage *u);

#endif
