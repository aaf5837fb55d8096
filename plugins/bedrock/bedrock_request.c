/*
 * bedrock_request.c - OpenAI chat request -> Converse body (notes §7.3).
 *
 * Converse wants strictly alternating user/assistant turns, so consecutive messages of one
 * role (tool results and the user message after them included) are merged into one message.
 * Images must be inline: data: URLs become image blocks; http(s) URLs are refused, because
 * the plugin does no I/O and Bedrock does not fetch URLs.
 */
#include <string.h>

#include "../common/claude.h"
#include "bedrock.h"

struct conv {
    struct aigw_call *call;
    cJSON *system;     /* system[] */
    cJSON *messages;   /* messages[] */
    cJSON *used_tools; /* names of tools used in the history (for a stub toolConfig) */
    int has_tool_blocks;
    int ndocs; /* document blocks so far: names the unnamed ones */
};

/* Concatenated text of a string or an array of text parts; "" when there is none. */
static const char *text_of(struct aigw_call *call, const cJSON *content)
{
    if (cJSON_IsString(content))
        return content->valuestring;
    if (!cJSON_IsArray(content))
        return "";
    size_t total = 0;
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            total += strlen(t->valuestring);
    }
    char *out = call->host->alloc(call, total + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t)) {
            size_t n = strlen(t->valuestring);
            memcpy(out + o, t->valuestring, n);
            o += n;
        }
    }
    out[o] = '\0';
    return out;
}

/* A tool id as Converse takes it ([a-zA-Z0-9_-], at most 64). Other ids (Kimi's
 * "functions.f:0", another provider's after a fallback) keep their valid characters plus a
 * hash of the whole id, so a call and its result still match and two ids stay distinct. */
