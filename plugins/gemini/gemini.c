/*
 * gemini - Google Gemini API (generativelanguage.googleapis.com) provider.
 *
 * Only URL and auth live here; the translation is in gemini_request.c / gemini_response.c,
 * shared with vertex-ai. The key goes in the x-goog-api-key header and never in the URL, so
 * it cannot leak through access logs or error messages that quote the URL.
 */
#include <string.h>

#include "gemini_xlate.h"

#define DEFAULT_BASE_URL "https://generativelanguage.googleapis.com"

static const struct aigw_env_var env_table[] = {
    {"GEMINI_API_KEY", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL, "Gemini API key (AI Studio)"},
    {"GEMINI_BASE_URL", 0, DEFAULT_BASE_URL, "Gemini API base URL (without /v1beta)"},
    {NULL, 0, NULL, NULL},
};

/* Model ids go into the URL path: only characters that need no escaping are allowed, so a
 * client-chosen model cannot add path segments or a query. */
static int model_ok(const char *m)
{
    if (!m || !*m || strlen(m) > 200)
        return 0;
    for (const char *p = m; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_' || *p == '@'))
            return 0;
    return strcmp(m, ".") && strcmp(m, "..");
}

static int build_request(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *key = h->env("GEMINI_API_KEY");
    const char *base = h->env("GEMINI_BASE_URL");
    const char *model = call->model;
    cJSON *body = NULL;
    int rc;

    if (!key)
        return AIGW_ECONFIG;
    if (!base)
        base = DEFAULT_BASE_URL;
    if (model && !strncmp(model, "models/", 7))
        model += 7;
    if (!model_ok(model)) {
        h->log(call, AIGW_LOG_INFO, "model id not usable in a Gemini URL");
        return h->fail(call, 400, "model", "model id not usable in a Gemini URL");
    }
    size_t blen = strlen(base);
    while (blen && base[blen - 1] == '/')
        blen--;
    const char *url = h->strf(call, "%.*s/v1beta/models/%s:%s", (int)blen, base, model,
                              call->stream ? "streamGenerateContent?alt=sse" : "generateContent");
    if (!url)
        return AIGW_ENOMEM;
    ((struct gem_stream_state *)call->state)->secret = key;
    if ((rc = gem_build_body(call, &body)) != 0)
        return rc;
    if ((rc = h->set_body_json(call, body)) != 0 || (rc = h->set_method(call, "POST")) != 0 ||
        (rc = h->set_url(call, url)) != 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) != 0 ||
        (rc = h->add_header(call, "x-goog-api-key", key, AIGW_HDR_SECRET)) != 0)
        return rc;
    /* SSE events, plus the bare JSON error object Google ends a failing stream with. */
    return h->set_framing(call, call->stream ? AIGW_FRAMING_JSON_SEQ : AIGW_FRAMING_JSON);
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return gem_parse_response(call, call->state, body);
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    struct gem_stream_state *st = call->state;
    /* map_error may run without build_request in this attempt's state: re-read the key. */
    st->secret = call->host->env("GEMINI_API_KEY");
    return gem_map_error(call, st, body, err);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return gem_stream_event(call, call->state, frame);
}

static int stream_end(struct aigw_call *call)
{
    return gem_stream_end(call, call->state);
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Google Gemini",
    .vkey = "gemini",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING,
    .stream_framing = AIGW_FRAMING_JSON_SEQ, /* SSE plus bare JSON objects */
    .env = env_table,
    .state_size = sizeof(struct gem_stream_state),
    .build_request = build_request,
    .parse_response = parse_response,
    .stream_event = stream_event,
    .stream_end = stream_end,
    .map_error = map_error,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
