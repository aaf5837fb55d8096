/* authenticate - who is calling (see authenticate.h). */
#include "proxy/authenticate.h"

#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "front/dialect.h"
#include "lib/crypto.h"
#include "proxy/gateway.h"
#include "proxy/snapshot.h"
#include "store/store.h"

/* The token a request carries: Authorization: Bearer, else x-api-key (what the Anthropic
 * SDKs and Claude Code send; harmless for other clients). */
static const char *presented(const char *(*header)(void *, const char *), void *ud)
{
    const char *auth = header(ud, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        return auth + 7;
    return header(ud, "x-api-key");
}

int gw_token_matches(const char *want, const char *authorization)
{
    if (!want || !want[0])
        return 1;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    return gw_ct_streq(want, authorization + 7);
}

/* The public id of an "aigw_<id>_..." token, for the log: only the id's own characters, so a
 * malformed token never puts its secret part in a log line. */
static void public_id(const char *tok, char *out, size_t size)
{
    size_t n = 0, pl = strlen(GW_KEY_PREFIX);
    out[0] = '\0';
    if (!tok || strncmp(tok, GW_KEY_PREFIX, pl))
        return;
    tok += pl;
    while (n < GW_KEY_ID_LEN && n + 1 < size &&
           ((tok[n] >= 'a' && tok[n] <= 'z') || (tok[n] >= 'A' && tok[n] <= 'Z') ||
            (tok[n] >= '0' && tok[n] <= '9'))) {
        out[n] = tok[n];
        n++;
    }
    out[n] = '\0';
}

static int refuse(struct gw_auth *out, const char *reason)
{
    out->status = 401;
    out->type = "authentication_error";
    out->code = "invalid_api_key";
    out->message = "invalid key";
    out->reason = reason;
    return AIGW_EINVAL;
}

/* loaded: the outcome of a read gw_authenticate_start queued (< 0: the store did not answer),
 * or GW_AUTH_LOADED_NONE; start: 0 reads a record here, 1 leaves it to the store's loader
 * thread (done NULL: only says one is due). */
static int authenticate(const struct gw_gateway *gw, const char *(*header)(void *, const char *),
                        void *ud, struct gw_auth *out, struct gw_key **key, int start,
                        gw_key_loaded_fn done, void *dud, int loaded)
{
    memset(out, 0, sizeof *out);
    *key = NULL;
    const char *tok = presented(header, ud);
    if (tok && gw->store) {
        struct gw_key *k = NULL;
        enum gw_key_auth a =
            loaded < 0 ? GW_AUTH_UNAVAILABLE
            : start    ? gw_store_key_auth_start(gw->store, tok, strlen(tok), &k, done, dud)
                       : gw_store_key_auth(gw->store, tok, strlen(tok), &k);
        if (a == GW_AUTH_PENDING)
            return 1;
        if (a == GW_AUTH_OK) {
            *key = k;
            return 0;
        }
        if (a != GW_AUTH_NOT_OURS) {
            public_id(tok, out->key_id, sizeof out->key_id);
            if (a == GW_AUTH_UNAVAILABLE) {
                /* Not a verdict on the key: the store did not answer (cached keys keep
                 * working), so the client may retry. */
                out->status = 503;
                out->type = "service_unavailable_error";
                out->code = "key_store_unavailable";
                out->message = "the key store is unavailable; retry";
                out->reason = gw_key_auth_str(a);
                return AIGW_EINVAL;
            }
            return refuse(out, gw_key_auth_str(a));
        }
    }
    /* The static keys and auth.required are reloadable: the snapshot in effect now decides. */
    struct gw_snap *snap = gw_snap_acquire(gw);
    const cJSON *keys = snap->cfg.auth_keys;
    int have_static = keys && cJSON_GetArraySize(keys) > 0;
    int ok = 0;
    if (have_static) {
        const cJSON *k;
        cJSON_ArrayForEach(k, keys)
        {
            /* Every key is compared, matched or not: no timing oracle on which one matched. */
            ok |= tok && gw_ct_streq(k->valuestring, tok);
        }
    }
    int auth_required = snap->cfg.auth_required;
    gw_snap_release(snap);
    if (ok)
        return 0;
    int required =
        have_static || auth_required || (gw->store && gw_store_has_keys(gw->store));
    if (!required)
        return 0;
    return refuse(out, tok ? "unknown static key" : "missing");
}

int gw_authenticate(const struct gw_gateway *gw, const struct gw_dialect *d,
                    const char *(*header)(void *ud, const char *name), void *ud,
                    struct gw_auth *out, struct gw_key **key)
{
    (void)d;
    return authenticate(gw, header, ud, out, key, 0, NULL, NULL, GW_AUTH_LOADED_NONE);
}

int gw_authenticate_start(const struct gw_gateway *gw, const struct gw_dialect *d,
                          const char *(*header)(void *ud, const char *name), void *ud,
                          struct gw_auth *out, struct gw_key **key, gw_key_loaded_fn done,
                          void *dud)
{
    (void)d;
    return authenticate(gw, header, ud, out, key, 1, done, dud, GW_AUTH_LOADED_NONE);
}

int gw_authenticate_after(const struct gw_gateway *gw, const struct gw_dialect *d,
                          const char *(*header)(void *ud, const char *name), void *ud,
                          struct gw_auth *out, struct gw_key **key, int rc)
{
    (void)d;
    return authenticate(gw, header, ud, out, key, 0, NULL, NULL, rc < 0 ? rc : GW_AUTH_LOADED_NONE);
}
