/*
 * mockprov - a mock AI provider on a loopback port, for end-to-end tests and the demo.
 *
 * One HTTP server (libmicrohttpd, epoll thread pool) that answers whatever routes it is
 * given: scenario files (tests/fixtures/scenarios/<name>.json, format in tests/README.md) or
 * routes added in code. A route matches method + path glob (+ body / header / query subsets)
 * and serves a status, headers and a body (inline or a fixture file), cut into chunks and
 * paced by its fault settings: delays, stalls, early closes, slow drip, truncation, an
 * injected error event. Every request is recorded (method, path, query, headers, body) so a
 * test can assert what the gateway sent upstream.
 *
 *   struct mock *m = mock_start(NULL);
 *   mock_load_scenario(m, "openai_chat");
 *   ... point OPENAI_BASE_URL at mock_url(m) + "/v1", send a request through aigw ...
 *   mock_wait_requests(m, 1, 5000);
 *   const struct mock_req *r = mock_request(m, 0);
 *   assert(strcmp(mock_req_header(r, "authorization"), "Bearer sk-test") == 0);
 *   mock_req_free(r);
 *   mock_stop(m);
 *
 * Threading: every function may be called from any thread. Nothing here blocks an MHD
 * thread: delays and stalls suspend the connection and one timer thread resumes it, so a
 * thousand held streams cost no threads. Waits (mock_wait_*) sleep on a condition variable
 * until the condition holds or the timeout passes.
 */
#ifndef AIGW_MOCKPROV_MOCK_H
#define AIGW_MOCKPROV_MOCK_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct mock;
struct mock_req;

struct mock_opts {
    const char *host;         /* bind address; NULL = "127.0.0.1" */
    int port;                 /* 0 = ephemeral (read it back with mock_port) */
    const char *fixtures_dir; /* root for body_file of in-code routes; NULL =
                                 $AIGW_TEST_SRCDIR/tests/fixtures, else "tests/fixtures" */
    int threads;              /* MHD worker threads; 0 = 4 */
    int max_records;          /* recorded requests kept (oldest dropped); 0 = 1024 */
    int verbose;              /* 1: one line per request on stderr */
};

/* Start serving (no routes yet: everything answers 404 until routes are added). NULL on
 * failure, with the reason on stderr. */
struct mock *mock_start(const struct mock_opts *opts);
/* Stop: ends held and stalled responses, closes every connection, frees the mock. Records
 * obtained with mock_request stay valid until mock_req_free. NULL is ignored. */
void mock_stop(struct mock *m);

int mock_port(const struct mock *m);
/* "http://127.0.0.1:<port>", no trailing slash; also what "{{base}}" expands to. */
const char *mock_url(const struct mock *m);

/* ---- routes ------------------------------------------------------------------------------ */

/*
 * A route added in code. Zero means "default / off" for every member, so designated
 * initializers stay short:
 *
 *   mock_add_route(m, &(struct mock_route){.method = "POST", .path = "/v1/chat/completions",
 *                                          .body_file = "mock/stream_text.sse",
 *                                          .chunk_delay_ms = 50, .stall_after_chunks = 2});
 *
 * The JSON form (mock_add_route_json, scenario files) has the same fields; there a count of
 * 0 is allowed and means "at once" (e.g. "close_after_bytes": 0 closes right after the
 * headers). In the struct, use close_after_headers / body_delay_ms = -1 for those.
 */
struct mock_route {
    const char *name;          /* shown in logs, mock_req_route(), mock_route_hits() */
    const char *method;        /* NULL or "*" = any */
    const char *path;          /* glob: '*' = any run without '/', '**' = any run; the raw
                                  path as sent (percent-encoding kept), without the query */
    const char *match_body;    /* JSON text: every member must be present and equal in the
                                  request body (objects compared recursively); the string "*"
                                  matches any present value, null matches absent */
    const char *match_headers; /* "Name: glob" lines ('\n'-separated); "!Name" = absent */
    const char *match_query;   /* "name=glob" pairs separated by '&', matched against the
                                  decoded parameters; "!name" = absent */
    int times;                 /* serve only the first N matches, then fall through; 0 = all */

    int status;            /* 0 = 200 */
    const char *headers;   /* "Name: value" lines ('\n'-separated); "{{base}}" expands */
    const char *body;      /* inline body; "{{base}}" expands */
    size_t body_len;       /* 0 = strlen(body) */
    const char *body_file; /* relative to fixtures_dir; "{{base}}" expands */
    const char *encode;    /* NULL, or "eventstream": body is JSON lines, see README */
    const char *chunking;  /* NULL/"auto" (by content type), "whole", "events", "lines",
                              "frames" (AWS event-stream), "bytes:N" */

