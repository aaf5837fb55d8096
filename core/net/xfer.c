/*
 * xfer - one upstream transfer's curl side: its easy handle set up from the request, the
 * header and body callbacks that feed the transfer's ops, and curl's result mapped to ours.
 * Runs on the owning engine's thread (see upstream.h).
 */
#include "net/upstream_int.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

const char *gw_xfer_result_name(int r)
{
    switch (r) {
    case GW_XFER_OK:
        return "ok";
    case GW_XFER_ECONNECT:
        return "connect_error";
    case GW_XFER_ETIMEOUT_CONNECT:
        return "connect_timeout";
    case GW_XFER_ETIMEOUT_FIRST:
        return "first_byte_timeout";
    case GW_XFER_ETIMEOUT_IDLE:
        return "idle_timeout";
    case GW_XFER_ETIMEOUT_TOTAL:
        return "total_timeout";
    case GW_XFER_ECANCELLED:
        return "cancelled";
    case GW_XFER_EIO:
        return "connection_error";
    default:
        return "aborted";
    }
}

void gw_xfer_unref(struct gw_xfer *x)
{
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    if (x->easy)
        gw_upstream_easy_put(x->u, x->easy, x->reusable);
    curl_slist_free_all(x->hdrs);
    if (x->body_owned)
        free(x->body);
    free(x->method);
    free(x->url);
    free(x);
}

/* A lent body curl has sent in full (redirects are off, so it is never sent again) goes back
 * to its owner, who may free it while a long answer streams. */
static void body_sent(struct gw_xfer *x)
{
    curl_off_t up = 0;
    if (!x->body || x->body_owned || !x->ops->on_body_sent ||
        curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &up) != CURLE_OK ||
        up < (curl_off_t)x->req.body_len)
        return;
    x->body = NULL;
    x->ops->on_body_sent(x->ud);
}

size_t gw_xfer_header_cb(char *p, size_t size, size_t n, void *ud)
{
    struct gw_xfer *x = ud;
    size_t len = size * n;
    x->last_byte_ms = gw_upstream_now_ms();
    x->got_byte = 1;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return len; /* a status line: a new header block starts (1xx, then the final) */
    size_t l = len;
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        l--;
    if (l == 0) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && !x->status_sent) {
            x->status_sent = 1;
            if (x->ops->on_status(x->ud, (int)code) < 0) {
                x->result_override = GW_XFER_EABORT;
                return 0;
            }
            body_sent(x);
        }
        return len;
    }
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 100 && code < 200)
        return len;
    const char *colon = memchr(p, ':', l);
    if (!colon)
        return len;
    const char *v = colon + 1;
    while (v < p + l && (*v == ' ' || *v == '\t'))
        v++;
    if (x->ops->on_header(x->ud, p, (size_t)(colon - p), v, (size_t)(p + l - v)) < 0) {
        x->result_override = GW_XFER_EABORT;
        return 0;
    }
    return len;
}

size_t gw_xfer_write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct gw_xfer *x = ud;
    size_t len = size * n;
    x->last_byte_ms = gw_upstream_now_ms();
    x->got_byte = 1;
    if (!x->status_sent) {
        /* Some servers send a body with no header block end seen (HTTP/0.9-ish); treat the
         * status as known now. */
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        x->status_sent = 1;
        if (x->ops->on_status(x->ud, (int)code) < 0) {
            x->result_override = GW_XFER_EABORT;
            return 0;
        }
    }
    int rc = x->ops->on_data(x->ud, p, len);
    if (rc == 1) {
        x->paused = 1;
        x->was_paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc < 0) {
        x->result_override = GW_XFER_EABORT;
        return 0;
    }
    return len;
}

