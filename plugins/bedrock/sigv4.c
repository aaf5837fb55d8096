/* sigv4 - AWS Signature Version 4 (see sigv4.h). */
#include "sigv4.h"

#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"

/* A bounded string builder: overflows are remembered and reported once at the end. */
struct sb {
    char *p;
    size_t cap;
    size_t len;
    int over;
};

static void sb_init(struct sb *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->over = cap == 0;
    if (cap)
        p[0] = '\0';
}

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->over || n >= b->cap - b->len) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sb *b, char ch)
{
    sb_putn(b, &ch, 1);
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int is_unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm), so no time zone or libc
 * state is involved. */
int sigv4_amz_date(int64_t t, char out[17])
{
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    if (y < 0 || y > 9999)
        return AIGW_EINVAL;
    snprintf(out, 17, "%04d%02d%02dT%02d%02d%02dZ", (int)y, (int)m, (int)d, (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60));
    return 0;
}

int sigv4_payload_hash(const struct sigv4_crypto *c, const void *body, size_t len, char out[65])
{
    unsigned char h[32];
    c->sha256(body ? body : "", len, h);
    c->hex(h, sizeof h, out);
    return 0;
}

static int name_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = lower((unsigned char)*a), y = lower((unsigned char)*b);
        if (x != y || !x)
            return x - y;
    }
}

/* Header indices sorted by lowercase name; stable, so repeated headers keep their order. */
static int sorted_headers(const struct sigv4_request *r, size_t *idx)
{
    if (r->nheaders > SIGV4_MAX_HEADERS)
        return AIGW_ETOOBIG;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (!r->headers[i].name || !r->headers[i].value || !*r->headers[i].name)
            return AIGW_EINVAL;
        size_t j = i;
        while (j > 0 && name_cmp(r->headers[idx[j - 1]].name, r->headers[i].name) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return 0;
}

static void put_lower(struct sb *b, const char *s)
{
    for (; *s; s++)
        sb_putc(b, (char)lower((unsigned char)*s));
}

/* ' '.join(value.split()) */
static void put_trimmed(struct sb *b, const char *v)
{
    int first = 1;
    while (*v) {
        while (is_space(*v))
            v++;
        const char *w = v;
        while (*v && !is_space(*v))
            v++;
        if (v > w) {
            if (!first)
                sb_putc(b, ' ');
            sb_putn(b, w, (size_t)(v - w));
            first = 0;
        }
    }
}

static void put_signed_headers(struct sb *b, const struct sigv4_request *r, const size_t *idx)
{
    for (size_t k = 0; k < r->nheaders; k++) {
        const char *name = r->headers[idx[k]].name;
        if (k > 0 && name_cmp(r->headers[idx[k - 1]].name, name) == 0)
            continue;
        if (k > 0)
            sb_putc(b, ';');
        put_lower(b, name);
    }
}

struct qpair {
    const char *k;
    size_t klen;
    const char *v;
    size_t vlen;
};

static int span_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int qpair_cmp(const struct qpair *a, const struct qpair *b)
{
    int c = span_cmp(a->k, a->klen, b->k, b->klen);
    return c ? c : span_cmp(a->v, a->vlen, b->v, b->vlen);
}

static int put_query(struct sb *b, const char *q)
{
    struct qpair pairs[SIGV4_MAX_QUERY];
    size_t n = 0;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > 0) {
            if (n == SIGV4_MAX_QUERY)
                return AIGW_ETOOBIG;
            const char *eq = memchr(q, '=', len);
            struct qpair p = {q, eq ? (size_t)(eq - q) : len, eq ? eq + 1 : q + len,
                              eq ? len - (size_t)(eq - q) - 1 : 0};
            size_t j = n++;
            while (j > 0 && qpair_cmp(&pairs[j - 1], &p) > 0) {
                pairs[j] = pairs[j - 1];
                j--;
            }
            pairs[j] = p;
        }
        q = amp ? amp + 1 : q + len;
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_putc(b, '&');
        sb_putn(b, pairs[i].k, pairs[i].klen);
        sb_putc(b, '=');
        sb_putn(b, pairs[i].v, pairs[i].vlen);
    }
    return 0;
}

int sigv4_canonical_request(const struct sigv4_request *r, char *out, size_t cap, size_t *len)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t idx[SIGV4_MAX_HEADERS];
    struct sb b;
    int rc;

    if (!r->method || !r->payload_hash)
        return AIGW_EINVAL;
    if ((rc = sorted_headers(r, idx)) != 0)
        return rc;
    sb_init(&b, out, cap);
    sb_puts(&b, r->method);
    sb_putc(&b, '\n');

    const char *path = r->path && *r->path ? r->path : "/";
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if (*s == '/' || is_unreserved(*s)) {
            sb_putc(&b, (char)*s);
        } else {
            char enc[3] = {'%', hexd[*s >> 4], hexd[*s & 15]};
            sb_putn(&b, enc, 3);
        }
    }
    sb_putc(&b, '\n');
    if ((rc = put_query(&b, r->query)) != 0)
        return rc;
    sb_putc(&b, '\n');

    for (size_t k = 0; k < r->nheaders; k++) {
        const struct sigv4_header *h = &r->headers[idx[k]];
        if (k > 0 && name_cmp(r->headers[idx[k - 1]].name, h->name) == 0) {
            sb_putc(&b, ',');
        } else {
            if (k > 0)
                sb_putc(&b, '\n');
            put_lower(&b, h->name);
            sb_putc(&b, ':');
        }
        put_trimmed(&b, h->value);
    }
    if (r->nheaders)
        sb_putc(&b, '\n');
    sb_putc(&b, '\n');
    put_signed_headers(&b, r, idx);
    sb_putc(&b, '\n');
    sb_puts(&b, r->payload_hash);
    if (b.over)
        return AIGW_ETOOBIG;
    if (len)
        *len = b.len;
    return 0;
}

