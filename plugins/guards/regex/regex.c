/*
 * regex - a guard that blocks (or redacts) what regular expressions match, in requests and
 * answers. Patterns are PCRE2 (Debian's libpcre2-8), which reads RE2 syntax as RE2 does for
 * everything RE2 supports; they are compiled at load with UTF and Unicode properties on, so a
 * pattern that does not compile, or that matches the empty string, is a config error naming
 * it. PCRE2 backtracks where RE2 would not: match_limit bounds the work one scan may do, and
 * a scan that hits it is a failure of the guard (fail_open decides).
 *
 * Streaming: answers are matched with PCRE2's hard partial matching, so a pattern whose match
 * has begun at the end of the held text (or could still grow there) holds that text back
 * until it is decided; the bytes already sent before it are the look-behind context.
 *
 * Config: {"patterns": ["re" | {"pattern": "re", "name": "..."}], "action": "block" | "redact",
 *          "replacement": "[REDACTED]", "case_insensitive": false, "match_limit": 100000}
 *
 * Threading: compiled patterns and the match context are read-only; match data is per scan.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include <aigw/plugin.h>

#include "common/gcommon.h"

struct pattern {
    pcre2_code *re;
    char *what; /* "pattern 2" or its configured name */
};

struct rx {
    struct pattern *p;
    size_t n;
    pcre2_match_context *mctx;
    char *replacement;
    struct gg_matcher m;
};

static const char schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"patterns\"],"
    "\"properties\":{\"patterns\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":1000,"
    "\"items\":{\"type\":[\"string\",\"object\"],\"minLength\":1,\"maxLength\":4096,"
    "\"additionalProperties\":false,\"required\":[\"pattern\"],\"properties\":{"
    "\"pattern\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64}}}},"
    "\"action\":{\"enum\":[\"block\",\"redact\"]},"
    "\"replacement\":{\"type\":\"string\",\"maxLength\":64},"
    "\"case_insensitive\":{\"type\":\"boolean\"},"
    "\"match_limit\":{\"type\":\"integer\",\"minimum\":1000,\"maximum\":100000000}}}";

static void scratch_free(void *p)
{
    pcre2_match_data_free(p);
}

/* The earliest match (longest at that start) or partial match of any pattern from `from`. */
static int find(const void *inst, const char *s, size_t n, size_t from, int final,
                struct gg_match *m, void **scratch)
{
    const struct rx *r = inst;
    pcre2_match_data *md = *scratch;
    size_t best_start = (size_t)-1, best_end = 0;
    int best_partial = 0;
    const char *what = NULL;
    if (!md && !(md = *scratch = pcre2_match_data_create(1, NULL)))
        return AIGW_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        size_t off = from;
        int rc;
        PCRE2_SIZE *ov;
        for (;;) {
            rc = pcre2_match(r->p[i].re, (PCRE2_SPTR)s, n, off, final ? 0 : PCRE2_PARTIAL_HARD, md,
                             r->mctx);
            ov = pcre2_get_ovector_pointer(md);
            if (rc < 0 || ov[1] > ov[0] || ov[0] >= n)
                break;
            /* An empty match (a lookaround alone) redacts nothing: look past it. */
            off = ov[0] + 1;
            while (off < n && ((unsigned char)s[off] & 0xC0) == 0x80)
                off++;
        }
        if (rc == PCRE2_ERROR_NOMATCH || (rc >= 0 && ov[1] == ov[0]))
            continue;
        if (rc < 0 && rc != PCRE2_ERROR_PARTIAL)
            return rc == PCRE2_ERROR_NOMEMORY ? AIGW_ENOMEM : AIGW_ETOOBIG;
        size_t st = ov[0] < from ? from : ov[0], en = ov[1];
        int partial = rc == PCRE2_ERROR_PARTIAL;
        if (st < best_start || (st == best_start && !partial && (best_partial || en > best_end))) {
            best_start = st;
            best_end = partial ? n : en;
            best_partial = partial;
            what = r->p[i].what;
        }
    }
    if (best_start == (size_t)-1)
        return 0;
    m->start = best_start;
    m->end = best_end;
    m->partial = best_partial;
    m->what = what;
    m->replacement = r->replacement;
    return 1;
}

