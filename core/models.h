/*
 * models - GET /v1/models and /v1/models/{id}: the catalog's models of every active provider
 * as "provider/model", plus the configured aliases, in OpenAI's list shape with extra fields
 * (context window, max output, prices, capabilities).
 * Threading: read-only data; any thread.
 */
#ifndef GW_MODELS_H
#define GW_MODELS_H

#include "buf.h"

struct gw_gateway;

/* Appends the list document. */
int gw_models_list(const struct gw_gateway *gw, struct gw_buf *out);
/* Appends one model object; AIGW_EINVAL (-> 404) when unknown. */
int gw_models_get(const struct gw_gateway *gw, const char *id, struct gw_buf *out);

#endif