static const char *tool_id(struct aigw_call *call, const char *id)
{
    size_t n = strlen(id), o = 0;
    if (n > 0 && n <= 64 &&
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_-") == n)
        return id;
    char *out = call->host->alloc(call, 64 + 1);
    unsigned char h[32];
    char hex[65];
    if (!out)
        return NULL;
    for (size_t i = 0; i < n && o < 40; i++)
        if ((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
            (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '-')
            out[o++] = id[i];
    call->host->sha256(id, n, h);
    call->host->hex(h, 8, hex);
    out[o++] = '_';
    memcpy(out + o, hex, 16);
    out[o + 16] = '\0';
    return out;
}

static int add_text_block(cJSON *blocks, const char *text)
{
    /* Converse rejects empty and whitespace-only ("blank") text blocks. */
    if (!text || !text[strspn(text, " \t\r\n")])
        return 0;
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "text", text)) {
        cJSON_Delete(b);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToArray(blocks, b);
    return 0;
}

static int user_blocks(struct conv *cv, const cJSON *content, cJSON *blocks)
{
    struct aigw_call *call = cv->call;
    if (cJSON_IsString(content) || cJSON_IsNull(content) || !content)
        return add_text_block(blocks, cJSON_IsString(content) ? content->valuestring : NULL);
    if (!cJSON_IsArray(content))
        return bedrock_reject(call, AIGW_EINVAL, "message content must be a string or an array");
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        int rc;
        if (!cJSON_IsString(type))
            return bedrock_reject(call, AIGW_EINVAL, "content part without a type");
        if (!strcmp(type->valuestring, "text")) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
            rc = add_text_block(blocks, cJSON_IsString(t) ? t->valuestring : NULL);
        } else if (!strcmp(type->valuestring, "image_url")) {
            const cJSON *iu = cJSON_GetObjectItemCaseSensitive(part, "image_url");
            const cJSON *u = cJSON_IsString(iu) ? iu : cJSON_GetObjectItemCaseSensitive(iu, "url");
            if (!cJSON_IsString(u))
                return bedrock_reject(call, AIGW_EINVAL, "image_url without a url");
            rc = bedrock_image_block(call, blocks, u->valuestring);
        } else if (!strcmp(type->valuestring, "file")) {
            rc = bedrock_document_block(call, ++cv->ndocs, blocks,
                                        cJSON_GetObjectItemCaseSensitive(part, "file"));
        } else {
            return bedrock_reject(call, AIGW_ENOTSUP,
                                  "only text, image and file content parts are supported");
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int assistant_blocks(struct conv *cv, const cJSON *msg, cJSON *blocks)
{
    struct aigw_call *call = cv->call;
    const char *text = text_of(call, cJSON_GetObjectItemCaseSensitive(msg, "content"));
    if (!text)
        return AIGW_ENOMEM;
    int rc = add_text_block(blocks, text);
    if (rc)
        return rc;
    const cJSON *tc;
    cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
        if (!cJSON_IsString(id) || !cJSON_IsString(name))
            return bedrock_reject(call, AIGW_EINVAL, "tool call without id or function name");
        cJSON *input = NULL;
        if (cJSON_IsString(args) && *args->valuestring) {
            input = cJSON_Parse(args->valuestring);
            if (!input)
                return bedrock_reject(call, AIGW_EINVAL, "tool call arguments are not JSON");
        } else if (cJSON_IsObject(args)) {
            input = cJSON_Duplicate(args, 1);
        } else {
            input = cJSON_CreateObject();
        }
        cJSON *b = cJSON_CreateObject(), *tu = cJSON_AddObjectToObject(b, "toolUse");
        const char *tid = tool_id(call, id->valuestring);
        if (!input || !tu || !tid || !cJSON_AddStringToObject(tu, "toolUseId", tid) ||
            !cJSON_AddStringToObject(tu, "name", name->valuestring)) {
            cJSON_Delete(input);
            cJSON_Delete(b);
            return AIGW_ENOMEM;
        }
        cJSON_AddItemToObject(tu, "input", input);
        cJSON_AddItemToArray(blocks, b);
        cv->has_tool_blocks = 1;
        cJSON *nm = cJSON_CreateString(name->valuestring);
        if (!nm)
            return AIGW_ENOMEM;
        cJSON_AddItemToArray(cv->used_tools, nm);
    }
    return 0;
}

static int tool_result_block(struct conv *cv, const cJSON *msg, const char *id_key, cJSON *blocks)
{
    struct aigw_call *call = cv->call;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, id_key);
    if (!cJSON_IsString(id))
        return bedrock_reject(call, AIGW_EINVAL, "tool message without tool_call_id");
    const char *text = text_of(call, cJSON_GetObjectItemCaseSensitive(msg, "content"));
    if (!text)
        return AIGW_ENOMEM;
    cJSON *b = cJSON_CreateObject(), *tr = cJSON_AddObjectToObject(b, "toolResult");
    cJSON *content = tr ? cJSON_AddArrayToObject(tr, "content") : NULL;
    const char *tid = tool_id(call, id->valuestring);
    if (!content || !tid || !cJSON_AddStringToObject(tr, "toolUseId", tid) ||
        add_text_block(content, text) != 0) {
        cJSON_Delete(b);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToArray(blocks, b);
    cv->has_tool_blocks = 1;
    return 0;
}

/* Appends blocks as a `role` turn, merged into the previous turn when it has the same role. */
static int push_turn(struct conv *cv, const char *role, cJSON *blocks)
{
    if (cJSON_GetArraySize(blocks) == 0) {
        cJSON_Delete(blocks);
        return 0;
    }
    cJSON *last = cJSON_GetArrayItem(cv->messages, cJSON_GetArraySize(cv->messages) - 1);
    const cJSON *lrole = cJSON_GetObjectItemCaseSensitive(last, "role");
    if (cJSON_IsString(lrole) && !strcmp(lrole->valuestring, role)) {
        cJSON *dst = cJSON_GetObjectItemCaseSensitive(last, "content");
        while (blocks->child)
            cJSON_AddItemToArray(dst, cJSON_DetachItemFromArray(blocks, 0));
        cJSON_Delete(blocks);
        return 0;
    }
    cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "role", role)) {
        cJSON_Delete(m);
        cJSON_Delete(blocks);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToObject(m, "content", blocks);
    cJSON_AddItemToArray(cv->messages, m);
    return 0;
}

static int convert_messages(struct conv *cv)
{
    struct aigw_call *call = cv->call;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(call->body, "messages");
    const cJSON *msg;
    if (!cJSON_IsArray(msgs))
        return bedrock_reject(call, AIGW_EINVAL, "messages must be an array");
    cJSON_ArrayForEach(msg, msgs)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
        const char *r = cJSON_IsString(role) ? role->valuestring : "";
        int rc;
        if (!strcmp(r, "system") || !strcmp(r, "developer")) {
            const char *text = text_of(call, cJSON_GetObjectItemCaseSensitive(msg, "content"));
            if (!text)
                return AIGW_ENOMEM;
            if ((rc = add_text_block(cv->system, text)) != 0)
                return rc;
            continue;
        }
        cJSON *blocks = cJSON_CreateArray();
        if (!blocks)
            return AIGW_ENOMEM;
        const char *turn = "user";
        if (!strcmp(r, "user")) {
            rc = user_blocks(cv, cJSON_GetObjectItemCaseSensitive(msg, "content"), blocks);
        } else if (!strcmp(r, "assistant")) {
            turn = "assistant";
            rc = assistant_blocks(cv, msg, blocks);
        } else if (!strcmp(r, "tool")) {
            rc = tool_result_block(cv, msg, "tool_call_id", blocks);
        } else if (!strcmp(r, "function")) {
            rc = tool_result_block(cv, msg, "name", blocks);
        } else {
            rc = bedrock_reject(call, AIGW_EINVAL, "unknown message role");
        }
        if (rc) {
            cJSON_Delete(blocks);
            return rc;
        }
        if ((rc = push_turn(cv, turn, blocks)) != 0)
            return rc;
    }
    /* Only a system prompt: Converse needs a message, so the prompt becomes the user's. */
    if (cJSON_GetArraySize(cv->messages) == 0 && cJSON_GetArraySize(cv->system) > 0) {
        cJSON *blocks = cv->system;
        if (!(cv->system = cJSON_CreateArray())) {
            cv->system = blocks;
            return AIGW_ENOMEM;
        }
        return push_turn(cv, "user", blocks);
    }
    /* Converse wants the user to speak first; a chat opening with the assistant's greeting
     * gets a minimal user turn in front, as the anthropic plugin does, rather than a 400. */
    const cJSON *first = cJSON_GetArrayItem(cv->messages, 0);
    if (first && strcmp(aigw_json_str(first, "role"), "user")) {
        cJSON *blocks = cJSON_CreateArray(), *m = cJSON_CreateObject();
        if (!blocks || !m || add_text_block(blocks, ".") ||
            !cJSON_AddStringToObject(m, "role", "user")) {
            cJSON_Delete(blocks);
            cJSON_Delete(m);
            return AIGW_ENOMEM;
        }
        cJSON_AddItemToObject(m, "content", blocks);
        if (!cJSON_InsertItemInArray(cv->messages, 0, m)) {
            cJSON_Delete(m);
            return AIGW_ENOMEM;
        }
    }
    return 0;
}

