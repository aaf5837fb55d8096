/*
 * perplexity - Perplexity Sonar chat completions (providers-B §6). OpenAI-like, with search:
 * no function calling; strict user/assistant alternation; every stream chunk repeats the id,
 * the cumulative usage and the full citations; the stream ends with an object
 * "chat.completion.done" chunk (carrying the whole message again) and usually no [DONE];
 * reasoning models think inline, <think>…</think> at the head of the content.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.perplexity.ai"

static const struct oaiw_target target = {"PERPLEXITY", BASE_DEFAULT};

/* No function calling, one choice, and OpenAI-only knobs Sonar does not know. */
/* clang-format off */
static const char *const dropped[] = {
    "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "logprobs",
    "top_logprobs", "logit_bias", "seed", "n", "stop", "service_tier", "user", "store",
    "metadata", NULL};
/* clang-format on */

static const char *const message_fields[] = {"role", "content", NULL};

/* Top-level arrays worth keeping for the client, sent once per growth, not per chunk. */
static const char *const extras[] = {"citations", "search_results"};
#define N_EXTRAS (sizeof extras / sizeof extras[0])

#define OPEN_TAG "<think>"
#define CLOSE_TAG "</think>"

enum { THINK_UNSEEN = 0, THINK_IN, THINK_OUT };

struct think {
    int phase;
    size_t held; /* bytes of a tag cut by a chunk boundary */
    char hold[sizeof CLOSE_TAG];
};

struct pplx_state {
    struct think think;
    int extra_len[N_EXTRAS];
};

/* ---- request ----------------------------------------------------------------------------- */

static int joined(cJSON *into, const cJSON *from)
{
    const char *a = cJSON_GetStringValue(oaiw_get(into, "content"));
    const char *b = cJSON_GetStringValue(oaiw_get(from, "content"));
    size_t na = a ? strlen(a) : 0, nb = b ? strlen(b) : 0;
    char *s;
    int rc;

    if (!nb)
        return 0;
    if (!(s = malloc(na + nb + 3)))
        return AIGW_ENOMEM;
    memcpy(s, a ? a : "", na);
    memcpy(s + na, "\n\n", na ? 2 : 0);
    memcpy(s + na + (na ? 2 : 0), b, nb + 1);
    rc = oaiw_set(into, "content", cJSON_CreateString(s));
    free(s);
    return rc;
}

/* System messages are only allowed at the head: a later one (agent frameworks insert them)
 * is added to the last leading one, or becomes the head when there is none. */
static int hoist_system(cJSON *messages)
{
    cJSON *m, *next, *head = NULL;
    int leading = 1, rc;

    for (m = cJSON_IsArray(messages) ? messages->child : NULL; m; m = next) {
        next = m->next;
        if (!oaiw_str_is(oaiw_get(m, "role"), "system")) {
            leading = 0;
            continue;
        }
        if (leading) {
            head = m;
            continue;
        }
        if ((rc = oaiw_flatten_content(m)))
            return rc;
        cJSON_DetachItemViaPointer(messages, m);
        if (!head) {
            if (!cJSON_InsertItemInArray(messages, 0, m)) {
                cJSON_Delete(m);
                return AIGW_ENOMEM;
            }
            head = m;
            continue;
        }
        rc = oaiw_flatten_content(head);
        if (!rc)
            rc = joined(head, m);
        cJSON_Delete(m);
        if (rc)
            return rc;
    }
    return 0;
}

/* Sonar wants [system…] then user/assistant strictly alternating: tool results become user
 * text, tool-call-only turns disappear, and neighbours with one role merge. */
