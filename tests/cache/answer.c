/* answer - a chat answer as a client reads it, streamed or not (see answer.h). */
#include "cache/answer.h"

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/buf.h"

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static long long num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

/* Appends s to the string in dst (size bytes), cut to fit, always terminated. */
static void append(char *dst, size_t size, const char *s)
{
    size_t used = strlen(dst);
    if (!s || used + 1 >= size)
        return;
    size_t n = strlen(s);
    if (n > size - used - 1)
        n = size - used - 1;
    memcpy(dst + used, s, n);
    dst[used + n] = '\0';
}

static void usage_of(const cJSON *u, struct answer *a)
{
    a->prompt = num_of(u, "prompt_tokens");
    a->completion = num_of(u, "completion_tokens");
    a->total = num_of(u, "total_tokens");
    a->cached = num_of(cJSON_GetObjectItem(u, "prompt_tokens_details"), "cached_tokens");
    a->reasoning_tokens =
        num_of(cJSON_GetObjectItem(u, "completion_tokens_details"), "reasoning_tokens");
}

static void answer_init(struct answer *a)
{
    memset(a, 0, sizeof *a);
    a->prompt = a->completion = a->total = a->cached = a->reasoning_tokens = -1;
}

void answer_of_json(struct e2e_resp *r, struct answer *a)
{
    answer_init(a);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j, "%s", r->body);
    cr_assert_str_eq(str_of(j, "object"), "chat.completion");
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "choices"), 0);
    const cJSON *msg = cJSON_GetObjectItem(ch, "message");
    append(a->content, sizeof a->content, str_of(msg, "content"));
    append(a->reasoning, sizeof a->reasoning, str_of(msg, "reasoning_content"));
    const cJSON *tc;
    cJSON_ArrayForEach(tc, cJSON_GetObjectItem(msg, "tool_calls"))
    {
        cr_assert_lt(a->ntools, ANSWER_TOOLS);
        const cJSON *fn = cJSON_GetObjectItem(tc, "function");
        snprintf(a->tools[a->ntools].id, sizeof a->tools[0].id, "%s", str_of(tc, "id"));
        snprintf(a->tools[a->ntools].name, sizeof a->tools[0].name, "%s", str_of(fn, "name"));
        snprintf(a->tools[a->ntools].args, sizeof a->tools[0].args, "%s", str_of(fn, "arguments"));
        a->ntools++;
    }
    snprintf(a->finish, sizeof a->finish, "%s",
             str_of(ch, "finish_reason") ? str_of(ch, "finish_reason") : "");
    usage_of(cJSON_GetObjectItem(j, "usage"), a);
}

void answer_of_stream(struct e2e_resp *r, struct answer *a)
{
    answer_init(a);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *ct = e2e_resp_header(r, "Content-Type");
    cr_assert(ct && !strncmp(ct, "text/event-stream", 17), "%s", ct ? ct : "(none)");
    cr_assert(e2e_resp_done(r), "a stream ends with [DONE]:\n%s", r->body);
    const char *id = NULL;
    for (int i = 0; i + 1 < r->n_events; i++) {
        cJSON *e = e2e_resp_event_json(r, i);
        cr_assert_not_null(e, "event %d: %s", i, r->events[i]);
        cr_assert_str_eq(str_of(e, "object"), "chat.completion.chunk");
        if (!id)
            id = str_of(e, "id");
        cr_assert_str_eq(str_of(e, "id"), id, "one id for the whole stream");
        if (cJSON_IsObject(cJSON_GetObjectItem(e, "usage")))
            usage_of(cJSON_GetObjectItem(e, "usage"), a);
        const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "choices"), 0);
        if (!ch)
            continue;
        const cJSON *d = cJSON_GetObjectItem(ch, "delta");
        append(a->content, sizeof a->content, str_of(d, "content"));
        append(a->reasoning, sizeof a->reasoning, str_of(d, "reasoning_content"));
        const cJSON *tc;
        cJSON_ArrayForEach(tc, cJSON_GetObjectItem(d, "tool_calls"))
        {
            int k = (int)num_of(tc, "index");
            cr_assert(k >= 0 && k < ANSWER_TOOLS, "tool index %d", k);
            if (k >= a->ntools)
                a->ntools = k + 1;
            const cJSON *fn = cJSON_GetObjectItem(tc, "function");
            append(a->tools[k].id, sizeof a->tools[k].id, str_of(tc, "id"));
            append(a->tools[k].name, sizeof a->tools[k].name, str_of(fn, "name"));
            append(a->tools[k].args, sizeof a->tools[k].args, str_of(fn, "arguments"));
        }
        if (str_of(ch, "finish_reason"))
            snprintf(a->finish, sizeof a->finish, "%s", str_of(ch, "finish_reason"));
    }
}

