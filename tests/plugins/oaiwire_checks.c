/* oaiwire_checks - shared checks of the OpenAI-wire plugin tests (see oaiwire_checks.h). */
#include "plugins/oaiwire_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

/* ---- accessors --------------------------------------------------------------------------- */

const cJSON *oc_get(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    cr_assert_not_null(v, "missing \"%s\"", key);
    return v;
}

const char *oc_str(const cJSON *obj, const char *key)
{
    const cJSON *v = oc_get(obj, key);
    cr_assert(cJSON_IsString(v), "\"%s\" is not a string", key);
    return v->valuestring;
}

double oc_num(const cJSON *obj, const char *key)
{
    const cJSON *v = oc_get(obj, key);
    cr_assert(cJSON_IsNumber(v), "\"%s\" is not a number", key);
    return v->valuedouble;
}

void oc_absent(const cJSON *obj, const char *key)
{
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(obj, key), "\"%s\" should be gone", key);
}

void oc_absent_all(const cJSON *obj, const char *keys)
{
    char key[64];
    int n;
    while (sscanf(keys, " %63s%n", key, &n) == 1) {
        oc_absent(obj, key);
        keys += n;
    }
}

/* ---- requests and responses ---------------------------------------------------------------- */

struct ph_call *oc_begin_file(const char *vkey, int op, const char *fixture)
{
    char *json = ph_fixture(fixture, NULL);
    struct ph_call *c = ph_begin(vkey, op, json);
    free(json);
    return c;
}

struct ph_call *oc_begin_chat(const char *vkey, const char *model, int stream)
{
    char req[512];
    snprintf(req, sizeof req,
             "{\"model\":\"%s\",%s\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", model,
             stream == 2   ? "\"stream\":true,\"stream_options\":{\"include_usage\":true},"
             : stream == 1 ? "\"stream\":true,"
                           : "");
    return ph_begin(vkey, AIGW_OP_CHAT, req);
}

cJSON *oc_request_is(struct ph_call *c, const char *url, int framing, const char *model)
{
    cJSON *b;
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), url);
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " OC_CANARY);
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/json");
    cr_assert_eq(ph_framing(c), framing);
    b = ph_body_json(c);
    if (model)
        cr_assert_str_eq(oc_str(b, "model"), model);
    return b;
}

cJSON *oc_chat(struct ph_call *c, const char *fixture, const cJSON **choice)
{
    cJSON *o;
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, fixture, 0), 0);
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    o = ph_output_json(c);
    cr_assert_str_eq(oc_str(o, "object"), "chat.completion");
    if (choice)
        *choice = cJSON_GetArrayItem(oc_get(o, "choices"), 0);
    return o;
}

void oc_no_secret(struct ph_call *c)
{
    cr_assert_null(strstr(ph_output(c), OC_CANARY), "the key leaked: %s", ph_output(c));
}

/* The client output with every "created":<n> zeroed: two runs may straddle a second. */
static char *normalized(const char *s)
{
    char *out = strdup(s), *p = out, *q;
    cr_assert_not_null(out);
    while ((p = strstr(p, "\"created\":"))) {
        p += 10;
        for (q = p; *q >= '0' && *q <= '9'; q++)
            *q = '0';
        p = q;
    }
    return out;
}

struct ph_call *oc_stream_body(const char *vkey, const char *model, int usage, const char *body,
                               size_t len)
{
    struct ph_call *whole = oc_begin_chat(vkey, model, usage ? 2 : 1);
    struct ph_call *split = oc_begin_chat(vkey, model, usage ? 2 : 1);
    char *a, *b;

    int rc = ph_respond(whole, 200, OC_SSE, body, len, 0);
    cr_assert(rc == 0 || rc == AIGW_EPROTO, "%d: %s", rc, ph_output(whole));
    cr_assert_eq(ph_respond(split, 200, OC_SSE, body, len, 1), rc, "%s", ph_output(split));
    a = normalized(ph_output(whole));
    b = normalized(ph_output(split));
    cr_assert_str_eq(a, b, "split at every byte gives another client stream");
    free(a);
    free(b);
    ph_free(split);
    oc_no_secret(whole);
    return whole;
}

struct ph_call *oc_stream(const char *vkey, const char *model, int usage, const char *fixture)
{
    size_t len;
    char *body = ph_fixture(fixture, &len);
    struct ph_call *c = oc_stream_body(vkey, model, usage, body, len);
    free(body);
    return c;
}