static int fix_messages(cJSON *messages)
{
    cJSON *m, *next, *prev = NULL;
    int rc;

    if ((rc = hoist_system(messages)))
        return rc;
    for (m = cJSON_IsArray(messages) ? messages->child : NULL; m; m = next) {
        const char *role, *content;
        next = m->next;
        if (oaiw_str_is(oaiw_get(m, "role"), "tool") &&
            (rc = oaiw_set(m, "role", cJSON_CreateString("user"))))
            return rc;
        oaiw_keep_only(m, message_fields);
        if ((rc = oaiw_flatten_content(m)))
            return rc;
        role = cJSON_GetStringValue(oaiw_get(m, "role"));
        content = cJSON_GetStringValue(oaiw_get(m, "content"));
        /* Nothing said (a tool-call-only turn), or the same speaker again: fold into prev. */
        if (!content || !*content ||
            (prev && role && strcmp(role, "system") != 0 &&
             oaiw_str_is(oaiw_get(prev, "role"), role))) {
            if (prev && (rc = joined(prev, m)))
                return rc;
            cJSON_Delete(cJSON_DetachItemViaPointer(messages, m));
            continue;
        }
        prev = m;
    }
    return 0;
}

/* Sonar's response_format is text, regex or json_schema holding a bare schema; json_object
 * (a 400 there) asks for any object through the schema that says just that, and OpenAI's
 * name / strict / description around a schema are left out. */
