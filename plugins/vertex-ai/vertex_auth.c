/*
 * vertex_auth.c - Google OAuth2 access tokens for Vertex AI.
 *
 * A service-account key is turned into an access token with the JWT bearer grant (RFC 7523):
 * an RS256-signed assertion {iss, scope, aud, iat, exp} POSTed to the key's token_uri. The
 * host runs the fetch and caches the token (refreshing a minute before expiry), so a token
 * request happens once per hour, not once per chat call. The key file is read here, in
 * init(), which runs once at startup: the only file I/O the plugin does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vertex.h"

#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define KEY_FILE_CAP (64 * 1024)
#define JWT_LIFETIME 3600

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A non-empty string member: an empty key or email is as good as none. */
static const char *nonempty_str(const cJSON *o, const char *k)
{
    const char *v = aigw_json_str(o, k);
    return v && *v ? v : NULL;
}

/* Overwrite before free: a private key should not linger in freed heap memory. */
static void free_secret(char *s)
{
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = 0;
    free(s);
}

void vx_conf_free(struct vx_conf *conf)
{
    free(conf->project);
    free(conf->region);
    free(conf->base);
    free(conf->token_url);
    free(conf->client_email);
    free_secret(conf->private_key);
    free(conf->private_key_id);
    free(conf->audience);
    free(conf->token_uri);
    free(conf->client_id);
    free_secret(conf->client_secret);
    free_secret(conf->refresh_token);
}

static char *read_key_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(KEY_FILE_CAP + 1);
    size_t n = buf ? fread(buf, 1, KEY_FILE_CAP + 1, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n > KEY_FILE_CAP) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int load_key_json(struct vx_conf *conf, const char *text, const char **why)
{
    cJSON *j = cJSON_Parse(text);
    const char *type = nonempty_str(j, "type");
    int rc = 0;
    if (!cJSON_IsObject(j)) {
        *why = "credentials JSON does not parse";
        rc = AIGW_ECONFIG;
    } else if (type && !strcmp(type, "authorized_user")) {
        conf->auth = VX_AUTH_USER;
        conf->client_id = dup_or_null(nonempty_str(j, "client_id"));
        conf->client_secret = dup_or_null(nonempty_str(j, "client_secret"));
        conf->refresh_token = dup_or_null(nonempty_str(j, "refresh_token"));
        conf->audience = strdup(DEFAULT_TOKEN_URI);
        conf->token_uri = strdup(DEFAULT_TOKEN_URI);
        if (!conf->client_id || !conf->client_secret || !conf->refresh_token) {
            *why = "authorized_user credentials lack client_id, client_secret or refresh_token";
            rc = AIGW_ECONFIG;
        }
    } else if (!type || !strcmp(type, "service_account")) {
        const char *uri = nonempty_str(j, "token_uri");
        conf->auth = VX_AUTH_SERVICE;
        conf->client_email = dup_or_null(nonempty_str(j, "client_email"));
        conf->private_key = dup_or_null(nonempty_str(j, "private_key"));
        conf->private_key_id = dup_or_null(nonempty_str(j, "private_key_id"));
        /* google-auth signs for the default endpoint whatever token_uri says (older keys
         * name accounts.google.com) and POSTs to token_uri. */
        conf->audience = strdup(DEFAULT_TOKEN_URI);
        conf->token_uri = strdup(uri ? uri : DEFAULT_TOKEN_URI);
        if (!conf->client_email || !conf->private_key ||
            !strstr(conf->private_key, "PRIVATE KEY-----")) {
            *why = "service account key lacks client_email or a PEM private_key";
            rc = AIGW_ECONFIG;
        }
    } else {
        *why = "credentials JSON type is neither service_account nor authorized_user";
        rc = AIGW_ECONFIG;
    }
    cJSON_Delete(j);
    if (rc == 0 && (!conf->audience || !conf->token_uri))
        rc = AIGW_ENOMEM;
    return rc;
}

int vx_auth_init(const struct aigw_host *host, struct vx_conf *conf, const char **why)
{
    const char *inline_json = host->env("VERTEX_AI_SERVICE_ACCOUNT_JSON");
    const char *path = host->env("GOOGLE_APPLICATION_CREDENTIALS");
    const char *token_url = host->env("VERTEX_AI_TOKEN_URL");
    int rc;

    if (host->env("VERTEX_AI_ACCESS_TOKEN")) {
        conf->auth = VX_AUTH_TOKEN;
        return 0;
    }
    if (inline_json) {
        rc = load_key_json(conf, inline_json, why);
    } else if (path) {
        char *text = read_key_file(path);
        if (!text) {
            *why = "GOOGLE_APPLICATION_CREDENTIALS names no readable file (or one over 64 KiB)";
            return AIGW_ECONFIG;
        }
        rc = load_key_json(conf, text, why);
        free_secret(text);
    } else {
        *why = "no credentials: set VERTEX_AI_ACCESS_TOKEN, VERTEX_AI_SERVICE_ACCOUNT_JSON or "
               "GOOGLE_APPLICATION_CREDENTIALS";
        return AIGW_ECONFIG;
    }
    if (rc != 0)
        return rc;
    /* The override only moves where the request goes (a mock in tests); the JWT audience
     * stays what Google verifies. */
    conf->token_url = strdup(token_url ? token_url : conf->token_uri);
    return conf->token_url ? 0 : AIGW_ENOMEM;
}

