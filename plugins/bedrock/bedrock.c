/*
 * bedrock.c - the AWS Bedrock provider: descriptor, environment, endpoint and auth.
 *
 * Auth: AWS_BEARER_TOKEN_BEDROCK (a Bedrock API key) is sent as "Authorization: Bearer";
 * otherwise every request is signed with SigV4 (service "bedrock") from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN). Signed headers: content-type, host, x-amz-date
 * and x-amz-security-token when a session token is set. X-Amz-Content-Sha256 is not sent
 * (botocore does not send it for Bedrock; only S3 needs it).
 */
#include <string.h>

#include "bedrock.h"
#include "sigv4.h"

static const struct aigw_env_var env_table[] = {
    {"AWS_REGION", AIGW_ENV_ANY_OF, NULL,
     "AWS region of the Bedrock endpoint (this or AWS_ACCESS_KEY_ID activates Bedrock)"},
    {"AWS_ACCESS_KEY_ID", AIGW_ENV_ANY_OF, NULL, "AWS access key id for SigV4 signing"},
    {"AWS_SECRET_ACCESS_KEY", AIGW_ENV_SECRET, NULL, "AWS secret access key for SigV4 signing"},
    {"AWS_SESSION_TOKEN", AIGW_ENV_SECRET, NULL,
     "session token of temporary credentials (sent and signed as X-Amz-Security-Token)"},
    {"AWS_BEARER_TOKEN_BEDROCK", AIGW_ENV_SECRET, NULL,
     "Bedrock API key, sent as Authorization: Bearer instead of SigV4"},
    {"AWS_DEFAULT_REGION", 0, NULL, "region used when AWS_REGION is unset (else us-east-1)"},
    {"BEDROCK_BASE_URL", 0, NULL,
     "endpoint base URL (default https://bedrock-runtime.<region>.amazonaws.com)"},
    {NULL, 0, NULL, NULL},
};

#define AUTH_CAP 2048

/* The reason becomes the client's error message instead of a generic one; the return code
 * (and so the status) stays the caller's. */
int bedrock_reject(struct aigw_call *call, int code, const char *why)
{
    call->host->log(call, AIGW_LOG_WARN, "bedrock: cannot translate request: %s", why);
    /* Clients key on error.code "unsupported". */
    if (code == AIGW_ENOTSUP)
        call->host->fail_code(call, 400, "unsupported", NULL, "%s", why);
    else
        call->host->fail(call, code == AIGW_ECONFIG ? 500 : 400, NULL, "%s", why);
    return code;
}

static const char *region_of(const struct aigw_host *h)
{
    const char *r = h->env("AWS_REGION");
    if (!r)
        r = h->env("AWS_DEFAULT_REGION");
    return r ? r : "us-east-1";
}

/* The region is spliced into a host name; anything but [a-z0-9-] would change which host. */
static int region_ok(const char *r)
{
    if (!*r)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return 0;
    return 1;
}

/* Splits a base URL into origin ("https://host[:port]") and path prefix (no trailing '/'), and
 * derives the Host header value curl will send (the default port dropped). */
struct endpoint {
    const char *origin;
    const char *prefix;
    const char *host;
};

static int parse_base(struct aigw_call *call, const char *base, struct endpoint *ep)
{
    const struct aigw_host *h = call->host;
    size_t skip;
    int https;
    if (!strncmp(base, "https://", 8)) {
        skip = 8;
        https = 1;
    } else if (!strncmp(base, "http://", 7)) {
        skip = 7;
        https = 0;
    } else {
        return AIGW_ECONFIG;
    }
    const char *auth = base + skip;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0 || memchr(auth, '@', alen))
        return AIGW_ECONFIG;
    const char *rest = auth + alen;
    size_t plen = strcspn(rest, "?#");
    while (plen > 0 && rest[plen - 1] == '/')
        plen--;
    size_t hlen = alen;
    const char *dflt = https ? ":443" : ":80";
    size_t dlen = strlen(dflt);
    if (hlen > dlen && !memcmp(auth + hlen - dlen, dflt, dlen))
        hlen -= dlen;
    ep->origin = h->strndup(call, base, skip + alen);
    ep->prefix = h->strndup(call, rest, plen);
    ep->host = h->strndup(call, auth, hlen);
    return ep->origin && ep->prefix && ep->host ? 0 : AIGW_ENOMEM;
}

