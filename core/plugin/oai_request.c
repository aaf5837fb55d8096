/*
 * oai_request - the body sent to an OpenAI-wire upstream (gw_oai_request_body, oai_compat.h):
 * the client's request with the call's model, stream and usage options set, and the fields a
 * provider refuses dropped.
 */
#include "plugin/oai_compat.h"

#include <stddef.h>
#include <string.h>

static int set_item(cJSON *obj, const char *key, cJSON *val)
{
    if (!val)
        return AIGW_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val) ? 0 : AIGW_ENOMEM;
    return cJSON_AddItemToObject(obj, key, val) ? 0 : AIGW_ENOMEM;
}

/* The top level of the client's body over its members' values: objects, arrays and strings
 * are cJSON references (a delete frees the node, not what it refers to), names are shared as
 * constant keys, and only stream_options, which gw_oai_request_body edits inside, is copied.
 * Printing it gives the bytes a deep copy would. For a plugin that promised top-level edits
 * only (aigw_oai_opts.top_level_only). */
static cJSON *shallow_copy(const cJSON *src)
{
    cJSON *body = cJSON_CreateObject();
    for (const cJSON *m = src->child; body && m; m = m->next) {
        int t = m->type & 0xff;
        cJSON *v;
        if (!m->string)
            continue;
        if (t == cJSON_Object && strcmp(m->string, "stream_options") != 0)
            v = cJSON_CreateObjectReference(m->child);
        else if (t == cJSON_Array)
            v = cJSON_CreateArrayReference(m->child);
        else if (t == cJSON_String)
            v = cJSON_CreateStringReference(m->valuestring);
        else if (t == cJSON_Number) /* printed from valuedouble alone, as parsed */
            v = cJSON_CreateNumber(m->valuedouble);
        else if (t == cJSON_True || t == cJSON_False)
            v = cJSON_CreateBool(t == cJSON_True);
        else if (t == cJSON_NULL)
            v = cJSON_CreateNull();
        else
            v = cJSON_Duplicate(m, 1);
        if (!v || !cJSON_AddItemToObjectCS(body, m->string, v)) {
            cJSON_Delete(v);
            cJSON_Delete(body);
            body = NULL;
        }
    }
    return body;
}

static int wants_top_level_only(const struct aigw_oai_opts *o)
{
    return o &&
           o->struct_size >=
               offsetof(struct aigw_oai_opts, top_level_only) + sizeof o->top_level_only &&
           o->top_level_only;
}

cJSON *gw_oai_request_body(struct aigw_call *call, const struct aigw_oai_opts *opts)
{
    int set_model = opts ? opts->set_model : 1;
    int include_usage = opts ? opts->send_include_usage : 1;
    cJSON *body;
    size_t i;

    if (!call->body)
        body = cJSON_CreateObject();
    else if (cJSON_IsObject(call->body) && wants_top_level_only(opts))
        body = shallow_copy(call->body);
    else
        body = cJSON_Duplicate(call->body, 1);

    if (!body)
        return NULL;
    if (!cJSON_IsObject(body))
        goto fail;
    if (set_model && call->model) {
        if (set_item(body, "model", cJSON_CreateString(call->model)) != 0)
            goto fail;
    } else if (!set_model) {
        cJSON_DeleteItemFromObjectCaseSensitive(body, "model");
    }
    if (call->op == AIGW_OP_CHAT) {
        /* The call, not the body, decides: the core may stream a request it rewrote. */
        if (call->stream && set_item(body, "stream", cJSON_CreateTrue()) != 0)
            goto fail;
        if (call->stream && include_usage) {
            /* Always ask, even if the client did not: the access log needs token counts. The
             * core hides the usage chunk from clients that did not ask. */
            cJSON *so = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
            if (!cJSON_IsObject(so)) {
                if (set_item(body, "stream_options", cJSON_CreateObject()) != 0)
                    goto fail;
                so = cJSON_GetObjectItemCaseSensitive(body, "stream_options");
            }
            if (set_item(so, "include_usage", cJSON_CreateTrue()) != 0)
                goto fail;
        } else {
            /* OpenAI rejects stream_options on a non-stream request. */
            cJSON_DeleteItemFromObjectCaseSensitive(body, "stream_options");
        }
    }
    if (opts && opts->drop_fields)
        for (i = 0; opts->drop_fields[i]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(body, opts->drop_fields[i]);
    return body;
fail:
    cJSON_Delete(body);
    return NULL;
}
