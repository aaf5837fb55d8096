/*
 * secret-scan - a guard that finds credentials in requests and answers and redacts them
 * ("[SECRET]") or blocks: provider and platform API keys by their published prefixes, PEM
 * private keys, JSON Web Tokens, and (optionally tuned) high-entropy tokens.
 *
 * What is found (a token is a run of [A-Za-z0-9_-], not glued to another token character):
 *   keys     sk-ant-… (Anthropic), sk-… / sk-proj-… (OpenAI and the many sk- clones), gsk_…
 *            (Groq), xai-… (xAI), pplx-… (Perplexity), hf_… (Hugging Face), r8_… (Replicate),
 *            AIza… (Google), AKIA/ASIA… (AWS access key ids), ghp_/gho_/ghu_/ghs_/ghr_… and
 *            github_pat_… (GitHub), glpat-… (GitLab), xox[abposr]-… (Slack), sk_live_/rk_live_/
 *            sk_test_… (Stripe), npm_… (npm), SG.….… (SendGrid); each with its minimum length
 *            and letters and digits after the prefix
 *   private  -----BEGIN [...] PRIVATE KEY----- through its END line (PGP blocks too); an
 *            unterminated one is redacted to the end of the text
 *   jwt      eyJ… . eyJ… . signature (three base64url segments)
 *   entropy  a token of min_length characters or more (default 32, also counting + / =) with
 *            lower and upper case letters and digits, and a Shannon entropy of at least
 *            `entropy` bits per character (default 4.0): random keys pass; words, paths, hex
 *            digests and UUIDs do not (base64-encoded data does, and is redacted too)
 * Streaming: a token at the end of the held text is held until it ends (up to the host's hold
 * cap); a private key block from its BEGIN line until its END line.
 *
 * Config: {"action": "redact" | "block", "detect": ["keys", "private_keys", "jwt", "entropy"],
 *          "min_length": 32, "entropy": 4.0, "replacement": "[SECRET]"}
 *
 * Threading: the instance is read-only after create.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#include "common/gcommon.h"

enum { D_KEYS = 1, D_PRIVATE = 2, D_JWT = 4, D_ENTROPY = 8 };

struct ss {
    unsigned detect;
    size_t min_length;
    double entropy;
    char *replacement;
    struct gg_matcher m;
};

static const struct prefix {
    const char *p;
    size_t min; /* characters after the prefix */
    const char *what;
} prefixes[] = {
    {"sk-ant-", 20, "Anthropic API key"}, {"sk-proj-", 20, "OpenAI API key"},
    {"sk-", 20, "API key (sk-)"},         {"gsk_", 40, "Groq API key"},
    {"xai-", 40, "xAI API key"},          {"pplx-", 40, "Perplexity API key"},
    {"hf_", 30, "Hugging Face token"},    {"r8_", 30, "Replicate API token"},
    {"AIza", 35, "Google API key"},       {"AKIA", 16, "AWS access key id"},
    {"ASIA", 16, "AWS access key id"},    {"ghp_", 36, "GitHub token"},
    {"gho_", 36, "GitHub token"},         {"ghu_", 36, "GitHub token"},
    {"ghs_", 36, "GitHub token"},         {"ghr_", 36, "GitHub token"},
    {"github_pat_", 22, "GitHub token"},  {"glpat-", 20, "GitLab token"},
    {"xoxb-", 10, "Slack token"},         {"xoxa-", 10, "Slack token"},
    {"xoxp-", 10, "Slack token"},         {"xoxo-", 10, "Slack token"},
    {"xoxs-", 10, "Slack token"},         {"xoxr-", 10, "Slack token"},
    {"sk_live_", 16, "Stripe key"},       {"rk_live_", 16, "Stripe key"},
    {"sk_test_", 16, "Stripe key"},       {"npm_", 36, "npm token"},
    {"SG.", 60, "SendGrid key"},
};

static const char schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"action\":{\"enum\":[\"redact\",\"block\"]},"
    "\"detect\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"enum\":[\"keys\","
    "\"private_keys\",\"jwt\",\"entropy\"]}},"
    "\"min_length\":{\"type\":\"integer\",\"minimum\":16,\"maximum\":1024},"
    "\"entropy\":{\"type\":\"number\",\"minimum\":1,\"maximum\":6},"
    "\"replacement\":{\"type\":\"string\",\"maxLength\":64}}}";

