/*
 * counters - admission of one request against its gateway key's limits: requests per minute
 * (RPM), tokens per minute (TPM) and a USD budget. A request reserves its estimate when it is
 * admitted and settles to its real usage exactly once when it ends (completes, errors, or is
 * cancelled). A reservation is a lease: it lives reservation_ttl_ms (90 s) and the process
 * renews it from its loops while the request is alive, however long its answer streams; one
 * that is never settled (its replica died, so nobody renews it) expires within one lease and
 * gives its grant back. Settled after it expired, its real spend still counts, once
 * (counters_lease.c says what a renewal that finds it gone does).
 *
 * Windows: RPM and TPM count over a sliding window of 60 one-second slots. A fixed minute
 * lets twice the limit through across a minute boundary (limit at 0:59, limit again at 1:00);
 * a log of every request is exact but costs memory per request; a weighted two-window
 * estimate is not exact. Sixty slots are exact to the second, fixed in size (60 counters per
 * key), and tell exactly when enough of the window frees up (Retry-After) and when it empties
 * (x-ratelimit-reset-*). Rejected requests are not counted, so a client retrying in a loop
 * cannot keep its own window full. RPM counts admitted requests; TPM counts the reserved
 * estimate at admission, corrected to the real tokens at settlement (in the admission's slot).
 *
 * Budget: micro-USD in the key's current period. Admission checks spent + reserved + this
 * request against the budget and reserves what it grants: between usd_min_micros and
 * usd_micros, whatever the remaining budget allows, so the caller can clamp max_tokens to the
 * grant and no single answer can cross the budget. Settlement moves the grant to the real
 * cost. The period's counter starts from the ledger's spend (spent_micros) when it does not
 * exist yet (a new period, a restart, an expired Redis key), and is raised to it when the
 * ledger knows more (a request that ended after its period did is dated in the next one).
 *
 * Backends: with no redis_url, one in-process table shared by every worker of the process
 * (exact on one machine). With redis_url, every replica shares counters in Redis: each
 * admission and each settlement is one atomic Lua script (EVALSHA, EVAL on NOSCRIPT) that
 * reads Redis' own clock (TIME), so replicas with skewed clocks agree; keys carry TTLs.
 *
 * Failure policy (Redis only), visible, never silent: when Redis is down, or does not answer
 * an admission before its deadline, the decision is made locally and marked degraded: rate
 * limits use this replica's share (limit / replicas, rounded down; replicas configured, else
 * the count last observed through Redis heartbeats, 1 before the first: configure it for a
 * hard ceiling), budgets fail closed (GW_ADMIT_UNAVAILABLE: answer 503)
 * unless budget_fail_open. Every degraded decision counts in gw_counters_stats and is logged
 * (one line per second at most, with the count since the last line; key ids, never secrets).
 * While the connection is down, decisions are immediate: nobody waits on a dead server.
 * Settlements are fire-and-forget: they keep their order with later admissions of the same
 * loop (one connection), not with other loops' or replicas'.
 *
 * Threading: gw_counters_shared (configuration, in-process table, stats) is used from any
 * thread. A gw_counters belongs to one worker loop and is used only on its thread; its
 * callbacks run on that thread inside gw_counters_run(), never inside gw_counters_admit().
 * A reservation may be settled through any loop's gw_counters of the same shared object.
 *
 * Driving it from a worker loop (like core/net/upstream.c's embedded engine):
 *     fd = gw_counters_fd(c);          // -1 for in-process; else add to the loop's epoll set
 *                                      // for EPOLLIN once (the fd never changes)
 *     loop: timeout = min(timeout, gw_counters_timeout_ms(c));   // -1: no timer
 *           n = epoll_wait(...);
 *           gw_counters_run(c, fd_was_reported);                  // every turn
 */
#ifndef GW_COUNTERS_H
#define GW_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#define GW_COUNTERS_KEY_MAX 64 /* key id: 1..64 bytes of [A-Za-z0-9_.-] */

