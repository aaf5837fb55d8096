/*
 * mod_test - "tguard", a guard whose every hook does what its config says, so the chain and
 * window are tested apart from the built-in guards. Built again with -DBAD=n as the loader's
 * broken modules (see local.mk).
 *
 * Config: {"request": "allow|deny|rewrite|fail|badverdict|fetch",
 *          "delta": "allow|redact|cut|badbytes|deny|fail|hold|pending",
 *          "final": "allow|deny|retry|fetch|fail|check",
 *          "error": "allow|redact|fail", "word": "...", "mark": "...",
 *          "url": "http://...", "timeout_ms": n}
 *   rewrite  appends mark to the request's "marks" array
 *   editallow  replaces word with "[X]" in the messages' string contents and text parts, but
 *            returns ALLOW (the ABI asks for REWRITE: the host must notice the edit anyway)
 *   redact   replaces each whole occurrence of word with "[X]" (a partial one at the end waits)
 *   cut      replaces only the first byte of each occurrence (a garbage edit for a multi-byte
 *            word: it splits a character); badbytes replaces it with bytes that are not UTF-8
 *   deny     denies when word occurs (request: in the JSON text; delta/final: in the text)
 *   hold     holds everything from the first occurrence of word on, until final
 *   fetch    asks for a call to url (default http://127.0.0.1:9/check) with the word, with a
 *            deadline of timeout_ms (default 99999); on the answer, denies when the response
 *            body is "deny", asks for another answer (RETRY) when it is "retry"
 *   check    (final) denies unless the answer is exactly word
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#ifndef BAD
#define BAD 0
#endif

struct tg {
    char request[16], delta[16], final[16], error[16];
    char word[64], mark[32];
    char url[256];
    long long timeout_ms;
};

struct tstate {
    int calls;
};

static void cfg_str(const cJSON *cfg, const char *key, char *out, size_t size, const char *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    snprintf(out, size, "%s", cJSON_IsString(v) ? v->valuestring : d);
}

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    struct tg *t = calloc(1, sizeof *t);
    if (!t)
        return AIGW_ENOMEM;
    cfg_str(cfg, "request", t->request, sizeof t->request, "allow");
    cfg_str(cfg, "delta", t->delta, sizeof t->delta, "allow");
    cfg_str(cfg, "final", t->final, sizeof t->final, "allow");
    cfg_str(cfg, "error", t->error, sizeof t->error, "allow");
    cfg_str(cfg, "word", t->word, sizeof t->word, "secret");
    cfg_str(cfg, "mark", t->mark, sizeof t->mark, "m");
    cfg_str(cfg, "url", t->url, sizeof t->url, "http://127.0.0.1:9/check");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(cfg, "timeout_ms");
    t->timeout_ms = cJSON_IsNumber(to) ? (long long)to->valuedouble : 99999;
    if (!strcmp(t->word, "refuse")) {
        snprintf(err, errsize, "word: refuse is refused");
        free(t);
        return AIGW_EINVAL;
    }
    host->secret(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "key"))
                     ? cJSON_GetObjectItemCaseSensitive(cfg, "key")->valuestring
                     : NULL);
    *instance = t;
    return 0;
}

static void destroy(void *instance)
{
    free(instance);
}

static int fetch_check(struct aigw_guard_ctx *g, const struct tg *t)
{
    static const char *const headers[] = {"Authorization: Bearer tg-KEY-123456", NULL};
    struct aigw_guard_fetch f = {AIGW_ABI_VERSION,           sizeof f,     NULL, t->url, headers,
                                 {t->word, strlen(t->word)}, t->timeout_ms};
    if (g->fetched && g->fetched->body.len == 5 && !memcmp(g->fetched->body.ptr, "retry", 5))
        return g->host->retry(g, "the service asked for another answer");
    if (g->fetched)
        return g->fetched->body.len == 4 && !memcmp(g->fetched->body.ptr, "deny", 4)
                   ? g->host->deny(g, "the service said no (status %d)", g->fetched->status)
                   : AIGW_GUARD_ALLOW;
    return g->host->fetch(g, &f);
}

/* s with every word replaced by "[X]" into out; 1 when it had one. */
static int swap_word(const char *s, const char *w, char *out, size_t size)
{
    size_t wl = strlen(w), o = 0;
    int hit = 0;
    while (*s && o + 4 < size) {
        if (!strncmp(s, w, wl)) {
            memcpy(out + o, "[X]", 3);
            o += 3, s += wl, hit = 1;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return hit;
}

static void edit_text(cJSON *item, const char *w)
{
    char out[4096];
    if (cJSON_IsString(item) && strlen(item->valuestring) < sizeof out / 2 &&
        swap_word(item->valuestring, w, out, sizeof out))
        cJSON_SetValuestring(item, out);
}

static int edit_allow(cJSON *req, const char *w)
{
    cJSON *msg, *part;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(req, "messages"))
    {
        cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        edit_text(content, w);
        if (!cJSON_IsArray(content))
            continue;
        cJSON_ArrayForEach(part, content)
            edit_text(cJSON_GetObjectItemCaseSensitive(part, "text"), w);
    }
    return AIGW_GUARD_ALLOW; /* wrong on purpose: the edit was made */
}

static int on_request(struct aigw_guard_ctx *g, cJSON *req)
{
    const struct tg *t = g->instance;
    struct tstate *st = g->state;
    st->calls++;
    if (!strcmp(t->request, "deny")) {
        char *s = cJSON_PrintUnformatted(req);
        int hit = s && strstr(s, t->word);
        free(s);
        return hit ? g->host->deny(g, "found the word (%s)", g->name) : AIGW_GUARD_ALLOW;
    }
    if (!strcmp(t->request, "rewrite")) {
        cJSON *marks = cJSON_GetObjectItemCaseSensitive(req, "marks");
        if (!marks)
            marks = cJSON_AddArrayToObject(req, "marks");
        cJSON_AddItemToArray(marks, cJSON_CreateString(t->mark));
        return AIGW_GUARD_REWRITE;
    }
    if (!strcmp(t->request, "editallow"))
        return edit_allow(req, t->word);
    if (!strcmp(t->request, "fail"))
        return AIGW_EINTERNAL;
    if (!strcmp(t->request, "badverdict"))
        return AIGW_GUARD_RETRY;
    if (!strcmp(t->request, "fetch"))
        return fetch_check(g, t);
    return AIGW_GUARD_ALLOW;
}

/* Offsets of word in s[from, n), whole occurrences only. */
static const char *find_word(const char *s, size_t n, size_t from, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = from; i + wl <= n; i++)
        if (!memcmp(s + i, w, wl))
            return s + i;
    return NULL;
}

