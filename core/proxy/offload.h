/*
 * offload - what a request must not do on its worker, done elsewhere while its connection
 * sleeps: a read that may wait for the database (a gateway key's record, read on the store's
 * key loader thread; a Responses conversation read back from the store, parsed on the
 * offload thread here). A worker that waited itself would stop serving every other
 * connection of its loop for as long as the database takes.
 *
 * A wait (struct gw_wait) is held by two sides: the connection (the access handler, until the
 * connection is back or MHD lets it go) and the other thread (until it has called
 * gw_wait_done once, with an outcome and an optional result the connection side takes). The
 * work can end before the connection was suspended: it is then not suspended at all.
 *
 * Threading: gw_wait_done runs on the other thread, everything else on the connection's
 * worker; one lock orders them (taken before MHD's own, never inside it). The offload thread
 * runs one job at a time from a bounded queue.
 */
#ifndef GW_PROXY_OFFLOAD_H
#define GW_PROXY_OFFLOAD_H

#include <microhttpd.h>

struct gw_wait;

/* A wait for work on conn's behalf (both sides held), or NULL without memory. result_free
 * frees a result nobody took (NULL: results are not used). */
struct gw_wait *gw_wait_new(struct MHD_Connection *conn, void (*result_free)(void *result));
/* The other thread's side, once: the work ended with rc (and result, taken over); wakes the
 * connection if it sleeps. */
void gw_wait_done(struct gw_wait *w, int rc, void *result);
/* gw_wait_done with no result, as a gw_key_loaded_fn (store.h). */
void gw_wait_loaded(void *ud, int rc);
/* The work was not handed to the other thread after all (it will never call): frees w. */
void gw_wait_cancel(struct gw_wait *w);
/* Suspends the connection unless the work has ended already: 1 when it sleeps; 0 when it is
 * over, with its *rc and *result (w is then freed). */
int gw_wait_sleep(struct gw_wait *w, int *rc, void **result);
/* The connection is back (its handler runs again): the work's rc and *result (taken over);
 * frees the connection's side. */
int gw_wait_end(struct gw_wait *w, void **result);
/* MHD let go of the sleeping connection (its daemon stopped): nothing will wake it. */
void gw_wait_drop(struct gw_wait *w);
/* 1 before the front stops its daemons (no wait is woken after it), 0 when it starts. */
void gw_wait_closing(int on);

/* The offload thread: started and stopped with the front. A job's fn runs on it once, and
 * must end with gw_wait_done on its wait. 0 when queued; negative when not (full, stopped,
 * no memory): the caller does the work itself. */
int gw_offload_start(void);
void gw_offload_stop(void);
int gw_offload(void (*fn)(void *job), void *job);

#endif