struct gw_counters_cfg {
    const char *redis_url;            /* NULL or "": in-process counters */
    int64_t redis_timeout_ms;         /* default admission deadline; 0: 50 */
    int64_t redis_connect_timeout_ms; /* connect + handshake; 0: 1000 */
    int64_t redis_stall_ms;           /* a reply this late drops the connection; 0: 1000 */
    int replicas;                     /* fallback share divisor; 0: observed (heartbeats) */
    int budget_fail_open;             /* Redis unavailable: admit budgets on a local share */
    int64_t reservation_ttl_ms;       /* a reservation's lease, renewed every third of it
                                       * while its request lives; 0: 90 s */
    size_t max_keys;                  /* in-process table cap; 0: 65536 */
    size_t max_pending;               /* per loop: admissions and settlements waiting; 0: 4096 */
};

/* A key's limits. 0 means "no limit" for rpm, tpm and budget_micros. */
struct gw_limits {
    int64_t rpm;
    int64_t tpm;
    int64_t budget_micros; /* USD budget of the period, in micro-USD */
    int64_t spent_micros;  /* the ledger's spend in the period: seeds a missing counter */
    int64_t period;        /* identifies the budget period (e.g. its start, unix s); 0: none */
    int64_t period_end;    /* unix seconds when it resets (0: never); bounds the counter's TTL */
};

struct gw_admit_req {
    const char *key_id; /* the key's public id (never the secret) */
    struct gw_limits limits;
    int64_t tokens;         /* reserved: prompt estimate + max_tokens (capped) */
    int64_t usd_micros;     /* wanted budget reservation (cost at max_tokens) */
    int64_t usd_min_micros; /* least useful grant (0: usd_micros, all or nothing) */
    int64_t deadline_ms;    /* absolute, gw_counters_now_ms(); 0: now + redis_timeout_ms */
    int64_t ttl_ms;         /* this reservation's lease; 0: reservation_ttl_ms */
};

enum gw_admit_status {
    GW_ADMIT_OK = 0,
    GW_ADMIT_LIMITED = 1,     /* 429: `limit` says which */
    GW_ADMIT_UNAVAILABLE = 2, /* 503: the budget cannot be checked (Redis down, fail closed) */
};

enum gw_limit_kind { GW_LIMIT_NONE = 0, GW_LIMIT_RPM, GW_LIMIT_TPM, GW_LIMIT_BUDGET };

/* Why a decision was made without Redis (0: it was not). */
enum gw_degraded { GW_DEGRADED_NO = 0, GW_DEGRADED_DOWN, GW_DEGRADED_TIMEOUT, GW_DEGRADED_ERROR };

/* One x-ratelimit-* trio. limit 0: the key has no such limit (send no headers). */
struct gw_rl_window {
    int64_t limit;
    int64_t remaining; /* after this request when admitted */
    int64_t reset_ms;  /* until the window is empty again */
};

/* Copy it out of the result once; settle or release through that copy, exactly once (a
 * second call on the same copy is a no-op). Fields are the module's. */
struct gw_reservation {
    uint64_t id;
    uint64_t origin; /* the replica that made it (ids are unique per replica) */
    int64_t slot;    /* the admission's window second (Redis: Redis' clock) */
    int64_t tokens;  /* counted in the TPM window at admission */
    int64_t micros;  /* budget reserved */
    int64_t period;
    int64_t period_end;
    int state;   /* 0: nothing to settle */
    int backend; /* in-process, Redis, or the local fallback */
    char key[GW_COUNTERS_KEY_MAX + 1];
};

struct gw_admit_result {
    int status;             /* enum gw_admit_status */
    int limit;              /* enum gw_limit_kind: the limit that refused (LIMITED) */
    int degraded;           /* enum gw_degraded */
    int too_large;          /* this request alone is over the limit: waiting cannot help */
    int budget_busy;        /* LIMITED on budget, yet not spent: requests in flight hold the
                             * rest as reservations; retry once they settle (retry_after_ms) */
    int64_t retry_after_ms; /* LIMITED on rpm/tpm: when enough of the window frees; else -1 */
    struct gw_rl_window requests;
    struct gw_rl_window tokens;
    int64_t budget_remaining_micros; /* after this request's grant; -1: no budget */
    int64_t granted_micros;          /* budget reserved for this request */
    struct gw_reservation reservation;
};

/* Runs once per successful gw_counters_admit (unless cancelled), on the loop's thread. */
typedef void (*gw_admit_cb)(void *ud, const struct gw_admit_result *r);

