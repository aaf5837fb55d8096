/*
 * mock_serve.c - answering a request: the body as served ({{base}} expanded, truncated,
 * injected), the content reader that paces it chunk by chunk, and the timer thread.
 *
 * Waiting never blocks an MHD thread. A request that must wait (headers delay, chunk delay,
 * stall) is "parked": suspended, with one entry in the timer heap. The timer thread wakes it
 * when it is due, and meanwhile peeks at its socket every MOCK_LIVENESS_MS, because a
 * suspended connection does not notice its client leaving and the tests need to see that.
 * Invariant: a request is parked <=> it has exactly one heap entry; so it cannot complete
 * (and be freed) while the timer may still touch it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "mock_int.h"

enum { STAGE_HELD = 3, STAGE_SENDING = 4 };

int64_t mock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mock_deadline(struct timespec *ts, int64_t at_ms)
{
    ts->tv_sec = (time_t)(at_ms / 1000);
    ts->tv_nsec = (long)(at_ms % 1000) * 1000000L;
}

void mreq_free(struct mreq *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r->uri);
    free(r->in);
    free(r->out);
    free(r);
}

/* ---- the timer heap ---------------------------------------------------------------------- */

static int heap_push(struct mock *m, int64_t wake, struct mreq *r)
{
    if (m->nheap == m->capheap) {
        size_t cap = m->capheap ? m->capheap * 2 : 64;
        struct mpark *h = realloc(m->heap, cap * sizeof *h);
        if (!h)
            return -1;
        m->heap = h;
        m->capheap = cap;
    }
    size_t i = m->nheap++;
    while (i > 0 && m->heap[(i - 1) / 2].wake > wake) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i].wake = wake;
    m->heap[i].r = r;
    return 0;
}

static struct mreq *heap_pop(struct mock *m)
{
    struct mreq *top = m->heap[0].r;
    struct mpark last = m->heap[--m->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->nheap)
            break;
        if (c + 1 < m->nheap && m->heap[c + 1].wake < m->heap[c].wake)
            c++;
        if (m->heap[c].wake >= last.wake)
            break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    if (m->nheap)
        m->heap[i] = last;
    return top;
}

/* Caller holds r->mu. due: monotonic ms, or -1 for "until the client leaves". -1 when the
 * mock is stopping (the caller then ends the request instead). */
static int park(struct mreq *r, int64_t due)
{
    struct mock *m = r->m;
    int64_t wake = mock_now_ms() + MOCK_LIVENESS_MS;
    int rc = -1;

    if (due >= 0 && due < wake)
        wake = due;
    pthread_mutex_lock(&m->tmu);
    if (!m->stopping && heap_push(m, wake, r) == 0) {
        pthread_cond_signal(&m->tcv);
        rc = 0;
    }
    pthread_mutex_unlock(&m->tmu);
    if (rc == 0) {
        r->parked = 1;
        r->due = due;
        MHD_suspend_connection(r->conn);
    }
    return rc;
}

/* Caller holds r->mu. */
static void unpark(struct mreq *r)
{
    r->parked = 0;
    MHD_resume_connection(r->conn);
}

static int peer_alive(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return 1;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

static void wake_one(struct mock *m, struct mreq *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t now = mock_now_ms();
    if (!peer_alive(r->fd))
        r->gone = 1;
    if (r->gone || (r->due >= 0 && now >= r->due)) {
        unpark(r);
    } else {
        int64_t wake = now + MOCK_LIVENESS_MS;
        if (r->due >= 0 && r->due < wake)
            wake = r->due;
        pthread_mutex_lock(&m->tmu);
        int queued = !m->stopping && heap_push(m, wake, r) == 0;
        pthread_mutex_unlock(&m->tmu);
        if (!queued)
            unpark(r); /* stopping: the resumed request sees it and ends */
    }
    pthread_mutex_unlock(&r->mu);
}

static void *timer_main(void *arg)
{
    struct mock *m = arg;
    pthread_mutex_lock(&m->tmu);
    while (!m->stopping) {
        int64_t now = mock_now_ms();
        if (m->nheap == 0) {
            pthread_cond_wait(&m->tcv, &m->tmu);
        } else if (m->heap[0].wake > now) {
            struct timespec ts;
            mock_deadline(&ts, m->heap[0].wake);
            pthread_cond_timedwait(&m->tcv, &m->tmu, &ts);
        } else {
            struct mreq *r = heap_pop(m);
            pthread_mutex_unlock(&m->tmu);
            wake_one(m, r);
            pthread_mutex_lock(&m->tmu);
        }
    }
    pthread_mutex_unlock(&m->tmu);
    return NULL;
}

int mserve_timer_start(struct mock *m)
{
    if (pthread_create(&m->timer, NULL, timer_main, m) != 0)
        return -1;
    m->timer_started = 1;
    return 0;
}

/* Stop the timer, then resume whatever it held so MHD can close those connections: MHD must
 * not be stopped with suspended connections. */
void mserve_timer_stop(struct mock *m)
{
    pthread_mutex_lock(&m->tmu);
    m->stopping = 1;
    pthread_cond_broadcast(&m->tcv);
    pthread_mutex_unlock(&m->tmu);
    if (m->timer_started)
        pthread_join(m->timer, NULL);
    m->timer_started = 0;
    pthread_mutex_lock(&m->tmu);
    struct mpark *held = m->heap;
    size_t n = m->nheap;
    m->heap = NULL;
    m->nheap = m->capheap = 0;
    pthread_mutex_unlock(&m->tmu);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&held[i].r->mu);
        unpark(held[i].r);
        pthread_mutex_unlock(&held[i].r->mu);
    }
    free(held);
}

