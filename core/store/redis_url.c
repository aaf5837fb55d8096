/* redis_url - redis.url parsed and resolved, and script hashes (see redis.h). */
#include "store/redis.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes p[0..n) into dst[size]; -1 when malformed or too long. */
static int pct_decode(char *dst, size_t size, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval(p[i + 1]), b = hexval(p[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (c == '\0' || o + 1 >= size)
            return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

int gw_redis_parse_url(const char *url, struct gw_redis_addr *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof *out);
    static const char scheme[] = "redis://";
    if (!url || strncmp(url, "rediss://", 9) == 0) {
        snprintf(err, errsize,
                 "redis.url: TLS (rediss://) is not supported; "
                 "reach a TLS server through a local tunnel");
        return AIGW_ECONFIG;
    }
    if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
        snprintf(err, errsize, "redis.url must start with redis://");
        return AIGW_EINVAL;
    }
    const char *a = url + sizeof scheme - 1;
    const char *end = a + strcspn(a, "/?#");
    if (*end == '?' || *end == '#' || strchr(end, '?') || strchr(end, '#')) {
        snprintf(err, errsize, "redis.url: query and fragment are not supported");
        return AIGW_EINVAL;
    }
    /* userinfo is everything up to the last '@' of the authority (a password may hold '@'
     * only percent-encoded, but be lenient about the split). */
    const char *at = NULL;
    for (const char *p = a; p < end; p++)
        if (*p == '@')
            at = p;
    const char *host = a;
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        if (!colon) {
            snprintf(err, errsize, "redis.url: a user name needs a password (user:password@)");
            return AIGW_EINVAL;
        }
        if (pct_decode(out->user, sizeof out->user, a, (size_t)(colon - a)) != 0 ||
            pct_decode(out->password, sizeof out->password, colon + 1, (size_t)(at - colon - 1)) !=
                0) {
            snprintf(err, errsize, "redis.url: malformed or too long user or password");
            return AIGW_EINVAL;
        }
        host = at + 1;
    }
    char hostbuf[256], portbuf[24] = "6379";
    const char *hend, *port = NULL;
    if (*host == '[') {
        hend = memchr(host, ']', (size_t)(end - host));
        if (!hend) {
            snprintf(err, errsize, "redis.url: unterminated [IPv6 address]");
            return AIGW_EINVAL;
        }
        if (hend + 1 < end && hend[1] != ':') {
            snprintf(err, errsize, "redis.url: junk after ]");
            return AIGW_EINVAL;
        }
        port = hend + 1 < end ? hend + 2 : NULL;
        host++;
    } else {
        hend = memchr(host, ':', (size_t)(end - host));
        if (hend)
            port = hend + 1;
        else
            hend = end;
    }
    size_t hlen = (size_t)(hend - host);
    if (hlen == 0 || hlen >= sizeof hostbuf) {
        snprintf(err, errsize, "redis.url: missing or too long host");
        return AIGW_EINVAL;
    }
    memcpy(hostbuf, host, hlen);
    hostbuf[hlen] = '\0';
    if (port) {
        size_t plen = (size_t)(end - port);
        long v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9' || (v = v * 10 + (port[i] - '0')) > 65535)
                plen = 0;
        }
        if (plen == 0 || v == 0) {
            snprintf(err, errsize, "redis.url: bad port");
            return AIGW_EINVAL;
        }
        gw_fmt_i64(portbuf, sizeof portbuf, v);
    }
    if (*end == '/' && end[1]) {
        long db = 0;
        for (const char *p = end + 1; *p; p++) {
            if (*p < '0' || *p > '9' || (db = db * 10 + (*p - '0')) > 100000) {
                snprintf(err, errsize, "redis.url: the path must be a database number");
                return AIGW_EINVAL;
            }
        }
        out->db = (int)db;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(hostbuf, portbuf, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(err, errsize, "redis.url: cannot resolve %s: %s", hostbuf, gai_strerror(gai));
        return AIGW_ECONFIG;
    }
    memcpy(&out->sa, res->ai_addr, res->ai_addrlen);
    out->salen = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(out->display, sizeof out->display, "redis://%s%s%s:%s/%d",
             strchr(hostbuf, ':') ? "[" : "", hostbuf, strchr(hostbuf, ':') ? "]" : "", portbuf,
             out->db);
    return 0;
}

int gw_redis_script_init(struct gw_redis_script *s, const char *src)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    s->src = src;
    s->len = strlen(src);
    if (EVP_Digest(src, s->len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return AIGW_EINTERNAL;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 20; i++) {
        s->sha[2 * i] = hex[md[i] >> 4];
        s->sha[2 * i + 1] = hex[md[i] & 15];
    }
    s->sha[40] = '\0';
    return 0;
}
