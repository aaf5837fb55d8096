/*
 * responses_store - the stored-response part of the state store's API, as agreed with the
 * store's author (core/store/store.h, not on main yet). This header goes away when it lands;
 * until then responses_memstore.c implements it in memory so the daemon runs.
 *
 * Threading: every function may be called from any thread.
 */
#ifndef GW_FRONT_RESPONSES_STORE_H
#define GW_FRONT_RESPONSES_STORE_H

#include <stdint.h>

#ifndef GW_STORE_ENOTFOUND
#define GW_STORE_ENOTFOUND (-40)
#endif

struct gw_store;

struct gw_stored_response {
    char id[64];
    char key_id[64];
    char previous_id[64];
    int64_t created_at;
    int64_t expires_at;
    char *request_json;
    char *response_json;
    char *input_items_json;
};

int gw_store_response_put(struct gw_store *s, const struct gw_stored_response *r);
/* Fills out with malloc'd strings; GW_STORE_ENOTFOUND when missing, expired or owned by
 * another key. */
int gw_store_response_get(struct gw_store *s, const char *id, const char *key_id,
                          struct gw_stored_response *out);
void gw_stored_response_free(struct gw_stored_response *r);
int gw_store_response_delete(struct gw_store *s, const char *id, const char *key_id);

#endif
