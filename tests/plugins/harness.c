/* harness - drive a real plugin through the real loader and exchange (see harness.h). */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "front/render.h"
#include "plugin/call.h"
#include "plugin/exchange.h"
#include "plugin/plugin_loader.h"
#include "plugin/usage.h"

struct ph_call {
    struct gw_call call;
    struct gw_render render;
    struct gw_buf out;
    cJSON *request;
    int begun;
    int build_rc;
    int final_rc;
    int status;
    int complete;
    char *body_copy;
    cJSON *body_json;
    cJSON *out_json;
    cJSON *events;
    char *joined[4];
    char tool_buf[3][8192];
    cJSON *usage;
    struct aigw_usage ledger; /* every usage chunk merged, as the lifetime keeps it */
};

static struct gw_plugins plugins;
static int plugins_loaded;
static int env_changed; /* plugins read their env at load: reload before the next call */

void ph_env(const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        cr_assert_not_null(v, "ph_env: %s has no value", n);
        setenv(n, v, 1);
    }
    va_end(ap);
    env_changed = 1;
}

void ph_unenv(const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *))
        unsetenv(n);
    va_end(ap);
    env_changed = 1;
}

static struct gw_plugin *load(const char *vkey)
{
    const char *dir = getenv("AIGW_TEST_PLUGIN_DIR");
    cr_assert_not_null(dir, "AIGW_TEST_PLUGIN_DIR is not set (run through make check)");
    struct gw_plugin *p = plugins_loaded ? gw_plugins_find(&plugins, vkey) : NULL;
    if (!p || !p->active || env_changed) {
        /* The environment may have changed since the last load: activation and what
         * host->env answers are decided at load time, as in the daemon. */
        if (plugins_loaded)
            gw_plugins_unload(&plugins);
        cr_assert_eq(gw_plugins_load(&plugins, dir), 0, "cannot read plugin dir %s", dir);
        plugins_loaded = 1;
        env_changed = 0;
        p = gw_plugins_find(&plugins, vkey);
    }
    return p;
}

static int sink(void *ud, const struct aigw_chunk *chunk)
{
    struct ph_call *c = ud;
    if (chunk->type == AIGW_CHUNK_USAGE && chunk->usage)
        gw_usage_merge(&c->ledger, chunk->usage);
    return gw_render_chunk(&c->render, chunk, &c->out);
}

struct ph_call *ph_begin_rc(const char *vkey, int op, const char *request_json, int *rc)
{
    struct gw_plugin *p = load(vkey);
    if (!p) {
        *rc = AIGW_ENOTSUP;
        return NULL;
    }
    cr_assert(p->active, "plugin %s is not active: %s", vkey, p->why);
    struct ph_call *c = calloc(1, sizeof *c);
    cr_assert_not_null(c);
    c->request = cJSON_Parse(request_json);
    cr_assert_not_null(c->request, "request JSON does not parse: %s", request_json);
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(c->request, "stream");
    int is_stream = cJSON_IsTrue(stream);
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(c->request, "stream_options");
    int inc = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(so, "include_usage"));
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(c->request, "model");
    const char *m = cJSON_IsString(model) ? model->valuestring : "";
    size_t vl = strlen(vkey);
    if (strncmp(m, vkey, vl) == 0 && m[vl] == '/')
        m += vl + 1;
    gw_buf_init(&c->out, 0);
    gw_usage_init(&c->ledger);
    cr_assert_eq(gw_call_init(&c->call, p, op, c->request, m, is_stream, inc), 0);
    c->call.request_id = "test-request";
    cr_assert_eq(gw_render_init(&c->render, op, is_stream, inc, 0, m, "test-request"), 0);
    c->call.sink = sink;
    c->call.sink_ud = c;
    c->build_rc = gw_exchange_begin(&c->call);
    *rc = c->build_rc;
    if (c->build_rc < 0) {
        gw_render_outcome(&c->render, &c->call, c->build_rc, 0, &c->out, &c->status);
        c->complete = 1;
    }
    return c;
}

struct ph_call *ph_begin(const char *vkey, int op, const char *request_json)
{
    int rc = 0;
    struct ph_call *c = ph_begin_rc(vkey, op, request_json, &rc);
    cr_assert_not_null(c, "plugin %s could not be loaded from $AIGW_TEST_PLUGIN_DIR", vkey);
    cr_assert_eq(rc, 0, "building the %s request failed with %d: %s", vkey, rc,
                 c->out.ptr ? c->out.ptr : "");
    return c;
}

