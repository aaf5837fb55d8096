/* harness - guard chains driven as the lifetime will (see harness.h). */
#include "guard/harness.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir_buf[1024], mod_buf[1024];

const char *gh_guard_dir(void)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    snprintf(dir_buf, sizeof dir_buf, "%s/plugins/guards/.libs", b && *b ? b : ".");
    return dir_buf;
}

const char *gh_module_dir(void)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    snprintf(mod_buf, sizeof mod_buf, "%s/tests/guard/.libs", b && *b ? b : ".");
    return mod_buf;
}

struct gw_guard_chain *gh_chain_in(const char *json, const char *dir)
{
    char err[1024];
    struct gw_guard_chain *c = NULL;
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON: %s", json);
    int rc = gw_guard_chain_load(&c, j, dir, err, sizeof err);
    cJSON_Delete(j);
    cr_assert_eq(rc, 0, "chain did not load: %s", err);
    cr_assert_not_null(c);
    return c;
}

struct gw_guard_chain *gh_chain(const char *json)
{
    return gh_chain_in(json, gh_guard_dir());
}

const char *gh_chain_err(const char *json)
{
    static char err[1024];
    struct gw_guard_chain *c = NULL;
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON: %s", json);
    int rc = gw_guard_chain_load(&c, j, gh_guard_dir(), err, sizeof err);
    cJSON_Delete(j);
    cr_assert_lt(rc, 0, "chain loaded but should not have: %s", json);
    cr_assert_null(c);
    cr_assert(err[0], "no reason given");
    return err;
}

void gh_result_free(struct gh_result *r)
{
    free(r->text);
    free(r->error);
    free(r->code);
    memset(r, 0, sizeof *r);
}

static void take_error(struct gw_guard_run *run, struct gh_result *r)
{
    struct aigw_error e;
    if (gw_guard_error(run, &e) == 0) {
        r->error = strdup(e.message);
        r->code = strdup(e.code ? e.code : "");
        r->status = e.status;
    }
}

void gh_request(struct gw_guard_chain *c, const char *body, char **out, struct gh_result *r)
{
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "req-1", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    cJSON *j = cJSON_Parse(body);
    memset(r, 0, sizeof *r);
    cr_assert_not_null(run);
    cr_assert_not_null(j, "bad test JSON: %s", body);
    r->verdict = gw_guard_on_request(run, j);
    take_error(run, r);
    if (out)
        *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    gw_guard_run_free(run);
}

struct sink {
    struct gh_result *r;
    size_t len, cap;
};

static int collect(void *ud, const struct aigw_chunk *c)
{
    struct sink *s = ud;
    if (c->type == AIGW_CHUNK_FINISH)
        s->r->finish = 1;
    if (c->type != AIGW_CHUNK_TEXT || c->choice != 0)
        return 0;
    s->r->chunks++;
    if (c->text.len && ((unsigned char)c->text.ptr[0] & 0xC0) == 0x80)
        s->r->split_utf8 = 1;
    if (s->len + c->text.len + 1 > s->cap) {
        s->cap = (s->len + c->text.len + 1) * 2;
        s->r->text = realloc(s->r->text, s->cap);
        cr_assert_not_null(s->r->text);
    }
    memcpy(s->r->text + s->len, c->text.ptr, c->text.len);
    s->len += c->text.len;
    s->r->text[s->len] = '\0';
    return 0;
}

void gh_answer(struct gw_guard_chain *c, const char *text, size_t n, const size_t *cuts,
               size_t ncuts, int stream, struct gh_result *r)
{
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, stream, "m", "openai", "req-1", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    struct sink s = {r, 0, 0};
    size_t at = 0;
    int v = GW_GUARD_ALLOW;
    memset(r, 0, sizeof *r);
    r->text = strdup("");
    cr_assert_not_null(run);
    cr_assert_eq(gw_guard_on_request(run, NULL), GW_GUARD_ALLOW);
    for (size_t k = 0; k <= ncuts && v == GW_GUARD_ALLOW; k++) {
        size_t to = k < ncuts ? cuts[k] : n;
        struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
        ch.text.ptr = text + at;
        ch.text.len = to - at;
        v = gw_guard_on_chunk(run, &ch, collect, &s);
        at = to;
    }
    if (v == GW_GUARD_ALLOW) {
        struct aigw_chunk fin = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
        fin.finish = AIGW_FINISH_STOP;
        v = gw_guard_on_chunk(run, &fin, collect, &s);
    }
    if (v == GW_GUARD_ALLOW)
        v = gw_guard_on_end(run, collect, &s);
    r->verdict = v;
    take_error(run, r);
    gw_guard_run_free(run);
}

static void every_split(struct gw_guard_chain *c, const char *text, const char *want,
                        const char *forbidden)
{
    size_t n = strlen(text);
    struct gh_result r;
    size_t *cuts = malloc((n ? n : 1) * sizeof *cuts);
    cr_assert_not_null(cuts);
    /* Whole, then cut once at every offset, then one byte per chunk. */
    for (size_t k = 0; k <= n + 1; k++) {
        size_t nc = 0;
        if (k > 0 && k < n)
            cuts[nc++] = k;
        if (k == n + 1)
            for (size_t j = 1; j < n; j++)
                cuts[nc++] = j;
        gh_answer(c, text, n, cuts, nc, 1, &r);
        if (want) {
            cr_assert_eq(r.verdict, GW_GUARD_ALLOW, "split %zu of \"%s\": verdict %d (%s)", k, text,
                         r.verdict, r.error ? r.error : "");
            cr_assert_str_eq(r.text, want, "split %zu of \"%s\"", k, text);
            cr_assert(!r.split_utf8, "split %zu: a chunk began inside a UTF-8 sequence", k);
            cr_assert(r.finish, "split %zu: no finish chunk", k);
        } else {
            cr_assert_eq(r.verdict, GW_GUARD_DENY, "split %zu of \"%s\": verdict %d, text \"%s\"",
                         k, text, r.verdict, r.text);
            cr_assert_not_null(r.error);
            cr_assert_null(strstr(r.text, forbidden),
                           "split %zu: \"%s\" was sent before the deny: \"%s\"", k, forbidden,
                           r.text);
            cr_assert_null(strstr(r.error, forbidden), "split %zu: the reason quotes the match", k);
        }
        gh_result_free(&r);
    }
    free(cuts);
}

void gh_every_split(struct gw_guard_chain *c, const char *text, const char *want)
{
    every_split(c, text, want, NULL);
}

void gh_every_split_deny(struct gw_guard_chain *c, const char *text, const char *forbidden)
{
    every_split(c, text, NULL, forbidden);
}
