/*
 * vertex-ai - Google Vertex AI provider: Gemini models (publishers/google, the Gemini
 * translation) and Claude models (publishers/anthropic rawPredict, the Anthropic
 * translation), both behind a Google OAuth bearer token (vertex_auth.c).
 *
 * Which translation a call uses is decided from the model id in build_request and kept in
 * the call state, so every later callback of the call dispatches the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/anthropic/anthropic_xlate.h"
#include "plugins/gemini/gemini_xlate.h"
#include "vertex.h"

enum vx_family { VX_NONE = 0, VX_GEMINI = 1, VX_CLAUDE = 2 };

struct vx_state {
    int family; /* enum vx_family; VX_NONE until build_request (e.g. the token step) */
    union {
        struct gem_stream_state gem;
        struct anth_stream_state anth;
    } u;
};

static const struct aigw_env_var env_table[] = {
    {"VERTEX_AI_PROJECT_ID", AIGW_ENV_REQUIRED, NULL, "Google Cloud project id"},
    {"VERTEX_AI_REGION", 0, "us-central1", "Vertex AI location (us-central1, global, eu, ...)"},
    {"VERTEX_AI_BASE_URL", 0, NULL, "API base URL (default: derived from the region)"},
    {"VERTEX_AI_ACCESS_TOKEN", AIGW_ENV_SECRET, NULL, "a ready OAuth2 access token"},
    {"VERTEX_AI_SERVICE_ACCOUNT_JSON", AIGW_ENV_SECRET, NULL, "service account key JSON, inline"},
    {"GOOGLE_APPLICATION_CREDENTIALS", 0, NULL, "path of a service account key JSON file"},
    {"VERTEX_AI_TOKEN_URL", 0, NULL, "override the key's token_uri (tests)"},
    {NULL, 0, NULL, NULL},
};

/* Ids that go into the URL path: only characters that need no escaping, so a value cannot
 * add path segments or a query. '@' appears in Vertex Claude ids (claude-x@20250514). */
static int path_ok(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_' || *p == '@'))
            return 0;
    return strcmp(s, ".") && strcmp(s, "..");
}

static int init(const struct aigw_host *host, void **plugin_data, const char **why)
{
    const char *project = host->env("VERTEX_AI_PROJECT_ID");
    const char *region = host->env("VERTEX_AI_REGION");
    const char *base = host->env("VERTEX_AI_BASE_URL");
    char derived[256];
    struct vx_conf *conf;
    int rc;

    if (!region)
        region = "us-central1";
    if (!path_ok(project, 128) || strchr(project, '@')) {
        *why = "VERTEX_AI_PROJECT_ID is not a project id";
        return AIGW_ECONFIG;
    }
    if (!path_ok(region, 64) || strchr(region, '@')) {
        *why = "VERTEX_AI_REGION is not a location id";
        return AIGW_ECONFIG;
    }
    if (!base) {
        /* global and the multi-regions have their own hosts; the rest are regional. */
        if (!strcmp(region, "global"))
            snprintf(derived, sizeof derived, "https://aiplatform.googleapis.com");
        else if (!strcmp(region, "us") || !strcmp(region, "eu"))
            snprintf(derived, sizeof derived, "https://aiplatform.%s.rep.googleapis.com", region);
        else
            snprintf(derived, sizeof derived, "https://%s-aiplatform.googleapis.com", region);
        base = derived;
    }
    if (!(conf = calloc(1, sizeof *conf)))
        return AIGW_ENOMEM;
    conf->project = strdup(project);
    conf->region = strdup(region);
    conf->base = strdup(base);
    if (!conf->project || !conf->region || !conf->base) {
        rc = AIGW_ENOMEM;
        goto fail;
    }
    for (size_t n = strlen(conf->base); n && conf->base[n - 1] == '/'; n--)
        conf->base[n - 1] = 0;
    if ((rc = vx_auth_init(host, conf, why)) != 0)
        goto fail;
    *plugin_data = conf;
    return 0;
fail:
    vx_conf_free(conf);
    free(conf);
    return rc;
}

static void fini(void *plugin_data)
{
    if (plugin_data) {
        vx_conf_free(plugin_data);
        free(plugin_data);
    }
}

/* Strip a publisher path a client may have pasted; claude* models go to Anthropic. */
static const char *model_id(const char *m, int *family)
{
    static const char *const prefixes[] = {"publishers/google/models/",
                                           "publishers/anthropic/models/", "models/"};
    for (size_t i = 0; m && i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(m, prefixes[i], n)) {
            m += n;
            break;
        }
    }
    *family = m && !strncmp(m, "claude", 6) ? VX_CLAUDE : VX_GEMINI;
    return m;
}

