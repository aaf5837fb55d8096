/*
 * replicate.c - the Replicate provider: descriptor, environment, endpoints, auth, images
 * request and error mapping (notes B §11, §14.2).
 */
#include <stdlib.h>
#include <string.h>

#include "replicate.h"

static const struct aigw_env_var env_table[] = {
    {"REPLICATE_API_TOKEN", AIGW_ENV_REQUIRED | AIGW_ENV_SECRET, NULL,
     "Replicate API token (sent as Authorization: Bearer)"},
    {"REPLICATE_BASE_URL", 0, "https://api.replicate.com", "Replicate API base URL"},
    {"REPLICATE_WAIT_SECONDS", 0, "60",
     "Prefer: wait=N seconds on prediction create (1-60; 0 sends no Prefer header)"},
    {"REPLICATE_POLL_INTERVAL_MS", 0, "1000", "delay between polls of an unfinished prediction"},
    {"REPLICATE_POLL_TIMEOUT_MS", 0, "300000",
     "give up on a prediction (504) after this long without a result; a polled prediction is "
     "created with a Cancel-After of this plus one poll interval"},
    {NULL, 0, NULL, NULL},
};

/* The reason becomes the client's error message instead of a generic one; the return code
 * (and so the status) stays the caller's. */
int replicate_reject(struct aigw_call *call, int code, const char *why)
{
    call->host->log(call, AIGW_LOG_WARN, "replicate: cannot translate request: %s", why);
    /* Clients key on error.code "unsupported". */
    if (code == AIGW_ENOTSUP)
        call->host->fail_code(call, 400, "unsupported", NULL, "%s", why);
    else
        call->host->fail(call, code == AIGW_ECONFIG ? 500 : 400, NULL, "%s", why);
    return code;
}

const char *replicate_base(struct aigw_call *call)
{
    const char *base = call->host->env("REPLICATE_BASE_URL");
    if (!base)
        return NULL;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= 3 && !memcmp(base + n - 3, "/v1", 3))
        n -= 3;
    return call->host->strndup(call, base, n);
}

int replicate_auth(struct aigw_call *call)
{
    const char *token = call->host->env("REPLICATE_API_TOKEN");
    if (!token)
        return AIGW_ECONFIG;
    char *v = call->host->strf(call, "Bearer %s", token);
    if (!v)
        return AIGW_ENOMEM;
    return call->host->add_header(call, "Authorization", v, AIGW_HDR_SECRET);
}

