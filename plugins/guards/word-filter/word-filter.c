/*
 * word-filter - a guard that blocks (or redacts) words and phrases in requests and answers,
 * compared after the normalization described in wf.h: case, canonical equivalence, common
 * compatibility forms, invisible characters and white space do not hide a word.
 *
 * Config: {"words": ["..."], "action": "block" | "redact", "replacement": "***",
 *          "whole_words": true, "ignore_accents": false}
 *   whole_words: a word matches only between non-word characters; it does not apply to words
 *   starting or ending in scripts written without spaces (CJK, Thai...), which match anywhere.
 *
 * Threading: the instance (folded words, bucketed by first code point) is read-only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#include "common/gcommon.h"
#include "wf.h"

#define BUCKETS 1024

struct word {
    uint32_t *cp;
    size_t len;
    int next; /* the next word of the same bucket, -1 at the end */
};

struct wf {
    struct word *w;
    size_t n;
    size_t maxlen; /* longest word, in folded code points */
    int bucket[BUCKETS];
    int whole, no_accents;
    char *replacement;
    struct gg_matcher m;
};

/* One scan's folded subject. */
struct scan {
    struct wf_units u;
    const char *s;
    size_t n;
    int ok;
};

static const char schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"words\"],"
    "\"properties\":{\"words\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":10000,"
    "\"items\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256}},"
    "\"action\":{\"enum\":[\"block\",\"redact\"]},"
    "\"replacement\":{\"type\":\"string\",\"maxLength\":64},"
    "\"whole_words\":{\"type\":\"boolean\"},\"ignore_accents\":{\"type\":\"boolean\"}}}";

static void scratch_free(void *p)
{
    struct scan *sc = p;
    free(sc->u.v);
    free(sc);
}

static struct scan *folded(const struct wf *f, const char *s, size_t n, void **scratch)
{
    struct scan *sc = *scratch;
    if (sc && sc->s == s && sc->n == n)
        return sc->ok ? sc : NULL;
    if (!sc && !(sc = calloc(1, sizeof *sc)))
        return NULL;
    *scratch = sc;
    sc->s = s;
    sc->n = n;
    sc->ok = wf_fold(s, n, f->no_accents, &sc->u) == 0;
    return sc->ok ? sc : NULL;
}

/* The first unit that starts at or after byte `from`. */
static size_t first_unit(const struct wf_units *u, size_t from)
{
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u->v[mid].start < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t tail(const void *inst, const char *s, size_t n, size_t from, void **scratch)
{
    const struct wf *f = inst;
    struct scan *sc = folded(f, s, n, scratch);
    if (!sc)
        return from; /* hold everything: find() reports the failure */
    size_t k = first_unit(&sc->u, from);
    if (sc->u.n - k > f->maxlen)
        k = sc->u.n - f->maxlen;
    return k < sc->u.n ? sc->u.v[k].start : n;
}

static int find(const void *inst, const char *s, size_t n, size_t from, int final,
                struct gg_match *m, void **scratch)
{
    const struct wf *f = inst;
    struct scan *sc = folded(f, s, n, scratch);
    if (!sc)
        return AIGW_ENOMEM;
    const struct wf_unit *u = sc->u.v;
    size_t nu = sc->u.n;
    for (size_t k = first_unit(&sc->u, from); k < nu; k++) {
        size_t best = 0;
        int partial = 0;
        for (int wi = f->bucket[u[k].cp % BUCKETS]; wi >= 0; wi = f->w[wi].next) {
            const struct word *w = &f->w[wi];
            size_t j = 0;
            while (j < w->len && k + j < nu && u[k + j].cp == w->cp[j])
                j++;
            if (j < w->len) {
                partial |= k + j == nu && !final; /* the text ends inside the word */
                continue;
            }
            if (f->whole && wf_word_char(w->cp[0]) && k > 0 && wf_word_char(u[k - 1].cp))
                continue;
            if (f->whole && wf_word_char(w->cp[w->len - 1])) {
                if (k + j == nu && !final) {
                    partial = 1; /* what follows decides */
                    continue;
                }
                if (k + j < nu && wf_word_char(u[k + j].cp))
                    continue;
            }
            if (w->len > best)
                best = w->len;
        }
        if (best) {
            m->start = u[k].start;
            /* Up to the next unit: invisible characters and dropped marks go with the word. */
            m->end = k + best < nu ? u[k + best].start : n;
            if (k + best < nu && u[k + best].cp == ' ')
                m->end = u[k + best - 1].end;
            m->what = "a blocked word or phrase";
            m->replacement = f->replacement;
            return 1;
        }
        if (partial) {
            m->start = u[k].start;
            m->end = n;
            m->partial = 1;
            m->what = "a blocked word or phrase";
            m->replacement = f->replacement;
            return 1;
        }
    }
    return 0;
}

static void destroy(void *instance)
{
    struct wf *f = instance;
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->w[i].cp);
    free(f->w);
    free(f->replacement);
    free(f);
}