const char *ph_method(struct ph_call *c)
{
    return c->call.method ? c->call.method : (c->call.body ? "POST" : "GET");
}

const char *ph_url(struct ph_call *c)
{
    return c->call.url;
}

const char *ph_header(struct ph_call *c, const char *name)
{
    return gw_call_find_header(c->call.headers, name);
}

const char *ph_body(struct ph_call *c)
{
    free(c->body_copy);
    c->body_copy = strndup(c->call.body ? c->call.body : "", c->call.body_len);
    return c->body_copy;
}

size_t ph_body_len(struct ph_call *c)
{
    return c->call.body_len;
}

cJSON *ph_body_json(struct ph_call *c)
{
    cJSON_Delete(c->body_json);
    c->body_json = cJSON_ParseWithLength(c->call.body ? c->call.body : "", c->call.body_len);
    cr_assert_not_null(c->body_json, "upstream body is not JSON: %.*s", (int)c->call.body_len,
                       c->call.body ? c->call.body : "");
    return c->body_json;
}

int ph_framing(struct ph_call *c)
{
    return c->call.framing;
}

static void add_headers(struct ph_call *c, const char *headers)
{
    const char *p = headers;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (colon) {
            const char *v = colon + 1;
            while (v < p + n && (*v == ' ' || *v == '\t'))
                v++;
            cr_assert_eq(gw_call_add_resp_header(&c->call, p, (size_t)(colon - p), v,
                                                 (size_t)(p + n - v)),
                         0);
        }
        p = eol ? eol + 2 : p + n;
    }
}

static void reset_views(struct ph_call *c)
{
    cJSON_Delete(c->out_json);
    cJSON_Delete(c->events);
    cJSON_Delete(c->usage);
    c->out_json = c->events = c->usage = NULL;
    for (int i = 0; i < 4; i++) {
        free(c->joined[i]);
        c->joined[i] = NULL;
    }
}

int ph_respond(struct ph_call *c, int status, const char *headers, const char *body, size_t len,
               size_t split)
{
    cr_assert(!c->complete, "ph_respond: the response is already complete");
    reset_views(c);
    add_headers(c, headers);
    int rc = gw_exchange_headers(&c->call, status);
    size_t step = split ? split : (len ? len : 1);
    for (size_t off = 0; rc == 0 && off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        rc = gw_exchange_data(&c->call, body + off, n);
    }
    if (rc == 0)
        rc = gw_exchange_end(&c->call);
    if (rc == AIGW_CONTINUE)
        return rc;
    c->final_rc = rc;
    gw_render_outcome(&c->render, &c->call, rc, 0, &c->out, &c->status);
    c->complete = 1;
    return rc;
}

char *ph_fixture(const char *relpath, size_t *len)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    cr_assert_not_null(src, "AIGW_TEST_SRCDIR is not set (run through make check)");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", src, relpath);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "fixture %s not found", path);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        cr_assert_eq(gw_buf_append(&b, tmp, n), 0);
    fclose(f);
    size_t l;
    char *s = gw_buf_steal(&b, &l);
    if (len)
        *len = l;
    return s;
}

int ph_respond_file(struct ph_call *c, int status, const char *headers, const char *fixture,
                    size_t split)
{
    size_t len;
    char *body = ph_fixture(fixture, &len);
    int rc = ph_respond(c, status, headers, body, len, split);
    free(body);
    return rc;
}

int ph_client_status(struct ph_call *c)
{
    return c->status;
}

const char *ph_output(struct ph_call *c)
{
    return c->out.ptr ? c->out.ptr : "";
}

cJSON *ph_output_json(struct ph_call *c)
{
    if (!c->out_json)
        c->out_json = cJSON_Parse(ph_output(c));
    cr_assert_not_null(c->out_json, "client output is not JSON: %s", ph_output(c));
    return c->out_json;
}