struct gw_counters_stats {
    uint64_t admitted;
    uint64_t limited_rpm, limited_tpm, limited_budget;
    uint64_t unavailable;      /* budget fail-closed answers (503) */
    uint64_t degraded_down;    /* decided locally: Redis not connected */
    uint64_t degraded_timeout; /* decided locally: no answer before the deadline, or
                                * this loop's pipeline to Redis at its cap */
    uint64_t degraded_error;   /* decided locally: Redis answered with an error */
    uint64_t budget_fail_open; /* budgets admitted on a local share */
    uint64_t settle_retried;   /* settlements queued again after Redis failed them */
    uint64_t settle_dropped;   /* settlements given up (queue full or too old) */
    uint64_t leases_lost;      /* renewals that found their reservation gone (expired) */
    uint64_t leases_untracked; /* reservations not renewed (registry full or no memory) */
    uint64_t leases;           /* reservations renewed now (requests in flight) */
    uint64_t redis_connects, redis_drops, redis_connect_failures, redis_timeouts;
    uint64_t redis_noscript;
    int64_t replicas; /* the divisor the fallback uses now */
};

struct gw_counters_shared;
struct gw_counters;
struct gw_admit_op;

/* Parses redis_url (resolving its host: startup only). 0, or AIGW_EINVAL / AIGW_ECONFIG /
 * AIGW_ENOMEM with a message in err (never the password). */
int gw_counters_shared_new(const struct gw_counters_cfg *cfg, struct gw_counters_shared **out,
                           char *err, size_t errsize);
/* After every gw_counters of it is freed. */
void gw_counters_shared_free(struct gw_counters_shared *s);
/* 1 when the counters are shared through Redis. */
int gw_counters_shared_redis(const struct gw_counters_shared *s);
void gw_counters_stats(const struct gw_counters_shared *s, struct gw_counters_stats *out);

/* One per worker loop, created on (or before handing it to) that loop's thread. With Redis,
 * it opens its own connection (non-blocking). */
int gw_counters_new(struct gw_counters_shared *s, struct gw_counters **out);
/* Admissions still waiting are dropped without their callbacks (cancel them first). */
void gw_counters_free(struct gw_counters *c);

/* Settlements of this loop waiting for Redis (not sent yet): a gauge for metrics. */
size_t gw_counters_backlog(const struct gw_counters *c);

int gw_counters_fd(const struct gw_counters *c);
int gw_counters_timeout_ms(const struct gw_counters *c);
void gw_counters_run(struct gw_counters *c, int fd_ready);

/* 0: cb will run exactly once, on a later gw_counters_run(), unless the caller cancels
 * *op first. AIGW_EINVAL (bad key id or values), AIGW_ETOOBIG (a cap), AIGW_ENOMEM: no
 * callback. op may be NULL when the caller never cancels. */
int gw_counters_admit(struct gw_counters *c, const struct gw_admit_req *req, gw_admit_cb cb,
                      void *ud, struct gw_admit_op **op);
/* The callback will not run; a reservation it would have carried is released. op is invalid
 * afterwards (as it is once the callback ran). */
void gw_counters_cancel(struct gw_counters *c, struct gw_admit_op *op);

/* Real usage of an admitted request: moves its TPM count and budget grant to the real
 * numbers. Exactly once per reservation; a second call (or one on a reservation that holds
 * nothing) returns 0 and does nothing. Never blocks; with Redis down it is queued and sent
 * on reconnection (bounded; idempotent on the server too). 0, or AIGW_EINVAL. */
int gw_counters_settle(struct gw_counters *c, struct gw_reservation *r, int64_t tokens,
                       int64_t usd_micros);
/* The request used nothing (refused before the upstream, cancelled before a byte): the same
 * as settling 0 tokens and 0 USD. The request itself stays counted in RPM. */
int gw_counters_release(struct gw_counters *c, struct gw_reservation *r);

/* The clock of deadline_ms. */
int64_t gw_counters_now_ms(void);
/* OpenAI's duration form of x-ratelimit-reset-*: "250ms", "1.5s", "6m0s". Returns length. */
size_t gw_counters_fmt_reset(int64_t ms, char *buf, size_t size);

#endif
