/*
 * counters_int - what counters.c, counters_mem.c and counters_redis.c share. Not for other
 * modules: they use counters.h.
 */
#ifndef GW_COUNTERS_INT_H
#define GW_COUNTERS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "store/counters.h"
#include "store/redis.h"

enum { GW_CB_MEM = 1, GW_CB_REDIS = 2, GW_CB_FALLBACK = 3 };
enum { GW_RS_NONE = 0, GW_RS_LIVE = 1, GW_RS_DONE = 2 };

#define GW_COUNTERS_WINDOW 60 /* one-second slots */

/* ---- the in-process table (counters_mem.c) ---- */
struct gw_cmem;

int gw_cmem_new(size_t max_keys, struct gw_cmem **out);
void gw_cmem_free(struct gw_cmem *m);
/* Decides and, when admitted, records one admission. share: the divisor of every limit (1:
 * the whole limit). 0 and *res filled; AIGW_ENOMEM / AIGW_ETOOBIG (table full) change
 * nothing. now_ms: gw_counters_now_ms(). */
int gw_cmem_admit(struct gw_cmem *m, const struct gw_admit_req *req, int64_t share, uint64_t id,
                  int64_t ttl_ms, int64_t now_ms, struct gw_admit_result *res);
void gw_cmem_settle(struct gw_cmem *m, const struct gw_reservation *r, int64_t tokens,
                    int64_t micros, int64_t now_ms);
size_t gw_cmem_keys(struct gw_cmem *m);
/* Extends each live reservation of refs (all of key/id/period) to now + its lease; found[i]
 * is 0 when refs[i] is gone (settled, or expired and its grant given back). One lock. */
struct gw_lease_ref;
void gw_cmem_renew(struct gw_cmem *m, const struct gw_lease_ref *refs, size_t n, int64_t now_ms,
                   unsigned char *found);
/* Reservation records looked at so far by settlements and renewals to find theirs: the work
 * the tests bound (one key with thousands of streams must not cost a walk of them each). */
uint64_t gw_cmem_probes(struct gw_cmem *m);

/* ---- leases (counters_lease.c): the live reservations this replica renews ---- */
#define GW_LEASE_BATCH 256 /* reservations renewed by one backend call at most */

/* What a renewal needs of one reservation, copied out of the registry. */
struct gw_lease_ref {
    uint64_t id;
    int64_t period;
    int64_t lease_ms;
    int backend;
    char key[GW_COUNTERS_KEY_MAX + 1];
};

struct gw_lease;
struct gw_leases {
    pthread_mutex_t lock;
    struct gw_lease **b; /* by id */
    size_t nb, n, max;
    struct gw_lease **heap; /* n of cap: a min-heap by when each is due for renewal */
    size_t cap;
    _Atomic int64_t due_ms; /* heap[0]'s (INT64_MAX: none): read without the lock */
    uint64_t steps;         /* entries moved to keep the order (the work the tests bound) */
};

/* ---- shared by the process's loops ---- */
struct gw_counters_shared {
    struct gw_counters_cfg cfg;
    int redis;
    struct gw_redis_addr addr;
    struct gw_redis_stats rstats;
    struct gw_cmem *mem; /* the counters (in-process), or the fallback's local shares */
    uint64_t replica;    /* random: makes reservation ids unique across replicas */
    _Atomic uint64_t next_id;
    _Atomic int64_t observed_replicas;
    _Atomic int64_t next_heartbeat_ms;
    _Atomic int64_t last_log_ms;
    _Atomic uint64_t logged_degraded; /* degraded decisions when the last line was written */
    struct gw_leases leases;
    struct {
        _Atomic uint64_t leases_lost, leases_untracked;
        _Atomic uint64_t admitted, limited_rpm, limited_tpm, limited_budget, unavailable;
        _Atomic uint64_t degraded_down, degraded_timeout, degraded_error, budget_fail_open;
        _Atomic uint64_t settle_retried, settle_dropped;
    } st;
};

