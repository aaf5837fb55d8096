/*
 * e2e_http.c - the test client: one engine (a libcurl multi loop per transfer) that runs
 * either on the caller's thread (e2e_request) or on a thread of its own (e2e_stream_*), so
 * a test can watch a stream, pause it like a slow reader, or drop it like a leaving client.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "e2e/e2e.h"

#define MAX_RESP (64u << 20)
#define MAX_EVENTS 1000000

struct e2e_stream {
    CURL *easy;
    CURLM *multi;
    struct curl_slist *hdrs;
    char *url, *body;
    size_t body_len;   /* of body: it may hold any bytes (a compressed body) */
    size_t body_cap;   /* of resp->body */
    size_t events_cap; /* of resp->events */
    struct e2e_stream_opts o;
    struct e2e_resp *resp;
    int64_t deadline;
    /* SSE parsing state */
    char *line;
    size_t line_len, line_cap;
    char *data;
    size_t data_len, data_cap;
    int has_data;
    int sse;

    pthread_t thread;
    int threaded;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t received;
    int events;
    int paused, resume_req, abort_req, pause_used, finished;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    if (c > MAX_RESP)
        return -1;
    char *np = realloc(*p, c);
    if (!np)
        return -1;
    *p = np;
    *cap = c;
    return 0;
}

static int append(char **p, size_t *len, size_t *cap, const char *src, size_t n)
{
    if (grow(p, cap, *len + n + 1))
        return -1;
    memcpy(*p + *len, src, n);
    *len += n;
    (*p)[*len] = '\0';
    return 0;
}

/* ---- SSE --------------------------------------------------------------------------------- */

/* Returns nonzero when the stream must be aborted. Caller holds s->mu. */
static int sse_event(struct e2e_stream *s)
{
    struct e2e_resp *r = s->resp;
    int abort_now = 0;
    if (!s->has_data)
        return 0;
    s->has_data = 0;
    if (r->n_events >= MAX_EVENTS) {
        s->data_len = 0; /* keep reading; stop keeping events */
        return 0;
    }
    if ((size_t)r->n_events == s->events_cap) {
        size_t cap = s->events_cap ? s->events_cap * 2 : 64;
        char **grown = realloc(r->events, sizeof *grown * cap);
        if (!grown)
            return 1;
        r->events = grown;
        s->events_cap = cap;
    }
    char **ev = r->events;
    ev[r->n_events] = strndup(s->data ? s->data : "", s->data_len);
    s->data_len = 0;
    if (!ev[r->n_events])
        return 1;
    int index = r->n_events++;
    s->events = r->n_events;
    pthread_cond_broadcast(&s->cv);
    if (s->o.on_event) {
        pthread_mutex_unlock(&s->mu);
        abort_now = s->o.on_event(s->o.ud, index, ev[index]);
        pthread_mutex_lock(&s->mu);
    }
    if (s->o.abort_after_events > 0 && r->n_events >= s->o.abort_after_events)
        abort_now = 1;
    return abort_now;
}

static int sse_line(struct e2e_stream *s)
{
    char *l = s->line;
    size_t n = s->line_len;
    if (n && l[n - 1] == '\r')
        n--;
    if (n == 0)
        return sse_event(s);
    if (n >= 5 && memcmp(l, "data:", 5) == 0) {
        size_t off = (n > 5 && l[5] == ' ') ? 6 : 5;
        if (s->has_data && append(&s->data, &s->data_len, &s->data_cap, "\n", 1))
            return 1;
        if (append(&s->data, &s->data_len, &s->data_cap, l + off, n - off))
            return 1;
        s->has_data = 1;
    }
    return 0;
}

static int sse_feed(struct e2e_stream *s, const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t run = nl ? (size_t)(nl - p) : n;
        if (append(&s->line, &s->line_len, &s->line_cap, p, run))
            return 1;
        if (!nl)
            break;
        int stop = sse_line(s);
        s->line_len = 0;
        if (stop)
            return 1;
        p += run + 1;
        n -= run + 1;
    }
    return 0;
}

