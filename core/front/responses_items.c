/* responses_items - Responses input items -> chat messages (see responses.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/responses.h"
#include "lib/log.h"

/* Items that record what OpenAI's own hosted tools did: no chat target has a counterpart, and
 * their effect is already in the messages around them, so they are left out of the prompt. */
static const char *const hosted_items[] = {"web_search_call",
                                           "file_search_call",
                                           "computer_call",
                                           "computer_call_output",
                                           "code_interpreter_call",
                                           "image_generation_call",
                                           "local_shell_call",
                                           "local_shell_call_output",
                                           "shell_call",
                                           "shell_call_output",
                                           "apply_patch_call",
                                           "apply_patch_call_output",
                                           "mcp_list_tools",
                                           "mcp_approval_request",
                                           "mcp_approval_response",
                                           "mcp_call",
                                           "tool_search_call",
                                           "tool_search_output",
                                           NULL};

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The code of a refusal already explained in err (or out of memory when none was). */
static int err_rc(const struct gw_front_err *err)
{
    if (!err->message[0])
        return AIGW_ENOMEM;
    return err->code && !strcmp(err->code, "unsupported") ? AIGW_ENOTSUP : AIGW_EINVAL;
}

/* ---- input as items, ids minted ---------------------------------------------------------- */

static const char *id_prefix(const char *type)
{
    if (!strcmp(type, "message"))
        return "msg_";
    if (!strcmp(type, "function_call"))
        return "fc_";
    if (!strcmp(type, "function_call_output"))
        return "fco_";
    if (!strcmp(type, "reasoning"))
        return "rs_";
    if (!strcmp(type, "custom_tool_call"))
        return "ctc_";
    if (!strcmp(type, "custom_tool_call_output"))
        return "ctco_";
    return "item_";
}

cJSON *gw_resp_input_items(const cJSON *input, const char *resp_id, struct gw_front_err *err)
{
    cJSON *items = cJSON_CreateArray();
    if (!items)
        return NULL;
    const char *hex = strncmp(resp_id, "resp_", 5) ? resp_id : resp_id + 5;
    if (cJSON_IsString(input)) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(items, m);
        cJSON_AddStringToObject(m, "type", "message");
        cJSON_AddStringToObject(m, "role", "user");
        cJSON *parts = cJSON_AddArrayToObject(m, "content");
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(parts, p);
        cJSON_AddStringToObject(p, "type", "input_text");
        cJSON_AddStringToObject(p, "text", input->valuestring);
        input = items;
    } else if (!cJSON_IsArray(input)) {
        cJSON_Delete(items);
        gw_resp_fail(err, "input", NULL, "'input' must be a string or an array of items");
        return NULL;
    } else if (cJSON_GetArraySize(input) > GW_RESP_MAX_ITEMS) {
        cJSON_Delete(items);
        gw_resp_fail(err, "input", NULL, "'input' has more than %d items", GW_RESP_MAX_ITEMS);
        return NULL;
    } else {
        cJSON_Delete(items);
        items = cJSON_Duplicate(input, 1);
        if (!items)
            return NULL;
    }
    int i = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (!cJSON_IsObject(it)) {
            cJSON_Delete(items);
            gw_resp_fail(err, "input", NULL, "every input item must be an object");
            return NULL;
        }
        const char *type = str_of(it, "type");
        if (!type) { /* the easy form {role, content} is a message */
            cJSON_AddStringToObject(it, "type", "message");
            type = "message";
        }
        char id[GW_RESP_ID_MAX];
        if (!strcmp(type, "item_reference") && !str_of(it, "id")) {
            cJSON_Delete(items);
            gw_resp_fail(err, "input", NULL, "an item_reference needs the 'id' of the item");
            return NULL;
        }
        if (!str_of(it, "id")) {
            /* The response's 48 digits, then 5 of index (GW_RESP_MAX_ITEMS): output items
             * have 4 (responses_render.c), so an input item never has an output item's id,
             * and an item_reference finds either by its response (responses_refs.c). */
            snprintf(id, sizeof id, "%s%.48s%05x", id_prefix(type), hex, (unsigned)i);
            cJSON_DeleteItemFromObjectCaseSensitive(it, "id"); /* a null one: one "id" only */
            cJSON_AddStringToObject(it, "id", id);
        }
        i++;
    }
    return items;
}

