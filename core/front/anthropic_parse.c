/*
 * anthropic_parse - a Messages (or count_tokens) body -> the internal chat request, plus the
 * client's own body for a target that speaks Messages natively (see anthropic.h). Fields this
 * code does not know are tolerated: they stay in the native body and are left out of the chat
 * one, never an error.
 */
#include "front/anthropic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/crypto.h"
#include "front/body.h"
#include "front/tokens.h"

#define MODEL_MAX 256
#define STOP_MAX 4 /* chat's limit on stop sequences */
#define USER_MAX 64
#define BETAS_MAX 64

static int fail(struct gw_front_err *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct gw_front_err *err, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = 400;
    err->type = "invalid_request_error";
    err->param = param;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return AIGW_EINVAL;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

static int is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= -9e15 && v->valuedouble <= 9e15 &&
           v->valuedouble == (double)(long long)v->valuedouble;
}

static int absent(const cJSON *v)
{
    return !v || cJSON_IsNull(v);
}

/* Type checks of the top-level fields, in the order of Anthropic's reference. */
static int check_fields(const cJSON *root, int count, struct gw_front_err *err)
{
    const cJSON *v;
    const char *model = str(root, "model");
    if (!model || !*model)
        return fail(err, "model", "model: must be a non-empty string");
    if (strlen(model) > MODEL_MAX)
        return fail(err, "model", "model: is too long");
    v = get(root, "max_tokens");
    if (!count && !is_int(v))
        return fail(err, "max_tokens", "max_tokens: an integer is required");
    if (!count && v->valuedouble < 1)
        return fail(err, "max_tokens", "max_tokens: must be at least 1");
    if (!absent(v = get(root, "stream")) && !cJSON_IsBool(v))
        return fail(err, "stream", "stream: must be a boolean");
    if (!absent(v = get(root, "temperature")) && !cJSON_IsNumber(v))
        return fail(err, "temperature", "temperature: must be a number");
    if (!absent(v = get(root, "top_p")) && !cJSON_IsNumber(v))
        return fail(err, "top_p", "top_p: must be a number");
    if (!absent(v = get(root, "top_k")) && !is_int(v))
        return fail(err, "top_k", "top_k: must be an integer");
    if (!absent(v = get(root, "stop_sequences"))) {
        const cJSON *s;
        if (!cJSON_IsArray(v))
            return fail(err, "stop_sequences", "stop_sequences: must be an array of strings");
        cJSON_ArrayForEach(s, v)
        {
            if (!cJSON_IsString(s))
                return fail(err, "stop_sequences", "stop_sequences: must be an array of strings");
        }
    }
    if (!absent(v = get(root, "metadata"))) {
        const cJSON *u = get(v, "user_id");
        if (!cJSON_IsObject(v) || (!absent(u) && !cJSON_IsString(u)))
            return fail(err, "metadata", "metadata: must be an object with a string user_id");
    }
    if (!absent(v = get(root, "thinking"))) {
        const cJSON *bt = get(v, "budget_tokens");
        if (!cJSON_IsObject(v) || !str(v, "type"))
            return fail(err, "thinking", "thinking: must be an object with a string type");
        /* Whether a budget is required depends on the model: the target says so. */
        if (!absent(bt) && (!is_int(bt) || bt->valuedouble < 1))
            return fail(err, "thinking.budget_tokens",
                        "thinking.budget_tokens: must be a positive integer");
    }
    return 0;
}

static int add(cJSON *o, const char *k, cJSON *v)
{
    if (v && cJSON_AddItemToObject(o, k, v))
        return 0;
    cJSON_Delete(v);
    return AIGW_ENOMEM;
}

static int dup_member(cJSON *out, const cJSON *root, const char *from, const char *to)
{
    const cJSON *v = get(root, from);
    return absent(v) ? 0 : add(out, to, cJSON_Duplicate(v, 1));
}

