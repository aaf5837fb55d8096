/*
 * e2e - end-to-end test helpers: the mock provider, the real aigw binary as a child
 * process, and a small libcurl client. A test reads:
 *
 *   struct mock *m = e2e_mock("openai_chat");
 *   struct e2e_gw *gw = e2e_gw_start(NULL, "OPENAI_API_KEY=sk-test",
 *                                    e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
 *   struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions",
 *                                 "{\"model\":\"gpt-4o-mini\",\"messages\":[...]}", NULL);
 *   cr_assert_eq(r->status, 200);
 *   const struct mock_req *up = mock_request(m, 0);
 *   cr_assert_str_eq(mock_req_header(up, "authorization"), "Bearer sk-test");
 *   mock_req_free(up);
 *   e2e_resp_free(r);
 *   cr_assert_eq(e2e_gw_stop(gw, 5000), 0);
 *   mock_stop(m);
 *
 * Setup failures (aigw does not start, the mock cannot load its scenario) fail the test
 * through Criterion with aigw's log attached; HTTP results are returned for the test to
 * judge (a refused connection is status 0, not a failure). Nothing sleeps: waits block on
 * the child's pidfd, inotify or a condition variable, each bounded by a timeout.
 *
 * aigw is $AIGW_TEST_BUILDDIR/aigw with the plugins of $AIGW_TEST_PLUGIN_DIR (both set by
 * `make check`). Call these from the test's own thread.
 */
#ifndef AIGW_TEST_E2E_H
#define AIGW_TEST_E2E_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockprov/mock.h"

/* printf into memory that lives until the process exits (for env strings and configs). */
char *e2e_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* n bytes of 'a' to 'z' over and over, in e2e_strf's memory: a long answer's text. */
char *e2e_letters(size_t n);
/* An OpenAI chat stream that sends text in one event, then its finish (with "usage": usage
 * when usage, a JSON object, is not NULL) and [DONE]; in e2e_strf's memory. */
char *e2e_chat_sse_one_event(const char *text, const char *usage);

/* mock_start (ephemeral loopback port) + mock_load_scenario(scenario) unless NULL; asserts. */
struct mock *e2e_mock(const char *scenario);

/* ---- aigw as a child process ------------------------------------------------------------- */

struct e2e_gw;

struct e2e_gw_opts {
    const char *config;      /* JSON config text: written to a temp file, passed as --config */
    const char *const *env;  /* "NAME=value" entries, NULL-terminated. The child's environment
                                is exactly these plus PATH, ASAN_OPTIONS, UBSAN_OPTIONS and
                                LSAN_OPTIONS from ours. */
    const char *const *args; /* extra arguments, NULL-terminated */
    int start_timeout_ms;    /* for the port file to appear; 0 = 15000 */
};

/* Run `aigw --listen 127.0.0.1:0 --port-file F --plugin-dir D --log-level debug
 * [--config C] [args]` and wait until it wrote its port. Its stdout and stderr both go to
 * one log file (e2e_gw_log). Asserts (with the log) when it exits or times out first. */
struct e2e_gw *e2e_gw_start_opts(const struct e2e_gw_opts *opts);
/* Same with a config (or NULL) and "NAME=value" strings, NULL-terminated. */
struct e2e_gw *e2e_gw_start(const char *config, ...) __attribute__((sentinel));

const char *e2e_gw_url(const struct e2e_gw *gw); /* "http://127.0.0.1:<port>" */
int e2e_gw_port(const struct e2e_gw *gw);
int e2e_gw_pid(const struct e2e_gw *gw);
/* Everything aigw logged so far (stdout + stderr). Valid until the next call for this gw. */
const char *e2e_gw_log(struct e2e_gw *gw);
/* Wait until the log contains needle. 0, or -1 after timeout_ms. */
/* CLOCK_MONOTONIC in milliseconds: deadlines of a test's own waits. */
int64_t e2e_now_ms(void);
int e2e_gw_wait_log(struct e2e_gw *gw, const char *needle, int timeout_ms);
int e2e_gw_signal(struct e2e_gw *gw, int sig);
/* Wait for aigw to exit by itself: its status (exit code, or 128 + signal number), or -1
 * when it is still running after timeout_ms. */
int e2e_gw_wait_exit(struct e2e_gw *gw, int timeout_ms);
/* SIGTERM, then wait up to timeout_ms; SIGKILL after that. Returns the exit status (exit
 * code, or 128 + signal), or -1 when it had to be killed. Frees gw and its temp files (kept
 * when AIGW_E2E_KEEP is set). NULL is ignored. */
int e2e_gw_stop(struct e2e_gw *gw, int timeout_ms);

/* Run aigw to completion (e.g. --check-config, --list-providers): no --listen/--port-file
 * added, only --plugin-dir and the given args (and --config when config is set). Returns
 * the exit status (or -1 on timeout, after SIGKILL); *output (malloc'ed, may be NULL) gets
 * stdout + stderr. */
int e2e_aigw_run(const char *config, const char *const *env, const char *const *args, char **output,
                 int timeout_ms);