/* ---- items -> messages --------------------------------------------------------------------- */

struct conv {
    const struct gw_resp_ctx *ctx;
    cJSON *msgs;
    cJSON *assistant;   /* the assistant message that the next tool calls join, or NULL */
    cJSON *image_parts; /* images from tool outputs, sent as a user message after the outputs */
    struct gw_front_err *err;
};

static int flush_images(struct conv *cv)
{
    if (!cv->image_parts)
        return 0;
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return AIGW_ENOMEM;
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddItemToObject(m, "content", cv->image_parts);
    cJSON_AddItemToArray(cv->msgs, m);
    cv->image_parts = NULL;
    return 0;
}

static cJSON *image_part(const cJSON *p, struct gw_front_err *err)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(p, "image_url");
    const char *u = cJSON_IsString(url) ? url->valuestring : str_of(url, "url");
    if (!u) {
        gw_resp_fail(err, "input", "unsupported",
                     "input_image needs an 'image_url' (URL or data URL); file_id references "
                     "to OpenAI's file store cannot be served by every provider");
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "image_url");
    cJSON *iu = cJSON_AddObjectToObject(o, "image_url");
    cJSON_AddStringToObject(iu, "url", u);
    const char *detail = str_of(p, "detail");
    if (detail)
        cJSON_AddStringToObject(iu, "detail", detail);
    return o;
}

static cJSON *file_part(const cJSON *p, struct gw_front_err *err)
{
    const char *data = str_of(p, "file_data"), *fid = str_of(p, "file_id");
    if (!data && !fid) {
        gw_resp_fail(err, "input", "unsupported",
                     "input_file needs 'file_data' (a data URL) or 'file_id'; file_url is not "
                     "supported");
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "file");
    cJSON *f = cJSON_AddObjectToObject(o, "file");
    if (data)
        cJSON_AddStringToObject(f, "file_data", data);
    if (fid)
        cJSON_AddStringToObject(f, "file_id", fid);
    const char *name = str_of(p, "filename");
    if (name)
        cJSON_AddStringToObject(f, "filename", name);
    return o;
}

/* A message's content -> a string when it is all text (what every provider takes), else chat
 * parts. text_only: system and assistant turns keep their text and nothing else. */
static cJSON *content_of(const cJSON *content, int text_only, struct gw_front_err *err)
{
    if (cJSON_IsString(content))
        return cJSON_CreateString(content->valuestring);
    if (!cJSON_IsArray(content)) {
        gw_resp_fail(err, "input", NULL, "message 'content' must be a string or an array");
        return NULL;
    }
    struct gw_buf text;
    gw_buf_init(&text, 0);
    cJSON *parts = cJSON_CreateArray();
    int all_text = 1, rc = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, content)
    {
        const char *type = str_of(p, "type");
        if (!type) {
            rc = gw_resp_fail(err, "input", NULL, "every content part needs a string 'type'");
            break;
        }
        const char *t = !strcmp(type, "refusal") ? str_of(p, "refusal") : str_of(p, "text");
        cJSON *part = NULL;
        if (!strcmp(type, "input_text") || !strcmp(type, "output_text") || !strcmp(type, "text") ||
            !strcmp(type, "refusal")) {
            if (!t) {
                rc = gw_resp_fail(err, "input", NULL, "a %s part needs a string", type);
                break;
            }
            if (text.len)
                rc = gw_buf_append(&text, "\n", 1);
            if (!rc)
                rc = gw_buf_append_str(&text, t);
            part = cJSON_CreateObject();
            cJSON_AddStringToObject(part, "type", "text");
            cJSON_AddStringToObject(part, "text", t);
        } else if (text_only) {
            continue;
        } else if (!strcmp(type, "input_image")) {
            all_text = 0;
            if (!(part = image_part(p, err)))
                rc = err_rc(err);
        } else if (!strcmp(type, "input_file")) {
            all_text = 0;
            if (!(part = file_part(p, err)))
                rc = err_rc(err);
        } else {
            rc = gw_resp_fail(err, "input", NULL, "unknown content part type '%.64s'", type);
        }
        if (rc)
            break;
        cJSON_AddItemToArray(parts, part);
    }
    cJSON *out = NULL;
    if (!rc && all_text) {
        out = cJSON_CreateString(text.ptr ? text.ptr : "");
    } else if (!rc) {
        out = parts;
        parts = NULL;
    }
    cJSON_Delete(parts);
    gw_buf_free(&text);
    return out;
}

