/* anth_test - shared pieces of the Anthropic dialect's tests (see anth_test.h). */
#include "front/anth_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "front/anthropic.h"
#include "lib/buf.h"
#include "plugin/call.h"
#include "plugin/errors.h"
#include "plugin/exchange.h"
#include "plugin/plugin_loader.h"

/* ---- fixtures and goldens ---------------------------------------------------------------- */

static void fixture_path(char *out, size_t size, const char *rel)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    cr_assert_not_null(src, "AIGW_TEST_SRCDIR is not set (run through make check)");
    snprintf(out, size, "%s/tests/fixtures/%s", src, rel);
}

char *at_read(const char *rel, size_t *len)
{
    char path[4096];
    fixture_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "fixture %s not found", path);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        cr_assert_eq(gw_buf_append(&b, tmp, n), 0);
    fclose(f);
    cr_assert_eq(gw_buf_append(&b, "", 0), 0);
    return gw_buf_steal(&b, len);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

void at_golden(const char *rel, const char *got, size_t n)
{
    if (getenv("AIGW_UPDATE_GOLDEN")) {
        char path[4096];
        fixture_path(path, sizeof path, rel);
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "cannot write %s", path);
        if (ends_with(rel, ".json")) {
            cJSON *j = cJSON_ParseWithLength(got, n);
            cr_assert_not_null(j, "output is not JSON: %.*s", (int)n, got);
            char *pretty = cJSON_Print(j);
            fprintf(f, "%s\n", pretty);
            free(pretty);
            cJSON_Delete(j);
        } else {
            fwrite(got, 1, n, f);
        }
        fclose(f);
        return;
    }
    size_t elen = 0;
    char *exp = at_read(rel, &elen);
    if (ends_with(rel, ".json")) {
        cJSON *e = cJSON_Parse(exp), *g = cJSON_ParseWithLength(got, n);
        cr_assert_not_null(e, "golden %s is not JSON", rel);
        cr_assert_not_null(g, "output is not JSON: %.*s", (int)n, got);
        char *gs = cJSON_PrintUnformatted(g);
        cr_assert(cJSON_Compare(e, g, 1), "output differs from %s:\n%s", rel, gs);
        free(gs);
        cJSON_Delete(e);
        cJSON_Delete(g);
    } else {
        cr_assert(elen == n && !memcmp(exp, got, n), "output differs from %s:\n%.*s", rel, (int)n,
                  got);
    }
    free(exp);
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct hdrs {
    const char *betas;
};

static const char *header(void *ud, const char *name)
{
    const struct hdrs *h = ud;
    return !strcasecmp(name, "anthropic-beta") ? h->betas : NULL;
}

int at_parse(const char *body, const char *path, const char *betas, struct gw_parsed *p,
             struct gw_front_err *err)
{
    struct hdrs h = {betas};
    struct gw_inbound in = {
        body, strlen(body), path ? path : "/v1/messages", NULL, header, &h, NULL, 0};
    memset(p, 0, sizeof *p);
    return gw_dialect_anthropic.parse(&in, p, err);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

/* ---- the renderer, driven ------------------------------------------------------------------- */

static int finish_of(const char *s)
{
    return is(s, "length")           ? AIGW_FINISH_LENGTH
           : is(s, "tool_calls")     ? AIGW_FINISH_TOOL_CALLS
           : is(s, "content_filter") ? AIGW_FINISH_CONTENT_FILTER
                                     : AIGW_FINISH_STOP;
}

static int64_t num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static void text_chunk(void *r, struct gw_buf *out, int type, int choice, const char *s)
{
    struct aigw_chunk c = aigw_chunk_init(type, choice);
    c.text = aigw_bytes_of(s);
    cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, out), 0);
}

