/* responses_parse - a Responses request -> the internal chat request (see responses.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/body.h"
#include "front/responses.h"
#include "front/tokens.h"
#include "lib/buf.h"
#include "lib/crypto.h"
#include "lib/jsonprint.h"
#include "lib/utf8.h"

#define METADATA_MAX_PAIRS 16

int gw_resp_fail(struct gw_front_err *err, const char *param, const char *code, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = 400;
    err->type = "invalid_request_error";
    err->param = param;
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code && !strcmp(code, "unsupported") ? AIGW_ENOTSUP : AIGW_EINVAL;
}

void gw_responses_ctx_free(void *p)
{
    struct gw_resp_ctx *ctx = p;
    if (!ctx)
        return;
    free(ctx->echo);
    free(ctx->instructions);
    cJSON_Delete(ctx->input_items);
    for (int i = 0; i < ctx->ntools; i++) {
        free(ctx->tools[i].flat);
        free(ctx->tools[i].name);
        free(ctx->tools[i].ns);
    }
    free(ctx->tools);
    free(ctx);
}

static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNull(v) ? NULL : v;
}

static int one_of(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

/* The members the response object repeats from the request, in its order: ,"k": and the bytes
 * cJSON prints for its default (a null in the request means the default too). */
#define ECHO(k, d) ",\"" k "\":", sizeof(",\"" k "\":") - 1, d, sizeof(d) - 1
static const struct {
    const char *member;
    size_t mlen;
    const char *dflt;
    size_t dlen;
} echoed[] = {
    {ECHO("instructions", "null")},
    {ECHO("max_output_tokens", "null")},
    {ECHO("max_tool_calls", "null")},
    {ECHO("parallel_tool_calls", "true")}, /* ECHO_MID: the run after output starts here */
    {ECHO("previous_response_id", "null")},
    {ECHO("reasoning", "{\"effort\":null,\"summary\":null}")},
    {ECHO("service_tier", "\"default\"")},
    {ECHO("store", "true")},
    {ECHO("temperature", "1")},
    {ECHO("text", "{\"format\":{\"type\":\"text\"}}")},
    {ECHO("tool_choice", "\"auto\"")},
    {ECHO("tools", "[]")},
    {ECHO("top_logprobs", "0")},
    {ECHO("top_p", "1")},
    {ECHO("truncation", "\"disabled\"")},
    {ECHO("user", "null")}, /* ECHO_TAIL: the run after usage */
    {ECHO("metadata", "{}")},
};
#undef ECHO
#define ECHO_MID 3
#define ECHO_STORE 7
#define ECHO_TAIL 15

/* req's member named by the n bytes at k, NULL when absent or null (as get()). The body
 * refused repeated keys, so the first is the only one. */
static const cJSON *member(const cJSON *req, const char *k, size_t n)
{
    for (const cJSON *m = req->child; m; m = m->next)
        if (m->string[0] == k[0] && !strncmp(m->string, k, n) && !m->string[n])
            return cJSON_IsNull(m) ? NULL : m;
    return NULL;
}

/* The echo printed once, straight from the request's values: building it as a tree, then
 * printing and freeing that tree, was 30k instructions, an eighth of a Responses request's. */
static int make_echo(const cJSON *req, struct gw_resp_ctx *ctx)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    int rc = 0;
    for (size_t i = 0; i < sizeof echoed / sizeof echoed[0] && !rc; i++) {
        if (i == ECHO_MID)
            ctx->echo_mid = b.len;
        else if (i == ECHO_TAIL)
            ctx->echo_tail = b.len;
        const cJSON *v = member(req, echoed[i].member + 2, echoed[i].mlen - 4);
        rc = gw_buf_append(&b, echoed[i].member, echoed[i].mlen);
        size_t at = b.len;
        if (!rc)
            rc = v ? gw_json_print(&b, v) : gw_buf_append(&b, echoed[i].dflt, echoed[i].dlen);
        if (i == ECHO_STORE) {
            ctx->echo_store = at;
            ctx->echo_store_len = b.len - at;
        }
    }
    if (rc) {
        gw_buf_free(&b);
        return rc;
    }
    ctx->echo = gw_buf_steal(&b, &ctx->echo_len);
    return 0;
}