static int on_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t)
{
    const struct tg *tg = g->instance;
    const char *s = t->text.ptr, *p;
    size_t n = t->text.len, wl = strlen(tg->word), at = 0;
    int rc = AIGW_GUARD_ALLOW;
    if (!strcmp(tg->delta, "fail"))
        return AIGW_EPROTO;
    if (!strcmp(tg->delta, "pending"))
        return AIGW_GUARD_PENDING; /* not allowed on deltas */
    if (!strcmp(tg->delta, "hold")) {
        if (!t->final && (p = find_word(s, n, 0, tg->word)))
            t->hold = (size_t)(p - s);
        return AIGW_GUARD_ALLOW;
    }
    while ((p = find_word(s, n, at, tg->word))) {
        size_t off = (size_t)(p - s);
        if (!strcmp(tg->delta, "deny"))
            return g->host->deny(g, "the answer has the word");
        if (!strcmp(tg->delta, "redact") || !strcmp(tg->delta, "cut") ||
            !strcmp(tg->delta, "badbytes")) {
            /* cut: only the word's first byte (inside a character when it is not ASCII);
             * badbytes: with bytes that are not UTF-8 */
            int r = !strcmp(tg->delta, "cut")        ? g->host->replace(g, off, 1, "[X]", 3)
                    : !strcmp(tg->delta, "badbytes") ? g->host->replace(g, off, wl, "\xff[", 2)
                                                     : g->host->replace(g, off, wl, "[X]", 3);
            if (r)
                return r;
            rc = AIGW_GUARD_REWRITE;
        }
        at = off + wl;
    }
    return rc;
}