int sigv4_signed_headers(const struct sigv4_request *r, char *out, size_t cap)
{
    size_t idx[SIGV4_MAX_HEADERS];
    struct sb b;
    int rc = sorted_headers(r, idx);
    if (rc)
        return rc;
    sb_init(&b, out, cap);
    put_signed_headers(&b, r, idx);
    return b.over ? AIGW_ETOOBIG : 0;
}

static int scope_ok(const struct sigv4_scope *s)
{
    return s->access_key && s->secret_key && s->region && s->service && s->amz_date &&
           strlen(s->amz_date) == 16 && s->amz_date[8] == 'T';
}

static void put_scope(struct sb *b, const struct sigv4_scope *s)
{
    sb_putn(b, s->amz_date, 8);
    sb_putc(b, '/');
    sb_puts(b, s->region);
    sb_putc(b, '/');
    sb_puts(b, s->service);
    sb_puts(b, "/aws4_request");
}

int sigv4_string_to_sign(const struct sigv4_crypto *c, const struct sigv4_scope *s,
                         const char *creq, size_t creq_len, char *out, size_t cap)
{
    unsigned char h[32];
    char hex[65];
    struct sb b;
    if (!scope_ok(s))
        return AIGW_EINVAL;
    c->sha256(creq, creq_len, h);
    c->hex(h, sizeof h, hex);
    sb_init(&b, out, cap);
    sb_puts(&b, "AWS4-HMAC-SHA256\n");
    sb_puts(&b, s->amz_date);
    sb_putc(&b, '\n');
    put_scope(&b, s);
    sb_putc(&b, '\n');
    sb_puts(&b, hex);
    return b.over ? AIGW_ETOOBIG : 0;
}

int sigv4_signing_key(const struct sigv4_crypto *c, const struct sigv4_scope *s,
                      unsigned char out[32])
{
    char k0[4 + 256];
    unsigned char k1[32], k2[32], k3[32];
    size_t slen;
    int rc = AIGW_EINTERNAL;

    if (!scope_ok(s))
        return AIGW_EINVAL;
    slen = strlen(s->secret_key);
    if (slen > sizeof k0 - 4)
        return AIGW_ETOOBIG;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, s->secret_key, slen);
    if (c->hmac_sha256(k0, 4 + slen, s->amz_date, 8, k1) == 0 &&
        c->hmac_sha256(k1, 32, s->region, strlen(s->region), k2) == 0 &&
        c->hmac_sha256(k2, 32, s->service, strlen(s->service), k3) == 0 &&
        c->hmac_sha256(k3, 32, "aws4_request", 12, out) == 0)
        rc = 0;
    /* The derived keys are as good as the secret for a day; leave nothing on the stack. */
    memset(k0, 0, sizeof k0);
    memset(k1, 0, sizeof k1);
    memset(k2, 0, sizeof k2);
    memset(k3, 0, sizeof k3);
    return rc;
}

#define SIGV4_CREQ_CAP 16384

int sigv4_authorization(const struct sigv4_crypto *c, const struct sigv4_scope *s,
                        const struct sigv4_request *r, char *out, size_t cap)
{
    char creq[SIGV4_CREQ_CAP], sts[512], signed_h[1024], sig[65];
    unsigned char key[32], mac[32];
    size_t creq_len;
    struct sb b;
    int rc;

    if ((rc = sigv4_canonical_request(r, creq, sizeof creq, &creq_len)) != 0 ||
        (rc = sigv4_string_to_sign(c, s, creq, creq_len, sts, sizeof sts)) != 0 ||
        (rc = sigv4_signed_headers(r, signed_h, sizeof signed_h)) != 0 ||
        (rc = sigv4_signing_key(c, s, key)) != 0)
        return rc;
    rc = c->hmac_sha256(key, sizeof key, sts, strlen(sts), mac);
    memset(key, 0, sizeof key);
    if (rc != 0)
        return AIGW_EINTERNAL;
    c->hex(mac, sizeof mac, sig);

    sb_init(&b, out, cap);
    sb_puts(&b, "AWS4-HMAC-SHA256 Credential=");
    sb_puts(&b, s->access_key);
    sb_putc(&b, '/');
    put_scope(&b, s);
    sb_puts(&b, ", SignedHeaders=");
    sb_puts(&b, signed_h);
    sb_puts(&b, ", Signature=");
    sb_puts(&b, sig);
    return b.over ? AIGW_ETOOBIG : 0;
}
