/*
 * pii - a guard that finds personal identifiers (email addresses, phone numbers, payment card
 * numbers, IBANs, IP addresses, US social security numbers; see pii.h for the exact rules) in
 * requests and answers, and redacts them ("[EMAIL]", "[CARD]", ...) or blocks the request.
 *
 * Config: {"action": "redact" | "block", "apply_to": "input" | "output" | "both",
 *          "types": ["email", "phone", "card", "iban", "ip", "ssn"], "replacement": "..."}
 *
 * Threading: the instance is read-only after create; hooks keep no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#include "../common/gcommon.h"
#include "pii.h"

enum { T_CARD, T_IBAN, T_SSN, T_PHONE, T_IPV4, T_IPV6, T_EMAIL, T_COUNT };

static const struct {
    const char *type; /* the config's name for it */
    const char *what; /* for reasons */
    const char *label;
    int (*detect)(const char *s, size_t n, size_t i, int final, size_t *end);
} kinds[T_COUNT] = {
    {"card", "payment card number", "[CARD]", gg_pii_card},
    {"iban", "IBAN", "[IBAN]", gg_pii_iban},
    {"ssn", "US social security number", "[SSN]", gg_pii_ssn},
    {"phone", "phone number", "[PHONE]", gg_pii_phone},
    {"ip", "IP address", "[IP]", gg_pii_ipv4},
    {"ip", "IP address", "[IP]", gg_pii_ipv6},
    {"email", "email address", "[EMAIL]", gg_pii_email},
};

struct pii {
    int on[T_COUNT];
    unsigned apply;
    char *replacement; /* NULL: each kind's label */
    struct gg_matcher m;
};

static const char schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"action\":{\"enum\":[\"redact\",\"block\"]},"
    "\"apply_to\":{\"enum\":[\"input\",\"output\",\"both\"]},"
    "\"types\":{\"type\":\"array\",\"minItems\":1,"
    "\"items\":{\"enum\":[\"email\",\"phone\",\"card\",\"iban\",\"ip\",\"ssn\"]}},"
    "\"replacement\":{\"type\":\"string\",\"maxLength\":64}}}";

/* The first identifier at or after `from`: the longest match among those starting at the
 * earliest byte, or a partial one there (which may yet be longer). */
static int find(const void *inst, const char *s, size_t n, size_t from, int final,
                struct gg_match *m, void **scratch)
{
    const struct pii *p = inst;
    (void)scratch;
    for (size_t i = from; i < n; i++) {
        int best = -1, partial = -1;
        unsigned char c = i ? (unsigned char)s[i - 1] : 0;
        if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            continue; /* inside a word: every detector needs a boundary before it */
        size_t best_end = 0;
        for (int k = 0; k < T_COUNT; k++) {
            size_t end = 0;
            if (!p->on[k])
                continue;
            int r = kinds[k].detect(s, n, i, final, &end);
            if (r == 1 && (best < 0 || end > best_end)) {
                best = k;
                best_end = end;
            } else if (r == 2 && partial < 0) {
                partial = k;
            }
        }
        /* A partial one here may still outgrow the longest match: wait for it, as the whole
         * text would have given the longest. */
        if (partial >= 0 || best >= 0) {
            int k = partial >= 0 ? partial : best;
            m->start = i;
            m->end = partial >= 0 ? n : best_end;
            m->partial = partial >= 0;
            m->what = kinds[k].what;
            m->replacement = p->replacement ? p->replacement : kinds[k].label;
            return 1;
        }
    }
    return 0;
}

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    struct pii *p = calloc(1, sizeof *p);
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(cfg, "types"), *t;
    const char *repl = gg_cfg_str(cfg, "replacement", NULL);
    (void)host;
    if (!p)
        return AIGW_ENOMEM;
    for (int k = 0; k < T_COUNT; k++)
        p->on[k] = types == NULL;
    cJSON_ArrayForEach(t, types)
    {
        for (int k = 0; k < T_COUNT; k++)
            if (cJSON_IsString(t) && !strcmp(t->valuestring, kinds[k].type))
                p->on[k] = 1;
    }
    p->apply = gg_cfg_stages(cfg, "apply_to");
    if (repl && !(p->replacement = strdup(repl))) {
        free(p);
        return AIGW_ENOMEM;
    }
    p->m.find = find;
    p->m.inst = p;
    p->m.redact = strcmp(gg_cfg_str(cfg, "action", "redact"), "block") != 0;
    (void)err;
    (void)errsize;
    *instance = p;
    return 0;
}

static void destroy(void *instance)
{
    struct pii *p = instance;
    if (p)
        free(p->replacement);
    free(p);
}

static int on_request(struct aigw_guard_ctx *g, cJSON *req)
{
    const struct pii *p = g->instance;
    return p->apply & AIGW_GUARD_INPUT ? gg_scan_request(g, req, &p->m) : AIGW_GUARD_ALLOW;
}

static int on_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t)
{
    const struct pii *p = g->instance;
    return p->apply & AIGW_GUARD_OUTPUT ? gg_scan_delta(g, t, &p->m) : AIGW_GUARD_ALLOW;
}

/* Providers echo prompts in error messages: what left the request redacted stays so. */
static int on_error(struct aigw_guard_ctx *g, const struct aigw_error *err,
                    struct aigw_guard_text *msg)
{
    const struct pii *p = g->instance;
    (void)err;
    return gg_scan_error(g, msg, &p->m);
}

/* apply_to "output" reads no request: the entry is then no input guard (the host neither
 * calls on_request nor refuses input no guard can read on its account). Errors are scrubbed
 * whatever apply_to says, and on_error is an output hook. */
static unsigned instance_stages(const void *instance)
{
    const struct pii *p = instance;
    return AIGW_GUARD_OUTPUT | (p->apply & AIGW_GUARD_INPUT);
}

static const struct aigw_guard guard = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard),
    .name = "pii",
    .version = "1.0.0",
    .description = "redacts or blocks email addresses, phone, card and social security "
                   "numbers, IBANs and IP addresses",
    .config_schema = schema,
    .stages = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT,
    .state_size = 0,
    /* Every detector reports a partial match when the text ends inside one: that is held. */
    .window = 0,
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
    .on_answer_delta = on_delta,
    .on_answer_final = NULL,
    .on_error = on_error,
    .instance_stages = instance_stages,
};

AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