static int tok(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Token characters plus what base64 adds (entropy tokens, JWT is base64url). */
static int b64(int c)
{
    return tok(c) || c == '+' || c == '/' || c == '=';
}

static int is_begin(const char *s, size_t n, size_t i, size_t *hdr_end, int final, int *partial)
{
    static const char begin[] = "-----BEGIN ";
    size_t k = i, bl = sizeof begin - 1;
    if (n - i < bl) {
        *partial = !final && !memcmp(s + i, begin, n - i);
        return 0;
    }
    if (memcmp(s + i, begin, bl))
        return 0;
    k += bl;
    while (k < n && k - i < 80 && ((s[k] >= 'A' && s[k] <= 'Z') || s[k] == ' ' || s[k] == '-') &&
           s[k] != '\n')
        k++;
    if (k >= n) {
        *partial = !final;
        return 0;
    }
    /* The header names a private key: "... PRIVATE KEY-----" or "... PRIVATE KEY BLOCK-----". */
    const char *h = s + i;
    size_t hl = k - i;
    for (size_t j = 0; j + 11 <= hl; j++)
        if (!memcmp(h + j, "PRIVATE KEY", 11) && hl >= 5 && !memcmp(h + hl - 5, "-----", 5)) {
            *hdr_end = k;
            return 1;
        }
    return 0;
}

static double shannon(const char *s, size_t n)
{
    unsigned count[256] = {0};
    double h = 0;
    for (size_t i = 0; i < n; i++)
        count[(unsigned char)s[i]]++;
    for (int c = 0; c < 256; c++)
        if (count[c]) {
            double p = (double)count[c] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

/* Which class a character is of: 1 lower, 2 upper, 4 digit, 0 none. */
static unsigned class_of(int c)
{
    return (c >= 'a' && c <= 'z')   ? 1u
           : (c >= 'A' && c <= 'Z') ? 2u
           : (c >= '0' && c <= '9') ? 4u
                                    : 0u;
}

/* Which classes of characters s has. */
static unsigned classes(const char *s, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        c |= class_of((unsigned char)s[i]);
    return c;
}

/* Generated keys mix letters and digits; words and hyphenated phrases do not. */
static int mixed(const char *s, size_t n)
{
    unsigned c = classes(s, n);
    return (c & 3) && (c & 4);
}

/* ---- the runs a scan has measured ----------------------------------------------------------
 * Tokens start after any byte that is not a token byte, '+', '/' and '=' included, and each
 * start used to walk its run to the end: the b64 run (for a token still growing at the end of
 * a stream), the base64 run, and the entropy of that run. A long run with many starts
 * ("NAME=NAME=...", "a/b/c/...") was quadratic: 800 KB held a worker for 59 s. The scan now
 * measures each run once, in the matcher's scratch: where it ends, and, for the base64 run,
 * which of its starts begin a high-entropy token (one right-to-left pass keeps the counts of
 * every suffix). */

struct runs {
    const char *s;
    size_t n;
    size_t any_from, any_end;   /* b64 bytes or '.': the token may still grow past them */
    size_t base_from, base_end; /* token bytes, '+', '/' */
    size_t pad_end;             /* base_end past its '=' padding */
    int pass_ready;             /* pass holds this run's verdicts */
    unsigned char *pass;        /* bit j: an entropy token starting at base_from + j passes */
    size_t pass_size;           /* bytes allocated */
};

static void runs_free(void *p)
{
    struct runs *r = p;
    if (r)
        free(r->pass);
    free(r);
}

static double xlog2x(unsigned c)
{
    return c ? (double)c * log2((double)c) : 0;
}

/* Points the memory at the text s[0, n): what was measured of another text is forgotten. */
static void runs_text(struct runs *r, const char *s, size_t n)
{
    if (r->s == s && r->n == n)
        return;
    r->s = s;
    r->n = n;
    r->any_from = r->any_end = r->base_from = r->base_end = 0;
}

/* The end of the b64-or-dot run that i is in. */
static size_t any_end(struct runs *r, const char *s, size_t n, size_t i)
{
    if (i >= r->any_from && i < r->any_end)
        return r->any_end;
    size_t e = i;
    while (e < n && (b64((unsigned char)s[e]) || s[e] == '.'))
        e++;
    r->any_from = i;
    r->any_end = e;
    return e;
}

/* The entropy test of the token s[i, i + len). */
static int entropic(const struct ss *c, const char *s, size_t len)
{
    return len >= c->min_length && classes(s, len) == 7 && shannon(s, len) >= c->entropy;
}

/* Which starts of the run at r->base_from pass the entropy test, as bits in r->pass: one
 * right-to-left pass keeps the counts of every suffix. Wanted only when a start past the
 * first is asked about (its first start's token did not pass, or another match ended inside
 * the run). 0, or AIGW_ENOMEM. */
static int base_verdicts(const struct ss *c, struct runs *r, const char *s)
{
    size_t i = r->base_from, pad = r->pad_end, bytes = (pad - i + 7) / 8;
    if (bytes > r->pass_size) {
        unsigned char *p = realloc(r->pass, bytes);
        if (!p)
            return AIGW_ENOMEM;
        r->pass = p;
        r->pass_size = bytes;
    }
    memset(r->pass, 0, bytes);
    r->pass_ready = 1;
    if (!(c->detect & D_ENTROPY) || pad - i < c->min_length || classes(s + i, pad - i) != 7)
        return 0; /* a suffix has no class its run lacks */
    unsigned count[256] = {0}, cls = 0;
    double sum = 0; /* the sum of count * log2(count): the entropy is log2(len) - sum / len */
    for (size_t j = pad; j-- > i;) {
        unsigned char ch = (unsigned char)s[j];
        sum += xlog2x(count[ch] + 1) - xlog2x(count[ch]);
        count[ch]++;
        cls |= class_of(ch);
        size_t len = pad - j;
        int start = j == i || !(tok((unsigned char)s[j - 1]) || s[j - 1] == '.');
        if (!start || !tok(ch) || len < c->min_length || cls != 7)
            continue;
        double h = log2((double)len) - sum / (double)len;
        if (fabs(h - c->entropy) < 1e-9)
            h = shannon(s + j, len); /* on the edge: the exact sum decides */
        if (h >= c->entropy)
            r->pass[(j - i) / 8] |= (unsigned char)(1u << ((j - i) % 8));
    }
    return 0;
}

/* The end of i's base64 run with its padding, and whether a high-entropy token starts at i:
 * 1 yes, 0 no, or AIGW_ENOMEM. The run's first start is judged directly (a base64 blob is
 * then one pass of counting); the others from the run's verdicts. */
static int base_at(const struct ss *c, struct runs *r, const char *s, size_t n, size_t i,
                   size_t *pad_end)
{
    if (!(i >= r->base_from && i < r->base_end)) {
        size_t e = i;
        while (e < n && (tok((unsigned char)s[e]) || s[e] == '+' || s[e] == '/'))
            e++; /* base64 proper, '=' only as padding (not "NAME=value") */
        size_t pad = e;
        while (pad < n && s[pad] == '=')
            pad++;
        r->base_from = i;
        r->base_end = e;
        r->pad_end = pad;
        r->pass_ready = 0;
        *pad_end = pad;
        return (c->detect & D_ENTROPY) && entropic(c, s + i, pad - i);
    }
    *pad_end = r->pad_end;
    int rc = r->pass_ready ? 0 : base_verdicts(c, r, s);
    if (rc)
        return rc;
    return (r->pass[(i - r->base_from) / 8] >> ((i - r->base_from) % 8)) & 1;
}

/* The end of the END line of a key block whose header ends at hdr: 0 when not (yet) there. */
static size_t pem_end(const char *s, size_t n, size_t hdr)
{
    for (size_t k = hdr; k + 9 <= n; k++) {
        if (memcmp(s + k, "-----END ", 9))
            continue;
        for (size_t j = k + 9; j + 5 <= n && j - k < 80; j++)
            if (!memcmp(s + j, "-----", 5))
                return j + 5;
        return 0;
    }
    return 0;
}

static int private_key(const struct ss *c, const char *s, size_t n, size_t i, int final,
                       size_t *end)
{
    size_t hdr = 0;
    int partial = 0;
    if (!is_begin(s, n, i, &hdr, final, &partial))
        return partial ? 2 : 0;
    size_t e = pem_end(s, n, hdr);
    if (!e && !final)
        return 2;
    *end = e ? e : n; /* unterminated: everything after BEGIN goes */
    (void)c;
    return 1;
}

/* What starts at i: 1 match (end set), 2 partial, 0 nothing, or AIGW_ENOMEM. */
static int at(const struct ss *c, void **scratch, const char *s, size_t n, size_t i, int final,
              size_t *end, const char **what)
{
    int p = i ? (unsigned char)s[i - 1] : 0, r;
    if ((c->detect & D_PRIVATE) && s[i] == '-' && (r = private_key(c, s, n, i, final, end))) {
        *what = "private key";
        return r;
    }
    if ((tok(p) || p == '.') || !tok((unsigned char)s[i]))
        return 0; /* inside a token, or not at one */
    size_t k = 0, tk = i;
    if (!*scratch && !(*scratch = calloc(1, sizeof(struct runs))))
        return AIGW_ENOMEM;
    runs_text(*scratch, s, n);
    if (any_end(*scratch, s, n, i) >= n && !final)
        return 2; /* the token may go on: decide when it ends */
    int entropic = base_at(c, *scratch, s, n, i, &k);
    if (entropic < 0)
        return entropic;
    while (tk < n && (tok((unsigned char)s[tk]) || s[tk] == '.'))
        tk++; /* base64url segments joined by dots (JWT, SendGrid) */
    while (tk > i && s[tk - 1] == '.')
        tk--;
    if ((c->detect & D_JWT) && tk - i > 3 && !memcmp(s + i, "eyJ", 3)) {
        const char *d1 = memchr(s + i, '.', tk - i);
        const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(s + tk - d1 - 1)) : NULL;
        if (d1 && d2 && d1 - (s + i) >= 10 && d2 - d1 > 10) {
            *end = tk;
            *what = "JSON Web Token";
            return 1;
        }
    }
    /* Every prefix starts with one of these: most tokens are ruled out by their first byte. */
    int keyish = strchr("sgxphrAGnS", s[i]) != NULL;
    for (size_t j = 0; keyish && (c->detect & D_KEYS) && j < sizeof prefixes / sizeof prefixes[0];
         j++) {
        size_t pl = strlen(prefixes[j].p), e = i;
        if (memcmp(s + i, prefixes[j].p, pl < n - i ? pl : n - i) || n - i < pl)
            continue;
        if (prefixes[j].p[pl - 1] == '.')
            e = tk;
        else
            while (e < n && tok((unsigned char)s[e]))
                e++;
        if (e - i >= pl + prefixes[j].min && mixed(s + i + pl, e - i - pl)) {
            *end = e;
            *what = prefixes[j].what;
            return 1;
        }
    }
    if (entropic) {
        *end = k;
        *what = "high-entropy token";
        return 1;
    }
    return 0;
}

static int find(const void *inst, const char *s, size_t n, size_t from, int final,
                struct gg_match *m, void **scratch)
{
    const struct ss *c = inst;
    for (size_t i = from; i < n; i++) {
        size_t end = 0;
        const char *what = "secret";
        int r = at(c, scratch, s, n, i, final, &end, &what);
        if (r < 0)
            return r;
        if (!r)
            continue;
        m->start = i;
        m->end = r == 1 ? end : n;
        m->partial = r == 2;
        m->what = what;
        m->replacement = c->replacement;
        return 1;
    }
    return 0;
}

static void destroy(void *instance)
{
    struct ss *c = instance;
    if (c)
        free(c->replacement);
    free(c);
}

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    static const char *const names[] = {"keys", "private_keys", "jwt", "entropy"};
    const cJSON *detect = cJSON_GetObjectItemCaseSensitive(cfg, "detect"), *it;
    struct ss *c = calloc(1, sizeof *c);
    (void)host;
    (void)err;
    (void)errsize;
    if (!c || !(c->replacement = strdup(gg_cfg_str(cfg, "replacement", "[SECRET]")))) {
        destroy(c);
        return AIGW_ENOMEM;
    }
    c->detect = detect ? 0 : D_KEYS | D_PRIVATE | D_JWT | D_ENTROPY;
    cJSON_ArrayForEach(it, detect)
    {
        for (unsigned k = 0; k < 4; k++)
            if (!strcmp(it->valuestring, names[k]))
                c->detect |= 1u << k;
    }
    c->min_length = (size_t)gg_cfg_num(cfg, "min_length", 32);
    c->entropy = gg_cfg_num(cfg, "entropy", 4.0);
    c->m.find = find;
    c->m.scratch_free = runs_free;
    c->m.inst = c;
    c->m.redact = strcmp(gg_cfg_str(cfg, "action", "redact"), "block") != 0;
    *instance = c;
    return 0;
}

static int on_request(struct aigw_guard_ctx *g, cJSON *req)
{
    const struct ss *c = g->instance;
    return gg_scan_request(g, req, &c->m);
}

static int on_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t)
{
    const struct ss *c = g->instance;
    return gg_scan_delta(g, t, &c->m);
}

/* An upstream error may quote the key it refused: never pass that on. */
static int on_error(struct aigw_guard_ctx *g, const struct aigw_error *err,
                    struct aigw_guard_text *msg)
{
    const struct ss *c = g->instance;
    (void)err;
    return gg_scan_error(g, msg, &c->m);
}

static const struct aigw_guard guard = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard),
    .name = "secret-scan",
    .version = "1.0.0",
    .description = "redacts or blocks API keys, private keys, JWTs and high-entropy tokens",
    .config_schema = schema,
    .stages = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT,
    .state_size = 0,
    .window = 0, /* tokens and key blocks are held by their partial matches */
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
    .on_answer_delta = on_delta,
    .on_answer_final = NULL,
    .on_error = on_error,
};

AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