/* ---- curl callbacks ---------------------------------------------------------------------- */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct e2e_stream *s = ud;
    struct e2e_resp *r = s->resp;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0 && r->headers) {
        r->headers[0] = '\0'; /* a new block (after 100 Continue): keep only the last */
    }
    size_t cur = r->headers ? strlen(r->headers) : 0;
    char *h = realloc(r->headers, cur + len + 1);
    if (!h)
        return 0;
    memcpy(h + cur, p, len);
    h[cur + len] = '\0';
    r->headers = h;
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct e2e_stream *s = ud;
    struct e2e_resp *r = s->resp;
    size_t len = size * n;
    int stop = 0;

    pthread_mutex_lock(&s->mu);
    if (s->o.pause_after_bytes && s->received >= s->o.pause_after_bytes && !s->pause_used) {
        /* curl hands these same bytes again after the unpause */
        s->paused = 1;
        s->pause_used = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return CURL_WRITEFUNC_PAUSE;
    }
    if (!s->sse) {
        char *ct = NULL;
        curl_easy_getinfo(s->easy, CURLINFO_CONTENT_TYPE, &ct);
        s->sse = ct && strstr(ct, "text/event-stream") ? 1 : -1;
    }
    if (append(&r->body, &r->body_len, &s->body_cap, p, len))
        stop = 1;
    s->received += len;
    if (!stop && s->sse > 0)
        stop = sse_feed(s, p, len);
    if (s->o.abort_after_bytes && s->received >= s->o.abort_after_bytes)
        stop = 1;
    if (stop)
        r->aborted = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return stop ? 0 : len;
}

/* ---- the engine -------------------------------------------------------------------------- */

static struct e2e_stream *xfer_new_n(const char *method, const char *url, const char *body,
                                     size_t body_len, const char *headers,
                                     const struct e2e_stream_opts *o)
{
    pthread_once(&curl_once, curl_init_once);
    struct e2e_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (o)
        s->o = *o;
    s->resp = calloc(1, sizeof *s->resp);
    s->url = strdup(url);
    s->body = body ? malloc(body_len + 1) : NULL;
    if (s->body) {
        memcpy(s->body, body, body_len);
        s->body[body_len] = '\0';
        s->body_len = body_len;
    }
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (s->resp) {
        s->resp->body = calloc(1, 1);
        s->body_cap = 1;
    }
    if (!s->resp || !s->url || (body && !s->body) || !s->easy || !s->multi || !s->resp->body)
        return s; /* xfer_run reports the failure */

    int has_ct = 0;
    for (const char *h = headers; h && *h;) {
        const char *eol = strchr(h, '\n');
        size_t n = eol ? (size_t)(eol - h) : strlen(h);
        char *line = strndup(h, n);
        if (line && n) {
            has_ct |= strncasecmp(line, "content-type:", 13) == 0;
            s->hdrs = curl_slist_append(s->hdrs, line);
        }
        free(line);
        h += n + (eol ? 1 : 0);
    }
    if (body && !has_ct)
        s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/json");
    s->hdrs = curl_slist_append(s->hdrs, "Expect:");

    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->resp->error);
    curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
    if (s->body) {
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
    }
    if (strcmp(method, "GET") == 0 && !s->body)
        curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
        curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, method);
    s->deadline = now_ms() + (s->o.timeout_ms > 0 ? s->o.timeout_ms : 30000);
    curl_multi_add_handle(s->multi, s->easy);
    return s;
}

static struct e2e_stream *xfer_new(const char *method, const char *url, const char *body,
                                   const char *headers, const struct e2e_stream_opts *o)
{
    return xfer_new_n(method, url, body, body ? strlen(body) : 0, headers, o);
}

static void *xfer_run(void *arg)
{
    struct e2e_stream *s = arg;
    struct e2e_resp *r = s->resp;
    int running = 1;

    if (!r || !s->easy || !s->multi || !r->body) {
        if (r) {
            r->curl_code = CURLE_OUT_OF_MEMORY;
            snprintf(r->error, sizeof r->error, "e2e: out of memory");
        }
        goto done;
    }
    while (running) {
        pthread_mutex_lock(&s->mu);
        int abort_req = s->abort_req, resume = s->resume_req && s->paused;
        if (resume)
            s->paused = s->resume_req = 0;
        pthread_mutex_unlock(&s->mu);
        if (abort_req) {
            r->aborted = 1;
            break;
        }
        if (resume)
            curl_easy_pause(s->easy, CURLPAUSE_CONT);
        if (curl_multi_perform(s->multi, &running) != CURLM_OK || !running)
            break;
        int64_t left = s->deadline - now_ms();
        if (left <= 0) {
            r->timed_out = 1;
            break;
        }
        curl_multi_poll(s->multi, NULL, 0, left < 100 ? (int)left : 100, NULL);
    }
    int msgs;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(s->multi, &msgs)))
        if (msg->msg == CURLMSG_DONE)
            r->curl_code = (int)msg->data.result;
    if (running && !r->curl_code)
        r->curl_code = r->timed_out ? CURLE_OPERATION_TIMEDOUT : CURLE_ABORTED_BY_CALLBACK;
    if (r->curl_code && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror((CURLcode)r->curl_code));
    long code = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
    r->status = (int)code;
    /* An unterminated last event still counts: a stream cut mid-way is what tests look at. */
    pthread_mutex_lock(&s->mu);
    if (s->sse > 0 && s->line_len)
        sse_line(s);
    pthread_mutex_unlock(&s->mu);