static cJSON *tool_spec(const char *name, const char *desc, const cJSON *params)
{
    cJSON *t = cJSON_CreateObject(), *spec = cJSON_AddObjectToObject(t, "toolSpec");
    cJSON *schema = spec ? cJSON_AddObjectToObject(spec, "inputSchema") : NULL;
    cJSON *json = cJSON_IsObject(params) ? cJSON_Duplicate(params, 1)
                                         : cJSON_Parse("{\"type\":\"object\",\"properties\":{}}");
    if (!schema || !json || !cJSON_AddStringToObject(spec, "name", name) ||
        (desc && *desc && !cJSON_AddStringToObject(spec, "description", desc))) {
        cJSON_Delete(json);
        cJSON_Delete(t);
        return NULL;
    }
    cJSON_AddItemToObject(schema, "json", json);
    return t;
}

/* toolConfig from tools / tool_choice. Converse rejects toolUse / toolResult blocks in the
 * history without a toolConfig, so with tool_choice "none" (which Converse cannot express)
 * or without tools, such a history still declares tools, and no toolChoice: the client's
 * tools, or else the names the history used, with an open schema. */
static int tool_config(struct conv *cv, cJSON *out)
{
    struct aigw_call *call = cv->call;
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(call->body, "tools");
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(call->body, "tool_choice");
    int none = cJSON_IsString(choice) && !strcmp(choice->valuestring, "none");
    int have = cJSON_IsArray(tools) && cJSON_GetArraySize(tools) > 0;
    if ((!have || none) && !cv->has_tool_blocks)
        return 0;

    cJSON *cfg = cJSON_AddObjectToObject(out, "toolConfig");
    cJSON *list = cfg ? cJSON_AddArrayToObject(cfg, "tools") : NULL;
    if (!list)
        return AIGW_ENOMEM;
    if (have) {
        const cJSON *t;
        cJSON_ArrayForEach(t, tools)
        {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
            const cJSON *desc = cJSON_GetObjectItemCaseSensitive(fn, "description");
            if ((cJSON_IsString(type) && strcmp(type->valuestring, "function")) ||
                !cJSON_IsString(name))
                return bedrock_reject(call, AIGW_ENOTSUP, "only function tools are supported");
            cJSON *spec =
                tool_spec(name->valuestring, cJSON_IsString(desc) ? desc->valuestring : NULL,
                          cJSON_GetObjectItemCaseSensitive(fn, "parameters"));
            if (!spec)
                return AIGW_ENOMEM;
            cJSON_AddItemToArray(list, spec);
        }
    } else {
        const cJSON *n;
        cJSON_ArrayForEach(n, cv->used_tools)
        {
            int dup = 0;
            const cJSON *m;
            cJSON_ArrayForEach(m, list)
            {
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "toolSpec");
                dup |= !strcmp(cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring,
                               n->valuestring);
            }
            cJSON *spec = dup ? NULL : tool_spec(n->valuestring, NULL, NULL);
            if (!dup && !spec)
                return AIGW_ENOMEM;
            if (spec)
                cJSON_AddItemToArray(list, spec);
        }
    }
    if (!have || none || !choice)
        return 0;

    cJSON *tc = cJSON_AddObjectToObject(cfg, "toolChoice");
    if (!tc)
        return AIGW_ENOMEM;
    if (cJSON_IsString(choice) && !strcmp(choice->valuestring, "auto"))
        return cJSON_AddObjectToObject(tc, "auto") ? 0 : AIGW_ENOMEM;
    if (cJSON_IsString(choice) && !strcmp(choice->valuestring, "required"))
        return cJSON_AddObjectToObject(tc, "any") ? 0 : AIGW_ENOMEM;
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(choice, "function");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    if (!cJSON_IsString(name))
        return bedrock_reject(call, AIGW_EINVAL, "tool_choice is not understood");
    cJSON *tool = cJSON_AddObjectToObject(tc, "tool");
    return tool && cJSON_AddStringToObject(tool, "name", name->valuestring) ? 0 : AIGW_ENOMEM;
}

