/*
 * models_live - what the servers of providers with AIGW_CAP_MODELS report, for /v1/models.
 *
 * Per active provider with the capability, the last list its server reported (sorted, unique,
 * capped), fresh for GW_LIVE_TTL_MS after a success and GW_LIVE_RETRY_MS after a failure. A
 * /v1/models request that finds a list it needs stale starts a refresh, or joins the one in
 * flight, and waits for it with its connection suspended: the refresh (plugin models_build ->
 * upstream engine -> models_parse) has a hard deadline, so a dead server delays a listing by
 * at most that deadline once per GW_LIVE_RETRY_MS, and the last good list is kept meanwhile.
 *
 * Threading: one mutex guards the entries and the waiters. Lists are immutable and reference
 * counted, so a snapshot is rendered without the lock. Refreshes run on the engine of the
 * worker that started them; waiters are created, suspended and freed on HTTP workers and
 * resumed by whichever thread completes their last refresh (MHD suspend/resume under the
 * mutex, so the "suspended" flag always matches MHD's view).
 *
 * Lifetime: reference counted. The HTTP layer holds one reference and each refresh in flight
 * another, so the object outlives every transfer however shutdown is ordered.
 */
#ifndef GW_MODELS_LIVE_H
#define GW_MODELS_LIVE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define GW_LIVE_TTL_MS 30000        /* a successful listing is reused this long */
#define GW_LIVE_RETRY_MS 10000      /* after a failed one, the server is asked again this late */
#define GW_LIVE_DEADLINE_MS 3000    /* one refresh, all steps; never above timeouts.request_ms */
#define GW_LIVE_MAX_MODELS 2000     /* ids kept per provider; the rest are dropped (logged once) */
#define GW_LIVE_MAX_ID 256          /* longer ids are skipped */
#define GW_LIVE_BODY_CAP (4u << 20) /* a larger listing response fails the refresh */

struct MHD_Connection;
struct gw_gateway;
struct gw_models_live;
struct gw_models_wait;

/* One provider's reported ids, sorted by strcmp, unique. Immutable once published. */
struct gw_live_list {
    atomic_int refs;
    size_t n;
    char **ids;
};

/* The lists as they were at one moment, indexed like gw->plugins->items (NULL: none). */
struct gw_live_snap {
    size_t n;
    struct gw_live_list **lists;
};

int gw_models_live_new(struct gw_gateway *gw, struct gw_models_live **out);
/* Drops the caller's reference. */
void gw_models_live_release(struct gw_models_live *l);

/* What a listing needs: vkey NULL for every provider, else only that one. *out is NULL when
 * every needed list is fresh (or the gateway is shutting down): answer at once. Otherwise
 * refreshes were started or joined and *out is the waiter for conn. Negative on ENOMEM (and
 * *out NULL: answer with what is known). MHD thread. */
int gw_models_live_begin(struct gw_models_live *l, struct MHD_Connection *conn, const char *vkey,
                         struct gw_models_wait **out);
/* From the access handler: 1 when the waiter's lists are in; 0 after suspending conn (it is
 * resumed when they are); -1 when the refreshes were cancelled because the gateway is
 * stopping. */
int gw_models_wait_ready(struct gw_models_wait *w);
/* Forgets the waiter (MHD's completion callback; the connection is never touched again). */
void gw_models_wait_free(struct gw_models_wait *w);

/* 0, or AIGW_ENOMEM (s then empty). Free with gw_live_snap_free. */
int gw_models_live_snapshot(struct gw_models_live *l, struct gw_live_snap *s);
void gw_live_snap_free(struct gw_live_snap *s);
/* Provider i's list in s, or NULL (s may be NULL). */
const struct gw_live_list *gw_live_snap_get(const struct gw_live_snap *s, size_t i);
/* 1 when id is in the list (binary search). */
int gw_live_list_has(const struct gw_live_list *l, const char *id);

#endif
