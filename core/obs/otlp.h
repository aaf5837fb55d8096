/*
 * otlp - spans out over OTLP/HTTP with the JSON encoding: the encoder of one
 * ExportTraceServiceRequest, and the exporter (a bounded queue, a batcher and a POST to
 * <endpoint>/v1/traces).
 *
 * The exporter runs on a thread of its own with its own libcurl easy handle. Request threads
 * only append to the queue under a mutex held for a few pointer writes; a full queue drops
 * the span and counts it. Encoding, redaction and the POST (with its deadline) happen on the
 * exporter's thread, so a slow or dead collector costs requests nothing but dropped spans.
 *
 * Threading: gw_otlp_submit from any thread; start/stop on one thread (main); the encoder is
 * pure.
 */
#ifndef GW_OTLP_H
#define GW_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "obs/trace.h"

struct gw_otlp_resource {
    const char *service_name;
    const char *service_version;
};

/* Appends {"resourceSpans":[...]} for the spans of the list (through ->next), all in one
 * resource and one scope. Every string value passes through gw_redact; invalid UTF-8 becomes
 * U+FFFD. Returns 0, or the gw_buf error (the buffer then holds a partial document). */
int gw_otlp_encode(const struct gw_otlp_resource *res, const struct gw_span *spans,
                   struct gw_buf *out);

struct gw_otlp_opts {
    const char *url;            /* the full traces URL; http or https */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    struct gw_otlp_resource resource;
    int queue_max;       /* spans waiting; beyond: dropped */
    int batch_max;       /* spans per POST */
    int64_t interval_ms; /* longest wait before a partial batch goes */
    int64_t timeout_ms;  /* one POST, connect included */
};

struct gw_otlp_stats {
    uint64_t exported;       /* spans the collector answered 2xx for */
    uint64_t dropped_full;   /* the queue was full */
    uint64_t dropped_failed; /* their POST failed (no answer, non-2xx) */
    uint64_t batches;        /* POSTs made */
    uint64_t queued;         /* waiting now */
};

struct gw_otlp;

/* Starts the exporter thread. The strings of opts are copied. */
int gw_otlp_start(const struct gw_otlp_opts *opts, struct gw_otlp **out);
/* Takes the span in every case: queued, or freed and counted when the queue is full (or x is
 * NULL). Never waits on the network. */
void gw_otlp_submit(struct gw_otlp *x, struct gw_span *s);
/* Sends what is queued now instead of at the next interval (tests, shutdown). */
void gw_otlp_flush(struct gw_otlp *x);
/* Flushes, then waits until every span submitted before the call is exported or dropped:
 * 0, or -1 after timeout_ms. */
int gw_otlp_drain(struct gw_otlp *x, int64_t timeout_ms);
void gw_otlp_stats(struct gw_otlp *x, struct gw_otlp_stats *st);
/* url as a log line may show it: without its userinfo (user:password@), query and fragment,
 * where a collector's credentials travel. Cut to size. */
void gw_otlp_url_for_log(const char *url, char *out, size_t size);
/* Sends what is queued, giving up at deadline_ms from now (spans left are dropped and
 * counted), stops the thread and frees x. NULL is ignored. */
void gw_otlp_stop(struct gw_otlp *x, int64_t deadline_ms);

#endif
