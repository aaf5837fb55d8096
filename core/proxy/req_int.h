/*
 * req_int - one client request as the phases of its lifetime share it (proxy/ only).
 *
 * Threading: created and answered on the worker that accepted it; its upstream callbacks run
 * on the same worker's engine. relay.lock guards what both sides touch (see the fields); a
 * reference count (MHD side + upstream side) decides who frees it.
 */
#ifndef GW_PROXY_REQ_INT_H
#define GW_PROXY_REQ_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "front/dialect.h"
#include "guard/guard.h"
#include "lib/buf.h"
#include "net/http.h"
#include "net/relay.h"
#include "net/upstream.h"
#include "plugin/call.h"
#include "proxy/driver.h"
#include "obs/otel.h"
#include "proxy/gateway.h"
#include "route/route.h"
#include "store/counters.h"
#include "store/store.h"

#define TICK_MS 250
/* log.bodies: the bytes of each body kept for the request log, and the margin past them the
 * store redacts before it cuts (store.h). */
#define GW_LOG_BODY_KEEP (16u << 10)
#define GW_LOG_BODY_TAKE (GW_LOG_BODY_KEEP + GW_STORE_BODY_MARGIN)
#define TRIED_MAX 512

struct gw_snap;
struct gw_wait;

struct gw_req {
    struct gw_gateway *gw;
    struct gw_snap *snap; /* its configuration, start to end (a reference; proxy/snapshot.h) */
    struct MHD_Connection *conn;
    atomic_int refs;
    const struct gw_dialect *dialect;
    char method[8];
    char path[128];
    char request_id[GW_REQUEST_ID_SIZE];
    char x_provider[65];
    struct gw_buf body;
    int too_big;
    int too_busy;        /* every body held at once would pass max_body_bytes_total */
    int64_t body_held;   /* what this request counts in gw->body_bytes */
    int64_t body_seen;   /* body bytes received so far */
    int64_t body_expect; /* Content-Length; -1: none (chunked) */
    int started;
    enum MHD_Result answer; /* what the phase that answered early gave MHD */

    struct gw_parsed parsed;
    struct gw_route_result route;
    int target;   /* index into route.targets */
    int attempts; /* upstream attempts made */
    /* When each target's Retry-After (capped) ends, monotonic ms; 0: it sent none. */
    int64_t retry_at_ms[GW_ROUTE_MAX_TARGETS];
    /* Targets (bit 1u << index) that answered x-should-retry: false: not asked again. */
    unsigned not_again;
    struct gw_call *call;
    struct gw_driver driver; /* runs r->call over the engine; set up by the first attempt */
    int driver_ready;
    void *render; /* the dialect's renderer */
    struct aigw_usage usage;
    int have_usage;
    struct gw_relay relay;

    /* Guarded by relay.lock. */
    int queued;     /* a response was queued with MHD */
    int status;
    int64_t retry_after_ms;
    int stream_held; /* counted in aigw_streams_active */

    int64_t start_ms;
    int64_t attempt_ms;
    /* timeouts.first_byte_total_ms (attempt.c): when the wait for the answer to start runs
     * out (monotonic ms, set by the first attempt; 0: no budget); fb_spent: it ran out and
     * the answer is its 504; fb_body: the current step's body began (a plain JSON answer is
     * arriving, so the budget no longer applies to it). Engine thread only. */
    int64_t fb_deadline_ms;
    int fb_spent;
    int fb_body;
    /* stream.commit_ms (deliver.c): when this attempt's stream began (its first event parsed;
     * monotonic ms, 0: not yet), and whether the start was sent ahead of the content. Engine
     * thread only. */
    int64_t begun_ms;
    int start_sent;
    /* timeouts.request_ms of a plain request: when its whole time, every attempt and
     * back-off in it, runs out (monotonic ms, set by the first attempt; 0: none). */
    int64_t total_deadline_ms;

