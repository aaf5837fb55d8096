/*
 * authenticate - the phase that decides who is calling: today the static keys of
 * auth.api_keys (Authorization: Bearer, or x-api-key where the dialect's clients send it);
 * gateway keys from the state store join here. Runs on the headers alone, before any body is
 * read, so an unauthenticated caller costs no buffering.
 *
 * Threading: any worker; reads only the configuration.
 */
#ifndef GW_PROXY_AUTHENTICATE_H
#define GW_PROXY_AUTHENTICATE_H

struct gw_gateway;
struct gw_dialect;

struct gw_auth {
    /* On refusal: what the client is told. */
    int status;
    const char *type;
    const char *code;
    const char *message;
};

/* 0 when the caller may proceed; negative with out filled otherwise. */
int gw_authenticate(const struct gw_gateway *gw, const struct gw_dialect *d,
                    const char *(*header)(void *ud, const char *name), void *ud,
                    struct gw_auth *out);

/* 1 when `authorization` is "Bearer <want>" (constant time in the token's bytes), or when
 * want is empty (nothing required). */
int gw_token_matches(const char *want, const char *authorization);

#endif