/* base64url(JSON of obj), in call memory. Takes ownership of obj. */
static char *b64_json(struct aigw_call *call, cJSON *obj)
{
    const struct aigw_host *h = call->host;
    char *json = obj ? h->json_print(call, obj) : NULL;
    cJSON_Delete(obj);
    return json ? h->base64_encode(call, json, strlen(json), 1) : NULL;
}

/* header.claims.signature, signed with the service account's key. */
static char *make_jwt(struct aigw_call *call, const struct vx_conf *conf)
{
    const struct aigw_host *h = call->host;
    int64_t now = h->unix_time();
    cJSON *hdr = cJSON_CreateObject();
    cJSON *claims = cJSON_CreateObject();
    int ok = hdr && claims && cJSON_AddStringToObject(hdr, "alg", "RS256") &&
             cJSON_AddStringToObject(hdr, "typ", "JWT") &&
             (!conf->private_key_id || cJSON_AddStringToObject(hdr, "kid", conf->private_key_id)) &&
             cJSON_AddStringToObject(claims, "iss", conf->client_email) &&
             cJSON_AddStringToObject(claims, "scope", SCOPE) &&
             cJSON_AddStringToObject(claims, "aud", conf->audience) &&
             cJSON_AddNumberToObject(claims, "iat", (double)now) &&
             cJSON_AddNumberToObject(claims, "exp", (double)(now + JWT_LIFETIME));
    if (!ok) {
        cJSON_Delete(hdr);
        cJSON_Delete(claims);
        return NULL;
    }
    char *h64 = b64_json(call, hdr);
    char *c64 = b64_json(call, claims);
    char *input = h64 && c64 ? h->strf(call, "%s.%s", h64, c64) : NULL;
    char *sig = input ? h->rs256_sign(call, conf->private_key, input, strlen(input)) : NULL;
    if (input && !sig)
        h->log(call, AIGW_LOG_ERROR, "cannot sign the token request with the service account key");
    return sig ? h->strf(call, "%s.%s", input, sig) : NULL;
}

static char *form_value(struct aigw_call *call, const char *s)
{
    return call->host->url_encode(call, s, strlen(s));
}

int vx_credentials_build(struct aigw_call *call)
{
    const struct vx_conf *conf = call->plugin_data;
    const struct aigw_host *h = call->host;
    char *body;
    int rc;

    if (!conf || conf->auth == VX_AUTH_TOKEN)
        return 1;
    if (conf->auth == VX_AUTH_SERVICE) {
        char *jwt = make_jwt(call, conf);
        if (!jwt)
            return AIGW_ECONFIG;
        /* The JWT alphabet (base64url and '.') needs no form encoding. */
        body = h->strf(call,
                       "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
                       "&assertion=%s",
                       jwt);
    } else {
        char *rt = form_value(call, conf->refresh_token);
        char *id = form_value(call, conf->client_id);
        char *sec = form_value(call, conf->client_secret);
        body = rt && id && sec ? h->strf(call,
                                         "grant_type=refresh_token&refresh_token=%s"
                                         "&client_id=%s&client_secret=%s",
                                         rt, id, sec)
                               : NULL;
    }
    if (!body)
        return AIGW_ENOMEM;
    if ((rc = h->set_method(call, "POST")) != 0 || (rc = h->set_url(call, conf->token_url)) != 0 ||
        (rc = h->add_header(call, "Content-Type", "application/x-www-form-urlencoded", 0)) != 0 ||
        (rc = h->set_body(call, body, strlen(body))) != 0)
        return rc;
    return h->set_framing(call, AIGW_FRAMING_JSON);
}

int vx_credentials_parse(struct aigw_call *call, struct aigw_bytes body,
                         struct aigw_credential *cred)
{
    const cJSON *root = call->host->json_parse(call, body);
    const char *tok = nonempty_str(root, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "expires_in");
    if (!tok) {
        call->host->log(call, AIGW_LOG_ERROR, "token response without access_token");
        return AIGW_EPROTO;
    }
    size_t n = strlen(tok);
    if (n >= sizeof cred->token)
        return AIGW_ETOOBIG;
    memcpy(cred->token, tok, n + 1);
    cred->expires_in = JWT_LIFETIME;
    if (cJSON_IsNumber(exp) && exp->valuedouble > 0)
        cred->expires_in = (int64_t)exp->valuedouble;
    else if (cJSON_IsString(exp) && exp->valuestring[0]) {
        char *end = NULL;
        long long v = strtoll(exp->valuestring, &end, 10);
        if (end && !*end && v > 0)
            cred->expires_in = v;
    }
    return 0;
}

int vx_map_token_error(struct aigw_call *call, const cJSON *root, struct aigw_error *err)
{
    const char *code = nonempty_str(root, "error");
    const char *desc = nonempty_str(root, "error_description");
    int st = call->status;
    aigw_error_init(err);
    /* The gateway's own credentials failed: the client is not at fault, so no 4xx. */
    err->status = st == 429 ? 429 : 500;
    err->type = st == 429 ? "rate_limit_error" : "server_error";
    err->code = code ? call->host->strndup(call, code, strlen(code)) : "token_request_failed";
    err->message = call->host->strf(call, "Vertex AI token request failed: %s",
                                    desc   ? desc
                                    : code ? code
                                           : "no reason given");
    err->retryable = st == 429 || st >= 500;
    return 0;
}