/* Remembers a tool name that changed for chat, so answers name the client's tool. Not
 * looked up first: a name repeated in tools maps the same way each time, and the lookup
 * made a request with tens of thousands of long names quadratic (9 s for 6 MB). */
static int remember_name(struct gw_anth_ctx *ctx, const char *client, const char *mapped)
{
    if (ctx->nnames == ctx->names_cap) {
        int cap = ctx->names_cap ? 2 * ctx->names_cap : 8;
        struct gw_anth_name_map *n = realloc(ctx->names, sizeof *n * (size_t)cap);
        if (!n)
            return AIGW_ENOMEM;
        ctx->names = n;
        ctx->names_cap = cap;
    }
    struct gw_anth_name_map *n = &ctx->names[ctx->nnames];
    n->client = strdup(client);
    if (!n->client)
        return AIGW_ENOMEM;
    gw_strlcpy(n->mapped, mapped, sizeof n->mapped);
    ctx->nnames++;
    return 0;
}

/* A custom tool -> a function tool; Anthropic's server tools (a versioned type) cannot run
 * anywhere else: left out of the chat request and named in dropped_tools. */
static int one_tool(const cJSON *t, cJSON *arr, struct gw_parsed *out, struct gw_anth_ctx *ctx,
                    struct gw_front_err *err)
{
    const char *type = str(t, "type"), *name = str(t, "name");
    const cJSON *schema = get(t, "input_schema");
    char mapped[GW_ANTH_NAME_MAX + 1];
    if (!cJSON_IsObject(t))
        return fail(err, "tools", "tools: every tool must be an object");
    if (type && strcmp(type, "custom") != 0) {
        gw_parsed_note_dropped(out->dropped_tools, sizeof out->dropped_tools, name ? name : type);
        return 0;
    }
    if (!name || !*name)
        return fail(err, "tools.name", "tools: every tool needs a non-empty string name");
    if (!absent(schema) && !cJSON_IsObject(schema))
        return fail(err, "tools.input_schema", "tools: input_schema must be an object");
    if (gw_anth_tool_name(name, mapped) && remember_name(ctx, name, mapped))
        return AIGW_ENOMEM;
    cJSON *tool = cJSON_CreateObject(), *fn = cJSON_CreateObject();
    if (!tool || !fn || !cJSON_AddItemToArray(arr, tool)) {
        cJSON_Delete(tool);
        cJSON_Delete(fn);
        return AIGW_ENOMEM;
    }
    cJSON *params = absent(schema) ? cJSON_Parse("{\"type\":\"object\",\"properties\":{}}")
                                   : cJSON_Duplicate(schema, 1);
    if (add(tool, "type", cJSON_CreateString("function")) || add(tool, "function", fn) ||
        add(fn, "name", cJSON_CreateString(mapped)) ||
        (str(t, "description") &&
         add(fn, "description", cJSON_CreateString(str(t, "description")))) ||
        add(fn, "parameters", params) ||
        (cJSON_IsTrue(get(t, "strict")) && add(fn, "strict", cJSON_CreateTrue())))
        return AIGW_ENOMEM;
    return 0;
}

/* The chat tools include one for the client's tool name (a forced server tool does not). */
static int offered(const cJSON *tools, const char *name)
{
    char mapped[GW_ANTH_NAME_MAX + 1];
    const cJSON *t;
    gw_anth_tool_name(name, mapped);
    cJSON_ArrayForEach(t, tools)
    {
        if (is(str(get(t, "function"), "name"), mapped))
            return 1;
    }
    return 0;
}