static int add_message(struct conv *cv, const cJSON *it)
{
    const char *role = str_of(it, "role");
    if (!role || (strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "system") &&
                  strcmp(role, "developer")))
        return gw_resp_fail(cv->err, "input", NULL,
                            "a message needs a role of user, assistant, system or developer");
    int rc = flush_images(cv);
    if (rc)
        return rc;
    int assistant = !strcmp(role, "assistant");
    int user = !strcmp(role, "user");
    cJSON *content = content_of(cJSON_GetObjectItemCaseSensitive(it, "content"), !user, cv->err);
    if (!content)
        return err_rc(cv->err);
    cJSON *m = cJSON_CreateObject();
    /* developer is OpenAI's newer name for system; every provider knows system */
    cJSON_AddStringToObject(m, "role", assistant ? "assistant" : user ? "user" : "system");
    cJSON_AddItemToObject(m, "content", content);
    cJSON_AddItemToArray(cv->msgs, m);
    cv->assistant = assistant ? m : NULL;
    return 0;
}

static int add_call(struct conv *cv, const cJSON *it, int custom)
{
    const char *call_id = str_of(it, "call_id"), *name = str_of(it, "name");
    const char *args = str_of(it, custom ? "input" : "arguments");
    if (!call_id || !*call_id || !name || !args)
        return gw_resp_fail(cv->err, "input", NULL,
                            custom ? "a custom_tool_call needs string 'call_id', 'name', 'input'"
                                   : "a function_call needs string 'call_id', 'name', "
                                     "'arguments'");
    char flat[GW_RESP_ID_MAX + 1];
    if (gw_resp_flat_name(cv->ctx, str_of(it, "namespace"), name, flat, sizeof flat))
        return gw_resp_fail(cv->err, "input", NULL, "function name '%.80s' is too long", name);
    int rc = flush_images(cv);
    if (rc)
        return rc;
    if (!cv->assistant) {
        cv->assistant = cJSON_CreateObject();
        cJSON_AddStringToObject(cv->assistant, "role", "assistant");
        cJSON_AddNullToObject(cv->assistant, "content");
        cJSON_AddItemToArray(cv->msgs, cv->assistant);
    }
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(cv->assistant, "tool_calls");
    if (!calls)
        calls = cJSON_AddArrayToObject(cv->assistant, "tool_calls");
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddItemToArray(calls, tc);
    cJSON_AddStringToObject(tc, "id", call_id);
    cJSON_AddStringToObject(tc, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(tc, "function");
    cJSON_AddStringToObject(fn, "name", flat);
    if (custom) {
        /* the call as the model made it upstream: one string argument, "input" */
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "input", args);
        char *s = cJSON_PrintUnformatted(a);
        cJSON_Delete(a);
        if (!s)
            return AIGW_ENOMEM;
        cJSON_AddStringToObject(fn, "arguments", s);
        free(s);
    } else {
        cJSON_AddStringToObject(fn, "arguments", args);
    }
    return 0;
}