/* ---- one admission in flight ---- */
struct gw_admit_op {
    struct gw_admit_op *next; /* completion queue or free list */
    struct gw_counters *c;
    gw_admit_cb cb;
    void *ud;
    int cancelled;
    int in_redis; /* a Redis reply is awaited */
    struct gw_admit_req req;
    char key[GW_COUNTERS_KEY_MAX + 1];
    uint64_t id;
    struct gw_admit_result res;
};

/* A settlement waiting for Redis. */
struct gw_settle_item {
    struct gw_settle_item *next;
    struct gw_reservation r;
    int64_t real_tokens, real_micros;
    int64_t queued_ms;
    struct gw_counters *c; /* while sent: the loop that sent it */
};

struct gw_counters {
    struct gw_counters_shared *s;
    struct gw_redis *rc;                       /* NULL in-process */
    struct gw_admit_op *done_head, *done_tail; /* completions to deliver */
    struct gw_admit_op *free_ops;
    size_t nfree;
    size_t inflight;                          /* admissions and settlements sent and not answered */
    struct gw_settle_item *sq_head, *sq_tail; /* settlements waiting for Redis */
    size_t nsq;
    int64_t last_tick_ms;
};

void gw_counters_complete(struct gw_counters *c, struct gw_admit_op *op);
/* Decides locally without Redis (the failure policy); completes op. */
void gw_counters_fallback(struct gw_counters *c, struct gw_admit_op *op, int why);
void gw_counters_op_free(struct gw_counters *c, struct gw_admit_op *op);
uint64_t gw_counters_next_id(struct gw_counters_shared *s);

int gw_leases_init(struct gw_leases *l, size_t max);
void gw_leases_fini(struct gw_leases *l);
/* Starts renewing r, admitted through loop c with a lease of lease_ms (a reservation that
 * holds no budget grant has nothing an expiry would give back: not tracked). */
void gw_lease_add(struct gw_counters *c, const struct gw_reservation *r, int64_t lease_ms,
                  int64_t now);
/* Stops renewing reservation id (it settles). */
void gw_lease_drop(struct gw_counters_shared *s, uint64_t id);
/* Loop c is going away: its requests with it, so their reservations are renewed no more. */
void gw_lease_drop_owner(struct gw_counters_shared *s, const struct gw_counters *c);
/* A renewal found reservation id gone: stop renewing it, count it. 1 when it was tracked. */
int gw_lease_lost(struct gw_counters_shared *s, uint64_t id);
/* Per turn: renews the leases that are due, in batches of GW_LEASE_BATCH. */
void gw_lease_tick(struct gw_counters *c, int64_t now);
/* Milliseconds until a lease is due (0: now), -1: none. */
int gw_lease_timeout_ms(struct gw_counters_shared *s, int64_t now);

/* ---- the Redis backend (counters_redis.c) ---- */
int gw_credis_init(void); /* script hashes, once */
/* The scripts every connection loads in its handshake. */
void gw_credis_preload(struct gw_redis_opts *o);
/* Sends op's admission; 0 (its reply completes op), or negative (nothing sent). */
int gw_credis_admit(struct gw_counters *c, struct gw_admit_op *op);
/* Sends or queues one settlement (real numbers; slot 0 means "now" on Redis' clock). */
void gw_credis_settle(struct gw_counters *c, const struct gw_reservation *r, int64_t tokens,
                      int64_t micros);
/* Sends one renewal of n (<= GW_LEASE_BATCH) Redis reservations; its reply stops renewing
 * those found gone. 0, or negative (nothing sent: they wait for the next round). */
int gw_credis_renew(struct gw_counters *c, const struct gw_lease_ref *refs, size_t n);
/* Per turn: heartbeats and queued settlements. */
void gw_credis_tick(struct gw_counters *c, int64_t now_ms);
void gw_credis_drop_queue(struct gw_counters *c);
/* Fills res from an admission script's reply; -1 when the reply is not one. */
int gw_credis_parse(const struct gw_resp *v, const struct gw_admit_req *req,
                    struct gw_admit_result *res);

#endif