/* ---- HTTP client ------------------------------------------------------------------------- */

struct e2e_resp {
    int status;      /* HTTP status; 0 when none arrived (refused, reset, timeout) */
    int curl_code;   /* CURLcode of the transfer: 0 when it completed cleanly */
    char error[256]; /* curl's reason when curl_code != 0 */
    int aborted;     /* the client closed the connection on purpose (abort options) */
    int timed_out;   /* the transfer hit its timeout */
    char *headers;   /* the response's raw header block (the last one, after any 100) */
    char *body;      /* NUL-terminated; for streams, the raw SSE text received */
    size_t body_len;
    int n_events; /* text/event-stream: the data payloads, in order ("[DONE]" too) */
    char **events;
    /* private: caches */
    cJSON *json_;
    char *text_;
    cJSON **event_json_;
    char **hv_;
    int nhv_;
};

/* One header of the response (case-insensitive name), value trimmed; NULL when absent. The
 * string lives as long as the response. */
const char *e2e_resp_header(struct e2e_resp *r, const char *name);
/* The body parsed as JSON (owned by r), or NULL. */
cJSON *e2e_resp_json(struct e2e_resp *r);
/* Event i's data parsed as JSON (owned by r), or NULL. */
cJSON *e2e_resp_event_json(struct e2e_resp *r, int i);
/* 1 when the last event is [DONE]. */
int e2e_resp_done(const struct e2e_resp *r);
/* The concatenated choices[0].delta.content of the stream (owned by r; "" when none). */
const char *e2e_resp_text(struct e2e_resp *r);
void e2e_resp_free(struct e2e_resp *r);

/* Any request. headers: "Name: value" lines separated by '\n' (or NULL). A body is sent
 * with Content-Type: application/json unless headers name another. timeout_ms 0 = 30000. */
struct e2e_resp *e2e_request(const char *method, const char *url, const char *body,
                             const char *headers, int timeout_ms);
/* The same with a body of len bytes that may hold anything (a compressed body). */
struct e2e_resp *e2e_request_n(const char *method, const char *url, const char *body, size_t len,
                               const char *headers, int timeout_ms);
/* POST json / GET to the gateway. */
struct e2e_resp *e2e_post(struct e2e_gw *gw, const char *path, const char *json,
                          const char *headers);
struct e2e_resp *e2e_get(struct e2e_gw *gw, const char *path, const char *headers);

/* Raw sockets, for what a well-behaved client cannot send (bad framing, huge headers) or for
 * an answer read later: e2e_raw_send connects to 127.0.0.1:port, writes req and returns the
 * open fd (reads time out after timeout_s); e2e_raw_status reads the answer's status code
 * (0 when none came) and closes fd. */
int e2e_raw_send(int port, const char *req, int timeout_s);
int e2e_raw_status(int fd);
/* Until the server has accept()ed fd's connection (port: the server's), or -1 past the
 * deadline: a connection still in the listen backlog is reset when the listener closes. */
int e2e_raw_wait_accepted(int fd, int port, int timeout_ms);

/* ---- streaming client -------------------------------------------------------------------- */

/* Called on the stream's thread for each SSE event (data payload). Nonzero: abort (close the
 * connection at once). */
typedef int (*e2e_event_fn)(void *ud, int index, const char *data);

struct e2e_stream_opts {
    e2e_event_fn on_event;
    void *ud;
    int abort_after_events;   /* close the connection after this many events; 0 = never */
    size_t abort_after_bytes; /* ... after this many body bytes; 0 = never */
    size_t pause_after_bytes; /* slow reader: stop reading once this many body bytes arrived,
                                 until e2e_stream_resume(); 0 = never */
    int timeout_ms;           /* the whole transfer; 0 = 30000 */
};

struct e2e_stream;

/* POST json to url on a thread of its own and read the response as it arrives. */
struct e2e_stream *e2e_stream_start(const char *url, const char *json, const char *headers,
                                    const struct e2e_stream_opts *opts);
/* Wait until n events / n body bytes arrived. 0, or -1 after timeout_ms (or if the stream
 * ended first). */
int e2e_stream_wait_events(struct e2e_stream *s, int n, int timeout_ms);
int e2e_stream_wait_bytes(struct e2e_stream *s, size_t n, int timeout_ms);
/* Wait until a pause_after_bytes reader has stopped reading. 0, or -1 after timeout_ms. */
int e2e_stream_wait_paused(struct e2e_stream *s, int timeout_ms);
void e2e_stream_resume(struct e2e_stream *s);
/* Close the connection now (a client disconnect). */
void e2e_stream_abort(struct e2e_stream *s);
/* Wait for the end (aborting at timeout_ms, then timed_out = 1), free s, return what was
 * received. */
struct e2e_resp *e2e_stream_finish(struct e2e_stream *s, int timeout_ms);
/* Start + finish against the gateway, for streams read to the end (or aborted by opts). */
struct e2e_resp *e2e_stream(struct e2e_gw *gw, const char *path, const char *json,
                            const char *headers, const struct e2e_stream_opts *opts);

#endif /* AIGW_TEST_E2E_H */
