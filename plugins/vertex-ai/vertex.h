/*
 * vertex.h - internal to the vertex-ai plugin: configuration read once by init() and the
 * Google OAuth token fetch (service account JWT bearer grant, or an authorized_user refresh
 * token), executed and cached by the host through credentials_build / credentials_parse.
 *
 * Threading: struct vx_conf is written by init() only and read-only afterwards.
 */
#ifndef AIGW_VERTEX_H
#define AIGW_VERTEX_H

#include "aigw/plugin.h"

enum vx_auth {
    VX_AUTH_TOKEN = 1,   /* VERTEX_AI_ACCESS_TOKEN: a ready bearer token, never fetched */
    VX_AUTH_SERVICE = 2, /* service-account key: RS256 JWT bearer grant */
    VX_AUTH_USER = 3,    /* authorized_user (gcloud ADC file): refresh-token grant */
};

struct vx_conf {
    char *project;
    char *region;
    char *base;      /* scheme://host of the API, no trailing slash */
    int auth;        /* enum vx_auth */
    char *token_url; /* where the token request is POSTed */
    /* VX_AUTH_SERVICE */
    char *client_email;
    char *private_key; /* PEM */
    char *private_key_id;
    char *audience;  /* the JWT "aud": Google's token endpoint */
    char *token_uri; /* the key's token_uri (token_url unless overridden) */
    /* VX_AUTH_USER */
    char *client_id;
    char *client_secret;
    char *refresh_token;
};

/* Fill conf's auth members from the environment (VERTEX_AI_ACCESS_TOKEN, then
 * VERTEX_AI_SERVICE_ACCOUNT_JSON, then the file named by GOOGLE_APPLICATION_CREDENTIALS).
 * Returns 0, or a negative code with a static reason in *why. */
int vx_auth_init(const struct aigw_host *host, struct vx_conf *conf, const char **why);
void vx_conf_free(struct vx_conf *conf);

int vx_credentials_build(struct aigw_call *call);
int vx_credentials_parse(struct aigw_call *call, struct aigw_bytes body,
                         struct aigw_credential *cred);

/* Map a token endpoint error body {"error":"invalid_grant","error_description":...}. */
int vx_map_token_error(struct aigw_call *call, const cJSON *root, struct aigw_error *err);

#endif /* AIGW_VERTEX_H */
