/*
 * otel - OpenTelemetry tracing for the request lifetime: its configuration (the `otel`
 * config object and the standard OTEL_* variables), the process-wide tracer (sampler and
 * OTLP exporter), and the spans of one request: a SERVER span for the request and a CLIENT
 * span per upstream attempt, named and attributed per the OpenTelemetry GenAI and HTTP
 * semantic conventions.
 *
 * Off unless an endpoint is configured; then every function here is a load and a branch:
 * no thread, no allocation, no header parsed. When on, an unsampled request costs one small
 * allocation per span (ids only) so the upstream still gets a traceparent with sampled=0.
 *
 * No secret reaches a span: header values are never recorded (traceparent aside), URLs lose
 * their query, message content is off unless capture_content is set and is then redacted
 * and capped; the encoder redacts every string again.
 *
 * Threading: config and start/stop on the main thread, start before the HTTP workers exist
 * and stop after they are gone (requests read the tracer without a lock); gw_otel_request_*
 * and gw_otel_attempt_* from the thread that owns the request (a span is not shared). The
 * exporter updates metrics: gw_metrics_init before gw_otel_start, gw_otel_stop before
 * gw_metrics_free; curl_global_init before gw_otel_start.
 */
#ifndef GW_OTEL_H
#define GW_OTEL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "obs/trace.h"

#define GW_OTEL_MAX_HEADERS 32
#define GW_OTEL_CONTENT_CAP_DEFAULT 16384

struct gw_otel_config {
    int enabled;    /* an endpoint is set (and OTEL_SDK_DISABLED is not true) */
    char url[1024]; /* <endpoint>/v1/traces, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT */
    char service_name[256];
    double sample_ratio; /* 0..1, default 1 */
    int capture_content; /* record message content (redacted, capped) */
    int64_t content_max_bytes;
    int queue_size;            /* spans; default 2048 */
    int batch_size;            /* spans per POST; default 512 */
    int64_t batch_interval_ms; /* default 5000 */
    int64_t timeout_ms;        /* one POST; default 10000 */
    int nheaders;
    char *headers[GW_OTEL_MAX_HEADERS]; /* "Name: value", malloc'ed */
};

/* Defaults (off). */
void gw_otel_config_init(struct gw_otel_config *c);
/* Reads the `otel` object (NULL: none) and then the environment through env (NULL: the
 * process environment; tests pass their own): the file's keys win, the variables fill what
 * it leaves unset. On error returns AIGW_EINVAL with "otel.<key>: reason" (or the variable's name)
 * in err; c is then left for gw_otel_config_free. Header values are registered with redact. */
int gw_otel_config_parse(struct gw_otel_config *c, const cJSON *otel,
                         const char *(*env)(const char *name), char *err, size_t errsize);
void gw_otel_config_free(struct gw_otel_config *c);

/* Starts the exporter when c->enabled (else does nothing and returns 0). */
int gw_otel_start(const struct gw_otel_config *c);
/* Sends what is queued (at most deadline_ms), stops the exporter. */
void gw_otel_stop(int64_t deadline_ms);
/* 1 when tracing is on. */
int gw_otel_on(void);
/* Sends queued spans now (tests). */
void gw_otel_flush(void);

/* ---- the request: one SERVER span ------------------------------------------------------------
 * Call when the request's headers are in (the "received" phase), before authentication.
 * traceparent / tracestate: the client's header values (NULL when absent); a malformed
 * traceparent starts a new trace (and its tracestate is ignored). route: the matched endpoint
 * template ("/v1/chat/completions"), or NULL for an unknown path; path: the raw path (a query
 * is cut off). request_id: the X-Request-ID the request carries (recorded as aigw.request_id).
 * NULL when tracing is off or out of memory; every function below accepts NULL. */
struct gw_span *gw_otel_request_begin(const char *traceparent, size_t tp_len,
                                      const char *tracestate, size_t ts_len, const char *method,
                                      const char *route, const char *path, size_t path_len,
                                      const char *request_id);