static int fix_response_format(cJSON *body)
{
    static const char *const schema_only[] = {"schema", NULL};
    cJSON *rf = oaiw_get(body, "response_format"), *js;
    int rc;

    if (oaiw_str_is(oaiw_get(rf, "type"), "json_object")) {
        if ((rc = oaiw_set(rf, "type", cJSON_CreateString("json_schema"))))
            return rc;
        return oaiw_set(rf, "json_schema", cJSON_Parse("{\"schema\":{\"type\":\"object\"}}"));
    }
    if (oaiw_str_is(oaiw_get(rf, "type"), "json_schema") &&
        cJSON_IsObject(js = oaiw_get(rf, "json_schema")))
        oaiw_keep_only(js, schema_only);
    return 0;
}

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, dropped, OAIW_MAX_TOKENS), *effort;
    int rc = 0;

    if (!body)
        return AIGW_ENOMEM;
    /* Sonar knows low|medium|high. */
    effort = oaiw_get(body, "reasoning_effort");
    if (oaiw_str_is(effort, "none"))
        cJSON_DeleteItemFromObjectCaseSensitive(body, "reasoning_effort");
    else if (oaiw_str_is(effort, "minimal") || oaiw_str_is(effort, "xhigh"))
        rc = oaiw_set(body, "reasoning_effort",
                      cJSON_CreateString(oaiw_str_is(effort, "xhigh") ? "high" : "low"));
    if (rc || (rc = fix_response_format(body)) || (rc = fix_messages(oaiw_get(body, "messages")))) {
        cJSON_Delete(body);
        return rc;
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

/* ---- inline reasoning -------------------------------------------------------------------- */

/* Longest tail of s[0..n) that is a proper prefix of tag: a tag a chunk boundary cut. */
static size_t tag_tail(const char *s, size_t n, const char *tag)
{
    size_t k = strlen(tag) - 1;
    for (k = k < n ? k : n; k > 0; k--)
        if (memcmp(s + n - k, tag, k) == 0)
            return k;
    return 0;
}

/* t (n bytes, NUL-terminated, writable) = held bytes + a new content piece. Points *reason and
 * *answer at NUL-terminated parts of t; keeps a cut tag back in st unless final. */
static void think_split(struct think *st, char *t, size_t n, int final, char **reason,
                        char **answer)
{
    size_t open = strlen(OPEN_TAG), k;
    char *end;

    *reason = *answer = t + n;
    st->held = 0;
    if (st->phase == THINK_UNSEEN) {
        if (memcmp(t, OPEN_TAG, n < open ? n : open) != 0 || (n < open && final)) {
            st->phase = THINK_OUT;
        } else if (n < open) {
            memcpy(st->hold, t, n);
            st->held = n;
            return;
        } else {
            st->phase = THINK_IN;
            t += open;
            n -= open;
        }
    }
    if (st->phase == THINK_IN) {
        if (!(end = strstr(t, CLOSE_TAG))) {
            k = final ? 0 : tag_tail(t, n, CLOSE_TAG);
            memcpy(st->hold, t + n - k, k);
            st->held = k;
            t[n - k] = '\0';
            *reason = t;
            return;
        }
        *end = '\0';
        *reason = t;
        st->phase = THINK_OUT;
        t = end + strlen(CLOSE_TAG);
    }
    *answer = t;
}

/* Rewrites m.content (a delta or a message) into reasoning_content + content. */
static int split_content(struct think *st, cJSON *m, int final)
{
    const char *c = cJSON_GetStringValue(oaiw_get(m, "content"));
    size_t n = c ? strlen(c) : 0;
    char *t, *reason, *answer;
    int rc;

    if (st->phase == THINK_OUT || (!n && !(final && st->held)))
        return 0;
    if (!(t = malloc(st->held + n + 1)))
        return AIGW_ENOMEM;
    memcpy(t, st->hold, st->held);
    memcpy(t + st->held, c ? c : "", n + 1);
    think_split(st, t, st->held + n, final, &reason, &answer);
    rc = oaiw_set(m, "content", cJSON_CreateString(answer));
    if (!rc && *reason)
        rc = oaiw_set(m, "reasoning_content", cJSON_CreateString(reason));
    free(t);
    return rc;
}

/* ---- responses --------------------------------------------------------------------------- */

/* Whether usage.reasoning_tokens (r) is outside completion_tokens (c). Deep research reports
 * its research pass's reasoning that way: neither in completion_tokens (prompt + completion =
 * total) nor in the <think> text, and priced apart. A count that cannot fit in c, or a total
 * that holds it beside c, says the same for any model. Otherwise it is taken as part of c
 * (the <think> text of the reasoning models is completion), so no token counts twice. */
static int reasoning_apart(const struct aigw_call *call, double p, double c, const cJSON *t,
                           double r)
{
    return (call->model && strstr(call->model, "deep-research")) || r > c ||
           (cJSON_IsNumber(t) && t->valuedouble == p + c + r);
}

/* OpenAI's shape counts reasoning inside completion_tokens and names it in
 * completion_tokens_details, which is what clients and the cost accounting (reasoning at its
 * own price) read: reasoning reported apart joins completion_tokens (and a total without it). */
static int fix_usage(const struct aigw_call *call, cJSON *root)
{
    cJSON *u = oaiw_get(root, "usage"), *details;
    const cJSON *r = oaiw_get(u, "reasoning_tokens"), *p = oaiw_get(u, "prompt_tokens");
    const cJSON *c = oaiw_get(u, "completion_tokens"), *t = oaiw_get(u, "total_tokens");
    int rc;

    if (!cJSON_IsNumber(r) || !cJSON_IsNumber(c) || r->valuedouble <= 0)
        return 0;
    double reasoning = r->valuedouble, completion = c->valuedouble;
    double prompt = cJSON_IsNumber(p) ? p->valuedouble : 0;
    if (reasoning_apart(call, prompt, completion, t, reasoning)) {
        /* A total that already holds the reasoning is left alone; one without it grows. */
        if (cJSON_IsNumber(t) && cJSON_IsNumber(p) && t->valuedouble == prompt + completion &&
            (rc = oaiw_set(u, "total_tokens", cJSON_CreateNumber(t->valuedouble + reasoning))))
            return rc;
        if ((rc = oaiw_set(u, "completion_tokens", cJSON_CreateNumber(completion + reasoning))))
            return rc;
    }
    if (!cJSON_IsObject(details = oaiw_get(u, "completion_tokens_details")) &&
        (rc = oaiw_set(u, "completion_tokens_details", cJSON_CreateObject())))
        return rc;
    details = oaiw_get(u, "completion_tokens_details");
    if ((rc = oaiw_set(details, "reasoning_tokens", cJSON_CreateNumber(reasoning))))
        return rc;
    cJSON_DeleteItemFromObjectCaseSensitive(u, "reasoning_tokens");
    return 0;
}

/* usage.cost.total_cost: what Perplexity bills for the request, in USD, search fees (per
 * request, per search query) and citation tokens included, none of which the token counts
 * carry. 0 when absent; stream chunks before the last carry 0 too (not yet known). */
static double stated_cost(const cJSON *root)
{
    const cJSON *v = oaiw_get(oaiw_get(oaiw_get(root, "usage"), "cost"), "total_cost");
    return cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e6 ? v->valuedouble : 0;
}

/* The stated cost goes to the host beside the counts (which the host's parser reads), so
 * that the ledger prices the request at the invoice's figure. */
static int emit_cost(struct aigw_call *call, double usd)
{
    struct aigw_usage u;

    if (usd <= 0)
        return 0;
    aigw_usage_init(&u);
    u.cost_usd = usd;
    return aigw_emit_usage(call, &u);
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    cJSON *root = oaiw_parse(body), *ch;
    double usd = stated_cost(root);
    int rc = 0;

    cJSON_ArrayForEach(ch, oaiw_get(root, "choices"))
    {
        struct think st = {0};
        if ((rc = split_content(&st, oaiw_get(ch, "message"), 1)))
            break;
    }
    if (rc || (rc = fix_usage(call, root))) {
        cJSON_Delete(root);
        return rc;
    }
    if ((rc = oaiw_parse_json(call, body, root)) < 0)
        return rc;
    return emit_cost(call, usd);
}

/* Detaches the extras and emits those that grew since last sent (they are cumulative). */
static int take_extras(struct aigw_call *call, struct pplx_state *st, cJSON *root)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < N_EXTRAS; i++) {
        cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(root, extras[i]);
        int n = cJSON_GetArraySize(v);
        if (!rc && cJSON_IsArray(v) && n > st->extra_len[i]) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
            c.name = aigw_bytes_of(extras[i]);
            c.extra = v;
            rc = call->host->emit(call, &c);
            st->extra_len[i] = n;
        }
        cJSON_Delete(v);
    }
    return rc;
}