int gw_resp_echo_unstore(struct gw_resp_ctx *ctx)
{
    ctx->store = 0;
    static const char no[] = "false";
    size_t at = ctx->echo_store, old = ctx->echo_store_len, n = sizeof no - 1;
    if (!ctx->echo || (old == n && !memcmp(ctx->echo + at, no, n)))
        return 0;
    char *e = malloc(ctx->echo_len - old + n + 1);
    if (!e)
        return AIGW_ENOMEM;
    memcpy(e, ctx->echo, at);
    memcpy(e + at, no, n);
    memcpy(e + at + n, ctx->echo + at + old, ctx->echo_len - at - old + 1);
    free(ctx->echo);
    ctx->echo = e;
    ctx->echo_len = ctx->echo_len - old + n;
    ctx->echo_tail = ctx->echo_tail - old + n; /* "store" is in the middle run */
    ctx->echo_store_len = n;
    return 0;
}

static int check_types(const cJSON *req, struct gw_front_err *err)
{
    static const char *const strings[] = {
        "instructions", "previous_response_id", "user",
        "truncation",   "prompt_cache_key",     "prompt_cache_retention",
        "service_tier", "safety_identifier",    NULL};
    static const char *const numbers[] = {"temperature", "top_p", NULL};
    static const char *const bools[] = {"stream", "store", "parallel_tool_calls", "background",
                                        NULL};
    static const char *const objects[] = {"text", "reasoning", "metadata", "stream_options", NULL};
    for (int i = 0; strings[i]; i++) {
        const cJSON *v = get(req, strings[i]);
        if (v && !cJSON_IsString(v))
            return gw_resp_fail(err, strings[i], NULL, "'%s' must be a string", strings[i]);
    }
    for (int i = 0; numbers[i]; i++) {
        const cJSON *v = get(req, numbers[i]);
        if (v && !cJSON_IsNumber(v))
            return gw_resp_fail(err, numbers[i], NULL, "'%s' must be a number", numbers[i]);
    }
    for (int i = 0; bools[i]; i++) {
        const cJSON *v = get(req, bools[i]);
        if (v && !cJSON_IsBool(v))
            return gw_resp_fail(err, bools[i], NULL, "'%s' must be a boolean", bools[i]);
    }
    for (int i = 0; objects[i]; i++) {
        const cJSON *v = get(req, objects[i]);
        if (v && !cJSON_IsObject(v))
            return gw_resp_fail(err, objects[i], NULL, "'%s' must be an object", objects[i]);
    }
    const cJSON *t = get(req, "temperature"), *p = get(req, "top_p");
    if (t && (t->valuedouble < 0 || t->valuedouble > 2))
        return gw_resp_fail(err, "temperature", NULL, "'temperature' must be between 0 and 2");
    if (p && (p->valuedouble < 0 || p->valuedouble > 1))
        return gw_resp_fail(err, "top_p", NULL, "'top_p' must be between 0 and 1");
    const cJSON *mot = get(req, "max_output_tokens");
    if (mot && (!cJSON_IsNumber(mot) || mot->valuedouble < 1 || mot->valuedouble > 1e9 ||
                mot->valuedouble != (double)(long long)mot->valuedouble))
        return gw_resp_fail(err, "max_output_tokens", NULL,
                            "'max_output_tokens' must be a positive integer");
    const cJSON *tr = get(req, "truncation");
    if (tr && strcmp(tr->valuestring, "auto") && strcmp(tr->valuestring, "disabled"))
        return gw_resp_fail(err, "truncation", NULL, "'truncation' must be auto or disabled");
    if (cJSON_IsTrue(get(req, "background")))
        return gw_resp_fail(err, "background", "unsupported",
                            "background responses are not supported by this gateway");
    if (get(req, "conversation"))
        return gw_resp_fail(err, "conversation", "unsupported",
                            "the Conversations API is not supported: chain with "
                            "previous_response_id or send the history in 'input'");
    if (get(req, "prompt"))
        return gw_resp_fail(err, "prompt", "unsupported",
                            "stored prompt templates are not supported: send 'input'");
    return 0;
}

static int check_metadata(const cJSON *req, struct gw_front_err *err)
{
    const cJSON *md = get(req, "metadata"), *v;
    if (!md)
        return 0;
    if (cJSON_GetArraySize(md) > METADATA_MAX_PAIRS)
        return gw_resp_fail(err, "metadata", NULL, "'metadata' holds at most 16 pairs");
    cJSON_ArrayForEach(v, md)
    {
        if (strlen(v->string) > 64 || !cJSON_IsString(v) || strlen(v->valuestring) > 512)
            return gw_resp_fail(err, "metadata", NULL,
                                "'metadata' values must be strings of at most 512 characters, "
                                "keys at most 64");
    }
    return 0;
}