static uint64_t url_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The parsed form of url, kept for the engine's life (see URL_CACHE_MAX); NULL: pass the
 * text. Any thread (the caller's, in gw_upstream_start). */
static CURLU *parsed_url(struct gw_upstream *u, const char *url)
{
    uint64_t h = url_hash(url);
    CURLU *found = NULL;
    pthread_mutex_lock(&u->pool_lock);
    for (int i = 0; i < u->nurls && !found; i++)
        if (u->urls[i].hash == h && strcmp(u->urls[i].text, url) == 0)
            found = u->urls[i].h;
    int full = u->nurls >= URL_CACHE_MAX;
    pthread_mutex_unlock(&u->pool_lock);
    if (found || full)
        return found;
    /* The flags curl 7.88 parses CURLOPT_URL with (no CURLOPT_DISALLOW_USERNAME_IN_URL, no
     * CURLOPT_PATH_AS_IS): the same URL results. A URL it rejects stays text, so curl fails
     * the transfer as before. */
    CURLU *p = curl_url();
    char *text = strdup(url);
    if (!p || !text ||
        curl_url_set(p, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) !=
            CURLUE_OK) {
        curl_url_cleanup(p);
        free(text);
        return NULL;
    }
    pthread_mutex_lock(&u->pool_lock);
    for (int i = 0; i < u->nurls && !found; i++) /* another thread may have added it */
        if (u->urls[i].hash == h && strcmp(u->urls[i].text, url) == 0)
            found = u->urls[i].h;
    if (!found && u->nurls < URL_CACHE_MAX) {
        u->urls[u->nurls].hash = h;
        u->urls[u->nurls].text = text;
        u->urls[u->nurls].h = p;
        u->nurls++;
        found = p;
        p = NULL;
        text = NULL;
    }
    pthread_mutex_unlock(&u->pool_lock);
    curl_url_cleanup(p);
    free(text);
    return found;
}

/* Called by curl each time it is about to send the request on a connection: more than once
 * means it retried on a fresh connection after a kept-alive one died (see easy_put). */
static int prereq_cb(void *ud, char *ip, char *local_ip, int port, int local_port)
{
    (void)ip, (void)local_ip, (void)port, (void)local_port;
    ((struct gw_xfer *)ud)->attempts++;
    return CURL_PREREQFUNC_OK;
}

/* The options every transfer sets alike: a handle back from a clean transfer keeps them. */
static void setup_constant(CURL *e, struct gw_upstream *u)
{
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, gw_upstream_open_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, u);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, gw_upstream_close_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, u);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, gw_xfer_header_cb);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gw_xfer_write_cb);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    /* The rest of a body past the first send goes through an upload buffer the handle keeps
     * until the transfer ends: 64 KiB by default, held for a whole stream once a prompt is
     * over about 64 KB. 16 KiB, curl's least, costs a few more sends of a large prompt. */
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
}

int gw_xfer_setup_easy(struct gw_xfer *x)
{
    int configured = 0;
    CURL *e = gw_upstream_easy_get(x->u, &configured);
    if (!e)
        return -1;
    x->easy = e;
    if (!configured)
        setup_constant(e, x->u);
    /* Every option below is set on every transfer, to this transfer's value or curl's
     * default, so nothing of a kept handle's last transfer carries over. */
    /* curl connects to and asks for the parsed form when it has one; the text, set too, is
     * its idea of the transfer's URL (CURLINFO_EFFECTIVE_URL, a retry): without it a kept
     * handle would go on naming its first transfer's URL. */
    curl_easy_setopt(e, CURLOPT_CURLU, parsed_url(x->u, x->url));
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    gw_proxyenv_apply(e, x->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)x->req.connect_timeout_ms);
    /* Held by the handle for the whole transfer: a stream asks for less (see limits() in
     * proxy/attempt.c). */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, x->req.recv_buffer > 0 ? x->req.recv_buffer : 16384L);
    /* Expect: 100-continue costs a round trip for bodies over 1 KiB; providers don't need it. */
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    for (const struct gw_header *h = x->req.headers; h; h = h->next) {
        /* "name: value" (curl copies it); on the stack unless unusually long. */
        char small[512];
        size_t ln = strlen(h->name), lv = strlen(h->value), n = ln + 2 + lv + 1;
        char *line = n <= sizeof small ? small : malloc(n);
        if (!line)
            return -1;
        memcpy(line, h->name, ln);
        memcpy(line + ln, ": ", 2);
        memcpy(line + ln + 2, h->value, lv + 1);
        struct curl_slist *s = curl_slist_append(x->hdrs, line);
        if (line != small)
            free(line);
        if (!s)
            return -1;
        x->hdrs = s;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    const char *m = x->method ? x->method : (x->body ? "POST" : "GET");
    /* A POST without a body (a job's cancel) is still a POST, with Content-Length: 0: with
     * no POSTFIELDS curl would send a GET. */
    const char *body = x->body;
    curl_off_t body_len = (curl_off_t)x->req.body_len;
    if (!body && strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)
        body = "", body_len = 0;
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, body_len);
    } else if (configured) {
        /* A fresh handle has these defaults; a kept one may hold the last transfer's body. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    const char *custom = NULL;
    if (strcmp(m, "GET") == 0 && !body)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else if (strcmp(m, "POST") != 0)
        custom = m;
    if (custom || configured)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, custom);
    return 0;
}

int gw_xfer_map_curl(struct gw_xfer *x, CURLcode rc)
{
    if (x->result_override)
        return x->result_override;
    if (rc == CURLE_OK)
        return GW_XFER_OK;
    if (rc == CURLE_OPERATION_TIMEDOUT && !x->got_byte) {
        double ct = 0;
        curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME, &ct);
        return ct > 0 ? GW_XFER_ETIMEOUT_FIRST : GW_XFER_ETIMEOUT_CONNECT;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_SSL_CONNECT_ERROR ||
        rc == CURLE_PEER_FAILED_VERIFICATION)
        return GW_XFER_ECONNECT;
    if (rc == CURLE_GOT_NOTHING && !x->got_byte)
        return GW_XFER_ECONNECT;
    return GW_XFER_EIO;
}
