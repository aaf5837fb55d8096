/*
 * authenticate - the phase that decides who is calling, on the headers alone, before any body
 * is read (an unauthenticated caller costs no buffering). The token is Authorization: Bearer,
 * else x-api-key (what the Anthropic SDKs and Claude Code send).
 *
 *   - "aigw_<id>_<secret>": a gateway key of the state store (gw_store_key_auth: a cached
 *     record costs no I/O; a miss is one indexed read, which a worker leaves to the store's
 *     key loader thread while the request sleeps: proxy/offload.h). The request then
 *     carries the record.
 *   - the static keys of auth.api_keys keep working (no record, no limits).
 *   - once the store holds any key, or auth.required is set, or static keys are configured,
 *     a request without a valid key is refused: 401 "invalid key", never why; the reason is
 *     for the log (with the key's public id, never its secret).
 *
 * Threading: any worker; reads the configuration and the store's key cache.
 */
#ifndef GW_PROXY_AUTHENTICATE_H
#define GW_PROXY_AUTHENTICATE_H

#include "store/store.h"

struct gw_gateway;
struct gw_dialect;
struct gw_key;

struct gw_auth {
    /* On refusal: what the client is told. */
    int status;
    const char *type;
    const char *code;
    const char *message;
    /* For the log only: why ("unknown", "revoked", ... or "missing"), and the public id of
     * the gateway key presented ("" when none could be read). */
    const char *reason;
    char key_id[24];
};

/* 0 when the caller may proceed, with *key set to a reference on the gateway key record it
 * presented (NULL for a static key or no key; release with gw_key_unref); negative with out
 * filled otherwise (*key NULL). */
int gw_authenticate(const struct gw_gateway *gw, const struct gw_dialect *d,
                    const char *(*header)(void *ud, const char *name), void *ud,
                    struct gw_auth *out, struct gw_key **key);

/* gw_authenticate for an event loop, which must not wait for the database (store.h,
 * gw_store_key_auth_start). done NULL: 1 when the gateway key's record must be read first,
 * and nothing was read. done set: 1 when that read is queued on the store's key loader
 * thread, and done(dud, rc) follows once; the caller then calls gw_authenticate_after. Any
 * other answer is gw_authenticate's, and done is not called. */
int gw_authenticate_start(const struct gw_gateway *gw, const struct gw_dialect *d,
                          const char *(*header)(void *ud, const char *name), void *ud,
                          struct gw_auth *out, struct gw_key **key, gw_key_loaded_fn done,
                          void *dud);
/* After gw_authenticate_start's done(rc): rc < 0 refuses as a store that did not answer
 * (503, retry); else (0, or GW_AUTH_LOADED_NONE: no read was waited for) gw_authenticate,
 * whose record is then in the cache. */
#define GW_AUTH_LOADED_NONE 1
int gw_authenticate_after(const struct gw_gateway *gw, const struct gw_dialect *d,
                          const char *(*header)(void *ud, const char *name), void *ud,
                          struct gw_auth *out, struct gw_key **key, int rc);

/* 1 when `authorization` is "Bearer <want>" (constant time in the token's bytes), or when
 * want is empty (nothing required). */
int gw_token_matches(const char *want, const char *authorization);

#endif