/* tools, tool_choice and disable_parallel_tool_use. */
static int tools(const cJSON *root, cJSON *body, struct gw_parsed *out, struct gw_anth_ctx *ctx,
                 struct gw_front_err *err)
{
    const cJSON *tl = get(root, "tools"), *tc = get(root, "tool_choice"), *t;
    const char *ct = str(tc, "type");
    int rc;
    if (!absent(tl) && !cJSON_IsArray(tl))
        return fail(err, "tools", "tools: must be an array");
    if (!absent(tc) && (!cJSON_IsObject(tc) ||
                        !(is(ct, "auto") || is(ct, "any") || is(ct, "tool") || is(ct, "none"))))
        return fail(err, "tool_choice", "tool_choice: type must be auto, any, tool or none");
    if (is(ct, "tool") && !str(tc, "name"))
        return fail(err, "tool_choice.name", "tool_choice: a tool choice needs a name");
    if (absent(tl))
        return 0;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(t, tl)
    {
        if ((rc = one_tool(t, arr, out, ctx, err)) != 0) {
            cJSON_Delete(arr);
            return rc;
        }
    }
    if (cJSON_GetArraySize(arr) == 0) { /* chat rejects an empty tools array */
        cJSON_Delete(arr);
        return 0;
    }
    if ((rc = add(body, "tools", arr)) != 0)
        return rc;
    if (is(ct, "auto") || is(ct, "none")) {
        rc = add(body, "tool_choice", cJSON_CreateString(ct));
    } else if (is(ct, "any")) {
        rc = add(body, "tool_choice", cJSON_CreateString("required"));
    } else if (is(ct, "tool") && offered(arr, str(tc, "name"))) {
        char mapped[GW_ANTH_NAME_MAX + 1];
        gw_anth_tool_name(str(tc, "name"), mapped);
        cJSON *o = cJSON_CreateObject(), *fn = cJSON_CreateObject();
        if (add(body, "tool_choice", o) || add(o, "type", cJSON_CreateString("function")) ||
            add(o, "function", fn) || add(fn, "name", cJSON_CreateString(mapped)))
            return AIGW_ENOMEM;
    }
    if (!rc && cJSON_IsTrue(get(tc, "disable_parallel_tool_use")))
        rc = add(body, "parallel_tool_calls", cJSON_CreateFalse());
    return rc;
}

/* stop_sequences (chat keeps the first four), metadata.user_id -> user (a long id is replaced
 * by its hash: chat providers cap it, and the same user keeps the same value). */
static int knobs(const cJSON *root, cJSON *body)
{
    const cJSON *s;
    int n = 0, rc;
    if ((rc = dup_member(body, root, "max_tokens", "max_tokens")) ||
        (rc = dup_member(body, root, "temperature", "temperature")) ||
        (rc = dup_member(body, root, "top_p", "top_p")))
        return rc;
    cJSON *stop = cJSON_CreateArray();
    if (!stop)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(s, get(root, "stop_sequences"))
    {
        if (n < STOP_MAX && s->valuestring[0] &&
            cJSON_AddItemToArray(stop, cJSON_CreateString(s->valuestring)))
            n++;
    }
    if (n == 0)
        cJSON_Delete(stop);
    else if ((rc = add(body, "stop", stop)) != 0)
        return rc;
    const char *user = str(get(root, "metadata"), "user_id");
    if (user && *user) {
        char hashed[3 + 32 + 1] = "u-";
        if (strlen(user) > USER_MAX) {
            unsigned char h[32];
            gw_sha256(user, strlen(user), h);
            gw_hex(h, 16, hashed + 2);
            user = hashed;
        }
        if ((rc = add(body, "user", cJSON_CreateString(user))) != 0)
            return rc;
    }
    return 0;
}

/* The client's anthropic-beta header, kept in the native body as "anthropic_beta" (how Vertex
 * and Bedrock take it; the anthropic plugin turns it back into the header). */
