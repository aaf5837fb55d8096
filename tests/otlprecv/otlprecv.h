/*
 * otlprecv - a test OTLP/HTTP JSON receiver on a loopback port (libmicrohttpd).
 *
 * It accepts POST /v1/traces with Content-Type application/json, checks that the body is
 * JSON with the ExportTraceServiceRequest shape (resourceSpans[].scopeSpans[].spans[]),
 * records every batch (its headers and parsed body), and answers with the configured status
 * (200 and "{}" by default). Anything else is answered 404 / 415 / 400 and counted as bad.
 * A stalled receiver holds requests without answering until unstalled or stopped, for
 * exporter deadline tests.
 *
 *   struct otlprecv *r = otlprecv_start();
 *   ... point otel.endpoint at otlprecv_url(r), make requests ...
 *   cr_assert_eq(otlprecv_wait_spans(r, 3, 5000), 0);
 *   cJSON *spans = otlprecv_spans(r);   (a flat array of every span received)
 *   ...
 *   cJSON_Delete(spans);
 *   otlprecv_stop(r);
 *
 * Threading: every function may be called from any thread; waits sleep on a condition
 * variable with a deadline.
 */
#ifndef AIGW_TEST_OTLPRECV_H
#define AIGW_TEST_OTLPRECV_H

#include <cjson/cJSON.h>

struct otlprecv;

/* NULL on failure (reason on stderr). */
struct otlprecv *otlprecv_start(void);
void otlprecv_stop(struct otlprecv *r);

/* "http://127.0.0.1:<port>": the endpoint base (the exporter appends /v1/traces). */
const char *otlprecv_url(const struct otlprecv *r);

/* The status later batches are answered with. */
void otlprecv_set_status(struct otlprecv *r, int status);
/* 1: hold every later request unanswered; 0: release them (they get the status). */
void otlprecv_set_stall(struct otlprecv *r, int stall);

/* 0 once at least n spans arrived in well-formed batches, -1 after timeout_ms. */
int otlprecv_wait_spans(struct otlprecv *r, int n, int timeout_ms);
int otlprecv_span_count(struct otlprecv *r);
/* Requests that arrived (held ones included), and the ones refused as malformed. */
int otlprecv_post_count(struct otlprecv *r);
int otlprecv_bad_count(struct otlprecv *r);

/* Every span received so far, in arrival order: a new array of copies, each span object
 * given one more member, "resource.service.name" (its resource's service.name). */
cJSON *otlprecv_spans(struct otlprecv *r);
/* A copy of batch k's body (NULL past the end), and of one of its headers (lowercase name,
 * malloc'ed; NULL when absent). */
cJSON *otlprecv_batch(struct otlprecv *r, int k);
char *otlprecv_header(struct otlprecv *r, int k, const char *name);

/* Helpers on a span object: the value of an attribute as text (string values as they are,
 * ints as their decimal string, doubles with %.17g, bools "true"/"false", arrays as their
 * strings joined with ','), or NULL; and the first span in spans with that name. */
const char *otlprecv_attr(const cJSON *span, const char *key, char *buf, size_t size);
const cJSON *otlprecv_find(const cJSON *spans, const char *name, int nth);

#endif