char *at_render_script(const struct gw_parsed *p, const char *script, size_t *len)
{
    cJSON *steps = cJSON_Parse(script), *st;
    cr_assert(cJSON_IsArray(steps), "chunk script is not a JSON array");
    void *r = gw_dialect_anthropic.render_new(p, "routed-model", "req_test_0001");
    cr_assert_not_null(r);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    int ended = 0;
    cJSON_ArrayForEach(st, steps)
    {
        const cJSON *v;
        int choice = (int)(num(st, "choice") > 0 ? num(st, "choice") : 0);
        if ((v = cJSON_GetObjectItemCaseSensitive(st, "meta"))) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_META, 0);
            c.id = aigw_bytes_of(jstr(v, "id"));
            c.name = aigw_bytes_of(jstr(v, "model"));
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if (jstr(st, "text")) {
            text_chunk(r, &out, AIGW_CHUNK_TEXT, choice, jstr(st, "text"));
        } else if (jstr(st, "reasoning")) {
            text_chunk(r, &out, AIGW_CHUNK_REASONING, choice, jstr(st, "reasoning"));
        } else if (jstr(st, "signature")) {
            text_chunk(r, &out, AIGW_CHUNK_REASONING_SIGNATURE, choice, jstr(st, "signature"));
        } else if (jstr(st, "redacted")) {
            text_chunk(r, &out, AIGW_CHUNK_REASONING_REDACTED, choice, jstr(st, "redacted"));
        } else if (jstr(st, "refusal")) {
            text_chunk(r, &out, AIGW_CHUNK_REFUSAL, choice, jstr(st, "refusal"));
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "tool"))) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, choice);
            c.tool_index = (int)num(v, "index");
            c.id = aigw_bytes_of(jstr(v, "id"));
            c.name = aigw_bytes_of(jstr(v, "name"));
            c.text = aigw_bytes_of(jstr(v, "args"));
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if (jstr(st, "finish")) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_FINISH, choice);
            c.finish = finish_of(jstr(st, "finish"));
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "usage"))) {
            struct aigw_usage u;
            aigw_usage_init(&u);
            u.prompt_tokens = num(v, "prompt");
            u.completion_tokens = num(v, "completion");
            u.cached_tokens = num(v, "cached");
            u.cache_write_tokens = num(v, "cache_write");
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
            c.usage = &u;
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "extra"))) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EXTRA, choice);
            c.name = aigw_bytes_of(jstr(v, "name"));
            c.extra = cJSON_GetObjectItemCaseSensitive(v, "value");
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if (cJSON_GetObjectItemCaseSensitive(st, "heartbeat")) {
            cr_assert_eq(gw_dialect_anthropic.render_heartbeat(r, &out), 0);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "error"))) {
            struct aigw_error e;
            aigw_error_init(&e);
            e.status = (int)num(v, "status");
            e.type = jstr(v, "type");
            e.message = jstr(v, "message");
            cr_assert_eq(gw_dialect_anthropic.render_stream_error(r, &e, &out), 0);
            ended = 1;
        } else {
            cr_assert_fail("unknown chunk script step");
        }
    }
    if (!ended)
        cr_assert_eq(gw_dialect_anthropic.render_end(r, &out), 0);
    gw_dialect_anthropic.render_free(r);
    cJSON_Delete(steps);
    cr_assert_eq(gw_buf_append(&out, "", 0), 0);
    return gw_buf_steal(&out, len);
}

/* ---- a real plugin in between ------------------------------------------------------------ */

static struct gw_plugins plugins;
static int plugins_loaded;

static struct gw_plugin *plugin(const char *vkey)
{
    if (!plugins_loaded) {
        const char *dir = getenv("AIGW_TEST_PLUGIN_DIR");
        cr_assert_not_null(dir, "AIGW_TEST_PLUGIN_DIR is not set (run through make check)");
        setenv("OPENAI_API_KEY", "sk-test-openai", 1);
        setenv("OPENAI_BASE_URL", "http://mock.test/v1", 1);
        setenv("ANTHROPIC_API_KEY", "sk-test-anthropic", 1);
        setenv("ANTHROPIC_BASE_URL", "http://mock.test", 1);
        setenv("GEMINI_API_KEY", "test-gemini-key", 1);
        setenv("GEMINI_BASE_URL", "http://mock.test", 1);
        setenv("COHERE_API_KEY", "test-cohere-key", 1);
        setenv("COHERE_BASE_URL", "http://mock.test", 1);
        setenv("VERTEX_AI_PROJECT_ID", "test-project", 1);
        setenv("VERTEX_AI_ACCESS_TOKEN", "ya29.test-token", 1);
        setenv("VERTEX_AI_BASE_URL", "http://mock.test", 1);
        cr_assert_eq(gw_plugins_load(&plugins, dir), 0);
        plugins_loaded = 1;
    }
    struct gw_plugin *p = gw_plugins_find(&plugins, vkey);
    cr_assert(p && p->active, "plugin %s is not loaded or not active", vkey);
    return p;
}

