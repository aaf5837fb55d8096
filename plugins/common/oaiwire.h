/*
 * oaiwire - what the thin OpenAI-wire plugins (mistral, groq, deepseek, together, perplexity,
 * fireworks, ai21, xai, hugging-face) share beyond the host's oai_* helpers: the request
 * envelope (base URL, bearer key, path, framing) and the body edits several of them need.
 *
 * Part of plugins/common, linked into each plugin that lists $(PLUGIN_COMMON); nothing here
 * is exported (plugins build with -fvisibility=hidden and export only aigw_plugin_entry).
 * Stateless; any thread.
 */
#ifndef AIGW_PLUGIN_OAIWIRE_H
#define AIGW_PLUGIN_OAIWIRE_H

#include "aigw/plugin.h"

/* ---- the request ------------------------------------------------------------------------ */

/* Where a provider lives: <prefix>_API_KEY holds the bearer key, <prefix>_BASE_URL the base
 * URL (base_default when the host has no value for it). */
struct oaiw_target {
    const char *prefix;       /* e.g. "GROQ" */
    const char *base_default; /* the public endpoint */
};

#define OAIW_VERSION "1.0.0"

/* Defines the plugin's descriptor and its one exported symbol, aigw_plugin_entry(): the
 * identity, SSE streams, the environment {<prefix>_API_KEY required + secret,
 * <prefix>_BASE_URL defaulting to base} (a file-scope compound literal, so static storage),
 * the capability bits, then designated initializers for the callbacks. */
#define OAIW_PLUGIN(display, key, prefix, base, caps, ...)                                         \
    static const struct aigw_provider oaiw_provider = {                                            \
        .abi_version = AIGW_ABI_VERSION,                                                           \
        .struct_size = sizeof(struct aigw_provider),                                               \
        .name = display,                                                                           \
        .vkey = key,                                                                               \
        .version = OAIW_VERSION,                                                                   \
        .capabilities = caps,                                                                      \
        .stream_framing = AIGW_FRAMING_SSE,                                                        \
        .env =                                                                                     \
            (const struct aigw_env_var[]){{prefix "_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, \
                                           NULL, display " API key"},                              \
                                          {prefix "_BASE_URL", 0, base, display " API base URL"},  \
                                          {NULL, 0, NULL, NULL}},                                  \
        __VA_ARGS__};                                                                              \
    AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)                                \
    {                                                                                              \
        return &oaiw_provider;                                                                     \
    }

/* The host's OpenAI parsers as they are, for a provider with no response quirk. */
#define OAIW_STOCK_PARSERS .parse_response = oaiw_parse_response, .stream_event = oaiw_stream_event

/* oaiw_body flags. */
#define OAIW_USAGE 1u      /* streams: ask for stream_options.include_usage */
#define OAIW_MAX_TOKENS 2u /* max_completion_tokens -> max_tokens (the newer name wins) */

/* The client's body prepared by host->oai_request_body (model set, drop removed), with the
 * edits every provider of the family wants: role "developer" -> "system". NULL on failure.
 * The caller owns the result. */
cJSON *oaiw_body(struct aigw_call *call, const char *const *drop, unsigned flags);

/* POST base+path with the bearer key and the JSON body (always consumed). Streamed chat
 * calls get SSE framing. */
int oaiw_post(struct aigw_call *call, const struct oaiw_target *t, const char *path, cJSON *body);

/* ---- responses and errors ---------------------------------------------------------------- */

/* The host's OpenAI parsers as descriptor callbacks, for providers without a quirk there. */
int oaiw_parse_response(struct aigw_call *call, struct aigw_bytes body);
int oaiw_stream_event(struct aigw_call *call, const struct aigw_frame *frame);

/* 1 when needle occurs in b (a cheap check before parsing a frame to edit it). */
int oaiw_has(struct aigw_bytes b, const char *needle);
/* Parse a frame or body for editing; the caller passes the result to oaiw_*_json or
 * cJSON_Delete. Not call memory: stream frames would otherwise pile up for the whole call. */
cJSON *oaiw_parse(struct aigw_bytes b);
/* Hand an edited document to host->oai_stream_event / oai_parse_response; root is freed.
 * A NULL root (the input was not JSON) hands over the original frame / body instead. */
int oaiw_stream_json(struct aigw_call *call, const struct aigw_frame *frame, cJSON *root);
int oaiw_parse_json(struct aigw_call *call, struct aigw_bytes body, cJSON *root);
/* Renames every choices[].finish_reason equal to from (stream or not). Returns how many. */
int oaiw_finish_rename(cJSON *root, const char *from, const char *to);

/* A provider-specific HTTP status and what OpenAI clients should see instead. */
struct oaiw_remap {
    int from, to;
    const char *type, *code; /* code NULL: keep the upstream's */
    int retryable;           /* 0 also drops any retry-after hint */
};
/* host->oai_map_error, then r applied when the upstream status is r->from. */
int oaiw_map_error_as(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err,
                      const struct oaiw_remap *r);

/* ---- JSON edits -------------------------------------------------------------------------- */

/* obj[key] when obj is an object, else NULL. */
cJSON *oaiw_get(const cJSON *obj, const char *key);
/* 1 when it is a JSON string equal to s. */
int oaiw_str_is(const cJSON *it, const char *s);
/* Sets obj[key] to val (consumed), replacing any previous value. */
int oaiw_set(cJSON *obj, const char *key, cJSON *val);
/* Moves obj[from] to obj[to], replacing what was there. No-op when from is absent. */
int oaiw_rename(cJSON *obj, const char *from, const char *to);
/* Removes every member of obj whose key is not in keep (NULL-terminated). */
void oaiw_keep_only(cJSON *obj, const char *const *keep);
/* Replaces an array-of-parts content with its text parts joined by "\n" (text-only APIs). */
int oaiw_flatten_content(cJSON *msg);
/* 1 when content is a non-empty array of text parts only (a join loses nothing). */
int oaiw_text_parts(const cJSON *content);

/* The one exported symbol (OAIW_PLUGIN defines it; declared for -Wmissing-prototypes). */
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

#endif
