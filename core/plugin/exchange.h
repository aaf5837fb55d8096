/*
 * exchange - drives one upstream attempt through its plugin, with no I/O of its own: the
 * upstream engine (or a test) hands in the response status, headers and body bytes, and
 * exchange runs credentials, build, framing, stream_event / parse_response / map_error and
 * continuations. Chunks go to the call's sink; upstream failures land in call->error.
 *
 *   gw_exchange_begin()    build the first request (a credential fetch first when needed)
 *   gw_call_add_resp_header() for each response header, then
 *   gw_exchange_headers()  status known
 *   gw_exchange_data()     body bytes, any split
 *   gw_exchange_end()      0: complete; AIGW_CONTINUE: another request was built, send it;
 *                          negative: protocol failure (-> 502)
 *
 * Threading: whichever thread owns the call.
 */
#ifndef GW_EXCHANGE_H
#define GW_EXCHANGE_H

#include "plugin/call.h"

int gw_exchange_begin(struct gw_call *c);
int gw_exchange_headers(struct gw_call *c, int status);
int gw_exchange_data(struct gw_call *c, const char *p, size_t n);
int gw_exchange_end(struct gw_call *c);
/* A follow-up step (a GET after the first step: a poll) that failed is sent again up to
 * GW_FOLLOW_UP_REPEATS times, pausing GW_FOLLOW_UP_PAUSE_MS doubled each time; then it fails
 * the attempt without a retry (the first step would start the job again), unless it was an
 * epilogue (set up by stream_end after a whole answer), which is dropped. A later step that
 * is not a GET (another billed job: a workflow's next image) is never sent again: its failure
 * fails the attempt the same way at once. */
#define GW_FOLLOW_UP_REPEATS 3
#define GW_FOLLOW_UP_PAUSE_MS 250
/* The transfer of the current step failed (why: what broke, static): AIGW_CONTINUE to send
 * the same step again, 0 when the call ended with call->error (or, an epilogue, without an
 * error), -1 when the step is the first (the caller's failure to report). */
int gw_exchange_failed(struct gw_call *c, const char *why);
/* The call ended without a complete answer: the plugin's request that stops the job its steps
 * started (ABI 1.6 cancel_build), built into the call's method, URL, headers and body. 0: built
 * (*job_id the job's id for the log, or NULL); 1: nothing to stop (no such callback, no job,
 * or the job reached its final state); negative: the plugin failed (nothing to send). */
int gw_exchange_cancel(struct gw_call *c, const char **job_id);
/* 1 when the status is one a retry or another target might fix. */
int gw_status_retryable(int status);

#endif