    /* Tracing (obs/otel.h; NULL when off): the request's server span, the current attempt's
     * client span, and what the attempt's end reports. */
    struct gw_span *span;
    struct gw_span *aspan;
    struct gw_header tp_header; /* traceparent for the upstream, ahead of the call's headers */
    struct gw_header ts_header; /* and the client's tracestate, when it sent one */
    char tp_value[64];
    int64_t attempt_first_us; /* first content chunk of this attempt, monotonic us; 0 none */
    int64_t attempt_last_us;
    char resp_id[96];
    char resp_model[128];
    int finish;
    struct gw_buf trace_out; /* the attempt's answer text, when content is captured */
    char tried[TRIED_MAX];
    size_t tried_len;
    double cost;
    int cost_known;
    int recorded; /* the ledger and log rows are queued */
    int request_released; /* gw_deliver_release_request cut the parsed request down */
    /* Bytes of answer content rendered for the client (text, reasoning, refusal, tool-call
     * names and arguments): what a cut answer is charged for (deliver.c, account.c). */
    int64_t sent_bytes;

    /* Governance (admit.c, account.c). admit_wait is guarded by relay.lock. */
    struct gw_key *key;           /* the gateway key presented (a reference), or NULL */
    struct gw_admit_op *admit_op; /* the admission out on this worker's counters, or NULL */
    int admit_wait;               /* 1: an admission is out; 2: admitted, go on */
    struct gw_reservation resv;   /* what account settles, exactly once */
    int64_t resv_prompt;          /* the prompt tokens estimated for it (0: not yet) */
    int64_t resv_out;             /* and the output tokens it reserved (all choices) */
    struct gw_rl_window rl_requests, rl_tokens; /* x-ratelimit-* (limit 0: none) */
    int no_retry;                 /* x-should-retry: false (an exhausted budget) */
    /* Response cache (cache_lookup.c). cache_wait is guarded by relay.lock. */
    int cache_hit;            /* answered from the cache: no upstream call, cost 0 */
    const char *cache_status; /* X-Gateway-Cache: "hit", "miss", "bypass"; NULL: not cached */
    int cache_wait;           /* 1: a shared-cache lookup is out; 2: its answer is in */
    int cache_failed;         /* the shared cache did not answer (down, late, bad value) */
    unsigned char cache_key[32];
    struct gw_cache_rec *cache_rec; /* records the answer to keep; NULL: nothing to keep */
    struct gw_cache_val *cache_val; /* a hit being replayed (or waiting to be) */
    size_t cache_pos;               /* how far the replay got */
    int cache_replaying;            /* paused for the client to drain the relay */
    int cache_upstream_due;         /* a hit failed an output guard: gw_req_run routes it as a miss
                                       (guarded by relay.lock) */
    int cache_route_n; /* the targets admission planned, set aside while a hit replays */
    char cache_route_label[GW_ROUTE_LABEL_MAX];
    /* Guardrails (guard_phase.c, deliver_guard.c). guard_wait is guarded by relay.lock. */
    struct gw_guards *guards;      /* the chain this request started with (a reference) */
    struct gw_guard_run *guard;    /* its pass through the chain, or NULL (no guards) */
    struct gw_guard_fetch *gfetch; /* a guard's service call in flight, or NULL */
    int guard_wait;       /* 1: the request stage waits for a service call; 2: it answered */
    int guard_stop;       /* an output guard denied or failed: the answer ends with its error */
    int guard_retry;      /* json-schema asked for another answer (not streamed) */
    int guard_no_native;  /* the request was rewritten: never forward the client's own body */
    uint64_t guard_texts; /* Responses: its texts' hash before the input guards (guard_phase) */
    cJSON *guard_extra;   /* in parsed.body while input guards run: the native-only texts */
    int guard_finish_due; /* the answer ended while a final hook waited: finish on its resume */
    int guard_finish_rc;
    struct aigw_usage guard_usage; /* what answers a guard sent back used (paid for too) */
    int guard_have_usage;
    /* log.bodies (account.c): the request's body and the answer as sent, each its first
     * GW_LOG_BODY_TAKE bytes (the store redacts, then keeps GW_LOG_BODY_KEEP); only when the
     * snapshot keeps bodies. */
    int log_bodies;
    struct gw_buf log_req, log_resp;
    /* parse_off.c: the parse of a body that reads the store, on the offload thread: the wait
     * while the connection sleeps for it, and its result until taken. Worker only. */
    struct gw_wait *pwait;
    void *presult;
};

