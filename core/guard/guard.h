/*
 * guard - the guardrail chain: the guard plugins named by the config's `guardrails` list, run
 * in list order on a request (before routing), on the answer's text as it streams (through a
 * bounded window, so a pattern split across deltas is caught before any of it is sent), on the
 * final answer and on upstream errors. A deny stops the chain; a guard that fails refuses the
 * request unless its entry says fail_open. Outcomes are counted per entry (one count per
 * request and stage) and summarized for the request log; no matched text is ever kept.
 *
 * Owns: the loaded guard modules and their instances (chain), and one request's pass through
 * them (run): per-entry state, the held-back text per answer stream, the verdict, a pending
 * service call.
 *
 * Threading: a chain is built and freed on the main thread and is read-only in between (its
 * counters are atomic). A run belongs to one request and is used by one thread at a time.
 *
 * How the lifetime drives a run (every call returns an enum gw_guard_verdict or a negative
 * AIGW_E* code, which the lifetime treats like GW_GUARD_FAILED):
 *
 *   run = gw_guard_run_new(chain, &opts)                      after parsing
 *   v = gw_guard_on_request(run, body)                        before cache and routing
 *       PENDING: make gw_guard_fetch_request(run)'s call, then gw_guard_fetch_done() (or
 *                gw_guard_fetch_failed()) and call gw_guard_on_request() again to resume.
 *       DENY / FAILED: answer with gw_guard_error(run, &err) in the client's dialect.
 *       gw_guard_rewrote(run): the body changed; never forward the client's native body.
 *   v = gw_guard_on_chunk(run, chunk, emit, ud)               each normalized chunk, in order
 *       emit() receives what may go to the renderer (text possibly later, edited or merged).
 *       PENDING: a final-answer hook waits for a call, as above, then gw_guard_resume();
 *                chunks fed meanwhile are queued (bounded) and replayed by resume.
 *       DENY / FAILED mid-stream: end the stream with gw_guard_error() as its error event.
 *       RETRY (never on streams): see gw_guard_retry_body().
 *   v = gw_guard_on_end(run, emit, ud)                        the upstream answer is complete
 *   gw_guard_answer_reset(run)                                another attempt starts afresh
 *   gw_guard_on_error(run, &err)                              an upstream error, before render
 *   gw_guard_summary(run, &buf)                               the request log's entry
 *   gw_guard_run_outcome(run, i, stage) for each entry        -> gw_metrics_guard()
 *   gw_guard_run_free(run)                                    also counts into the chain
 */
#ifndef GW_GUARD_H
#define GW_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

/* Host limits (documented in aigw.json(5)). */
#define GW_GUARD_MAX_ENTRIES 64
#define GW_GUARD_WINDOW_CAP 4096         /* a descriptor's window is cut to this */
#define GW_GUARD_BEFORE_MIN 64           /* bytes of sent context every delta hook sees */
#define GW_GUARD_HOLD_CAP (64u << 10)    /* held text past this is flushed (final = 1) */
#define GW_GUARD_ANSWER_CAP (4u << 20)   /* a choice's text kept for on_answer_final */
#define GW_GUARD_FETCH_TIMEOUT_CAP 30000 /* ms */
#define GW_GUARD_FETCH_TIMEOUT_DEFAULT 5000
#define GW_GUARD_FETCH_BODY_CAP (1u << 20)
#define GW_GUARD_QUEUE_CAP 1024 /* chunks queued while a final hook waits */

enum gw_guard_verdict {
    GW_GUARD_ALLOW = 0,
    GW_GUARD_DENY = 1,
    GW_GUARD_PENDING = 2,
    GW_GUARD_RETRY = 3,
    GW_GUARD_FAILED = 4, /* a guard failed and its entry is not fail_open */
};

/* Outcomes as counted and logged, in increasing order of weight (a request's outcome for an
 * entry and stage is the heaviest it reached). */
enum gw_guard_outcome {
    GW_GUARD_O_NONE = 0, /* the entry did not run */
    GW_GUARD_O_ALLOW,
    GW_GUARD_O_REWRITE,
    GW_GUARD_O_FAIL_OPEN,
    GW_GUARD_O_RETRY,
    GW_GUARD_O_DENY,
    GW_GUARD_O_FAIL_CLOSED,
    GW_GUARD_O_COUNT
};

struct gw_guard_chain;
struct gw_guard_run;

/* ---- the chain ------------------------------------------------------------------------------ */

/* The guard directory: $AIGW_GUARD_DIR, else cfg (the config's guard_dir) when non-empty,
 * else <plugin_dir>/guards (written into buf). NULL when that does not fit. */
const char *gw_guard_dir(const char *cfg, const char *plugin_dir, char *buf, size_t size);

/* Builds the chain from the `guardrails` array (NULL or empty: *out = NULL, no guards).
 * Loads each named guard from dir (NULL, as gw_guard_dir gives for a name too long, is an
 * error), checks its config against the guard's schema and creates the instance. On failure:
 * negative, *out untouched, and "guardrails[i] (name): reason" in err. Call on the main
 * thread. */
int gw_guard_chain_load(struct gw_guard_chain **out, const cJSON *guardrails, const char *dir,
                        char *err, size_t errsize);
void gw_guard_chain_free(struct gw_guard_chain *chain);
size_t gw_guard_chain_size(const struct gw_guard_chain *chain);
/* Whether any entry runs at the stage (AIGW_GUARD_INPUT / _OUTPUT): the lifetime may skip
 * making a run, or the chunk filter, when not. */
