/* authenticate - who is calling (see authenticate.h). */
#include "proxy/authenticate.h"

#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "front/dialect.h"
#include "lib/crypto.h"
#include "proxy/gateway.h"

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

int gw_authenticate(const struct gw_gateway *gw, const struct gw_dialect *d,
                    const char *(*header)(void *ud, const char *name), void *ud,
                    struct gw_auth *out)
{
    (void)d;
    memset(out, 0, sizeof *out);
    const cJSON *keys = gw->cfg->auth_keys;
    if (!keys || cJSON_GetArraySize(keys) == 0)
        return 0;
    const char *key = presented(header, ud);
    int ok = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        /* Every key is compared, matched or not: no timing oracle on which one matched. */
        ok |= key && gw_ct_streq(k->valuestring, key);
    }
    if (ok)
        return 0;
    out->status = 401;
    out->type = "authentication_error";
    out->code = "invalid_api_key";
    out->message = "missing or invalid gateway API key";
    return AIGW_EINVAL;
}
