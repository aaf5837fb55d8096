/*
 * example - a complete aigw provider for a self-hosted OpenAI-compatible server (vLLM,
 * llama.cpp's server, LocalAI, ...). Walked through line by line in aigw-plugin(3).
 *
 * The server already speaks OpenAI's wire, so the host's oai_* helpers do the translating;
 * this file only says where the server is and how to authenticate.
 *
 * Threading: stateless; any thread.
 */
#include <string.h>

#include <aigw/plugin.h>

/* Drives activation (EXAMPLE_BASE_URL unset -> inactive), --list-providers and redaction. */
static const struct aigw_env_var env[] = {
    {"EXAMPLE_BASE_URL", AIGW_ENV_REQUIRED, NULL,
     "server base URL up to /v1, e.g. http://127.0.0.1:8000/v1"},
    {"EXAMPLE_API_KEY", AIGW_ENV_SECRET, NULL, "sent as Authorization: Bearer when set"},
    {NULL, 0, NULL, NULL},
};

static int build_request(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const char *base = h->env("EXAMPLE_BASE_URL"), *key = h->env("EXAMPLE_API_KEY");
    /* No fields to drop; ask for usage in streams; put the upstream model id in "model"; the
     * body is passed on unedited, so the host may share the client's values (1.4). */
    struct aigw_oai_opts opts = {AIGW_ABI_VERSION, sizeof opts, NULL, 1, 1, 1};
    size_t n;
    char *url;
    cJSON *body;
    int rc;

    if (!base)
        return AIGW_ECONFIG;
    n = strlen(base);
    while (n && base[n - 1] == '/') /* ".../v1/" and ".../v1" both work */
        n--;
    if (!(url = h->strf(call, "%.*s/chat/completions", (int)n, base)))
        return AIGW_ENOMEM;
    if ((rc = h->set_method(call, "POST")) || (rc = h->set_url(call, url)) ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)))
        return rc;
    if (key) {
        const char *auth = h->strf(call, "Bearer %s", key);
        if (!auth)
            return AIGW_ENOMEM;
        if ((rc = h->add_header(call, "Authorization", auth, AIGW_HDR_SECRET)))
            return rc;
    }
    if (!(body = h->oai_request_body(call, &opts)))
        return AIGW_ENOMEM;
    if ((rc = h->set_body_json(call, body))) /* takes body, even on failure */
        return rc;
    return call->stream ? h->set_framing(call, AIGW_FRAMING_SSE) : 0;
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return call->host->oai_parse_response(call, body);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return call->host->oai_stream_event(call, frame);
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    return call->host->oai_map_error(call, body, err);
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Example",
    .vkey = "example",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = env,
    .build_request = build_request,
    .parse_response = parse_response,
    .stream_event = stream_event,
    .map_error = map_error,
};

/* plugin.h deliberately declares no prototype; this one keeps -Wmissing-prototypes quiet. */
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