static int build_request(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    const struct vx_conf *conf = call->plugin_data;
    struct vx_state *st = call->state;
    const char *token, *method;
    cJSON *body = NULL;
    int family, rc;

    if (!conf)
        return AIGW_ECONFIG;
    const char *model = model_id(call->model, &family);
    if (!path_ok(model, 200)) {
        h->log(call, AIGW_LOG_INFO, "model id not usable in a Vertex AI URL");
        return h->fail(call, 400, "model", "model id not usable in a Vertex AI URL");
    }
    token = conf->auth == VX_AUTH_TOKEN ? h->env("VERTEX_AI_ACCESS_TOKEN") : h->credential(call);
    if (!token) {
        h->log(call, AIGW_LOG_ERROR, "no Vertex AI access token available");
        return AIGW_ECONFIG;
    }
    char *auth = h->strf(call, "Bearer %s", token);
    memset(st, 0, sizeof *st);
    st->family = family;
    if (family == VX_CLAUDE) {
        method = call->stream ? "streamRawPredict" : "rawPredict";
        rc = anth_build_body(call, 1, &body);
    } else {
        /* A copy: Google sometimes quotes the rejected credential in its error message. */
        st->u.gem.secret = h->strndup(call, token, strlen(token));
        method = call->stream ? "streamGenerateContent?alt=sse" : "generateContent";
        rc = gem_build_body(call, &body);
    }
    if (rc != 0)
        return rc;
    const char *url = h->strf(call, "%s/v1/projects/%s/locations/%s/publishers/%s/models/%s:%s",
                              conf->base, conf->project, conf->region,
                              family == VX_CLAUDE ? "anthropic" : "google", model, method);
    if (!url || !auth) {
        cJSON_Delete(body);
        return AIGW_ENOMEM;
    }
    if ((rc = h->set_body_json(call, body)) != 0 || (rc = h->set_method(call, "POST")) != 0 ||
        (rc = h->set_url(call, url)) != 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) != 0 ||
        (rc = h->add_header(call, "Authorization", auth, AIGW_HDR_SECRET)) != 0)
        return rc;
    if (!call->stream)
        return h->set_framing(call, AIGW_FRAMING_JSON);
    /* Claude streams named SSE events; Gemini streams SSE plus a bare JSON error object. */
    return h->set_framing(call, family == VX_CLAUDE ? AIGW_FRAMING_SSE : AIGW_FRAMING_JSON_SEQ);
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    struct vx_state *st = call->state;
    if (st->family == VX_CLAUDE)
        return anth_parse_response(call, body);
    return gem_parse_response(call, &st->u.gem, body);
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct vx_state *st = call->state;
    if (st->family == VX_CLAUDE)
        return anth_stream_event(call, &st->u.anth, frame);
    return gem_stream_event(call, &st->u.gem, frame);
}

static int stream_end(struct aigw_call *call)
{
    struct vx_state *st = call->state;
    if (st->family == VX_CLAUDE)
        return anth_stream_end(call, &st->u.anth);
    return gem_stream_end(call, &st->u.gem);
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    struct vx_state *st = call->state;
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    /* The OAuth token endpoint answers {"error":"invalid_grant",...}: a string, not an
     * object; no model family is chosen yet during the token step. */
    if (st->family == VX_NONE && cJSON_IsString(e))
        return vx_map_token_error(call, root, err);
    /* Platform failures (auth, quota, model not enabled) use Google's envelope even for
     * Claude; model-level ones use Anthropic's {"type":"error","error":{"type",...}}. */
    if (st->family == VX_CLAUDE && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "status")))
        return anth_map_error(call, body, err);
    return gem_map_error(call, &st->u.gem, body, err);
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Google Vertex AI",
    .vkey = "vertex-ai",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING,
    .stream_framing = AIGW_FRAMING_SSE, /* build_request sets it per model family */
    .env = env_table,
    .state_size = sizeof(struct vx_state),
    .init = init,
    .fini = fini,
    .build_request = build_request,
    .parse_response = parse_response,
    .stream_event = stream_event,
    .stream_end = stream_end,
    .map_error = map_error,
    .credentials_build = vx_credentials_build,
    .credentials_parse = vx_credentials_parse,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