/* log.bodies: appends the part of out past `before` (what was just rendered for the client)
 * to the request's kept answer, up to its cap. Relay lock held. */
void gw_log_keep_sent(struct gw_req *r, const struct gw_buf *out, size_t before);

void gw_req_unref(struct gw_req *r);

/* ---- the phases, in the order a request meets them ----------------------------------- */
/* parse_off.c: a body whose parse reads the state store (its dialect's parse said
 * GW_PARSE_STORE) is parsed on the offload thread. 1: it went there and the connection sleeps
 * (gw_req_run calls gw_parse_off_back when the connection is back); 0: parse here, unless the job
 * was done at once (gw_parse_off_take). */
int gw_parse_off(struct gw_req *r, const struct gw_inbound *in);
/* 1 when r slept for its parse and is back (the result is then r's to take). */
int gw_parse_off_back(struct gw_req *r);
/* The parse done off the worker, moved into r->parsed: its rc, with *ferr filled. *taken 0:
 * there is none (no memory on that side): parse here. */
int gw_parse_off_take(struct gw_req *r, struct gw_front_err *ferr, int *taken);
/* The request ends: a wait and a result still held are let go. */
void gw_parse_off_drop(struct gw_req *r);

/* Each returns 0 to go on, or negative once it has answered the client itself. */
/* admit.c: allowlists, limits and budgets. 1: the counters answer later (the connection
 * sleeps; once admit_wait is 2, gw_req_run goes on from the cache lookup). */
int gw_phase_admit(struct gw_req *r);
/* Prompt tokens, roughly: bytes / 4 of the strings the model reads (at least 1). */
int64_t gw_admit_prompt_estimate(const cJSON *body);
/* The client left while an admission was out: cancels it (on the worker that admitted). */
void gw_admit_abandon(struct gw_req *r);
/* Before an attempt on a fallback target, or a guardrail's retry: lowers max_tokens so that
 * its answer, at its target's price, fits in what is left of the grant admission priced at
 * the first target. 0, or AIGW_ETOOBIG when not even one output token fits (not tried). */
int gw_admit_fit(struct gw_req *r);
/* X-Gateway-Key-Id and the x-ratelimit-* headers of a keyed request's answer. */
void gw_admit_headers(struct gw_req *r, struct MHD_Response *resp);
/* guard_phase.c: the input guards, after admit and before the cache (they may rewrite what
 * the cache keys and the upstream sees). 1: a guard waits for a service call (the connection
 * sleeps; once guard_wait is 2, gw_phase_guard_resume goes on). */
int gw_phase_guard(struct gw_req *r);
int gw_phase_guard_resume(struct gw_req *r);
int gw_phase_cache_lookup(struct gw_req *r); /* cache_lookup.c: an exact answer kept earlier */
int gw_phase_route(struct gw_req *r);        /* route_phase.c: the ordered targets */
/* route_phase.c: a keyed request's targets at admission, breakers left to gw_phase_route. */
int gw_phase_route_plan(struct gw_req *r);

/* cache_lookup.c. The lookup phase returns 1 when the shared cache answers later: the
 * connection sleeps, and once cache_wait is 2, gw_phase_cache_resume goes on (0: a miss,
 * route next; negative: answered). */
int gw_phase_cache_resume(struct gw_req *r);
void gw_cache_record_chunk(struct gw_req *r, const struct aigw_chunk *c); /* deliver's sink */
void gw_cache_record_finish(struct gw_req *r, int rc); /* keeps a whole successful answer */
void gw_cache_replay_resume(struct gw_req *r); /* the client drained a paused replay */
/* An output guard answered RETRY to a replayed answer: the entry is dropped and the request
 * goes upstream as a miss (the guard's retry), from gw_req_run. 0, or negative (not possible:
 * a stream, or out of memory; the guard's refusal stands). */