struct run {
    struct gw_call call;
    void *render;
    struct gw_buf out;
};

static int sink(void *ud, const struct aigw_chunk *c)
{
    struct run *r = ud;
    return gw_dialect_anthropic.render_chunk(r->render, c, &r->out);
}

static void run_begin(struct run *r, const struct gw_parsed *p, const char *vkey, const char *model)
{
    memset(r, 0, sizeof *r);
    gw_buf_init(&r->out, 0);
    cr_assert_eq(
        gw_call_init(&r->call, plugin(vkey), p->op, p->body, model, p->stream, p->include_usage),
        0);
    r->call.pub.inbound = "anthropic";
    r->call.pub.inbound_body = p->native;
    r->call.request_id = "req_test_0001";
    r->render = gw_dialect_anthropic.render_new(p, model, "req_test_0001");
    cr_assert_not_null(r->render);
    r->call.sink = sink;
    r->call.sink_ud = r;
}

static void add_headers(struct gw_call *c, const char *headers)
{
    const char *p = headers;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (colon) {
            const char *v = colon + 1;
            while (v < p + n && *v == ' ')
                v++;
            cr_assert_eq(gw_call_add_resp_header(c, p, (size_t)(colon - p), v, (size_t)(p + n - v)),
                         0);
        }
        p = eol ? eol + 2 : p + n;
    }
}

char *at_replay(const struct gw_parsed *p, const char *vkey, const char *model, int status,
                const char *headers, const char *body, size_t len, const size_t *cuts, size_t ncuts,
                int *client_status, size_t *out_len)
{
    struct run r;
    run_begin(&r, p, vkey, model);
    int rc = gw_exchange_begin(&r.call);
    if (rc == 0) {
        add_headers(&r.call, headers);
        rc = gw_exchange_headers(&r.call, status);
        size_t off = 0;
        for (size_t i = 0; rc == 0 && i <= ncuts; i++) {
            size_t end = i < ncuts ? cuts[i] : len;
            if (end > off)
                rc = gw_exchange_data(&r.call, body + off, end - off);
            off = end;
        }
        if (rc == 0)
            rc = gw_exchange_end(&r.call);
    }
    /* What the lifetime does with the outcome (proxy/deliver.c). */
    struct aigw_error err;
    if (!gw_outcome_error(&r.call, rc, &err)) {
        *client_status = 200;
        cr_assert_eq(gw_dialect_anthropic.render_end(r.render, &r.out), 0);
    } else if (p->stream && r.out.len) {
        *client_status = 200;
        cr_assert_eq(gw_dialect_anthropic.render_stream_error(r.render, &err, &r.out), 0);
    } else {
        *client_status = gw_error_status(&err);
        gw_buf_reset(&r.out);
        cr_assert_eq(gw_error_document(gw_dialect_anthropic.error_body, &r.out, *client_status,
                                       err.type, err.code, err.param, err.message),
                     0);
    }
    gw_dialect_anthropic.render_free(r.render);
    gw_call_free(&r.call);
    cr_assert_eq(gw_buf_append(&r.out, "", 0), 0);
    return gw_buf_steal(&r.out, out_len);
}

cJSON *at_upstream_body(const struct gw_parsed *p, const char *vkey, const char *model, char **url,
                        const char *header, char **header_value)
{
    struct run r;
    run_begin(&r, p, vkey, model);
    cr_assert_eq(gw_exchange_begin(&r.call), 0, "the %s plugin refused the request", vkey);
    cJSON *body = cJSON_ParseWithLength(r.call.body ? r.call.body : "", r.call.body_len);
    cr_assert_not_null(body, "upstream body is not JSON");
    if (url)
        *url = strdup(r.call.url ? r.call.url : "");
    if (header_value) {
        const char *v = gw_call_find_header(r.call.headers, header);
        *header_value = v ? strdup(v) : NULL;
    }
    gw_dialect_anthropic.render_free(r.render);
    gw_call_free(&r.call);
    gw_buf_free(&r.out);
    return body;
}