void oc_stream_end_is(struct ph_call *c, const char *finish)
{
    const cJSON *ev, *ch;
    int n = 0;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(ev, "choices"))
        {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(ch, "finish_reason");
            if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ch, "index")) == 0 &&
                cJSON_IsString(f))
                n++;
        }
    }
    cr_assert_eq(n, 1, "%d finish chunks for choice 0: %s", n, ph_output(c));
    cr_assert_str_eq(ph_stream_finish(c), finish);
    cr_assert(ph_sse_done(c), "no data: [DONE] at the end: %s", ph_output(c));
    cr_assert_null(strstr(ph_output(c), "\"error\""), "an error event: %s", ph_output(c));
}

void oc_stream_end_cut(struct ph_call *c)
{
    const cJSON *ev, *last = NULL;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        last = ev;
    }
    cr_assert_null(ph_stream_finish(c), "a cut stream got a finish: %s", ph_output(c));
    cr_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(last, "error")),
              "no error event at the end: %s", ph_output(c));
    cr_assert(ph_sse_done(c), "no data: [DONE] at the end: %s", ph_output(c));
}

int oc_usage_chunks(struct ph_call *c)
{
    const cJSON *ev;
    int n = 0;
    cJSON_ArrayForEach(ev, ph_sse_events(c))
    {
        n += cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ev, "usage"));
    }
    return n;
}

void oc_usage_is(const cJSON *usage, int prompt, int completion, int total)
{
    cr_assert_not_null(usage, "no usage");
    cr_assert_eq(oc_num(usage, "prompt_tokens"), prompt);
    cr_assert_eq(oc_num(usage, "completion_tokens"), completion);
    cr_assert_eq(oc_num(usage, "total_tokens"), total);
}

void oc_error_is(struct ph_call *c, int status, const char *headers, const char *fixture,
                 int client_status, const char *type, int retryable, int64_t retry_after_ms)
{
    const struct aigw_error *e;
    const cJSON *err;

    ph_respond_file(c, status, headers, fixture, 0);
    cr_assert_eq(ph_client_status(c), client_status, "%s", ph_output(c));
    err = oc_get(ph_output_json(c), "error");
    cr_assert_str_eq(oc_str(err, "type"), type);
    cr_assert_gt(strlen(oc_str(err, "message")), 0);
    e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->retryable, retryable, "retryable %d", e->retryable);
    cr_assert_eq(e->retry_after_ms, retry_after_ms, "retry after %lld ms",
                 (long long)e->retry_after_ms);
    oc_no_secret(c);
}

/* ---- expectations ------------------------------------------------------------------------ */

cJSON *oc_expectations(const char *vkey)
{
    char rel[256];
    char *text;
    cJSON *doc;
    snprintf(rel, sizeof rel, "%s/expect.json", vkey);
    text = ph_fixture(rel, NULL);
    doc = cJSON_Parse(text);
    cr_assert_not_null(doc, "%s does not parse", rel);
    free(text);
    return doc;
}

static const char *fixture_of(const char *vkey, const cJSON *e, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", vkey, oc_str(e, "fixture"));
    return buf;
}

static const char *model_of(const cJSON *doc, const cJSON *e)
{
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "model"));
    return m ? m : oc_str(doc, "model");
}

/* Expected string at key, when the expectation names one. */
static void same_text(const cJSON *e, const char *key, const char *got, const char *fixture)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(e, key);
    if (cJSON_IsString(want))
        cr_assert_str_eq(got ? got : "(null)", want->valuestring, "%s: %s", fixture, key);
}

static void same_usage(const cJSON *e, const cJSON *usage)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "usage");
    if (cJSON_GetArraySize(u) == 3)
        oc_usage_is(usage, cJSON_GetArrayItem(u, 0)->valueint, cJSON_GetArrayItem(u, 1)->valueint,
                    cJSON_GetArrayItem(u, 2)->valueint);
}

