/* trace_context - the W3C trace context (see trace.h): traceparent and tracestate parsing and
 * formatting, the ratio sampling decision, and trace and span id generation. Span records
 * live in trace.c. */
#include "obs/trace.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/crypto.h"

/* ---- W3C trace context --------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is invalid in traceparent */
}

/* n hex digits into n/2 bytes; -1 on a non-hex digit. *nonzero: any byte was not zero. */
static int unhex(const char *s, size_t n, uint8_t *out, int *nonzero)
{
    int any = 0;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
        any |= out[i / 2];
    }
    *nonzero = any != 0;
    return 0;
}

int gw_traceparent_parse(const char *s, size_t n, struct gw_trace_ctx *out)
{
    if (!s || n < GW_TRACEPARENT_LEN)
        return AIGW_EINVAL;
    uint8_t version, flags, tid[GW_TRACE_ID_LEN], sid[GW_SPAN_ID_LEN];
    int nz_tid, nz_sid, nz;
    if (unhex(s, 2, &version, &nz) < 0 || version == 0xff || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return AIGW_EINVAL;
    /* Version 00 is exactly this long; a later version may append fields after a '-'. */
    if (version == 0 ? n != GW_TRACEPARENT_LEN : n > GW_TRACEPARENT_LEN && s[55] != '-')
        return AIGW_EINVAL;
    if (unhex(s + 3, 32, tid, &nz_tid) < 0 || unhex(s + 36, 16, sid, &nz_sid) < 0 ||
        unhex(s + 53, 2, &flags, &nz) < 0 || !nz_tid || !nz_sid)
        return AIGW_EINVAL;
    memcpy(out->trace_id, tid, sizeof tid);
    memcpy(out->span_id, sid, sizeof sid);
    /* Only the sampled bit is ours to act on; others are not passed on as ours. */
    out->flags = flags & GW_TRACE_FLAG_SAMPLED;
    out->state = NULL;
    out->state_len = 0;
    return 0;
}

static int lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static int keychar(char c)
{
    return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

static int keychars(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!keychar(k[i]))
            return 0;
    return 1;
}

/* W3C key: simple-key (lcalpha, then up to 255 key chars), or tenant@system (tenant: lcalpha
 * or digit then up to 240; system: lcalpha then up to 13). */
static int key_ok(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at)
        return n >= 1 && n <= 256 && lcalpha(k[0]) && keychars(k + 1, n - 1);
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    return tn >= 1 && tn <= 241 && sn >= 1 && sn <= 14 &&
           (lcalpha(k[0]) || (k[0] >= '0' && k[0] <= '9')) && keychars(k + 1, tn - 1) &&
           lcalpha(at[1]) && keychars(at + 2, sn - 1);
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr excludes ',' and '='. */
static int value_ok(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

#define TRACESTATE_MEMBERS_MAX 32

int gw_tracestate_parse(const char *s, size_t n, struct gw_trace_ctx *ctx)
{
    ctx->state = NULL;
    ctx->state_len = 0;
    if (!s)
        return AIGW_EINVAL;
    const char *keys[TRACESTATE_MEMBERS_MAX];
    size_t klens[TRACESTATE_MEMBERS_MAX];
    int members = 0;
    size_t keep = 0; /* bytes of the members that fit in GW_TRACESTATE_MAX */
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        while (i < n && s[i] != ',')
            i++;
        size_t a = start, b = i; /* the member, OWS trimmed */
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (a < b) {
            const char *eq = memchr(s + a, '=', b - a);
            if (!eq || members == TRACESTATE_MEMBERS_MAX)
                return AIGW_EINVAL;
            size_t kn = (size_t)(eq - (s + a));
            if (!key_ok(s + a, kn) || !value_ok(eq + 1, b - a - kn - 1))
                return AIGW_EINVAL;
            for (int k = 0; k < members; k++)
                if (klens[k] == kn && !memcmp(keys[k], s + a, kn))
                    return AIGW_EINVAL; /* keys are unique */
            keys[members] = s + a;
            klens[members++] = kn;
            /* b only grows: the members that fit are a prefix. */
            if (b - (size_t)(keys[0] - s) <= GW_TRACESTATE_MAX)
                keep = b;
        }
        i++;
    }
    if (!members)
        return AIGW_EINVAL;
    /* Dropping members from the right is what the spec asks when a list must be cut. */
    size_t first = (size_t)(keys[0] - s);
    if (keep <= first)
        return AIGW_EINVAL; /* not even the first member fits */
    ctx->state = s + first;
    ctx->state_len = keep - first;
    return 0;
}

void gw_traceparent_format(const uint8_t trace_id[GW_TRACE_ID_LEN],
                           const uint8_t span_id[GW_SPAN_ID_LEN], uint8_t flags, char *out)
{
    memcpy(out, "00-", 3);
    gw_hex(trace_id, GW_TRACE_ID_LEN, out + 3);
    out[35] = '-';
    gw_hex(span_id, GW_SPAN_ID_LEN, out + 36);
    out[52] = '-';
    gw_hex(&flags, 1, out + 53);
    out[GW_TRACEPARENT_LEN] = '\0';
}

int gw_trace_ratio_sampled(double ratio, const uint8_t trace_id[GW_TRACE_ID_LEN])
{
    if (!(ratio > 0))
        return 0;
    if (ratio >= 1)
        return 1;
    /* The last 7 bytes are the random part W3C level 2 guarantees; sampled when they fall
     * under ratio * 2^56 (the same rule OpenTelemetry's consistent samplers use). */
    uint64_t r = 0;
    for (int i = 9; i < GW_TRACE_ID_LEN; i++)
        r = r << 8 | trace_id[i];
    /* Compared as integers: 56 bits do not fit a double's mantissa. */
    return r < (uint64_t)(ratio * 72057594037927936.0);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna), one state per thread. */
static uint64_t next64(void)
{
    static _Thread_local uint64_t st[4];
    static _Thread_local unsigned left;
    if (!left) {
        do
            gw_random_bytes(st, sizeof st);
        while (!(st[0] | st[1] | st[2] | st[3]));
        left = 65536;
    }
    left--;
    uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 45);
    return r;
}

void gw_trace_new_trace_id(uint8_t out[GW_TRACE_ID_LEN])
{
    uint64_t a, b;
    do {
        a = next64();
        b = next64();
    } while (!(a | b));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

void gw_trace_new_span_id(uint8_t out[GW_SPAN_ID_LEN])
{
    uint64_t a;
    do
        a = next64();
    while (!a);
    memcpy(out, &a, 8);
}
