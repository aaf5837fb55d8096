/*
 * trace - W3C trace context (traceparent / tracestate) and span records.
 *
 * A span is one block: ids, times, a bounded attribute table whose strings live in the span's
 * own pool, and a few events. Blocks of recording spans are recycled through a bounded cache
 * (a malloc of 3 KiB per span, freed on another thread, cost more than the rest of tracing).
 * Nothing grows past its cap: an attribute that does not fit is dropped and counted (OTLP
 * droppedAttributesCount). A span that is not recording (its trace is not sampled) is a short block
 * with ids and tracestate only: it still gives the upstream a traceparent, with the sampled flag
 * off, so the whole trace makes one decision, and the tracestate W3C says to pass on whatever it
 * is.
 *
 * Attribute keys and event names are never copied: pass string literals (or strings that
 * outlive the span). Values are copied, cut at GW_SPAN_STR_MAX bytes on a UTF-8 boundary.
 * No secret may be set as a value; the encoder redacts every string again on its way out.
 *
 * Threading: a span belongs to one thread at a time (the request's worker, then the
 * exporter once submitted). Parsing, formatting and sampling are pure.
 */
#ifndef GW_TRACE_H
#define GW_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define GW_TRACE_ID_LEN 16
#define GW_SPAN_ID_LEN 8
#define GW_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define GW_TRACESTATE_MAX 512 /* W3C: vendors must propagate at least 512 bytes */
#define GW_SPAN_NAME_MAX 128
#define GW_SPAN_MAX_ATTRS 32
#define GW_SPAN_MAX_EVENTS 4
#define GW_SPAN_STR_MAX 256
#define GW_SPAN_STRS_MAX 8 /* strings in one string-array attribute */
#define GW_SPAN_POOL 2048
#define GW_SPAN_BIG_MAX 2 /* heap strings (captured content) per span */

/* A parent from the wire. state points into the caller's memory (the request's header). */
struct gw_trace_ctx {
    uint8_t trace_id[GW_TRACE_ID_LEN];
    uint8_t span_id[GW_SPAN_ID_LEN];
    uint8_t flags; /* trace-flags; bit 0: sampled */
    const char *state;
    size_t state_len; /* 0: no tracestate */
};

#define GW_TRACE_FLAG_SAMPLED 0x01

/* OTLP SpanKind and Status.code values. */
enum gw_span_kind { GW_SPAN_INTERNAL = 1, GW_SPAN_SERVER = 2, GW_SPAN_CLIENT = 3 };
enum gw_span_status { GW_SPAN_UNSET = 0, GW_SPAN_OK = 1, GW_SPAN_ERROR = 2 };
enum gw_attr_type { GW_ATTR_STR, GW_ATTR_INT, GW_ATTR_DOUBLE, GW_ATTR_BOOL, GW_ATTR_STRS };

struct gw_span_attr {
    const char *key;
    uint16_t klen;  /* strlen(key): most lookups end on a length mismatch */
    uint16_t type;  /* enum gw_attr_type */
    uint32_t len;   /* STR: bytes; STRS: bytes of the NUL-separated list */
    uint32_t count; /* STRS: number of strings */
    union {
        int64_t i;
        double d;
        int b;
        const char *s; /* in the pool, or a heap string of the span */
    } v;
};

struct gw_span_event {
    const char *name;
    int64_t time_ns; /* Unix epoch nanoseconds */
};

/* Read by the encoder; write only through the functions below. */
struct gw_span {
    struct gw_span *next; /* the exporter's queue */
    uint8_t trace_id[GW_TRACE_ID_LEN];
    uint8_t span_id[GW_SPAN_ID_LEN];
    uint8_t parent_id[GW_SPAN_ID_LEN];
    uint8_t has_parent;
    uint8_t parent_remote; /* the parent came from the client's traceparent */
    uint8_t flags;         /* trace-flags sent on: GW_TRACE_FLAG_SAMPLED or 0 */
    uint8_t recording;     /* the fields after this block exist */
    int kind;
    const char *state; /* tracestate: in the pool, or after this block when not recording */
    size_t state_len;
    /* ---- recording spans only ---- */
    int64_t start_ns, end_ns; /* Unix epoch ns; end 0 until gw_span_end */
    int64_t start_mono_ns;    /* durations come from the monotonic clock */
    int status;               /* enum gw_span_status */
    int nattrs, nevents;
    uint32_t dropped_attrs, dropped_events;
    const char *status_msg; /* in the pool, or NULL */
    char *big[GW_SPAN_BIG_MAX];
    size_t pool_used;
    /* ---- not cleared: read only up to the counts above ---- */
    char name[GW_SPAN_NAME_MAX];
    struct gw_span_attr attrs[GW_SPAN_MAX_ATTRS];
    struct gw_span_event events[GW_SPAN_MAX_EVENTS];
    char pool[GW_SPAN_POOL];
};