/* Length of "scheme://authority" of url, or 0. */
static size_t origin_len(const char *url)
{
    size_t skip = !strncmp(url, "https://", 8) ? 8 : !strncmp(url, "http://", 7) ? 7 : 0;
    if (!skip)
        return 0;
    size_t alen = strcspn(url + skip, "/?#");
    return alen && !memchr(url + skip, '@', alen) ? skip + alen : 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

int replicate_same_origin(struct aigw_call *call, const char *url)
{
    const char *base = replicate_base(call);
    size_t ol = origin_len(url), bl = base ? origin_len(base) : 0;
    return ol && ol == bl && !memcmp(url, base, ol);
}

int replicate_url_trusted(struct aigw_call *call, const char *url)
{
    size_t ol = origin_len(url);
    if (replicate_same_origin(call, url))
        return 1;
    if (!ol || strncmp(url, "https://", 8))
        return 0;
    const char *host = url + 8;
    size_t hl = ol - 8;
    return ends_with(host, hl, ".replicate.com") || ends_with(host, hl, ".replicate.net") ||
           (hl == 13 && !memcmp(host, "replicate.com", 13));
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128 || (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.'))))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return 1;
}

/* "owner/name" -> /v1/models/owner/name/predictions; "owner/name:version" or a bare version
 * id -> /v1/predictions with "version" in the body. */
static int endpoint(struct aigw_call *call, const char *base, char **url, const char **version)
{
    const char *m = call->model ? call->model : "";
    const char *slash = strchr(m, '/'), *colon = strchr(m, ':');
    *version = NULL;
    if (colon) {
        if (!name_ok(colon + 1, strlen(colon + 1)) || (slash && slash > colon))
            return replicate_reject(call, AIGW_EINVAL, "model version id is malformed");
        *version = colon + 1;
    } else if (!slash && strlen(m) == 64 && name_ok(m, 64)) {
        *version = m;
    }
    if (*version) {
        *url = call->host->strf(call, "%s/v1/predictions", base);
        return *url ? 0 : AIGW_ENOMEM;
    }
    if (!slash || !name_ok(m, (size_t)(slash - m)) || !name_ok(slash + 1, strlen(slash + 1)))
        return replicate_reject(call, AIGW_EINVAL, "model must be owner/name[:version]");
    *url = call->host->strf(call, "%s/v1/models/%s/predictions", base, m);
    return *url ? 0 : AIGW_ENOMEM;
}

/* A polled prediction is read for REPLICATE_POLL_TIMEOUT_MS at most: Replicate's own
 * deadline (Cancel-After, a duration) stops it one poll interval later, should the gateway
 * not get to cancel it (killed, or a create whose answer never came). Streams have no such
 * deadline, so none is sent for them. */
static int cancel_after(struct aigw_call *call)
{
    int64_t ms = replicate_env_ms(call, "REPLICATE_POLL_TIMEOUT_MS", 300000) +
                 replicate_env_ms(call, "REPLICATE_POLL_INTERVAL_MS", 1000);
    int64_t secs = (ms + 999) / 1000;
    if (secs < 1)
        secs = 1;
    char *v = call->host->strf(call, "%llds", (long long)secs);
    return v ? call->host->add_header(call, "Cancel-After", v, 0) : AIGW_ENOMEM;
}

int replicate_create(struct aigw_call *call, cJSON *input, int stream)
{
    const struct aigw_host *h = call->host;
    struct replicate_state *st = call->state;
    const char *base = replicate_base(call), *version;
    const char *wait = h->env("REPLICATE_WAIT_SECONDS");
    char *url;
    int rc;

    cJSON *body = cJSON_CreateObject();
    if (!body || !input) {
        cJSON_Delete(input);
        cJSON_Delete(body);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(body, "input", input);
    if (!base) {
        cJSON_Delete(body);
        return AIGW_ECONFIG;
    }
    if ((rc = endpoint(call, base, &url, &version)) != 0 ||
        (version && !cJSON_AddStringToObject(body, "version", version)) ||
        (stream && !cJSON_AddTrueToObject(body, "stream"))) {
        cJSON_Delete(body);
        return rc ? rc : AIGW_ENOMEM;
    }
    st->start_ms = h->now_ms();
    if ((rc = h->set_body_json(call, body)) != 0 || (rc = h->set_method(call, "POST")) != 0 ||
        (rc = h->set_url(call, url)) != 0 || (rc = replicate_auth(call)) != 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) != 0)
        return rc;
    /* The create call always answers a JSON prediction, stream or not. */
    if ((rc = h->set_framing(call, AIGW_FRAMING_JSON)) != 0)
        return rc;
    /* Waiting holds the connection until the model is done; a stream wants urls.stream at
     * once instead (notes: do not combine the two). */
    char *end = NULL;
    long secs = wait ? strtol(wait, &end, 10) : 0;
    if (wait && *end) {
        h->log(call, AIGW_LOG_WARN, "replicate: REPLICATE_WAIT_SECONDS is not a number");
        secs = 0;
    }
    if (!stream && (rc = cancel_after(call)) != 0)
        return rc;
    if (stream || secs <= 0)
        return 0;
    char *pref = h->strf(call, "wait=%ld", secs > 60 ? 60L : secs);
    return pref ? h->add_header(call, "Prefer", pref, 0) : AIGW_ENOMEM;
}

static int build_request(struct aigw_call *call)
{
    cJSON *input = NULL;
    int rc;
    if (call->op != AIGW_OP_CHAT)
        return AIGW_ENOTSUP;
    if ((rc = replicate_chat_input(call, &input)) != 0)
        return rc;
    return replicate_create(call, input, call->stream);
}

/* OpenAI size "WxH" -> the closest aspect ratio flux-style models take (notes §14.2). */
static const char *aspect_ratio(const char *size)
{
    static const struct {
        const char *name;
        double w, h;
    } ratios[] = {{"1:1", 1, 1}, {"16:9", 16, 9}, {"21:9", 21, 9}, {"3:2", 3, 2},
                  {"2:3", 2, 3}, {"4:5", 4, 5},   {"5:4", 5, 4},   {"3:4", 3, 4},
                  {"4:3", 4, 3}, {"9:16", 9, 16}, {"9:21", 9, 21}};
    char *end;
    long w = strtol(size, &end, 10);
    if (w <= 0 || (*end != 'x' && *end != 'X'))
        return NULL;
    long hgt = strtol(end + 1, &end, 10);
    if (hgt <= 0 || *end)
        return NULL;
    double r = (double)w / (double)hgt, best = 1e9;
    const char *pick = NULL;
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++) {
        double want = ratios[i].w / ratios[i].h, d = (r - want) / want;
        if (d < 0)
            d = -d;
        if (d < best) {
            best = d;
            pick = ratios[i].name;
        }
    }
    return pick;
}

static int images_build(struct aigw_call *call)
{
    struct replicate_state *st = call->state;
    const cJSON *b = call->body;
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(b, "prompt");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "n");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(b, "size");
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(b, "response_format");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(b, "output_format");
    const char *ar = NULL, *fmt = NULL;

    if (!cJSON_IsString(prompt) || !*prompt->valuestring)
        return replicate_reject(call, AIGW_EINVAL, "prompt is required");
    if (cJSON_IsNumber(n) && (n->valuedouble < 1 || n->valuedouble > 4))
        return replicate_reject(call, n->valuedouble < 1 ? AIGW_EINVAL : AIGW_ENOTSUP,
                                "n must be between 1 and 4 for Replicate image models");
    if (cJSON_IsString(size) && strcmp(size->valuestring, "auto") &&
        !(ar = aspect_ratio(size->valuestring)))
        return replicate_reject(call, AIGW_EINVAL, "size must look like 1024x1024");
    st->b64 = cJSON_IsString(rf) && !strcmp(rf->valuestring, "b64_json");
    if (cJSON_IsString(of))
        fmt = !strcmp(of->valuestring, "jpeg") ? "jpg" : of->valuestring;
    else if (st->b64)
        fmt = "png"; /* what OpenAI clients decoding b64_json expect */

    cJSON *input = cJSON_CreateObject();
    int ok = input && cJSON_AddStringToObject(input, "prompt", prompt->valuestring);
    if (ok && cJSON_IsNumber(n))
        ok = cJSON_AddNumberToObject(input, "num_outputs", (double)(int)n->valuedouble) != NULL;
    if (ok && ar)
        ok = cJSON_AddStringToObject(input, "aspect_ratio", ar) != NULL;
    if (ok && fmt)
        ok = cJSON_AddStringToObject(input, "output_format", fmt) != NULL;
    if (!ok) {
        cJSON_Delete(input);
        return AIGW_ENOMEM;
    }
    return replicate_create(call, input, 0);
}