/* Claude's extended thinking, as the anthropic plugin sets it from reasoning_effort. */
#define CLAUDE_MIN_BUDGET 1024      /* Claude refuses smaller thinking budgets */
#define CLAUDE_ANSWER_TOKENS 4096   /* maxTokens on top of the budget when the client set none */

/* The thinking budget for reasoning_effort on a Claude model, 0 for none. Claude thinks only
 * under tool_choice auto/none; with thinking on, a tool loop's assistant turn must open with
 * its signed thinking block, which chat messages cannot carry back; and OpenAI's token limit
 * includes the reasoning, so the budget must fit below it. Where one of these fails, the
 * answer comes without thinking rather than as a 400. */
static int64_t claude_budget(struct aigw_call *call)
{
    const cJSON *b = call->body;
    const char *effort = aigw_json_str(b, "reasoning_effort");
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(b, "tool_choice");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(b, "tools");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(b, "max_completion_tokens");
    if (!effort || !call->model || !strstr(call->model, "anthropic.claude"))
        return 0;
    if (cJSON_GetArraySize(tools) > 0 &&
        (cJSON_IsObject(tc) || (cJSON_IsString(tc) && !strcmp(tc->valuestring, "required"))))
        return 0;
    if (claude_in_tool_loop(cJSON_GetObjectItemCaseSensitive(b, "messages")))
        return 0;
    int64_t budget = claude_effort_budget(effort);
    if (!cJSON_IsNumber(mt))
        mt = cJSON_GetObjectItemCaseSensitive(b, "max_tokens");
    if (cJSON_IsNumber(mt) && mt->valuedouble >= 1 && budget >= (int64_t)mt->valuedouble)
        budget = (int64_t)mt->valuedouble - 1;
    return budget >= CLAUDE_MIN_BUDGET ? budget : 0;
}

/* Claude's own fields: thinking, or else top_k (which thinking refuses). */
static int claude_fields(struct aigw_call *call, cJSON *out, int64_t budget)
{
    const cJSON *top_k = cJSON_GetObjectItemCaseSensitive(call->body, "top_k");
    int want_k = budget <= 0 && cJSON_IsNumber(top_k) && top_k->valuedouble >= 0 && call->model &&
                 strstr(call->model, "anthropic.claude");
    if (budget <= 0 && !want_k)
        return 0;
    cJSON *extra = cJSON_AddObjectToObject(out, "additionalModelRequestFields");
    if (extra && want_k)
        return cJSON_AddNumberToObject(extra, "top_k", (double)(int64_t)top_k->valuedouble)
                   ? 0
                   : AIGW_ENOMEM;
    cJSON *rc = extra ? cJSON_AddObjectToObject(extra, "reasoning_config") : NULL;
    return rc && cJSON_AddStringToObject(rc, "type", "enabled") &&
                   cJSON_AddNumberToObject(rc, "budget_tokens", (double)budget)
               ? 0
               : AIGW_ENOMEM;
}