static int add_output(struct conv *cv, const cJSON *it)
{
    const char *call_id = str_of(it, "call_id");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(it, "output");
    if (!call_id || !*call_id || (!cJSON_IsString(out) && !cJSON_IsArray(out)))
        return gw_resp_fail(cv->err, "input", NULL,
                            "a tool output item needs a string 'call_id' and an 'output' string "
                            "or array");
    struct gw_buf text;
    gw_buf_init(&text, 0);
    int rc = 0;
    if (cJSON_IsString(out)) {
        rc = gw_buf_append_str(&text, out->valuestring);
    } else {
        const cJSON *p;
        cJSON_ArrayForEach(p, out)
        {
            const char *type = str_of(p, "type");
            if (type && !strcmp(type, "input_image")) {
                cJSON *img = image_part(p, cv->err);
                if (!img) {
                    rc = err_rc(cv->err);
                    break;
                }
                if (!cv->image_parts)
                    cv->image_parts = cJSON_CreateArray();
                cJSON_AddItemToArray(cv->image_parts, img);
            } else if (str_of(p, "text")) {
                if (text.len)
                    rc = gw_buf_append(&text, "\n", 1);
                if (!rc)
                    rc = gw_buf_append_str(&text, str_of(p, "text"));
            }
        }
    }
    if (!rc) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "tool");
        cJSON_AddStringToObject(m, "tool_call_id", call_id);
        cJSON_AddStringToObject(m, "content", text.ptr ? text.ptr : "");
        cJSON_AddItemToArray(cv->msgs, m);
        cv->assistant = NULL;
    }
    gw_buf_free(&text);
    return rc;
}

/* A compaction item: aigw's own becomes a user message with its summary. A foreign one
 * (OpenAI's, encrypted with its keys) no other target can read: it is left out with a warning,
 * not refused, because Codex resends it with every later turn, so a refusal would end the
 * session for good while leaving it out keeps the user's messages Codex kept beside it. */
static int add_compaction(struct conv *cv, const cJSON *it)
{
    cJSON *m;
    int rc = gw_resp_compaction_message(it, &m, cv->err);
    if (rc == AIGW_ENOTSUP) {
        gw_logf(AIGW_LOG_WARN, "responses", NULL,
                "a compaction item not made by aigw was left out: its target cannot read it, "
                "so the summary it holds is lost to the model");
        return 0;
    }
    if (rc)
        return rc;
    if ((rc = flush_images(cv))) {
        cJSON_Delete(m);
        return rc;
    }
    cJSON_AddItemToArray(cv->msgs, m);
    cv->assistant = NULL;
    return 0;
}

int gw_resp_items_to_messages(const struct gw_resp_ctx *ctx, const cJSON *items, cJSON *msgs,
                              struct gw_front_err *err)
{
    struct conv cv = {.ctx = ctx, .msgs = msgs, .err = err};
    const cJSON *it;
    int rc = 0;
    cJSON_ArrayForEach(it, items)
    {
        const char *type = str_of(it, "type");
        if (!cJSON_IsObject(it))
            rc = gw_resp_fail(err, "input", NULL, "every input item must be an object");
        else if (!type || !strcmp(type, "message"))
            rc = add_message(&cv, it);
        else if (!strcmp(type, "function_call") || !strcmp(type, "custom_tool_call"))
            rc = add_call(&cv, it, type[0] == 'c');
        else if (!strcmp(type, "function_call_output") || !strcmp(type, "custom_tool_call_output"))
            rc = add_output(&cv, it);
        else if (!strcmp(type, "reasoning"))
            continue; /* only OpenAI can read it back: it rides in the native body */
        else if (!strcmp(type, "compaction"))
            rc = add_compaction(&cv, it);
        else if (!strcmp(type, "compaction_trigger")) /* parse took the one it may end with */
            rc = gw_resp_fail(err, "input", NULL,
                              "a compaction_trigger item must be the final input item");
        else if (!strcmp(type, "item_reference")) /* gw_responses_resolve replaced each */
            rc = gw_resp_fail(err, "input", NULL, "an item_reference was not read back");
        else if (in_list(type, hosted_items))
            continue;
        else
            rc = gw_resp_fail(err, "input", NULL, "unknown input item type '%.64s'", type);
        if (rc)
            break;
    }
    if (!rc)
        rc = flush_images(&cv);
    cJSON_Delete(cv.image_parts);
    return rc;
}
