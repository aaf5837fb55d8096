/*
 * responses_memstore - an in-memory state store for stored responses only, standing in for
 * core/store/ until it lands on main (then both files go). See responses_memstore.c.
 * Threading: any thread.
 */
#ifndef GW_FRONT_RESPONSES_MEMSTORE_H
#define GW_FRONT_RESPONSES_MEMSTORE_H

#include "front/responses_store.h"

struct gw_store *gw_resp_memstore_new(void);
void gw_resp_memstore_free(struct gw_store *s);

#endif