static void destroy(void *instance)
{
    struct rx *r = instance;
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        pcre2_code_free(r->p[i].re);
        free(r->p[i].what);
    }
    free(r->p);
    pcre2_match_context_free(r->mctx);
    free(r->replacement);
    free(r);
}

static int compile(struct rx *r, const cJSON *it, size_t i, uint32_t opts, char *err,
                   size_t errsize)
{
    const cJSON *pat = cJSON_IsString(it) ? it : cJSON_GetObjectItemCaseSensitive(it, "pattern");
    const char *name = gg_cfg_str(it, "name", NULL);
    int code;
    PCRE2_SIZE off;
    struct pattern *p = &r->p[r->n];
    p->re =
        pcre2_compile((PCRE2_SPTR)pat->valuestring, PCRE2_ZERO_TERMINATED, opts, &code, &off, NULL);
    if (!p->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, errsize, "patterns[%zu]: %s at offset %zu", i, (const char *)msg,
                 (size_t)off);
        return AIGW_EINVAL;
    }
    r->n++;
    uint32_t minlen = 1;
    if (pcre2_pattern_info(p->re, PCRE2_INFO_MINLENGTH, &minlen) != 0 || minlen == 0) {
        /* An empty match redacts nothing and never moves on: refuse it up front. */
        snprintf(err, errsize, "patterns[%zu]: can match the empty string", i);
        return AIGW_EINVAL;
    }
    pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD); /* best effort */
    char label[32];
    snprintf(label, sizeof label, "pattern %zu", i);
    p->what = strdup(name ? name : label);
    return p->what ? 0 : AIGW_ENOMEM;
}

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    const cJSON *pats = cJSON_GetObjectItemCaseSensitive(cfg, "patterns"), *it;
    struct rx *r = calloc(1, sizeof *r);
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
    size_t i = 0;
    (void)host;
    if (gg_cfg_bool(cfg, "case_insensitive", 0))
        opts |= PCRE2_CASELESS;
    if (!r || !(r->p = calloc((size_t)cJSON_GetArraySize(pats) + 1, sizeof *r->p)) ||
        !(r->mctx = pcre2_match_context_create(NULL)) ||
        !(r->replacement = strdup(gg_cfg_str(cfg, "replacement", "[REDACTED]")))) {
        destroy(r);
        return AIGW_ENOMEM;
    }
    pcre2_set_match_limit(r->mctx, (uint32_t)gg_cfg_num(cfg, "match_limit", 100000));
    pcre2_set_depth_limit(r->mctx, 10000);
    cJSON_ArrayForEach(it, pats)
    {
        int rc = compile(r, it, i++, opts, err, errsize);
        if (rc) {
            destroy(r);
            return rc;
        }
    }
    r->m.find = find;
    r->m.scratch_free = scratch_free;
    r->m.inst = r;
    r->m.redact = !strcmp(gg_cfg_str(cfg, "action", "block"), "redact");
    *instance = r;
    return 0;
}

static int on_request(struct aigw_guard_ctx *g, cJSON *req)
{
    const struct rx *r = g->instance;
    return gg_scan_request(g, req, &r->m);
}

static int on_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t)
{
    const struct rx *r = g->instance;
    return gg_scan_delta(g, t, &r->m);
}

static const struct aigw_guard guard = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard),
    .name = "regex",
    .version = "1.0.0",
    .description = "blocks or redacts what regular expressions (PCRE2, RE2 syntax) match",
    .config_schema = schema,
    .stages = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT,
    .state_size = 0,
    .window = 0, /* partial matching holds what is undecided */
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