static int sign(struct aigw_call *call, const struct endpoint *ep, const char *path,
                const char *body, size_t len)
{
    const struct aigw_host *h = call->host;
    const char *key = h->env("AWS_ACCESS_KEY_ID");
    const char *secret = h->env("AWS_SECRET_ACCESS_KEY");
    const char *token = h->env("AWS_SESSION_TOKEN");
    const struct sigv4_crypto crypto = {h->sha256, h->hmac_sha256, h->hex};
    char amz_date[17], payload_hash[65];
    int rc;

    if (!key || !secret)
        return bedrock_reject(call, AIGW_ECONFIG,
                              "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                              "or AWS_BEARER_TOKEN_BEDROCK");
    if ((rc = sigv4_amz_date(h->unix_time(), amz_date)) != 0)
        return rc;
    sigv4_payload_hash(&crypto, body, len, payload_hash);

    struct sigv4_header sh[4] = {
        {"content-type", "application/json"},
        {"host", ep->host},
        {"x-amz-date", amz_date},
        {"x-amz-security-token", token ? token : ""},
    };
    struct sigv4_request req = {"POST", path, NULL, sh, token ? 4 : 3, payload_hash};
    struct sigv4_scope scope = {key, secret, region_of(h), "bedrock", amz_date};
    char *auth = h->alloc(call, AUTH_CAP);
    if (!auth)
        return AIGW_ENOMEM;
    if ((rc = sigv4_authorization(&crypto, &scope, &req, auth, AUTH_CAP)) != 0)
        return rc;
    if ((rc = h->add_header(call, "X-Amz-Date", amz_date, 0)) != 0)
        return rc;
    if (token && (rc = h->add_header(call, "X-Amz-Security-Token", token, AIGW_HDR_SECRET)) != 0)
        return rc;
    rc = h->add_header(call, "Authorization", auth, AIGW_HDR_SECRET);
    memset(auth, 0, AUTH_CAP);
    return rc;
}

int bedrock_send(struct aigw_call *call, const char *action, const char *body, size_t len,
                 const char *accept)
{
    const struct aigw_host *h = call->host;
    const char *region = region_of(h);
    const char *base = h->env("BEDROCK_BASE_URL");
    const char *bearer = h->env("AWS_BEARER_TOKEN_BEDROCK");
    struct endpoint ep;
    int rc;

    if (!call->model || !*call->model)
        return bedrock_reject(call, AIGW_EINVAL, "no model id");
    if (!base) {
        if (!region_ok(region))
            return bedrock_reject(call, AIGW_ECONFIG, "AWS_REGION is not a region name");
        base = h->strf(call, "https://bedrock-runtime.%s.amazonaws.com", region);
        if (!base)
            return AIGW_ENOMEM;
    }
    if ((rc = parse_base(call, base, &ep)) != 0)
        return rc;
    /* Model ids carry ':' (versions) and ARNs '/' too: one path segment, percent-encoded. */
    char *model = h->url_encode(call, call->model, strlen(call->model));
    char *path = model ? h->strf(call, "%s/model/%s/%s", ep.prefix, model, action) : NULL;
    char *url = path ? h->strf(call, "%s%s", ep.origin, path) : NULL;
    if (!url)
        return AIGW_ENOMEM;

    if ((rc = h->set_method(call, "POST")) != 0 || (rc = h->set_url(call, url)) != 0 ||
        (rc = h->set_body(call, body, len)) != 0 ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) != 0 ||
        (rc = h->add_header(call, "Accept", accept, 0)) != 0)
        return rc;
    if (bearer) {
        char *v = h->strf(call, "Bearer %s", bearer);
        if (!v)
            return AIGW_ENOMEM;
        return h->add_header(call, "Authorization", v, AIGW_HDR_SECRET);
    }
    return sign(call, &ep, path, body, len);
}

static int init(const struct aigw_host *host, void **plugin_data, const char **why)
{
    (void)plugin_data;
    if (host->env("AWS_BEARER_TOKEN_BEDROCK"))
        return 0;
    if (!host->env("AWS_ACCESS_KEY_ID") || !host->env("AWS_SECRET_ACCESS_KEY")) {
        *why = "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
               "AWS_BEARER_TOKEN_BEDROCK";
        return AIGW_ECONFIG;
    }
    return 0;
}

static int build_request(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    cJSON *body = NULL;
    int rc;

    if (call->op != AIGW_OP_CHAT)
        return AIGW_ENOTSUP;
    if ((rc = bedrock_build_converse(call, &body)) != 0)
        return rc;
    /* Printed here rather than by set_body_json: the signature covers these exact bytes. */
    char *text = h->json_print(call, body);
    cJSON_Delete(body);
    if (!text)
        return AIGW_ENOMEM;
    if (call->stream) {
        if ((rc = h->set_framing(call, AIGW_FRAMING_EVENTSTREAM)) != 0)
            return rc;
        return bedrock_send(call, "converse-stream", text, strlen(text),
                            "application/vnd.amazon.eventstream");
    }
    return bedrock_send(call, "converse", text, strlen(text), "application/json");
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "AWS Bedrock",
    .vkey = "bedrock",
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                    AIGW_CAP_EMBEDDINGS | AIGW_CAP_REASONING,
    .stream_framing = AIGW_FRAMING_EVENTSTREAM,
    .env = env_table,
    .state_size = sizeof(struct bedrock_state),
    .init = init,
    .build_request = build_request,
    .parse_response = bedrock_parse_response,
    .stream_event = bedrock_stream_event,
    .map_error = bedrock_map_error,
    .embeddings_build = bedrock_embeddings_build,
    .embeddings_parse = bedrock_embeddings_parse,
};

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    return &provider;
}