done:
    if (s->multi && s->easy)
        curl_multi_remove_handle(s->multi, s->easy); /* closes the connection if still open */
    if (s->easy)
        curl_easy_cleanup(s->easy);
    s->easy = NULL;
    pthread_mutex_lock(&s->mu);
    s->finished = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static struct e2e_resp *xfer_free(struct e2e_stream *s)
{
    struct e2e_resp *r = s->resp;
    if (s->multi)
        curl_multi_cleanup(s->multi);
    curl_slist_free_all(s->hdrs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->url);
    free(s->body);
    free(s->line);
    free(s->data);
    free(s);
    return r;
}

struct e2e_resp *e2e_request(const char *method, const char *url, const char *body,
                             const char *headers, int timeout_ms)
{
    struct e2e_stream_opts o = {.timeout_ms = timeout_ms};
    struct e2e_stream *s = xfer_new(method, url, body, headers, &o);
    if (!s)
        return NULL;
    xfer_run(s);
    return xfer_free(s);
}

struct e2e_resp *e2e_request_n(const char *method, const char *url, const char *body, size_t len,
                               const char *headers, int timeout_ms)
{
    struct e2e_stream_opts o = {.timeout_ms = timeout_ms};
    struct e2e_stream *s = xfer_new_n(method, url, body, len, headers, &o);
    if (!s)
        return NULL;
    xfer_run(s);
    return xfer_free(s);
}

struct e2e_stream *e2e_stream_start(const char *url, const char *json, const char *headers,
                                    const struct e2e_stream_opts *opts)
{
    struct e2e_stream *s = xfer_new("POST", url, json, headers, opts);
    if (!s)
        return NULL;
    if (pthread_create(&s->thread, NULL, xfer_run, s) != 0) {
        xfer_run(s); /* no thread to spare: degrade to a blocking transfer */
        return s;
    }
    s->threaded = 1;
    return s;
}

enum wait_what { W_EVENTS, W_BYTES, W_PAUSED };

static int reached(const struct e2e_stream *s, enum wait_what w, size_t n)
{
    switch (w) {
    case W_EVENTS:
        return s->events >= (int)n;
    case W_BYTES:
        return s->received >= n;
    default:
        return s->paused;
    }
}

/* An absolute CLOCK_MONOTONIC time `ms` from now, for the stream's condvar. */
static void abs_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    int64_t ns = ts->tv_nsec + (ms % 1000) * 1000000;
    ts->tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

static int wait_until(struct e2e_stream *s, enum wait_what w, size_t n, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int ok;
    pthread_mutex_lock(&s->mu);
    while (!(ok = reached(s, w, n)) && !s->finished) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        abs_in(&ts, left);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

int e2e_stream_wait_events(struct e2e_stream *s, int n, int timeout_ms)
{
    return wait_until(s, W_EVENTS, (size_t)(n > 0 ? n : 1), timeout_ms);
}

int e2e_stream_wait_bytes(struct e2e_stream *s, size_t n, int timeout_ms)
{
    return wait_until(s, W_BYTES, n, timeout_ms);
}

int e2e_stream_wait_paused(struct e2e_stream *s, int timeout_ms)
{
    return wait_until(s, W_PAUSED, 0, timeout_ms);
}

static void poke(struct e2e_stream *s, int abort_req)
{
    pthread_mutex_lock(&s->mu);
    if (abort_req)
        s->abort_req = 1;
    else
        s->resume_req = 1;
    pthread_mutex_unlock(&s->mu);
    curl_multi_wakeup(s->multi);
}

void e2e_stream_resume(struct e2e_stream *s)
{
    poke(s, 0);
}

void e2e_stream_abort(struct e2e_stream *s)
{
    poke(s, 1);
}

struct e2e_resp *e2e_stream_finish(struct e2e_stream *s, int timeout_ms)
{
    if (!s)
        return NULL;
    if (s->threaded) {
        int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
        pthread_mutex_lock(&s->mu);
        while (!s->finished) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                s->abort_req = 1;
                s->resp->timed_out = 1;
                break;
            }
            struct timespec ts;
            abs_in(&ts, left);
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        pthread_mutex_unlock(&s->mu);
        curl_multi_wakeup(s->multi);
        pthread_join(s->thread, NULL);
    }
    return xfer_free(s);
}