/* text.format -> response_format; reasoning.effort -> reasoning_effort; text.verbosity ->
 * verbosity. */
static int map_text_reasoning(const cJSON *req, cJSON *body, struct gw_front_err *err)
{
    const cJSON *fmt = get(get(req, "text"), "format");
    if (fmt) {
        const cJSON *type = get(fmt, "type");
        if (!cJSON_IsString(type))
            return gw_resp_fail(err, "text.format", NULL, "'text.format' needs a string 'type'");
        const char *t = type->valuestring;
        if (!strcmp(t, "json_object")) {
            cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "response_format"), "type",
                                    "json_object");
        } else if (!strcmp(t, "json_schema")) {
            const cJSON *name = get(fmt, "name"), *schema = get(fmt, "schema");
            if (!cJSON_IsString(name) || !cJSON_IsObject(schema))
                return gw_resp_fail(err, "text.format", NULL,
                                    "a json_schema format needs a string 'name' and an object "
                                    "'schema'");
            cJSON *rf = cJSON_AddObjectToObject(body, "response_format");
            cJSON_AddStringToObject(rf, "type", "json_schema");
            cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
            cJSON_AddStringToObject(js, "name", name->valuestring);
            const cJSON *d = get(fmt, "description"), *strict = get(fmt, "strict");
            if (cJSON_IsString(d))
                cJSON_AddStringToObject(js, "description", d->valuestring);
            cJSON_AddItemToObject(js, "schema", cJSON_Duplicate(schema, 1));
            if (cJSON_IsBool(strict))
                cJSON_AddBoolToObject(js, "strict", cJSON_IsTrue(strict));
        } else if (strcmp(t, "text")) {
            return gw_resp_fail(err, "text.format.type", NULL,
                                "'text.format.type' must be text, json_object or json_schema");
        }
    }
    const cJSON *r = get(req, "reasoning");
    static const char *const efforts[] = {"none", "minimal", "low", "medium",
                                          "high", "xhigh",   NULL};
    const cJSON *effort = get(r, "effort");
    if (effort && (!cJSON_IsString(effort) || !one_of(effort->valuestring, efforts)))
        return gw_resp_fail(err, "reasoning.effort", NULL,
                            "'reasoning.effort' must be none, minimal, low, medium, high or "
                            "xhigh");
    if (effort)
        cJSON_AddStringToObject(body, "reasoning_effort", effort->valuestring);
    static const char *const verbosities[] = {"low", "medium", "high", NULL};
    const cJSON *vb = get(get(req, "text"), "verbosity");
    if (vb && (!cJSON_IsString(vb) || !one_of(vb->valuestring, verbosities)))
        return gw_resp_fail(err, "text.verbosity", NULL,
                            "'text.verbosity' must be low, medium or high");
    if (vb)
        cJSON_AddStringToObject(body, "verbosity", vb->valuestring);
    return 0;
}

static int check_include(const cJSON *req, struct gw_resp_ctx *ctx, struct gw_front_err *err)
{
    const cJSON *inc = get(req, "include"), *v;
    if (!inc)
        return 0;
    if (!cJSON_IsArray(inc))
        return gw_resp_fail(err, "include", NULL, "'include' must be an array of strings");
    cJSON_ArrayForEach(v, inc)
    {
        if (!cJSON_IsString(v))
            return gw_resp_fail(err, "include", NULL, "'include' must be an array of strings");
        if (!strcmp(v->valuestring, "reasoning.encrypted_content"))
            ctx->want_encrypted = 1;
    }
    return 0;
}

/* resp_ + 48 hex digits, the time's first: the stored responses' id index then takes each new
 * one at its end. With 48 random digits each insert read and wrote a random page of it, and
 * the writer spent 21 us of system time per stored response at 13k requests/s. The 36 random
 * digits left keep ids unguessable; another key's response is not found anyway. */
static void mint_id(char out[GW_RESP_ID_MAX])
{
    char t[13], a[33], b[33];
    gw_time_hex(t);
    gw_random_hex(a);
    gw_random_hex(b);
    snprintf(out, GW_RESP_ID_MAX, "resp_%s%s%.4s", t, a, b);
}