/* The Retry-After header, else the wait Replicate only writes into its message. */
static int64_t retry_after_ms(struct aigw_call *call, const char *detail)
{
    int64_t ms = call->host->retry_after_ms(call);
    if (ms >= 0)
        return ms;
    /* "Request was throttled. Expected available in 8 seconds." */
    const char *p = detail ? strstr(detail, "available in ") : NULL;
    if (p) {
        char *end;
        long s = strtol(p + 13, &end, 10);
        if (end != p + 13 && s >= 0)
            return (int64_t)s * 1000;
    }
    return -1;
}

/* RFC 7807 problem+json: {"title","detail","status"}. */
static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(root, "detail");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(root, "title");
    int s = call->status;

    aigw_error_init(err);
    err->message = cJSON_IsString(detail)  ? detail->valuestring
                   : cJSON_IsString(title) ? title->valuestring
                                           : NULL;
    err->status = s;
    switch (s) {
    case 401:
        err->type = "authentication_error";
        err->code = "invalid_api_key";
        break;
    case 402:
        err->type = "insufficient_quota";
        err->code = "insufficient_quota";
        break;
    case 403:
        err->type = "permission_error";
        break;
    case 404:
        err->type = "not_found_error";
        err->code = "model_not_found";
        break;
    case 422:
        err->status = 400;
        err->type = "invalid_request_error";
        break;
    case 429:
        err->type = "rate_limit_error";
        err->code = "rate_limit_exceeded";
        err->retryable = 1;
        err->retry_after_ms = retry_after_ms(call, err->message);
        break;
    default:
        if (s >= 500) {
            err->type = "server_error";
            err->retryable = 1;
        } else if (s >= 400) {
            err->type = "invalid_request_error";
        }
        break;
    }
    return 0;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Replicate",
    .vkey = "replicate",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_IMAGES,
    .stream_framing = AIGW_FRAMING_SSE,
    .env = env_table,
    .state_size = sizeof(struct replicate_state),
    .build_request = build_request,
    .parse_response = replicate_parse_response,
    .stream_event = replicate_stream_event,
    .stream_end = replicate_stream_end,
    .map_error = map_error,
    .images_build = images_build,
    .images_parse = replicate_images_parse,
    .cancel_build = replicate_cancel_build,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