void answer_same(const struct answer *a, const struct answer *b, const char *what)
{
    cr_assert_str_eq(a->content, b->content, "%s: content", what);
    cr_assert_str_eq(a->reasoning, b->reasoning, "%s: reasoning", what);
    cr_assert_eq(a->ntools, b->ntools, "%s: tool calls", what);
    for (int i = 0; i < a->ntools; i++) {
        cr_assert_str_eq(a->tools[i].id, b->tools[i].id, "%s: tool %d id", what, i);
        cr_assert_str_eq(a->tools[i].name, b->tools[i].name, "%s: tool %d name", what, i);
        cr_assert_str_eq(a->tools[i].args, b->tools[i].args, "%s: tool %d args", what, i);
    }
    cr_assert_str_eq(a->finish, b->finish, "%s: finish", what);
    cr_assert_eq(a->prompt, b->prompt, "%s: prompt tokens", what);
    cr_assert_eq(a->completion, b->completion, "%s: completion tokens", what);
    cr_assert_eq(a->total, b->total, "%s: total tokens", what);
    cr_assert_eq(a->cached, b->cached, "%s: cached tokens", what);
    cr_assert_eq(a->reasoning_tokens, b->reasoning_tokens, "%s: reasoning tokens", what);
}

/* ---- the Responses API --------------------------------------------------------------------- */

const cJSON *responses_doc(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    cr_assert_not_null(j, "%s", r->body);
    cr_assert_str_eq(str_of(j, "object"), "response");
    return j;
}

const cJSON *responses_stream(struct e2e_resp *r)
{
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *last = NULL;
    for (int i = 0; i < r->n_events; i++) {
        cJSON *e = e2e_resp_event_json(r, i);
        cr_assert_not_null(e, "event %d: %s", i, r->events[i]);
        cr_assert_null(last, "an event after the terminal one");
        cr_assert_eq(num_of(e, "sequence_number"), i);
        const char *type = str_of(e, "type");
        if (!strcmp(type, "response.completed") || !strcmp(type, "response.incomplete"))
            last = cJSON_GetObjectItem(e, "response");
        cr_assert(strcmp(type, "response.failed") && strcmp(type, "error"), "%s", r->body);
    }
    cr_assert_not_null(last, "a terminal event:\n%s", r->body);
    return last;
}

void responses_same(const cJSON *a, const cJSON *b, const char *what)
{
    const cJSON *oa = cJSON_GetObjectItem(a, "output"), *ob = cJSON_GetObjectItem(b, "output");
    cr_assert_eq(cJSON_GetArraySize(oa), cJSON_GetArraySize(ob), "%s: output items", what);
    cr_assert_gt(cJSON_GetArraySize(oa), 0, "%s: an answer has output", what);
    for (int i = 0; i < cJSON_GetArraySize(oa); i++) {
        const cJSON *x = cJSON_GetArrayItem(oa, i), *y = cJSON_GetArrayItem(ob, i);
        cr_assert_str_eq(str_of(x, "type"), str_of(y, "type"), "%s: item %d", what, i);
        static const char *const keys[] = {"name", "arguments", "call_id", "role"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *sx = str_of(x, keys[k]), *sy = str_of(y, keys[k]);
            cr_assert((!sx && !sy) || (sx && sy && !strcmp(sx, sy)), "%s: item %d %s", what, i,
                      keys[k]);
        }
        char *cx = cJSON_PrintUnformatted(cJSON_GetObjectItem(x, "content"));
        char *cy = cJSON_PrintUnformatted(cJSON_GetObjectItem(y, "content"));
        cr_assert((!cx && !cy) || (cx && cy && !strcmp(cx, cy)), "%s: item %d content", what, i);
        cJSON_free(cx);
        cJSON_free(cy);
    }
    char *ua = cJSON_PrintUnformatted(cJSON_GetObjectItem(a, "usage"));
    char *ub = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, "usage"));
    cr_assert(ua && ub && !strcmp(ua, ub), "%s: usage %s vs %s", what, ua, ub);
    cJSON_free(ua);
    cJSON_free(ub);
    cr_assert_str_eq(str_of(a, "status"), str_of(b, "status"), "%s: status", what);
}