    int headers_delay_ms;   /* before the status line; -1 = never answer (stall) */
    int body_delay_ms;      /* after the headers, before the first body byte; -1 = stall */
    int chunk_delay_ms;     /* between chunks */
    int drip;               /* 1: one byte per write (pace it with chunk_delay_ms) */
    long stall_after_bytes; /* stall for good once this many body bytes went out */
    int stall_after_chunks;
    long close_after_bytes; /* close the connection once this many body bytes went out */
    int close_after_chunks;
    int close_after_headers;  /* close right after the headers */
    int close_before_headers; /* close without answering at all */
    long truncate_at;         /* serve only the first N body bytes, cleanly (malformed) */
    int inject_after_chunks;  /* with inject: insert it after this many chunks (0 = first) */
    const char *inject;       /* bytes to insert (e.g. an SSE error event) */
    const char *inject_file;  /* or from a fixture file */
    int inject_end;           /* 1: end the body after the injection */
};

/* Add one route (copied). Routes are tried in the order added. 0, or -1 with the reason on
 * stderr (unreadable file, bad JSON in match_body, ...). */
int mock_add_route(struct mock *m, const struct mock_route *route);
/* Add one route from its JSON form (one element of a scenario's "routes"). */
int mock_add_route_json(struct mock *m, const char *json);
/* Load a scenario: a path to a .json file, or a bare name looked up as
 * <fixtures_dir>/scenarios/<name>.json. Its body files are relative to the parent of the
 * directory holding the scenario file (tests/fixtures/). Routes are appended. */
int mock_load_scenario(struct mock *m, const char *name_or_path);
/* Forget every route (later requests answer 404 until new routes are added). */
void mock_clear_routes(struct mock *m);
/* How many requests the route(s) with this name answered. */
int mock_route_hits(struct mock *m, const char *name);

/* ---- recorded requests ------------------------------------------------------------------- */

/* Requests received so far (complete request bodies, answered or not). */
int mock_request_count(struct mock *m);
/* Wait until at least n requests were received. 0, or -1 when timeout_ms passed first. */
int mock_wait_requests(struct mock *m, int n, int timeout_ms);
/* The i-th request (0 = first; -1 = the latest), or NULL when out of range or already
 * dropped from the record window. Release it with mock_req_free. */
const struct mock_req *mock_request(struct mock *m, int i);
void mock_req_free(const struct mock_req *r);

const char *mock_req_method(const struct mock_req *r);
const char *mock_req_path(const struct mock_req *r);  /* raw, as sent, without the query */
const char *mock_req_query(const struct mock_req *r); /* raw, without '?'; "" when none */
/* A decoded query parameter, or NULL. */
const char *mock_req_query_param(const struct mock_req *r, const char *name);
/* First header of that name (case-insensitive), or NULL. Headers are kept in order. */
const char *mock_req_header(const struct mock_req *r, const char *name);
int mock_req_header_count(const struct mock_req *r);
const char *mock_req_header_name(const struct mock_req *r, int i);
const char *mock_req_header_value(const struct mock_req *r, int i);
/* The body, NUL-terminated for convenience (it may contain NULs: use the length). */
const char *mock_req_body(const struct mock_req *r);
size_t mock_req_body_len(const struct mock_req *r);
/* The body parsed as JSON (owned by the record), or NULL when it is not JSON. */
const cJSON *mock_req_json(const struct mock_req *r);
/* The name of the route that answered ("" for unnamed, NULL when none matched: 404). */
const char *mock_req_route(const struct mock_req *r);
int mock_req_status(const struct mock_req *r);

/* ---- connections ------------------------------------------------------------------------- */

/* TCP connections open right now (idle keep-alive ones included). */
int mock_open_connections(struct mock *m);
/* Requests received and not finished (answering, held, stalled). */
int mock_active_requests(struct mock *m);
/* Requests whose client went away before the response was complete (not counting the
 * mock's own injected closes, nor its shutdown). */
int mock_disconnects(struct mock *m);

/* Wait until mock_disconnects >= n; until mock_open_connections == n; until
 * mock_active_requests == n. 0, or -1 when timeout_ms passed first. */
int mock_wait_disconnects(struct mock *m, int n, int timeout_ms);
int mock_wait_open_connections(struct mock *m, int n, int timeout_ms);
int mock_wait_active_requests(struct mock *m, int n, int timeout_ms);

/* ---- AWS event-stream -------------------------------------------------------------------- */

/* Encode a JSON description (JSON lines or an array, see README) into AWS event-stream
 * binary. *out is malloc'ed. 0, or -1 with the reason on stderr. */
int mock_eventstream_encode(const char *json, size_t len, char **out, size_t *out_len);

#endif /* AIGW_MOCKPROV_MOCK_H */
