/* responses_tools - Responses tools and tool_choice -> chat tools (see responses.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/responses.h"
#include "lib/crypto.h"

#define FLAT_MAX 64            /* the strictest provider limit on function names */
#define GRAMMAR_MAX (16 << 10) /* a custom tool's grammar copied into its description */

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > FLAT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* ns__name when that is a valid name (and hashed is 0), else a stable hashed form of the
 * pair: the same pair always gives the same name, in definitions and in history alike. */
static void default_flat(const char *ns, const char *name, int hashed, char *out, size_t size)
{
    snprintf(out, size, "%s__%s", ns, name);
    if (!hashed && strlen(ns) + 2 + strlen(name) < size && name_ok(out))
        return;
    unsigned char h[32];
    char hex[65], buf[512];
    snprintf(buf, sizeof buf, "%s%c%s", ns, 0x1f, name);
    gw_sha256(buf, strlen(buf), h);
    gw_hex(h, 6, hex);
    size_t k = (size_t)snprintf(out, size, "ns_%s_", hex);
    for (const char *p = name; *p && k + 1 < size && k < FLAT_MAX; p++)
        out[k++] = name_ok((char[]){*p, 0}) ? *p : '_';
    out[k] = '\0';
}

const struct gw_resp_tool *gw_resp_tool_by_flat(const struct gw_resp_ctx *ctx, const char *flat)
{
    for (int i = 0; ctx && i < ctx->ntools; i++)
        if (!strcmp(ctx->tools[i].flat, flat))
            return &ctx->tools[i];
    return NULL;
}

int gw_resp_flat_name(const struct gw_resp_ctx *ctx, const char *ns, const char *name, char *out,
                      size_t size)
{
    for (int i = 0; ctx && i < ctx->ntools; i++) {
        const struct gw_resp_tool *t = &ctx->tools[i];
        if (!strcmp(t->name, name) && ((!ns && !t->ns) || (ns && t->ns && !strcmp(ns, t->ns))))
            return gw_strlcpy(out, t->flat, size) < size ? 0 : AIGW_EINVAL;
    }
    if (!ns || !*ns)
        return gw_strlcpy(out, name, size) < size ? 0 : AIGW_EINVAL;
    default_flat(ns, name, 0, out, size);
    return 0;
}

static int add_map(struct gw_resp_ctx *ctx, const char *flat, const char *ns, const char *name,
                   int kind)
{
    if (ctx->ntools >= GW_RESP_MAX_TOOLS)
        return AIGW_EINVAL;
    struct gw_resp_tool *t = &ctx->tools[ctx->ntools];
    t->flat = strdup(flat);
    t->name = strdup(name);
    t->ns = ns ? strdup(ns) : NULL;
    t->kind = kind;
    if (!t->flat || !t->name || (ns && !t->ns)) {
        free(t->flat);
        free(t->name);
        free(t->ns);
        return AIGW_ENOMEM;
    }
    ctx->ntools++;
    return 0;
}

static cJSON *custom_params(const cJSON *tool)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "object");
    cJSON *props = cJSON_AddObjectToObject(p, "properties");
    cJSON *in = cJSON_AddObjectToObject(props, "input");
    cJSON_AddStringToObject(in, "type", "string");
    cJSON_AddStringToObject(in, "description",
                            "The raw input for the tool, exactly as the tool expects it.");
    cJSON *req = cJSON_AddArrayToObject(p, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString("input"));
    cJSON_AddFalseToObject(p, "additionalProperties");
    (void)tool;
    return p;
}

/* The function description of a custom tool: its own, plus its grammar, which the model
 * needs to write raw input it can no longer be constrained to. */
static char *custom_description(const cJSON *tool)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(tool, "description");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(tool, "format");
    const char *desc = cJSON_IsString(d) ? d->valuestring : "";
    const cJSON *syn = cJSON_GetObjectItemCaseSensitive(f, "syntax");
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(f, "definition");
    struct gw_buf b;
    gw_buf_init(&b, GRAMMAR_MAX * 2 + strlen(desc) + 512);
    int rc = gw_buf_append_str(&b, desc);
    if (!rc && cJSON_IsString(def) && strlen(def->valuestring) <= GRAMMAR_MAX)
        rc = gw_buf_append_strs(
            &b, *desc ? "\n\n" : "", "The input is raw text, not JSON, and must follow this ",
            cJSON_IsString(syn) ? syn->valuestring : "", " grammar:\n", def->valuestring, NULL);
    if (!rc && !b.ptr)
        rc = gw_buf_append(&b, "", 0);
    if (rc) {
        gw_buf_free(&b);
        return NULL;
    }
    return gw_buf_steal(&b, NULL);
}