int gw_resp_build_messages(struct gw_parsed *p, const cJSON *chain, struct gw_front_err *err)
{
    struct gw_resp_ctx *ctx = p->ctx;
    cJSON *msgs = cJSON_CreateArray();
    if (!msgs)
        return AIGW_ENOMEM;
    if (ctx->instructions) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", ctx->instructions);
        cJSON_AddItemToArray(msgs, m);
    }
    int rc = chain ? gw_resp_items_to_messages(ctx, chain, msgs, err) : 0;
    if (!rc)
        rc = gw_resp_items_to_messages(ctx, ctx->input_items, msgs, err);
    if (!rc && cJSON_GetArraySize(msgs) == 0)
        rc = gw_resp_fail(err, "input", NULL, "'input' is required");
    if (rc) {
        cJSON_Delete(msgs);
        return rc;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(p->body, "messages");
    cJSON_AddItemToObject(p->body, "messages", msgs);
    return 0;
}

/* A compaction_trigger ending the input asks for this turn to compact the conversation (the
 * item itself is no message); one anywhere else is refused when the items are read. */
static void take_trigger(struct gw_resp_ctx *ctx)
{
    int n = cJSON_GetArraySize(ctx->input_items);
    const cJSON *last = cJSON_GetArrayItem(ctx->input_items, n - 1);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(last, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "compaction_trigger"))
        return;
    cJSON_DeleteItemFromArray(ctx->input_items, n - 1);
    if (!ctx->compact && !ctx->count) /* a count counts the input, it does not compact it */
        ctx->compact = GW_RESP_COMPACT_TRIGGER;
}

static int parse_root(cJSON *req, struct gw_parsed *out, struct gw_resp_ctx *ctx,
                      struct gw_front_err *err)
{
    const cJSON *model = get(req, "model");
    /* OpenAI's count takes no model as its default one; a gateway has no default to count
     * with (its targets are found by the model named), so a count without one is a 400. */
    if (!model && ctx->count)
        return gw_resp_fail(err, "model", NULL,
                            "'model' is required: the gateway counts with the model it names");
    if (!cJSON_IsString(model) || !*model->valuestring || strlen(model->valuestring) > 256)
        return gw_resp_fail(err, "model", NULL, "'model' must be a non-empty string");
    int rc = check_types(req, err);
    if (!rc)
        rc = check_metadata(req, err);
    if (!rc)
        rc = check_include(req, ctx, err);
    if (rc)
        return rc;
    if ((rc = make_echo(req, ctx)))
        return rc;
    const cJSON *ins = get(req, "instructions");
    if (cJSON_IsString(ins) && *ins->valuestring && !(ctx->instructions = strdup(ins->valuestring)))
        return AIGW_ENOMEM;
    ctx->store = !ctx->count && !cJSON_IsFalse(get(req, "store"));
    const cJSON *prev = get(req, "previous_response_id");
    if (prev && gw_strlcpy(ctx->previous_id, prev->valuestring, sizeof ctx->previous_id) >=
                    sizeof ctx->previous_id)
        return gw_resp_fail(err, "previous_response_id", "previous_response_not_found",
                            "Previous response with id '%.*s' not found.",
                            (int)gw_utf8_cut(prev->valuestring, strlen(prev->valuestring), 80),
                            prev->valuestring);
    const cJSON *input = get(req, "input");
    cJSON *empty = NULL;
    if (!input && !prev)
        return gw_resp_fail(err, "input", NULL, "'input' is required");
    if (!input)
        input = empty = cJSON_CreateArray();
    ctx->input_items = gw_resp_input_items(input, ctx->id, err);
    cJSON_Delete(empty);
    if (!ctx->input_items)
        return !err->message[0]                                 ? AIGW_ENOMEM
               : err->code && !strcmp(err->code, "unsupported") ? AIGW_ENOTSUP
                                                                : AIGW_EINVAL;
    take_trigger(ctx);