static int on_final(struct aigw_guard_ctx *g, const struct aigw_guard_answer *a)
{
    const struct tg *t = g->instance;
    int hit = find_word(a->text.ptr, a->text.len, 0, t->word) != NULL;
    if (!strcmp(t->final, "deny"))
        return hit ? g->host->deny(g, "the final answer has the word") : AIGW_GUARD_ALLOW;
    if (!strcmp(t->final, "retry"))
        return g->host->retry(g, "answer again without %s (attempt %d)", "it", g->attempt);
    if (!strcmp(t->final, "fetch"))
        return fetch_check(g, t);
    if (!strcmp(t->final, "fail"))
        return AIGW_EINTERNAL;
    if (!strcmp(t->final, "check"))
        return a->text.len == strlen(t->word) && !memcmp(a->text.ptr, t->word, a->text.len)
                   ? AIGW_GUARD_ALLOW
                   : g->host->deny(g, "unexpected final text (%zu bytes)", a->text.len);
    return AIGW_GUARD_ALLOW;
}

static int on_error(struct aigw_guard_ctx *g, const struct aigw_error *err,
                    struct aigw_guard_text *m)
{
    const struct tg *t = g->instance;
    const char *p;
    (void)err;
    if (!strcmp(t->error, "fail"))
        return AIGW_EINTERNAL;
    if (strcmp(t->error, "redact") || !(p = find_word(m->text.ptr, m->text.len, 0, t->word)))
        return AIGW_GUARD_ALLOW;
    int r = g->host->replace(g, (size_t)(p - m->text.ptr), strlen(t->word), "[X]", 3);
    return r ? r : AIGW_GUARD_REWRITE;
}

static const char schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"request\":{\"type\":\"string\"},\"delta\":{\"type\":\"string\"},"
    "\"final\":{\"type\":\"string\"},\"error\":{\"type\":\"string\"},"
    "\"word\":{\"type\":\"string\",\"minLength\":1},\"mark\":{\"type\":\"string\"},"
    "\"key\":{\"type\":\"string\"},\"url\":{\"type\":\"string\"},"
    "\"timeout_ms\":{\"type\":\"integer\"}}}";

#if BAD == 4
#define NAME "someone-else"
#else
#define NAME "tguard"
#endif

static const struct aigw_guard guard = {
#if BAD == 2
    .abi_version = AIGW_ABI_VERSION_OF(2, 0),
#elif BAD == 3
    .abi_version = AIGW_ABI_VERSION_OF(AIGW_ABI_MAJOR, AIGW_ABI_MINOR + 1),
#elif BAD == 7
    .abi_version = AIGW_ABI_VERSION_OF(1, 1),
#else
    .abi_version = AIGW_ABI_VERSION,
#endif
#if BAD == 5
    .struct_size = 24,
#else
    .struct_size = sizeof(struct aigw_guard),
#endif
    .name = NAME,
    .version = "0.1",
    .description = "test guard",
    .config_schema = BAD == 6 ? "{\"type\":\"object\",\"patternProperties\":{}}" : schema,
    .stages = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT,
    .state_size = sizeof(struct tstate),
    .window = 8,
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
    .on_answer_delta = on_delta,
    .on_answer_final = on_final,
    .on_error = on_error,
};

#if BAD != 1
AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
#else
AIGW_EXPORT const struct aigw_guard *aigw_guard_entry_misspelt(void);
AIGW_EXPORT const struct aigw_guard *aigw_guard_entry_misspelt(void)
{
    return &guard;
}
#endif