static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct pplx_state *st = call->state;
    cJSON *root = oaiw_parse(frame->data), *ch;
    int done = oaiw_str_is(oaiw_get(root, "object"), "chat.completion.done"), rc;
    double usd = stated_cost(root);

    cJSON_ArrayForEach(ch, oaiw_get(root, "choices"))
    {
        cJSON *fr = oaiw_get(ch, "finish_reason");
        /* The terminal chunk (and the 2024 API's every chunk) repeats the whole text here. */
        cJSON_DeleteItemFromObjectCaseSensitive(ch, "message");
        if (cJSON_IsObject(oaiw_get(ch, "delta")) &&
            (rc = split_content(&st->think, oaiw_get(ch, "delta"), done || cJSON_IsString(fr)))) {
            cJSON_Delete(root);
            return rc;
        }
    }
    if ((rc = take_extras(call, st, root)) || (rc = fix_usage(call, root))) {
        cJSON_Delete(root);
        return rc;
    }
    if ((rc = oaiw_stream_json(call, frame, root)) < 0)
        return rc;
    int erc = emit_cost(call, usd);
    return erc < 0 ? erc : done ? AIGW_DONE : rc;
}

/* EOF without a terminal chunk: a tag prefix held back is text after all. */
static int stream_end(struct aigw_call *call)
{
    struct pplx_state *st = call->state;
    char t[sizeof st->think.hold + 1], *reason, *answer;
    int rc;

    if (!st->think.held)
        return 0;
    memcpy(t, st->think.hold, st->think.held);
    t[st->think.held] = '\0';
    think_split(&st->think, t, strlen(t), 1, &reason, &answer);
    if (*reason && (rc = aigw_emit_reasoning(call, 0, reason, strlen(reason))) < 0)
        return rc;
    return *answer ? aigw_emit_text(call, 0, answer, strlen(answer)) : 0;
}

OAIW_PLUGIN("Perplexity", "perplexity", "PERPLEXITY", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING,
            .state_size = sizeof(struct pplx_state), .build_request = build_request,
            .parse_response = parse_response, .stream_event = stream_event,
            .stream_end = stream_end)