cJSON *ph_sse_events(struct ph_call *c)
{
    if (c->events)
        return c->events;
    c->events = cJSON_CreateArray();
    const char *p = ph_output(c);
    while (p && *p) {
        const char *end = strstr(p, "\n\n");
        size_t n = end ? (size_t)(end - p) : strlen(p);
        cr_assert(n >= 6 && strncmp(p, "data: ", 6) == 0, "malformed SSE event: %.*s", (int)n, p);
        if (!(n == 12 && strncmp(p + 6, "[DONE]", 6) == 0)) {
            cJSON *j = cJSON_ParseWithLength(p + 6, n - 6);
            cr_assert_not_null(j, "SSE data is not JSON: %.*s", (int)n, p);
            cJSON_AddItemToArray(c->events, j);
        }
        p = end ? end + 2 : p + n;
    }
    return c->events;
}

int ph_sse_done(struct ph_call *c)
{
    const char *o = ph_output(c);
    size_t n = strlen(o);
    return n >= 14 && strcmp(o + n - 14, "data: [DONE]\n\n") == 0;
}

static const cJSON *choice0(const cJSON *ev)
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(ev, "choices");
    const cJSON *c;
    cJSON_ArrayForEach(c, ch)
    {
        if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "index")) == 0)
            return c;
    }
    return NULL;
}

static const char *join_delta(struct ph_call *c, int slot, const char *field)
{
    if (c->joined[slot])
        return c->joined[slot];
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_buf_append(&b, "", 0);
    const cJSON *ev;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(choice0(ev), "delta");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, field);
        if (cJSON_IsString(v))
            gw_buf_append_str(&b, v->valuestring);
    }
    c->joined[slot] = gw_buf_steal(&b, NULL);
    return c->joined[slot];
}

const char *ph_stream_text(struct ph_call *c)
{
    return join_delta(c, 0, "content");
}

const char *ph_stream_reasoning(struct ph_call *c)
{
    return join_delta(c, 1, "reasoning_content");
}

const char *ph_stream_finish(struct ph_call *c)
{
    const char *fin = NULL;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(choice0(ev), "finish_reason");
        if (cJSON_IsString(f))
            fin = f->valuestring;
    }
    return fin;
}

static const char *tool_field(struct ph_call *c, int index, int which)
{
    struct gw_buf b;
    gw_buf_init(&b, sizeof c->tool_buf[0] - 1);
    gw_buf_append(&b, "", 0);
    int found = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(choice0(ev), "delta");
        const cJSON *tc;
        cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(d, "tool_calls"))
        {
            if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tc, "index")) != index)
                continue;
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(tc, "function");
            const cJSON *v = which == 0   ? cJSON_GetObjectItemCaseSensitive(f, "name")
                             : which == 1 ? cJSON_GetObjectItemCaseSensitive(f, "arguments")
                                          : cJSON_GetObjectItemCaseSensitive(tc, "id");
            if (cJSON_IsString(v)) {
                found = 1;
                gw_buf_append_str(&b, v->valuestring);
            }
        }
    }
    snprintf(c->tool_buf[which], sizeof c->tool_buf[which], "%s", b.ptr ? b.ptr : "");
    gw_buf_free(&b);
    return found ? c->tool_buf[which] : NULL;
}

const char *ph_stream_tool_name(struct ph_call *c, int index)
{
    return tool_field(c, index, 0);
}

const char *ph_stream_tool_args(struct ph_call *c, int index)
{
    return tool_field(c, index, 1);
}

const char *ph_stream_tool_id(struct ph_call *c, int index)
{
    return tool_field(c, index, 2);
}

const struct aigw_usage *ph_ledger_usage(struct ph_call *c)
{
    return &c->ledger;
}

cJSON *ph_usage(struct ph_call *c)
{
    if (c->usage)
        return c->usage;
    if (!c->render.stream) {
        c->usage = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ph_output_json(c), "usage"), 1);
        return c->usage;
    }
    const cJSON *ev;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(ev, "usage");
        if (cJSON_IsObject(u)) {
            cJSON_Delete(c->usage);
            c->usage = cJSON_Duplicate(u, 1);
        }
    }
    return c->usage;
}

const struct aigw_error *ph_error(struct ph_call *c)
{
    return c->call.has_error ? &c->call.error : NULL;
}

void ph_free(struct ph_call *c)
{
    if (!c)
        return;
    reset_views(c);
    cJSON_Delete(c->body_json);
    free(c->body_copy);
    gw_call_free(&c->call);
    gw_render_free(&c->render);
    gw_buf_free(&c->out);
    cJSON_Delete(c->request);
    free(c);
}

int ph_cancel(struct ph_call *c, const char **job_id)
{
    return gw_exchange_cancel(&c->call, job_id);
}