struct gw_otel_request_end {
    int status;             /* the HTTP status sent to the client */
    const char *key_id;     /* the gateway key's id (never the secret), or NULL */
    const char *dialect;    /* "openai", "anthropic", "responses", ... */
    const char *cache;      /* "hit", "miss", "bypass", or NULL (no cache) */
    const char *guardrail;  /* "allow", "deny", "rewrite", or NULL (no guard ran) */
    const char *error_type; /* the error's code/class when the answer is an error, or NULL */
    int attempts;           /* upstream attempts made */
};
/* Ends and submits the server span (status >= 500 marks it an error; 4xx are the client's). */
void gw_otel_request_end(struct gw_span *s, const struct gw_otel_request_end *e);

/* ---- one upstream attempt: a CLIENT span ----------------------------------------------------- */

struct gw_otel_attempt {
    const char *operation; /* gen_ai.operation.name: "chat", "text_completion", "embeddings",
                              "generate_content" (images); NULL: "chat" */
    const char *provider;  /* the plugin's vkey; mapped to gen_ai.provider.name */
    const char *model;     /* gen_ai.request.model: the model asked of the provider */
    const char *url;       /* the upstream URL: only host and port are kept */
    int attempt;           /* 1 for the first, 2 for the next (retry or fallback), ... */
    int stream;
    int64_t max_tokens; /* < 0: not set */
    double temperature; /* NaN: not set */
    double top_p;       /* NaN: not set */
};
/* A child of the server span named "{operation} {model}". NULL when server is NULL. */
struct gw_span *gw_otel_attempt_begin(struct gw_span *server, const struct gw_otel_attempt *a);
/* server.address / server.port when the URL is only known after the plugin built the request
 * (a.url NULL at begin). */
void gw_otel_attempt_url(struct gw_span *s, const char *url);
/* The traceparent header value for the upstream request ("00-<trace>-<span>-<flags>"): 0 and
 * out filled (GW_TRACEPARENT_LEN + 1 bytes), or -1 when s is NULL (send no header). */
int gw_otel_traceparent(const struct gw_span *s, char *out);
/* The tracestate to send along (the client's, as received), or NULL. */
const char *gw_otel_tracestate(const struct gw_span *s, size_t *len);
/* The first content chunk arrived: the "aigw.first_token" event and
 * gen_ai.response.time_to_first_chunk (seconds since the attempt began). Once per span. */
void gw_otel_attempt_first_token(struct gw_span *s);
/* 1 when s records message content (capture_content is on and s is recording): only then
 * is the JSON text for gw_otel_content worth building. */
int gw_otel_capturing(const struct gw_span *s);
/* Message content, only when capture_content is on: output 0 for the request's messages
 * (gen_ai.input.messages), 1 for the answer (gen_ai.output.messages); JSON text, redacted,
 * then cut to content_max_bytes. */
void gw_otel_content(struct gw_span *s, int output, const char *json, size_t n);

struct gw_otel_attempt_end {
    int http_status;                   /* the upstream's status, 0 when none came */
    const char *failure_class;         /* NULL when the attempt succeeded; else "timeout", "429",
                                          "connect_error", ... (as aigw_upstream_attempts_total) */
    const char *response_model;        /* gen_ai.response.model */
    const char *response_id;           /* gen_ai.response.id */
    const char *const *finish_reasons; /* gen_ai.response.finish_reasons */
    int nfinish;
    const struct aigw_usage *usage; /* NULL when unknown */
    double cost_usd;                /* < 0: unknown */
};
/* Ends and submits the attempt span. */
void gw_otel_attempt_end(struct gw_span *s, const struct gw_otel_attempt_end *e);

/* Drops a span that will not be ended normally (the request is torn down): it is ended as
 * an error with failure class "cancelled" and submitted. */
void gw_otel_abandon(struct gw_span *s);

/* gen_ai.provider.name for a vkey: the GenAI conventions' well-known value ("azure-openai"
 * -> "azure.ai.openai", "bedrock" -> "aws.bedrock", ...), else the vkey itself. */
const char *gw_otel_provider_name(const char *vkey);

#endif