/* ---- W3C trace context --------------------------------------------------------------------- */

/* Parses a traceparent header value (n bytes, no surrounding whitespace). Version 00 must be
 * exactly 55 bytes; a later version (not ff) is read by the 00 layout and may go on after a
 * '-'. Lowercase hex only; an all-zero trace id or parent id is invalid. On success fills
 * out (state NULL) and returns 0; else AIGW_EINVAL and out is untouched. */
int gw_traceparent_parse(const char *s, size_t n, struct gw_trace_ctx *out);
/* Checks a tracestate value and points ctx->state at it (no copy). Valid: comma-separated
 * key=value members (OWS allowed around them, empty members skipped), at most 32, keys and
 * values per the W3C grammar. Longer than GW_TRACESTATE_MAX: kept whole members from the
 * left that fit. Invalid: AIGW_EINVAL and ctx->state = NULL (the header is dropped, as the
 * spec allows; the traceparent still counts). */
int gw_tracestate_parse(const char *s, size_t n, struct gw_trace_ctx *ctx);
/* "00-<trace>-<span>-<flags>" into out (GW_TRACEPARENT_LEN + 1 bytes, NUL-terminated). */
void gw_traceparent_format(const uint8_t trace_id[GW_TRACE_ID_LEN],
                           const uint8_t span_id[GW_SPAN_ID_LEN], uint8_t flags, char *out);

/* The ratio sampler for a new trace: decides on the trace id's last 56 bits (so every
 * participant with the same ratio agrees). ratio <= 0: never; >= 1: always. */
int gw_trace_ratio_sampled(double ratio, const uint8_t trace_id[GW_TRACE_ID_LEN]);
/* Nonzero random ids: xoshiro256** per thread, seeded from the kernel's CSPRNG (crypto.h) and
 * reseeded every 65536 ids. Ids need to be unique and uniform, not secret; a getrandom()
 * per id cost 230 ns, more than the rest of a span. */
void gw_trace_new_trace_id(uint8_t out[GW_TRACE_ID_LEN]);
void gw_trace_new_span_id(uint8_t out[GW_SPAN_ID_LEN]);

int64_t gw_trace_now_ns(void); /* Unix epoch ns */

/* ---- spans --------------------------------------------------------------------------------- */

/* A new span. parent: the remote context (its flags decide sampling: parent-based), or NULL
 * for a new trace sampled by ratio. For a child of a local span use gw_span_child. NULL when
 * out of memory. */
struct gw_span *gw_span_start(const struct gw_trace_ctx *parent, double ratio, const char *name,
                              int kind);
/* A child in parent's trace with parent's sampling decision (and tracestate). */
struct gw_span *gw_span_child(const struct gw_span *parent, const char *name, int kind);
/* The context a child (or the next hop) continues: this span's ids and flags. */
void gw_span_context(const struct gw_span *s, struct gw_trace_ctx *out);

/* All setters ignore a NULL or non-recording span. Setting a key again replaces its value. */
void gw_span_set_name(struct gw_span *s, const char *name);
void gw_span_set_str(struct gw_span *s, const char *key, const char *v, size_t n);
void gw_span_set_cstr(struct gw_span *s, const char *key, const char *v); /* v NULL: no-op */
void gw_span_set_int(struct gw_span *s, const char *key, int64_t v);
void gw_span_set_double(struct gw_span *s, const char *key, double v); /* not finite: no-op */
void gw_span_set_bool(struct gw_span *s, const char *key, int v);
void gw_span_set_strs(struct gw_span *s, const char *key, const char *const *v, int n);
/* A long string held on the heap (up to cap bytes, cut on a UTF-8 boundary), for captured
 * message content; at most GW_SPAN_BIG_MAX per span. */
void gw_span_set_big(struct gw_span *s, const char *key, const char *v, size_t n, size_t cap);
/* An event at time_ns (0: now). */
void gw_span_add_event(struct gw_span *s, const char *name, int64_t time_ns);
void gw_span_set_status(struct gw_span *s, int status, const char *msg);
/* Sets the end time (once; later calls keep the first). */
void gw_span_end(struct gw_span *s);
/* Nanoseconds since the span started (monotonic). */
int64_t gw_span_elapsed_ns(const struct gw_span *s);
void gw_span_free(struct gw_span *s);
/* Frees a list linked through ->next (the exporter's batches): one lock for the whole list. */
void gw_span_free_list(struct gw_span *list);
/* Frees the recycled blocks (at shutdown; spans may still be made afterwards). */
void gw_trace_cache_drop(void);

/* The attribute of that key, or NULL (tests, the encoder). */
const struct gw_span_attr *gw_span_attr(const struct gw_span *s, const char *key);

#endif