static int keep_betas(const struct gw_inbound *in, cJSON *native)
{
    const char *h = in->header ? in->header(in->header_ud, "anthropic-beta") : NULL;
    if (!h || !*h || get(native, "anthropic_beta"))
        return 0;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return AIGW_ENOMEM;
    while (*h && cJSON_GetArraySize(arr) < BETAS_MAX) {
        h += strspn(h, " \t,");
        size_t n = strcspn(h, ",");
        size_t e = n;
        while (e > 0 && (h[e - 1] == ' ' || h[e - 1] == '\t'))
            e--;
        if (e > 0 && e < 128) {
            char v[128];
            memcpy(v, h, e);
            v[e] = '\0';
            cJSON_AddItemToArray(arr, cJSON_CreateString(v));
        }
        h += n;
    }
    return add(native, "anthropic_beta", arr);
}

static int translate(const struct gw_inbound *in, cJSON *root, struct gw_parsed *out,
                     struct gw_anth_ctx *ctx, struct gw_front_err *err)
{
    int rc;
    cJSON *body = cJSON_CreateObject();
    struct gw_anth_conv cv = {ctx, err, cJSON_CreateArray(), 0, NULL};
    if (!body || !cv.messages || add(body, "model", cJSON_CreateString(str(root, "model")))) {
        cJSON_Delete(body);
        cJSON_Delete(cv.messages);
        return AIGW_ENOMEM;
    }
    out->body = body;
    if (add(body, "messages", cv.messages))
        return AIGW_ENOMEM;
    rc = gw_anth_system(&cv, get(root, "system"));
    if (!rc)
        rc = gw_anth_messages(&cv, get(root, "messages"));
    out->native_only = cv.unseen; /* freed with out */
    if (rc)
        return rc;
    if (cJSON_GetArraySize(cv.messages) == 0)
        return fail(err, "messages", "messages: no message has any content");
    if ((!ctx->count_tokens && (rc = knobs(root, body)) != 0) ||
        (rc = tools(root, body, out, ctx, err)) != 0)
        return rc;
    if (out->stream && (add(body, "stream", cJSON_CreateTrue()) ||
                        add(body, "stream_options", cJSON_Parse("{\"include_usage\":true}"))))
        return AIGW_ENOMEM;
    out->model = str(body, "model");
    ctx->input_estimate = gw_tokens_anthropic(root);
    if ((rc = keep_betas(in, root)) != 0)
        return rc;
    gw_anth_native_clean(root);
    return cv.oom ? AIGW_ENOMEM : 0;
}

int gw_anth_parse(const struct gw_inbound *in, struct gw_parsed *out, struct gw_front_err *err)
{
    size_t plen = in->path ? strlen(in->path) : 0;
    static const char suffix[] = "/count_tokens";
    memset(err, 0, sizeof *err);
    out->dialect = &gw_dialect_anthropic;
    cJSON *root;
    struct gw_body_err be;
    int prc = gw_body_parse(in->body, in->len, &root, &be);
    if (prc == AIGW_EINVAL)
        return fail(err, NULL, "%s", be.message);
    if (prc)
        return prc;
    struct gw_anth_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        cJSON_Delete(root);
        return AIGW_ENOMEM;
    }
    out->ctx = ctx;
    out->native = root; /* freed with out, whatever happens next */
    ctx->count_tokens =
        plen >= sizeof suffix - 1 && !strcmp(in->path + plen - (sizeof suffix - 1), suffix);
    out->op = ctx->count_tokens ? AIGW_OP_COUNT_TOKENS : AIGW_OP_CHAT;
    if (!cJSON_IsObject(root))
        return fail(err, NULL, "the request body must be a JSON object");
    int rc = check_fields(root, ctx->count_tokens, err);
    if (rc)
        return rc;
    out->stream = !ctx->count_tokens && cJSON_IsTrue(get(root, "stream"));
    /* The renderer needs the usage at the end of a stream (message_delta). */
    out->include_usage = out->stream;
    rc = translate(in, root, out, ctx, err);
    if (rc == AIGW_ENOMEM && !err->message[0]) {
        err->status = 500;
        err->type = "api_error";
        snprintf(err->message, sizeof err->message, "out of memory while reading the request");
    }
    return rc;
}