/* One function or custom tool (top-level or inside a namespace) -> a chat tool. */
static int add_tool(const cJSON *t, const char *ns, cJSON *out, struct gw_resp_ctx *ctx,
                    struct gw_front_err *err)
{
    const char *type = cJSON_GetObjectItemCaseSensitive(t, "type")->valuestring;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    if (!cJSON_IsString(name) || !*name->valuestring)
        return gw_resp_fail(err, "tools", NULL, "every %s tool needs a non-empty string 'name'",
                            type);
    int custom = !strcmp(type, "custom");
    char flat[FLAT_MAX + 1];
    if (ns)
        default_flat(ns, name->valuestring, 0, flat, sizeof flat);
    else if (gw_strlcpy(flat, name->valuestring, sizeof flat) >= sizeof flat)
        return gw_resp_fail(err, "tools", NULL, "tool name '%.80s...' is longer than 64 bytes",
                            name->valuestring);
    if (gw_resp_tool_by_flat(ctx, flat)) {
        if (!ns)
            return gw_resp_fail(err, "tools", NULL, "tool name '%s' is defined twice", flat);
        /* a flattened name met a function of that very name: hash the pair instead */
        default_flat(ns, name->valuestring, 1, flat, sizeof flat);
        if (gw_resp_tool_by_flat(ctx, flat))
            return gw_resp_fail(err, "tools", NULL,
                                "tool '%s' is defined twice in namespace "
                                "'%s'",
                                name->valuestring, ns);
    }
    int rc = add_map(ctx, flat, ns, name->valuestring,
                     custom ? GW_RESP_TOOL_CUSTOM : GW_RESP_TOOL_FUNCTION);
    if (rc)
        return rc == AIGW_EINVAL ? gw_resp_fail(err, "tools", NULL, "too many tools") : rc;
    cJSON *ct = cJSON_CreateObject();
    cJSON_AddItemToArray(out, ct);
    cJSON_AddStringToObject(ct, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(ct, "function");
    cJSON_AddStringToObject(fn, "name", flat);
    if (custom) {
        char *d = custom_description(t);
        if (!d)
            return AIGW_ENOMEM;
        if (*d)
            cJSON_AddStringToObject(fn, "description", d);
        free(d);
        cJSON_AddItemToObject(fn, "parameters", custom_params(t));
        return 0;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(t, "description");
    if (cJSON_IsString(d))
        cJSON_AddStringToObject(fn, "description", d->valuestring);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(t, "parameters");
    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params))
        return gw_resp_fail(err, "tools", NULL,
                            "tool '%s': 'parameters' must be a JSON Schema "
                            "object",
                            name->valuestring);
    if (cJSON_IsObject(params))
        cJSON_AddItemToObject(fn, "parameters", cJSON_Duplicate(params, 1));
    else
        cJSON_AddItemToObject(fn, "parameters",
                              cJSON_Parse("{\"type\":\"object\","
                                          "\"properties\":{}}"));
    const cJSON *strict = cJSON_GetObjectItemCaseSensitive(t, "strict");
    if (cJSON_IsBool(strict))
        cJSON_AddBoolToObject(fn, "strict", cJSON_IsTrue(strict));
    return 0;
}

/* tool_choice -> the chat form; *drop when it names a tool that was dropped. */
static int map_choice(const cJSON *tc, cJSON *body, struct gw_resp_ctx *ctx,
                      struct gw_front_err *err)
{
    if (!tc || cJSON_IsNull(tc))
        return 0;
    if (cJSON_IsString(tc)) {
        const char *s = tc->valuestring;
        if (strcmp(s, "none") && strcmp(s, "auto") && strcmp(s, "required"))
            return gw_resp_fail(err, "tool_choice", NULL,
                                "'tool_choice' must be none, auto, required or an object, not "
                                "'%.64s'",
                                s);
        cJSON_AddStringToObject(body, "tool_choice", s);
        return 0;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(tc, "type");
    if (!cJSON_IsObject(tc) || !cJSON_IsString(type))
        return gw_resp_fail(err, "tool_choice", NULL,
                            "'tool_choice' must be a string or an object with a 'type'");
    const char *t = type->valuestring;
    if (!strcmp(t, "function") || !strcmp(t, "custom")) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(tc, "name");
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(tc, "namespace");
        char flat[FLAT_MAX + 1];
        if (!cJSON_IsString(name) ||
            gw_resp_flat_name(ctx, cJSON_IsString(ns) ? ns->valuestring : NULL, name->valuestring,
                              flat, sizeof flat) ||
            !gw_resp_tool_by_flat(ctx, flat))
            return gw_resp_fail(err, "tool_choice", NULL,
                                "'tool_choice' names a tool that is not in 'tools'");
        cJSON *o = cJSON_AddObjectToObject(body, "tool_choice");
        cJSON_AddStringToObject(o, "type", "function");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "function"), "name", flat);
        return 0;
    }
    if (!strcmp(t, "allowed_tools")) {
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(tc, "mode");
        const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(tc, "tools");
        if (!cJSON_IsArray(allowed))
            return gw_resp_fail(err, "tool_choice.tools", NULL,
                                "'allowed_tools' needs an array 'tools'");
        /* Keep only the chat tools whose flat name is allowed. */
        cJSON *tools = cJSON_GetObjectItemCaseSensitive(body, "tools");
        cJSON *ct = tools ? tools->child : NULL;
        while (ct) {
            cJSON *next = ct->next;
            const char *flat = cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(ct, "function"), "name")
                                   ->valuestring;
            const struct gw_resp_tool *m = gw_resp_tool_by_flat(ctx, flat);
            int keep = 0;
            const cJSON *a;
            cJSON_ArrayForEach(a, allowed)
            {
                const cJSON *an = cJSON_GetObjectItemCaseSensitive(a, "name");
                const cJSON *ans = cJSON_GetObjectItemCaseSensitive(a, "namespace");
                if (m && cJSON_IsString(an) && !strcmp(an->valuestring, m->name) &&
                    (cJSON_IsString(ans) ? m->ns && !strcmp(m->ns, ans->valuestring) : 1))
                    keep = 1;
            }
            if (!keep)
                cJSON_Delete(cJSON_DetachItemViaPointer(tools, ct));
            ct = next;
        }
        const char *md = cJSON_IsString(mode) ? mode->valuestring : "auto";
        cJSON_AddStringToObject(body, "tool_choice", !strcmp(md, "required") ? "required" : "auto");
        return 0;
    }
    /* A built-in or MCP tool was asked for: it was dropped, so let the model choose. */
    cJSON_AddStringToObject(body, "tool_choice", "auto");
    return 0;
}