    cJSON *body = out->body = cJSON_CreateObject();
    if (!body)
        return AIGW_ENOMEM;
    cJSON_AddStringToObject(body, "model", model->valuestring);
    out->model = cJSON_GetObjectItemCaseSensitive(body, "model")->valuestring;
    if ((rc = gw_resp_tools_parse(req, body, ctx, out->dropped_tools, sizeof out->dropped_tools,
                                  err)) ||
        (rc = map_text_reasoning(req, body, err)))
        return rc;
    /* With a previous_response_id or item references, the messages are built once what they
     * name is read (gw_responses_resolve). */
    ctx->nrefs = gw_resp_count_refs(ctx->input_items);
    if (!prev && !ctx->nrefs && (rc = gw_resp_build_messages(out, NULL, err)))
        return rc;
    const cJSON *v;
    if ((v = get(req, "max_output_tokens")))
        cJSON_AddNumberToObject(body, "max_completion_tokens", v->valuedouble);
    if ((v = get(req, "temperature")))
        cJSON_AddNumberToObject(body, "temperature", v->valuedouble);
    if ((v = get(req, "top_p")))
        cJSON_AddNumberToObject(body, "top_p", v->valuedouble);
    if ((v = get(req, "user")))
        cJSON_AddStringToObject(body, "user", v->valuestring);
    /* Chat completions takes these under the same names. Codex's prompt_cache_key (its
     * conversation id) is what keeps OpenAI's prompt cache hitting turn after turn; plugins
     * drop what their provider refuses, as for a chat client's. */
    static const char *const same[] = {"prompt_cache_key", "prompt_cache_retention",
                                       "safety_identifier", "service_tier", NULL};
    for (int i = 0; same[i]; i++)
        if ((v = get(req, same[i])))
            cJSON_AddStringToObject(body, same[i], v->valuestring);
    out->stream = !ctx->count && cJSON_IsTrue(get(req, "stream"));
    if (out->stream) {
        /* the terminal event carries usage: ask every upstream for it */
        cJSON_AddTrueToObject(body, "stream");
        cJSON_AddTrueToObject(cJSON_AddObjectToObject(body, "stream_options"), "include_usage");
    }
    out->include_usage = out->stream;
    out->op = ctx->count ? AIGW_OP_COUNT_TOKENS : AIGW_OP_CHAT;
    return 0;
}

/* A count's request, once its chain is read: the estimate taken now, from the messages a
 * target would get (chain and references expanded), so answering it locally costs nothing
 * more. The client's own body goes: no target may be sent it to generate from. */
static int count_prepare(struct gw_parsed *p)
{
    struct gw_resp_ctx *ctx = p->ctx;
    cJSON_Delete(p->native);
    p->native = NULL;
    ctx->input_estimate = gw_tokens_chat(p->body);
    return 0;
}

int gw_responses_parse(const struct gw_inbound *in, struct gw_parsed *out, struct gw_front_err *err)
{
    return gw_responses_parse_as(in, out, err, GW_RESP_COMPACT_NONE);
}

static int parse_mode(const struct gw_inbound *in, struct gw_parsed *out, struct gw_front_err *err,
                      int compact, int count)
{
    memset(err, 0, sizeof *err);
    out->dialect = &gw_responses_dialect;
    cJSON *req;
    struct gw_body_err be;
    int prc = gw_body_parse(in->body, in->len, &req, &be);
    if (prc == AIGW_EINVAL)
        return gw_resp_fail(err, NULL, be.code, "%s", be.message);
    if (prc)
        return prc;
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return gw_resp_fail(err, NULL, NULL, "the request body must be a JSON object");
    }
    struct gw_resp_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        cJSON_Delete(req);
        return AIGW_ENOMEM;
    }
    out->ctx = ctx;
    ctx->compact = compact;
    ctx->count = count;
    mint_id(ctx->id);
    ctx->created_at = (int64_t)time(NULL);
    /* Kept for a target that speaks Responses itself (OpenAI): reasoning items with their
     * encrypted_content and every field survive there. */
    out->native = req;
    int rc = parse_root(req, out, ctx, err);
    if (rc)
        return rc;
    /* A previous_response_id chain or item references are read from the store: a caller on
     * an event loop parses such a body again elsewhere (gw_inbound.defer_store). */
    if (in->defer_store && (ctx->previous_id[0] || ctx->nrefs))
        return GW_PARSE_STORE;
    char owner[GW_RESP_ID_MAX];
    gw_resp_owner(in->key_id, in->header, in->header_ud, owner);
    rc = gw_responses_resolve(out, gw_responses_store(), owner, err);
    if (!rc && ctx->count)
        rc = count_prepare(out);
    else if (!rc && ctx->compact)
        rc = gw_resp_compact_prepare(out, err);
    else if (!rc && out->native)
        rc = gw_resp_compaction_native(out->native, err);
    return rc;
}

int gw_responses_parse_as(const struct gw_inbound *in, struct gw_parsed *out,
                          struct gw_front_err *err, int compact)
{
    return parse_mode(in, out, err, compact, 0);
}

int gw_responses_parse_count(const struct gw_inbound *in, struct gw_parsed *out,
                             struct gw_front_err *err)
{
    return parse_mode(in, out, err, GW_RESP_COMPACT_NONE, 1);
}