int mock_stopping(struct mock *m)
{
    pthread_mutex_lock(&m->tmu);
    int s = m->stopping;
    pthread_mutex_unlock(&m->tmu);
    return s;
}

/* ---- the body as served ------------------------------------------------------------------ */

/* The end of the chunk that starts at pos. */
static size_t next_boundary(const struct mroute *rt, const char *b, size_t len, size_t pos)
{
    switch (rt ? rt->chunk : MCHUNK_WHOLE) {
    case MCHUNK_BYTES:
        return len - pos > rt->chunk_size ? pos + rt->chunk_size : len;
    case MCHUNK_LINES: {
        const char *nl = memchr(b + pos, '\n', len - pos);
        return nl ? (size_t)(nl - b) + 1 : len;
    }
    case MCHUNK_EVENTS:
        /* An SSE event ends at a blank line, whether lines end in LF or CRLF. */
        for (size_t i = pos; i < len; i++) {
            if (b[i] != '\n')
                continue;
            size_t j = i + 1;
            if (j < len && b[j] == '\r')
                j++;
            if (j < len && b[j] == '\n')
                return j + 1;
        }
        return len;
    case MCHUNK_FRAMES: {
        if (len - pos < 16)
            return len;
        const unsigned char *u = (const unsigned char *)b + pos;
        size_t total = (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
        return total >= 16 && total <= len - pos ? pos + total : len;
    }
    default:
        return len;
    }
}

/* The byte offset after `chunks` chunks. */
static size_t after_chunks(const struct mroute *rt, const char *b, size_t len, int chunks)
{
    size_t pos = 0;
    for (int i = 0; i < chunks && pos < len; i++)
        pos = next_boundary(rt, b, len, pos);
    return pos;
}

/* s with every "{{base}}" replaced by base (malloc'ed). */
static char *expand(const char *s, size_t len, const char *base, size_t *out_len)
{
    static const char tag[] = "{{base}}";
    size_t tl = sizeof tag - 1, bl = strlen(base), n = 0, count = 0;
    for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), tag, tl)); p += tl)
        count++;
    char *out = malloc(len + count * bl + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        const char *hit = count ? memmem(s + i, len - i, tag, tl) : NULL;
        size_t run = hit ? (size_t)(hit - (s + i)) : len - i;
        memcpy(out + n, s + i, run);
        n += run;
        i += run;
        if (hit) {
            memcpy(out + n, base, bl);
            n += bl;
            i += tl;
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

static long min_off(long a, long b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static int prepare(struct mreq *r)
{
    const struct mroute *rt = r->rt;
    size_t len;
    char *body = expand(rt->body, rt->body_len, r->m->url, &len);
    if (!body)
        return -1;
    if (rt->truncate_at >= 0 && (size_t)rt->truncate_at < len)
        len = (size_t)rt->truncate_at;
    if (rt->inject_after >= 0) {
        size_t off = after_chunks(rt, body, len, rt->inject_after);
        size_t tail = rt->inject_end ? 0 : len - off;
        char *nb = malloc(off + rt->inject_len + tail + 1);
        if (!nb) {
            free(body);
            return -1;
        }
        memcpy(nb, body, off);
        memcpy(nb + off, rt->inject, rt->inject_len);
        memcpy(nb + off + rt->inject_len, body + off, tail);
        len = off + rt->inject_len + tail;
        nb[len] = '\0';
        free(body);
        body = nb;
    }
    r->out = body;
    r->out_len = len;
    r->stall_at = rt->stall_at;
    r->close_at = rt->close_at;
    if (rt->stall_chunks >= 0)
        r->stall_at = min_off(r->stall_at, (long)after_chunks(rt, body, len, rt->stall_chunks));
    if (rt->close_chunks >= 0)
        r->close_at = min_off(r->close_at, (long)after_chunks(rt, body, len, rt->close_chunks));
    return 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct mreq *r = cls;
    ssize_t ret;
    (void)pos;

    pthread_mutex_lock(&r->mu);
    if (r->gone || mock_stopping(r->m)) {
        ret = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (r->close_at >= 0 && r->sent >= (size_t)r->close_at) {
        r->fault = 1;
        ret = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (r->sent >= r->out_len) {
        ret = MHD_CONTENT_READER_END_OF_STREAM;
    } else if (r->stall_at >= 0 && r->sent >= (size_t)r->stall_at) {
        ret = park(r, -1) ? MHD_CONTENT_READER_END_WITH_ERROR : 0;
    } else if (r->due < 0 || mock_now_ms() < r->due) {
        ret = park(r, r->due) ? MHD_CONTENT_READER_END_WITH_ERROR : 0;
    } else {
        if (r->sent == r->chunk_end)
            r->chunk_end = next_boundary(r->rt, r->out, r->out_len, r->sent);
        size_t lim = r->chunk_end;
        if (r->close_at >= 0 && lim > (size_t)r->close_at)
            lim = (size_t)r->close_at;
        if (r->stall_at >= 0 && lim > (size_t)r->stall_at)
            lim = (size_t)r->stall_at;
        size_t n = lim - r->sent < max ? lim - r->sent : max;
        memcpy(buf, r->out + r->sent, n);
        r->sent += n;
        if (r->sent == r->chunk_end && r->rt && r->rt->chunk_delay_ms > 0)
            r->due = mock_now_ms() + r->rt->chunk_delay_ms;
        ret = (ssize_t)n;
    }
    pthread_mutex_unlock(&r->mu);
    return ret;
}

static enum MHD_Result queue(struct mreq *r, int status, const struct mpair *hdrs, int nhdrs)
{
    uint64_t size = (r->rt && r->rt->streamed) ? MHD_SIZE_UNKNOWN : r->out_len;
    struct MHD_Response *resp = MHD_create_response_from_callback(size, 16384, reader, r, NULL);
    if (!resp)
        return MHD_NO;
    for (int i = 0; i < nhdrs; i++) {
        size_t n;
        char *v = expand(hdrs[i].value, strlen(hdrs[i].value), r->m->url, &n);
        if (!v || MHD_add_response_header(resp, hdrs[i].name, v) != MHD_YES)
            fprintf(stderr, "mockprov: header %s refused\n", hdrs[i].name);
        free(v);
    }
    int body_delay = r->rt ? r->rt->body_delay_ms : 0;
    pthread_mutex_lock(&r->mu);
    r->due = body_delay < 0 ? -1 : mock_now_ms() + body_delay;
    r->stage = STAGE_SENDING;
    pthread_mutex_unlock(&r->mu);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result answer_plain(struct mreq *r, int status, const char *json)
{
    static const struct mpair ct = {"Content-Type", "application/json"};
    r->out = strdup(json);
    if (!r->out)
        return MHD_NO;
    r->out_len = strlen(json);
    r->stall_at = r->close_at = -1;
    return queue(r, status, &ct, 1);
}

enum MHD_Result mserve_answer(struct mreq *r)
{
    const struct mroute *rt = r->rt;

    if (r->too_big)
        return answer_plain(r, 413,
                            "{\"error\":{\"message\":\"mockprov: request body too large\","
                            "\"type\":\"mockprov\"}}");
    if (!rt) {
        const char *q = strchr(r->uri, '?');
        char msg[600];
        snprintf(msg, sizeof msg, "mockprov: no route for %s %.*s", r->method,
                 (int)(q ? (size_t)(q - r->uri) : strlen(r->uri)) & 0x1ff, r->uri);
        cJSON *doc = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(doc, "error");
        cJSON_AddStringToObject(err, "message", msg);
        cJSON_AddStringToObject(err, "type", "mockprov_no_route");
        char *text = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        enum MHD_Result ret = text ? answer_plain(r, 404, text) : MHD_NO;
        free(text);
        return ret;
    }
    if (rt->close_before_headers) {
        r->fault = 1;
        return MHD_NO;
    }
    if (prepare(r))
        return answer_plain(r, 500, "{\"error\":{\"message\":\"mockprov: out of memory\"}}");
    if (rt->headers_delay_ms != 0) {
        int64_t due = rt->headers_delay_ms < 0 ? -1 : mock_now_ms() + rt->headers_delay_ms;
        pthread_mutex_lock(&r->mu);
        r->stage = STAGE_HELD;
        int rc = park(r, due);
        pthread_mutex_unlock(&r->mu);
        return rc ? MHD_NO : MHD_YES;
    }
    return queue(r, rt->status, rt->hdrs, rt->nhdrs);
}

/* The access handler runs again after a headers delay: answer now, unless the client left. */
enum MHD_Result mserve_resumed(struct mreq *r)
{
    pthread_mutex_lock(&r->mu);
    int parked = r->parked, gone = r->gone, stage = r->stage;
    pthread_mutex_unlock(&r->mu);
    if (stage != STAGE_HELD || parked)
        return MHD_YES; /* a spurious call: the timer resumes us when due */
    if (gone || mock_stopping(r->m))
        return MHD_NO;
    return queue(r, r->rt->status, r->rt->hdrs, r->rt->nhdrs);
}
