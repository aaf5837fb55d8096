/* redact - mask secrets in text bound for logs and clients (see redact.h). */
#include "lib/redact.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECRETS 256

static char *secrets[MAX_SECRETS];
static size_t secret_lens[MAX_SECRETS];
/* A reload registers the new file's secrets while other threads redact: an entry is written
 * whole (and its first byte marked in starts) before the release store of the count that
 * makes readers look at it. Entries are never removed while serving. */
static atomic_size_t nsecrets;
static pthread_mutex_t register_lock = PTHREAD_MUTEX_INITIALIZER;

/* Bytes that can start something to mask: the first byte of each registered secret and the
 * first letter (either case) of each credential prefix. Every other byte is copied in runs
 * without a comparison; this scan runs over every access-log line. */
static atomic_uchar starts[256] = {
    ['a'] = 1, ['A'] = 1, ['b'] = 1, ['B'] = 1, ['k'] = 1,
    ['K'] = 1, ['s'] = 1, ['S'] = 1, ['x'] = 1, ['X'] = 1,
};

void gw_redact_register(const char *secret)
{
    if (!secret)
        return;
    size_t n = strlen(secret);
    pthread_mutex_lock(&register_lock);
    size_t have = atomic_load_explicit(&nsecrets, memory_order_relaxed);
    int known = n < 4 || have >= MAX_SECRETS;
    for (size_t i = 0; !known && i < have; i++)
        known = secret_lens[i] == n && memcmp(secrets[i], secret, n) == 0;
    char *copy = known ? NULL : strdup(secret);
    if (copy) {
        secrets[have] = copy;
        secret_lens[have] = n;
        atomic_store_explicit(&starts[(unsigned char)copy[0]], 1, memory_order_relaxed);
        atomic_store_explicit(&nsecrets, have + 1, memory_order_release);
    }
    pthread_mutex_unlock(&register_lock);
}

void gw_redact_reset(void)
{
    pthread_mutex_lock(&register_lock);
    size_t have = atomic_load(&nsecrets);
    atomic_store(&nsecrets, 0);
    for (size_t i = 0; i < have; i++)
        free(secrets[i]);
    pthread_mutex_unlock(&register_lock);
    /* Stale secret first bytes stay marked: a false start costs one comparison, not a leak. */
}

static size_t match_secret(const char *p, size_t left)
{
    size_t have = atomic_load_explicit(&nsecrets, memory_order_acquire);
    for (size_t i = 0; i < have; i++)
        if (secret_lens[i] <= left && memcmp(p, secrets[i], secret_lens[i]) == 0)
            return secret_lens[i];
    return 0;
}

static int is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}

struct cred_prefix {
    const char *s;
    size_t n;
};

#define P(lit) {lit, sizeof lit - 1}
static const struct cred_prefix prefixes[] = {
    P("Bearer "),    P("key="), P("Signature="), P("X-Amz-Signature="), P("X-Amz-Security-Token="),
    P("api-key: "), P("x-api-key: "), P("access_token\":\""),
};
#undef P

/* Length of a credential-looking token that starts at p after a known prefix, or 0. */
static size_t prefix_token(const char *p, size_t left, int at_start, size_t *skip)
{
    char lc = (char)(p[0] | 0x20);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = prefixes[i].n;
        if ((prefixes[i].s[0] | 0x20) != lc || pl >= left ||
            strncasecmp(p, prefixes[i].s, pl) != 0)
            continue;
        /* "key=" must start a query parameter, not end a word like "monkey=". */
        if (i == 1 && (at_start || (p[-1] != '?' && p[-1] != '&')))
            continue;
        size_t t = 0;
        while (pl + t < left && is_token_char(p[pl + t]))
            t++;
        if (t >= 4) {
            *skip = pl;
            return t;
        }
    }
    return 0;
}

static int alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A gateway key, "aigw_" + a 12-character public id + "_" + the secret (store/store.h): the
 * secret's length at p + *skip, or 0. Only its hash is kept, so it is never registered;
 * its shape is what gives it away. The public id stays readable. */
static size_t gateway_key(const char *p, size_t left, size_t *skip)
{
    const size_t pl = 5 + 12 + 1;
    if (left <= pl || memcmp(p, "aigw_", 5) || p[pl - 1] != '_')
        return 0;
    for (size_t i = 5; i < pl - 1; i++)
        if (!alnum(p[i]))
            return 0;
    size_t t = 0;
    while (pl + t < left && alnum(p[pl + t]))
        t++;
    if (t < 4)
        return 0;
    *skip = pl;
    return t;
}

static void put(char *dst, size_t dstsize, size_t *o, const char *s, size_t n)
{
    if (*o >= dstsize)
        return;
    size_t room = dstsize - 1 - *o;
    if (n > room)
        n = room;
    memcpy(dst + *o, s, n);
    *o += n;
}

/* Output cut at the buffer's end keeps whole UTF-8 characters: the text goes into JSON and
 * log lines, where half a character makes the whole document invalid. */
static size_t whole_chars(const char *p, size_t n)
{
    size_t k = n, back = 0;
    while (k > 0 && back < 3 && ((unsigned char)p[k - 1] & 0xc0) == 0x80)
        k--, back++;
    if (k == 0 || (unsigned char)p[k - 1] < 0xc0)
        return n;
    unsigned char lead = (unsigned char)p[k - 1];
    size_t need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    return back < need ? k - 1 : n;
}

size_t gw_redact(const char *src, size_t n, char *dst, size_t dstsize)
{
    size_t o = 0;
    if (!dstsize)
        return 0;
    for (size_t i = 0; i < n && o + 1 < dstsize;) {
        size_t run = i;
        while (run < n &&
               !atomic_load_explicit(&starts[(unsigned char)src[run]], memory_order_relaxed))
            run++;
        if (run > i) {
            put(dst, dstsize, &o, src + i, run - i);
            i = run;
            continue;
        }
        size_t m = match_secret(src + i, n - i);
        if (m) {
            put(dst, dstsize, &o, GW_REDACTED, sizeof GW_REDACTED - 1);
            i += m;
            continue;
        }
        size_t skip = 0;
        size_t t = prefix_token(src + i, n - i, i == 0, &skip);
        if (!t)
            t = gateway_key(src + i, n - i, &skip);
        if (t) {
            put(dst, dstsize, &o, src + i, skip);
            put(dst, dstsize, &o, GW_REDACTED, sizeof GW_REDACTED - 1);
            i += skip + t;
            continue;
        }
        dst[o++] = src[i++];
    }
    if (o + 1 >= dstsize)
        o = whole_chars(dst, o);
    dst[o] = '\0';
    return o;
}

int gw_redact_contains_secret(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (match_secret(s + i, n - i))
            return 1;
    return 0;
}
