/*
 * authwait - a request whose gateway key must be read from the database before it can be
 * authenticated sleeps here, so that its worker goes on serving its other connections
 * while the store's key loader thread reads (store.h, gw_store_key_auth_start).
 *
 * Two sides hold a wait: the connection (the access handler, until the connection is back
 * or MHD lets it go) and the loader (until it called back). The read can end before the
 * connection was suspended: then it is not suspended at all and the request goes on at once.
 *
 * Threading: the loader's callback runs on the store's thread, everything else on the
 * connection's worker; one lock orders them (taken before MHD's own, never inside it).
 */
#ifndef GW_PROXY_AUTHWAIT_H
#define GW_PROXY_AUTHWAIT_H

#include <microhttpd.h>

struct gw_auth_wait;

/* A wait for conn's key (both sides held), or NULL without memory. */
struct gw_auth_wait *gw_auth_wait_new(struct MHD_Connection *conn);
/* The loader's side (a gw_key_loaded_fn): the read ended with rc; wakes the connection if it
 * sleeps. */
void gw_auth_wait_loaded(void *ud, int rc);
/* The read was not queued after all (the loader will never call): frees w. */
void gw_auth_wait_cancel(struct gw_auth_wait *w);
/* Suspends the connection unless the read has ended already: 1 when it sleeps; 0 when the
 * read is over, with its *rc (w is then freed). */
int gw_auth_wait_sleep(struct gw_auth_wait *w, int *rc);
/* The connection is back (its handler runs again): the read's rc; frees the connection's side. */
int gw_auth_wait_end(struct gw_auth_wait *w);
/* MHD let go of the sleeping connection (its daemon stopped): the loader will not wake it. */
void gw_auth_wait_drop(struct gw_auth_wait *w);

/* 1 before the front stops its daemons (no wait is woken after it), 0 when it starts. */
void gw_auth_wait_closing(int on);

#endif