int gw_resp_tools_parse(const cJSON *req, cJSON *body, struct gw_resp_ctx *ctx, char *dropped,
                        size_t dropped_size, struct gw_front_err *err)
{
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(req, "tools");
    if (!tools || cJSON_IsNull(tools))
        return 0;
    if (!cJSON_IsArray(tools))
        return gw_resp_fail(err, "tools", NULL, "'tools' must be an array");
    ctx->tools = calloc(GW_RESP_MAX_TOOLS, sizeof *ctx->tools);
    cJSON *out = cJSON_CreateArray();
    if (!ctx->tools || !out) {
        cJSON_Delete(out);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(body, "tools", out);
    const cJSON *t;
    int rc = 0;
    cJSON_ArrayForEach(t, tools)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
        if (!cJSON_IsObject(t) || !cJSON_IsString(type))
            return gw_resp_fail(err, "tools", NULL,
                                "every tool must be an object with a string 'type'");
        const char *ty = type->valuestring;
        if (!strcmp(ty, "function") || !strcmp(ty, "custom")) {
            rc = add_tool(t, NULL, out, ctx, err);
        } else if (!strcmp(ty, "namespace")) {
            const cJSON *ns = cJSON_GetObjectItemCaseSensitive(t, "name");
            const cJSON *inner = cJSON_GetObjectItemCaseSensitive(t, "tools");
            if (!cJSON_IsString(ns) || !*ns->valuestring || !cJSON_IsArray(inner))
                return gw_resp_fail(err, "tools", NULL,
                                    "a namespace tool needs a string 'name' and a 'tools' array");
            const cJSON *it;
            cJSON_ArrayForEach(it, inner)
            {
                const cJSON *ity = cJSON_GetObjectItemCaseSensitive(it, "type");
                if (cJSON_IsString(ity) &&
                    (!strcmp(ity->valuestring, "function") || !strcmp(ity->valuestring, "custom")))
                    rc = add_tool(it, ns->valuestring, out, ctx, err);
                else
                    gw_parsed_note_dropped(dropped, dropped_size,
                                           cJSON_IsString(ity) ? ity->valuestring : "unknown");
                if (rc)
                    return rc;
            }
        } else {
            /* Built-ins (web_search, file_search, code_interpreter, image_generation,
             * computer_use_preview, mcp, local_shell, ...) run only on OpenAI's servers, and a
             * type this gateway does not know is no better: dropped and named, never an
             * error (Codex sends web_search on every request). */
            gw_parsed_note_dropped(dropped, dropped_size, ty);
        }
        if (rc)
            return rc;
    }
    if ((rc = map_choice(cJSON_GetObjectItemCaseSensitive(req, "tool_choice"), body, ctx, err)))
        return rc;
    if (cJSON_GetArraySize(out) == 0) {
        /* Nothing left to call: providers refuse tool_choice without tools. */
        cJSON_DeleteItemFromObjectCaseSensitive(body, "tools");
        cJSON_DeleteItemFromObjectCaseSensitive(body, "tool_choice");
        return 0;
    }
    const cJSON *ptc = cJSON_GetObjectItemCaseSensitive(req, "parallel_tool_calls");
    if (ptc && !cJSON_IsNull(ptc) && !cJSON_IsBool(ptc))
        return gw_resp_fail(err, "parallel_tool_calls", NULL,
                            "'parallel_tool_calls' must be a boolean");
    if (cJSON_IsBool(ptc))
        cJSON_AddBoolToObject(body, "parallel_tool_calls", cJSON_IsTrue(ptc));
    return 0;
}