static void stream_once(const char *vkey, const char *model, const cJSON *e, int include_usage)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(e, "tool_calls"), *t;
    char fx[256];
    struct ph_call *c = oc_stream(vkey, model, include_usage, fixture_of(vkey, e, fx, sizeof fx));
    int i = 0;

    same_text(e, "content", ph_stream_text(c), fx);
    same_text(e, "reasoning", ph_stream_reasoning(c), fx);
    cJSON_ArrayForEach(t, tools)
    {
        same_text(t, "name", ph_stream_tool_name(c, i), fx);
        same_text(t, "arguments", ph_stream_tool_args(c, i), fx);
        same_text(t, "id", ph_stream_tool_id(c, i), fx);
        i++;
    }
    cr_assert_null(ph_stream_tool_name(c, i), "%s: an extra tool call", fx);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "cut"))) {
        oc_stream_end_cut(c);
        ph_free(c);
        return;
    }
    oc_stream_end_is(c, oc_str(e, "finish"));
    cr_assert_eq(oc_usage_chunks(c), include_usage, "%s: %s", fx, ph_output(c));
    if (include_usage)
        same_usage(e, ph_usage(c));
    ph_free(c);
}

void oc_expect_streams(const char *vkey)
{
    cJSON *doc = oc_expectations(vkey);
    const cJSON *e;
    cJSON_ArrayForEach(e, oc_get(doc, "streams"))
    {
        stream_once(vkey, model_of(doc, e), e, 1);
        stream_once(vkey, model_of(doc, e), e, 0);
    }
    cJSON_Delete(doc);
}

static void chat_once(const char *vkey, const char *model, const cJSON *e)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(e, "tool_calls"), *t, *ch, *msg;
    const cJSON *calls;
    struct ph_call *c = oc_begin_chat(vkey, model, 0);
    char fx[256];
    cJSON *o;
    int i = 0;

    o = oc_chat(c, fixture_of(vkey, e, fx, sizeof fx), &ch);
    msg = oc_get(ch, "message");
    cr_assert_str_eq(oc_str(msg, "role"), "assistant");
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "content")))
        cr_assert(cJSON_IsNull(oc_get(msg, "content")), "%s: content is not null", fx);
    else
        same_text(e, "content", cJSON_GetStringValue(oc_get(msg, "content")), fx);
    if (cJSON_GetObjectItemCaseSensitive(e, "reasoning"))
        same_text(e, "reasoning", oc_str(msg, "reasoning_content"), fx);
    calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *tc = cJSON_GetArrayItem(calls, i++);
        cr_assert_not_null(tc, "%s: tool call %d missing", fx, i - 1);
        cr_assert_str_eq(oc_str(tc, "type"), "function");
        same_text(t, "name", oc_str(oc_get(tc, "function"), "name"), fx);
        same_text(t, "arguments", oc_str(oc_get(tc, "function"), "arguments"), fx);
        same_text(t, "id", oc_str(tc, "id"), fx);
    }
    cr_assert_eq(cJSON_GetArraySize(calls), i, "%s: tool calls", fx);
    cr_assert_str_eq(oc_str(ch, "finish_reason"), oc_str(e, "finish"), "%s", fx);
    same_usage(e, oc_get(o, "usage"));
    oc_no_secret(c);
    ph_free(c);
}

void oc_expect_chat(const char *vkey)
{
    cJSON *doc = oc_expectations(vkey);
    const cJSON *e;
    cJSON_ArrayForEach(e, oc_get(doc, "chat"))
    {
        chat_once(vkey, model_of(doc, e), e);
    }
    cJSON_Delete(doc);
}

void oc_expect_errors(const char *vkey)
{
    cJSON *doc = oc_expectations(vkey);
    const cJSON *e, *h;
    char fx[256], headers[512];

    cJSON_ArrayForEach(e, oc_get(doc, "errors"))
    {
        struct ph_call *c = oc_begin_chat(vkey, oc_str(doc, "model"), 0);
        const cJSON *hs = cJSON_GetObjectItemCaseSensitive(e, "headers");
        size_t n = 0;
        if (!cJSON_GetObjectItemCaseSensitive(hs, "Content-Type"))
            n = (size_t)snprintf(headers, sizeof headers, "%s", OC_JSON);
        cJSON_ArrayForEach(h, hs)
        {
            n += (size_t)snprintf(headers + n, sizeof headers - n, "%s: %s\r\n", h->string,
                                  h->valuestring);
        }
        cr_assert_lt(n, sizeof headers);
        fixture_of(vkey, e, fx, sizeof fx);
        cr_log_info("error %d from %s", (int)oc_num(e, "status"), fx);
        oc_error_is(c, (int)oc_num(e, "status"), n ? headers : OC_JSON, fx,
                    (int)oc_num(e, "client_status"), oc_str(e, "type"),
                    cJSON_IsTrue(oc_get(e, "retryable")), (int64_t)oc_num(e, "retry_after_ms"));
        ph_free(c);
    }
    cJSON_Delete(doc);
}