int gw_guard_chain_has(const struct gw_guard_chain *chain, unsigned stage);
/* 1 when some entry has keys_only (then a request's key metadata names what runs). */
int gw_guard_chain_keys_only(const struct gw_guard_chain *chain);
/* Name, stage bits and fail_open of entry i (for --check-config and logs). */
const char *gw_guard_chain_entry(const struct gw_guard_chain *chain, size_t i, unsigned *stages,
                                 int *fail_open);
/* The requests entry i ended with `outcome` at `stage` (AIGW_GUARD_INPUT / _OUTPUT). */
uint64_t gw_guard_chain_count(const struct gw_guard_chain *chain, size_t i, unsigned stage,
                              int outcome);
/* "allow", "rewrite", "fail_open", "retry", "deny", "fail_closed" ("none" for NONE). */
const char *gw_guard_outcome_name(int outcome);

/* ---- one request ---------------------------------------------------------------------------- */

struct gw_guard_run_opts {
    int op;                 /* enum aigw_op */
    int stream;             /* the client asked for a stream */
    const char *model;      /* the model the client asked for */
    const char *inbound;    /* the dialect's name */
    const char *request_id; /* for log lines */
    /* Names of the entries with keys_only that run for this request (the gateway key's
     * metadata.guardrails), NULL-terminated, or NULL: none of them runs. */
    const char *const *named;
};

/* NULL when out of memory (or chain is NULL). Strings in opts are copied. */
struct gw_guard_run *gw_guard_run_new(const struct gw_guard_chain *chain,
                                      const struct gw_guard_run_opts *opts);
/* Counts the run's outcomes into the chain and frees it. */
void gw_guard_run_free(struct gw_guard_run *run);
/* Entry i's outcome for this request at stage (AIGW_GUARD_INPUT / _OUTPUT): the heaviest it
 * reached, GW_GUARD_O_NONE when it did not run there. For the request's metrics and log. */
int gw_guard_run_outcome(const struct gw_guard_run *run, size_t i, unsigned stage);

int gw_guard_on_request(struct gw_guard_run *run, cJSON *body);
/* 1 when an input guard edited the request. */
int gw_guard_rewrote(const struct gw_guard_run *run);

/* Receives what may be rendered: copies of text chunks (edited, possibly merged with held
 * text) and every other chunk as given. A negative return stops the filter and is returned. */
typedef int (*gw_guard_emit_fn)(void *ud, const struct aigw_chunk *chunk);
int gw_guard_on_chunk(struct gw_guard_run *run, const struct aigw_chunk *chunk,
                      gw_guard_emit_fn emit, void *ud);
int gw_guard_on_end(struct gw_guard_run *run, gw_guard_emit_fn emit, void *ud);
/* After a PENDING from on_chunk / on_end and gw_guard_fetch_done(): runs the waiting hook
 * again, then replays the chunks queued meanwhile (and the end, when it was reached). */
int gw_guard_resume(struct gw_guard_run *run, gw_guard_emit_fn emit, void *ud);

/* Another attempt answers afresh (a fallback, before any byte of the answer reached the
 * client): what the run holds of the last attempt's answer (the text in its windows, held
 * tool calls, the choices' text for final hooks, a RETRY about it) is dropped, so nothing of
 * it goes out or is judged with the next. 0, or AIGW_EINVAL while a final hook waits for a
 * service call, or once the answer was refused (no other attempt may follow then). */
int gw_guard_answer_reset(struct gw_guard_run *run);

/* An upstream error about to be rendered: output guards may edit err->message (the new text
 * lives in the run). Always 0 unless out of memory. */
int gw_guard_on_error(struct gw_guard_run *run, struct aigw_error *err);

/* ---- pending service calls ------------------------------------------------------------------ */

struct gw_guard_fetch_req {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value", NULL-terminated; secret: never log them */
    const char *body;
    size_t body_len;
    int64_t timeout_ms; /* already capped */
    const char *guard;  /* the entry's name, for logs */
};
/* The call to make while the run is PENDING, else NULL. Valid until fetch_done/failed. */
const struct gw_guard_fetch_req *gw_guard_fetch_request(const struct gw_guard_run *run);
/* The response (body cut at GW_GUARD_FETCH_BODY_CAP). */
int gw_guard_fetch_done(struct gw_guard_run *run, int status, const char *body, size_t len,
                        int64_t elapsed_ms);
/* Transport failure or deadline: the waiting guard failed (fail_open decides). why is logged. */
void gw_guard_fetch_failed(struct gw_guard_run *run, const char *why);

/* ---- verdicts ------------------------------------------------------------------------------- */

/* The error for a DENY (400 invalid_request_error, code "guardrail_blocked") or FAILED (503
 * api_error, code "guardrail_failed"), naming the guard; strings live in the run. 0, or
 * AIGW_EINVAL when the run holds neither. */
int gw_guard_error(struct gw_guard_run *run, struct aigw_error *err);
/* The configured name of the entry that denied or failed, or NULL (for a response header). */
const char *gw_guard_blocked_by(const struct gw_guard_run *run);

/* After RETRY: appends the choice's answer as an assistant message and the guard's note as a
 * user message to body (the request sent upstream), and resets the run's answer side so the
 * next answer goes through the output guards again, with g->attempt = 1. */
int gw_guard_retry_body(struct gw_guard_run *run, cJSON *body);

/* Appends a JSON array [{"guard":..,"stage":..,"outcome":..},...] of what ran: for the
 * request log. Never holds matched text or reasons. */
int gw_guard_summary(const struct gw_guard_run *run, struct gw_buf *out);

#endif