/* ---- responses --------------------------------------------------------------------------- */

const char *e2e_resp_header(struct e2e_resp *r, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1, *e = p + n;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            /* kept with the response so the caller need not free it */
            char **nv = realloc(r->hv_, sizeof *nv * (size_t)(r->nhv_ + 1));
            if (!nv)
                return NULL;
            r->hv_ = nv;
            nv[r->nhv_] = strndup(v, (size_t)(e - v));
            return nv[r->nhv_] ? nv[r->nhv_++] : NULL;
        }
        p += n + (eol ? 1 : 0);
    }
    return NULL;
}

cJSON *e2e_resp_json(struct e2e_resp *r)
{
    if (!r->json_ && r->body)
        r->json_ = cJSON_ParseWithLength(r->body, r->body_len);
    return r->json_;
}

cJSON *e2e_resp_event_json(struct e2e_resp *r, int i)
{
    if (i < 0 || i >= r->n_events)
        return NULL;
    if (!r->event_json_) {
        r->event_json_ = calloc((size_t)r->n_events, sizeof *r->event_json_);
        if (!r->event_json_)
            return NULL;
    }
    if (!r->event_json_[i])
        r->event_json_[i] = cJSON_Parse(r->events[i]);
    return r->event_json_[i];
}

int e2e_resp_done(const struct e2e_resp *r)
{
    return r->n_events > 0 && strcmp(r->events[r->n_events - 1], "[DONE]") == 0;
}

const char *e2e_resp_text(struct e2e_resp *r)
{
    if (r->text_)
        return r->text_;
    size_t len = 0, cap = 0;
    char *t = NULL;
    if (append(&t, &len, &cap, "", 0))
        return "";
    for (int i = 0; i < r->n_events; i++) {
        cJSON *ev = e2e_resp_event_json(r, i);
        cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev, "choices"), 0);
        cJSON *delta = cJSON_GetObjectItemCaseSensitive(c0, "delta");
        cJSON *content = cJSON_GetObjectItemCaseSensitive(delta, "content");
        if (cJSON_IsString(content))
            append(&t, &len, &cap, content->valuestring, strlen(content->valuestring));
    }
    r->text_ = t;
    return t;
}

void e2e_resp_free(struct e2e_resp *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_events; i++) {
        free(r->events[i]);
        if (r->event_json_)
            cJSON_Delete(r->event_json_[i]);
    }
    free(r->events);
    free(r->event_json_);
    cJSON_Delete(r->json_);
    free(r->text_);
    for (int i = 0; i < r->nhv_; i++)
        free(r->hv_[i]);
    free(r->hv_);
    free(r->headers);
    free(r->body);
    free(r);
}

int e2e_raw_send(int port, const char *req, int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t len = strlen(req);
    cr_assert_eq(write(fd, req, len), (ssize_t)len);
    return fd;
}

/* The server side of fd's connection in /proc/net/tcp has an inode once the server accept()ed
 * it; until then it sits in the listen backlog, where closing the listener resets it. */
static int accepted(int port, int client_port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return -1;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned lport, rport;
        unsigned long inode;
        if (sscanf(line, " %*d: %*8[0-9A-Fa-f]:%x %*8[0-9A-Fa-f]:%x %*x %*s %*s %*x %*d %*d %lu",
                   &lport, &rport, &inode) == 3 &&
            (int)lport == port && (int)rport == client_port && inode != 0)
            found = 1;
    }
    fclose(f);
    return found;
}

int e2e_raw_wait_accepted(int fd, int port, int timeout_ms)
{
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    if (getsockname(fd, (struct sockaddr *)&me, &len) != 0)
        return -1;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int a = accepted(port, ntohs(me.sin_port));
        if (a != 0)
            return a > 0 ? 0 : -1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
            return -1;
        sched_yield();
    }
}

int e2e_raw_status(int fd)
{
    char buf[512] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int status = 0;
    if (n > 12)
        sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}
