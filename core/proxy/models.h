/*
 * models - GET /v1/models and /v1/models/{id}: every active provider's models as
 * "provider/model", then the configured aliases, in OpenAI's list shape with extra fields
 * (context window, max output, prices, capabilities). A provider's models are its catalog
 * entries merged with what its server reported (models_live.h): an id the server reported is
 * marked "live": true, and one the catalog lacks is added, with the catalog's extras when the
 * catalog knows the model under a close name. No id is listed twice.
 * Threading: read-only data (the live lists are a snapshot); any thread.
 */
#ifndef GW_MODELS_H
#define GW_MODELS_H

#include "lib/buf.h"

struct gw_gateway;
struct gw_live_snap;

/* Appends the list document. live may be NULL (catalog only). */
int gw_models_list(const struct gw_gateway *gw, const struct gw_live_snap *live,
                   struct gw_buf *out);
/* Appends one model object; AIGW_EINVAL (-> 404) when unknown. */
int gw_models_get(const struct gw_gateway *gw, const struct gw_live_snap *live, const char *id,
                  struct gw_buf *out);

#endif