int gw_cache_hit_retry(struct gw_req *r);
/* The answer is final (after the output guards, before its end leaves): a hit still a hit
 * is counted in aigw_cache_lookups_total now, once. */
void gw_cache_hit_final(struct gw_req *r);
void gw_cache_req_free(struct gw_req *r);

/* attempt.c: starts attempt number r->attempts+1 on r->target. 0, or negative (nothing was
 * started and nothing called back). */
int gw_attempt_start(struct gw_req *r, int64_t delay_ms);

/* deliver.c */
int gw_deliver_chunk(void *ud, const struct aigw_chunk *chunk); /* the call's sink */
int gw_deliver_emit(void *ud, const struct aigw_chunk *chunk);  /* past the guards: rendered */
void gw_deliver_finish(struct gw_req *r, int rc);               /* the final outcome */
/* A stream the client has had bytes of is never tried again: its request trees are cut to
 * their "model" member (see deliver.c). Engine thread, outside the plugin's callbacks. */
void gw_deliver_release_request(struct gw_req *r);
/* stream.commit_ms: commits a begun stream that has no content yet once it is due (see
 * deliver.c). Engine thread: the attempt's gate, idle and data callbacks. */
void gw_deliver_commit_due(struct gw_req *r);
enum MHD_Result gw_deliver_queue_locked(struct gw_req *r);      /* relay lock held */
enum MHD_Result gw_deliver_fail(struct gw_req *r, int status, const char *type,
                                const char *code, const char *param, const char *message);

/* guard_phase.c: the chain's reference, a guard's service call, and what the request log,
 * metrics and span say about the guards. */
void gw_guard_req_free(struct gw_req *r);
void gw_gateway_guards_free(struct gw_gateway *gw); /* every chain, at the gateway's end */
/* Starts the pending run's call; done(r) runs on this thread's engine once it answered, failed
 * or timed out (the run knows which), holding a reference of its own on r. 0 or negative (the
 * call failed at once: the run was told, done is not called). */
int gw_guard_fetch_start(struct gw_req *r, void (*done)(struct gw_req *r));
/* The heaviest outcome ("deny", "rewrite", ...) and, when a guard stopped the request, its
 * name: "deny:pii". "" when no guard ran. */
void gw_guard_req_outcome(const struct gw_req *r, char *out, size_t size, const char **word);
void gw_guard_req_metrics(const struct gw_req *r);

/* deliver_guard.c: the output guards between the call's chunks and the renderer. */
int gw_deliver_guard_chunk(struct gw_req *r, const struct aigw_chunk *chunk);
/* The answer ended (rc as for gw_deliver_finish): runs the final hooks. 1: finish later
 * (a hook waits for a call, or another attempt was started for a retry); 0: finish now. */
int gw_deliver_guard_end(struct gw_req *r, int *rc);
/* Another attempt answers afresh (attempt.c, before any byte reached the client): the output
 * guards forget the last one's answer. 0, or negative when it may not start (a final hook's
 * call about the last answer is still out). */
int gw_deliver_guard_fresh(struct gw_req *r);
/* The guard's error when it stopped the answer (its status and shape), else 0. */
int gw_deliver_guard_error(struct gw_req *r, struct aigw_error *err);

/* account.c */
void gw_account_tried(struct gw_req *r, const char *vkey, const char *outcome);
void gw_account_cost(struct gw_req *r);
/* After gw_account_cost, before the rows: an answer the client got part of, whose usage is
 * missing or not final (failed: the exchange did not end cleanly), is priced from what was
 * sent (gw_req.sent_bytes), in the counters and the ledger alike; so is a whole chat answer
 * without a usage report. */
void gw_account_charge_sent(struct gw_req *r, int failed);
void gw_account_close(struct gw_req *r, int status, const char *error_type);
/* The request's ledger and log rows, once (gw_account_close does it when nobody did before).
 * first_ms: the relay's first byte time (0: none); may run under the relay's lock. */
void gw_account_record(struct gw_req *r, int status, const char *error_type, int64_t first_ms);
/* The reservation given back unused (a request freed before it settled); no-op after. */
void gw_account_release(struct gw_req *r);

#endif