/* budget > 0: thinking is on, which refuses temperature and top_p. */
static int inference_config(struct aigw_call *call, cJSON *out, int64_t budget)
{
    const cJSON *b = call->body;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(b, "max_completion_tokens");
    if (!cJSON_IsNumber(mt))
        mt = cJSON_GetObjectItemCaseSensitive(b, "max_tokens");
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(b, "temperature");
    const cJSON *top_p = cJSON_GetObjectItemCaseSensitive(b, "top_p");
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(b, "stop");
    cJSON *cfg = cJSON_CreateObject();
    if (!cfg)
        return AIGW_ENOMEM;
    int ok = 1;
    if (cJSON_IsNumber(mt)) {
        if (mt->valuedouble < 1 || mt->valuedouble > 1e9) {
            cJSON_Delete(cfg);
            return bedrock_reject(call, AIGW_EINVAL, "max_tokens must be a positive integer");
        }
        ok &= cJSON_AddNumberToObject(cfg, "maxTokens", (double)(int64_t)mt->valuedouble) != NULL;
    } else if (budget > 0) {
        ok &= cJSON_AddNumberToObject(cfg, "maxTokens", (double)(budget + CLAUDE_ANSWER_TOKENS)) !=
              NULL;
    }
    if (cJSON_IsNumber(temp) && budget <= 0) { /* OpenAI allows 0..2, Converse 0..1 */
        double t = temp->valuedouble > 1.0   ? 1.0
                   : temp->valuedouble < 0.0 ? 0.0
                                             : temp->valuedouble;
        ok &= cJSON_AddNumberToObject(cfg, "temperature", t) != NULL;
    }
    /* Claude 4.5 and later refuse temperature with top_p ("cannot both be specified"); Anthropic
     * has always advised one or the other, so Claude gets the temperature alone. */
    int claude = call->model && strstr(call->model, "anthropic.claude");
    if (cJSON_IsNumber(top_p) && budget <= 0 && !(claude && cJSON_IsNumber(temp)))
        ok &= cJSON_AddNumberToObject(cfg, "topP", top_p->valuedouble) != NULL;
    if (cJSON_IsString(stop) || (cJSON_IsArray(stop) && cJSON_GetArraySize(stop) > 0)) {
        cJSON *seq = cJSON_AddArrayToObject(cfg, "stopSequences");
        const cJSON *s;
        ok &= seq != NULL;
        if (seq && cJSON_IsString(stop)) {
            ok &= cJSON_AddItemToArray(seq, cJSON_CreateString(stop->valuestring));
        } else if (seq) {
            cJSON_ArrayForEach(s, stop)
            {
                if (cJSON_IsString(s))
                    ok &= cJSON_AddItemToArray(seq, cJSON_CreateString(s->valuestring));
            }
        }
    }
    if (!ok) {
        cJSON_Delete(cfg);
        return AIGW_ENOMEM;
    }
    if (cfg->child)
        cJSON_AddItemToObject(out, "inferenceConfig", cfg);
    else
        cJSON_Delete(cfg);
    return 0;
}

int bedrock_build_converse(struct aigw_call *call, cJSON **out)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(call->body, "n");
    if (cJSON_IsNumber(n) && n->valuedouble > 1)
        return bedrock_reject(call, AIGW_ENOTSUP, "Converse returns one choice (n must be 1)");

    struct conv cv = {call, cJSON_CreateArray(), cJSON_CreateArray(), cJSON_CreateArray(), 0, 0};
    cJSON *body = cJSON_CreateObject();
    int rc = AIGW_ENOMEM;
    if (!body || !cv.system || !cv.messages || !cv.used_tools)
        goto fail;
    if ((rc = convert_messages(&cv)) != 0)
        goto fail;
    cJSON_AddItemToObject(body, "messages", cv.messages);
    cv.messages = NULL;
    if (cJSON_GetArraySize(cv.system) > 0) {
        cJSON_AddItemToObject(body, "system", cv.system);
        cv.system = NULL;
    }
    /* Claude refuses thinking under a forced tool. */
    struct bedrock_state *st = call->state;
    if ((rc = bedrock_json_object_tool(call)) < 0)
        goto fail;
    st->json_tool = rc;
    int64_t budget = st->json_tool ? 0 : claude_budget(call);
    if ((rc = inference_config(call, body, budget)) != 0 || (rc = tool_config(&cv, body)) != 0 ||
        (st->json_tool && (rc = bedrock_add_json_tool(body, st->json_tool)) != 0) ||
        (rc = claude_fields(call, body, budget)) != 0 ||
        (rc = bedrock_output_config(call, body)) != 0)
        goto fail;
    cJSON_Delete(cv.system);
    cJSON_Delete(cv.used_tools);
    *out = body;
    return 0;
fail:
    cJSON_Delete(cv.system);
    cJSON_Delete(cv.messages);
    cJSON_Delete(cv.used_tools);
    cJSON_Delete(body);
    return rc;
}