static int add_word(struct wf *f, const char *text, size_t i, char *err, size_t errsize)
{
    struct wf_units u = {0};
    if (wf_fold(text, strlen(text), f->no_accents, &u)) {
        free(u.v);
        return AIGW_ENOMEM;
    }
    size_t a = 0, b = u.n;
    while (a < b && u.v[a].cp == ' ')
        a++;
    while (b > a && u.v[b - 1].cp == ' ')
        b--;
    if (a == b) {
        free(u.v);
        snprintf(err, errsize, "words[%zu]: nothing left after normalization", i);
        return AIGW_EINVAL;
    }
    struct word *w = &f->w[f->n];
    w->len = b - a;
    w->cp = malloc(w->len * sizeof *w->cp);
    if (!w->cp) {
        free(u.v);
        return AIGW_ENOMEM;
    }
    for (size_t k = 0; k < w->len; k++)
        w->cp[k] = u.v[a + k].cp;
    free(u.v);
    w->next = f->bucket[w->cp[0] % BUCKETS];
    f->bucket[w->cp[0] % BUCKETS] = (int)f->n++;
    if (w->len > f->maxlen)
        f->maxlen = w->len;
    return 0;
}

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(cfg, "words"), *it;
    struct wf *f = calloc(1, sizeof *f);
    size_t i = 0;
    (void)host;
    if (!f || !(f->w = calloc((size_t)cJSON_GetArraySize(words) + 1, sizeof *f->w)) ||
        !(f->replacement = strdup(gg_cfg_str(cfg, "replacement", "***")))) {
        destroy(f);
        return AIGW_ENOMEM;
    }
    for (int b = 0; b < BUCKETS; b++)
        f->bucket[b] = -1;
    f->whole = gg_cfg_bool(cfg, "whole_words", 1);
    f->no_accents = gg_cfg_bool(cfg, "ignore_accents", 0);
    cJSON_ArrayForEach(it, words)
    {
        int rc = add_word(f, it->valuestring, i++, err, errsize);
        if (rc) {
            destroy(f);
            return rc;
        }
    }
    f->m.find = find;
    f->m.tail = tail;
    f->m.scratch_free = scratch_free;
    f->m.inst = f;
    f->m.redact = !strcmp(gg_cfg_str(cfg, "action", "block"), "redact");
    *instance = f;
    return 0;
}

static int on_request(struct aigw_guard_ctx *g, cJSON *req)
{
    const struct wf *f = g->instance;
    return gg_scan_request(g, req, &f->m);
}

static int on_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t)
{
    const struct wf *f = g->instance;
    return gg_scan_delta(g, t, &f->m);
}

static const struct aigw_guard guard = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard),
    .name = "word-filter",
    .version = "1.0.0",
    .description = "blocks or redacts words and phrases (case and Unicode-normalization aware)",
    .config_schema = schema,
    .stages = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT,
    .state_size = 0,
    .window = 0, /* the tail of possible words is held by tail() */
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
    .on_answer_delta = on_delta,
    .on_answer_final = NULL,
    .on_error = NULL,
};

AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
