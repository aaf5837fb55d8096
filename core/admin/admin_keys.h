/*
 * admin_keys - the gateway-key operations of the admin API, independent of the transport: the
 * HTTP listener and the `aigw keys` command both call gw_admin_keys_handle, so both accept the
 * same JSON and answer the same documents.
 *
 *   POST   /admin/keys              create; 201 with the key object and "key" (the secret,
 *                                    shown this once)
 *   GET    /admin/keys[?limit=&after=]   {"object":"list","data":[...],"has_more","next"}
 *   GET    /admin/keys/{id}         the key object, with spend_usd in the current period
 *   PATCH  /admin/keys/{id}         change the fields given (null clears a limit)
 *   POST   /admin/keys/{id}/rotate  {"grace_seconds": n}; 200 with the new "key"
 *   DELETE /admin/keys/{id}         revoke; 200 with the key object
 *
 * Body fields: name, owner, metadata (object), models and providers (arrays of globs; null:
 * any), rpm, tpm (integers; null: unlimited), budget_usd (number; null: none), budget_period
 * ("none", "daily", "weekly", "monthly"), expires_at (unix seconds; null: never). Unknown
 * fields are refused, so a typo never silently drops a limit. Errors are OpenAI-shaped
 * {"error":{"message","type","param","code"}} and never echo a secret.
 *
 * Threading: any thread; blocks on the store (never call it from a request's event loop).
 */
#ifndef GW_ADMIN_KEYS_H
#define GW_ADMIN_KEYS_H

#include <stddef.h>

#include "lib/buf.h"
#include "store/store.h"

/* Largest request body accepted (413 above). */
#define GW_ADMIN_BODY_MAX (64u << 10)

/* method: "GET", "POST", ...; path: what follows "/admin/keys" ("", "/{id}", "/{id}/rotate",
 * with an optional "?query"). Writes the JSON answer into out and its status into *status.
 * Returns 0, or AIGW_ENOMEM when out could not hold the answer. */
int gw_admin_keys_handle(struct gw_store *s, const char *method, const char *path, const char *body,
                         size_t len, struct gw_buf *out, int *status);

/* GET /v1/usage: the calling gateway key's own limits, budget and spend in the current
 * period (the key id comes from its authentication, never from the request). 0 or
 * AIGW_ENOMEM, like gw_admin_keys_handle. (blocking: one indexed read) */
int gw_admin_key_usage(struct gw_store *s, const char *id, struct gw_buf *out, int *status);

#endif
