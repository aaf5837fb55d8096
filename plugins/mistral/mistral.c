/*
 * mistral - Mistral La Plateforme (providers-B §2). OpenAI's wire, but the request schema
 * forbids unknown fields (a 422 per stray key), so bodies are whitelisted rather than
 * trimmed; tool-call ids must be nine alphanumerics. Responses, including the reasoning
 * models' content-part arrays and the usage riding on the last chunk, are the host's job.
 */
#include <string.h>

#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.mistral.ai/v1"

static const struct oaiw_target target = {"MISTRAL", BASE_DEFAULT};

/* ChatCompletionRequest of Mistral's SDK (2026); anything else is a 422 extra_forbidden. */
/* clang-format off */
static const char *const chat_fields[] = {
    "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed",
    "metadata", "response_format", "tools", "tool_choice", "presence_penalty",
    "frequency_penalty", "n", "prediction", "parallel_tool_calls", "reasoning_effort",
    "prompt_mode", "guardrails", "prompt_cache_key", "safe_prompt", NULL};
/* clang-format on */

/* Per message; reasoning_content, refusal, annotations from echoed history are 422s. */
static const char *const message_fields[] = {"role", "content", "tool_calls", "tool_call_id",
                                             "name", "prefix",  NULL};

static const char *const embedding_fields[] = {"model", "input", "output_dimension", "output_dtype",
                                               NULL};

static int valid_id(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (i >= 9 || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                        (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return i == 9;
}

/* Foreign ids (call_…, toolu_…) become a digest of themselves: the same id maps the same way
 * in the assistant turn and in its tool result, so the pair still matches. */
static int fix_id(struct aigw_call *call, cJSON *obj, const char *key)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    cJSON *id = oaiw_get(obj, key);
    unsigned char d[32];
    char out[10];
    size_t i;

    if (!cJSON_IsString(id) || valid_id(id->valuestring))
        return 0;
    call->host->sha256(id->valuestring, strlen(id->valuestring), d);
    for (i = 0; i < 9; i++)
        out[i] = b62[d[i] % 62];
    out[9] = '\0';
    return oaiw_set(obj, key, cJSON_CreateString(out));
}

static int empty_text(const cJSON *content)
{
    return !content || cJSON_IsNull(content) || oaiw_str_is(content, "");
}

/* A user turn right after a tool result is a 400 ("Unexpected role 'user' after role 'tool'",
 * invalid_request_message_order): Mistral wants the assistant to have spoken in between,
 * which OpenAI does not (a client that interrupts a tool loop sends exactly that). A short
 * assistant turn bridges them: empty content would itself be refused. Run after the pass
 * that drops empty assistant turns, since dropping one can make the two adjacent. */
static int bridge_tool_user(cJSON *messages)
{
    cJSON *m, *bridge;

    for (m = cJSON_IsArray(messages) ? messages->child : NULL; m && m->next; m = m->next) {
        if (!oaiw_str_is(oaiw_get(m, "role"), "tool") ||
            !oaiw_str_is(oaiw_get(m->next, "role"), "user"))
            continue;
        bridge = cJSON_CreateObject();
        if (!bridge || !cJSON_AddStringToObject(bridge, "role", "assistant") ||
            !cJSON_AddStringToObject(bridge, "content", "OK.")) {
            cJSON_Delete(bridge);
            return AIGW_ENOMEM;
        }
        /* Linked in by hand between two items (never first nor last, so the array's head and
         * its tail pointer stay as they are). */
        bridge->prev = m;
        bridge->next = m->next;
        m->next->prev = bridge;
        m->next = bridge;
        m = bridge; /* the user turn is checked next, as the bridge's successor */
    }
    return 0;
}

static int fix_messages(struct aigw_call *call, cJSON *messages)
{
    cJSON *m, *next, *tc;
    int rc;

    for (m = cJSON_IsArray(messages) ? messages->child : NULL; m; m = next) {
        const cJSON *name = oaiw_get(m, "name");
        int tool = oaiw_str_is(oaiw_get(m, "role"), "tool");

        next = m->next;
        oaiw_keep_only(m, message_fields);
        /* "name" is a 422 anywhere but on a tool result, and there only when non-empty. */
        if (!tool || !cJSON_IsString(name) || !*name->valuestring)
            cJSON_DeleteItemFromObjectCaseSensitive(m, "name");
        /* An empty assistant turn is refused outright; it carries nothing anyway. */
        if (oaiw_str_is(oaiw_get(m, "role"), "assistant") &&
            cJSON_GetArraySize(oaiw_get(m, "tool_calls")) == 0 &&
            empty_text(oaiw_get(m, "content"))) {
            cJSON_Delete(cJSON_DetachItemViaPointer(messages, m));
            continue;
        }
        if ((rc = fix_id(call, m, "tool_call_id")))
            return rc;
        cJSON_ArrayForEach(tc, oaiw_get(m, "tool_calls"))
        {
            if ((rc = fix_id(call, tc, "id")))
                return rc;
        }
    }
    if ((rc = bridge_tool_user(messages)))
        return rc;
    /* Ending on the assistant's own words asks for their continuation; Mistral serves that
     * only when the turn says so ("Expected last role User or Tool (or Assistant with prefix
     * True)"). */
    m = cJSON_GetArrayItem(messages, cJSON_GetArraySize(messages) - 1);
    if (oaiw_str_is(oaiw_get(m, "role"), "assistant") &&
        cJSON_GetArraySize(oaiw_get(m, "tool_calls")) == 0 && !oaiw_get(m, "prefix"))
        return oaiw_set(m, "prefix", cJSON_CreateTrue());
    return 0;
}

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, NULL, OAIW_MAX_TOKENS), *tool;
    int rc;

    if (!body)
        return AIGW_ENOMEM;
    if ((rc = oaiw_rename(body, "seed", "random_seed")) ||
        (rc = oaiw_rename(body, "safe_mode", "safe_prompt")))
        goto fail;
    /* stream_options goes with the rest: usage always rides on the last chunk anyway. */
    oaiw_keep_only(body, chat_fields);
    if (oaiw_str_is(oaiw_get(body, "tool_choice"), "required") &&
        (rc = oaiw_set(body, "tool_choice", cJSON_CreateString("any"))))
        goto fail;
    cJSON_ArrayForEach(tool, oaiw_get(body, "tools"))
    {
        /* Schema-meta keys have broken Mistral's grammar compiler (LiteLLM strips them). */
        cJSON *params = oaiw_get(oaiw_get(tool, "function"), "parameters");
        cJSON_DeleteItemFromObjectCaseSensitive(params, "$schema");
        cJSON_DeleteItemFromObjectCaseSensitive(params, "$id");
    }
    if ((rc = fix_messages(call, oaiw_get(body, "messages"))))
        goto fail;
    return oaiw_post(call, &target, "/chat/completions", body);
fail:
    cJSON_Delete(body);
    return rc;
}

static int embeddings_build(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, NULL, 0);
    int rc;

    if (!body)
        return AIGW_ENOMEM;
    /* encoding_format is left out: floats come back and the host encodes what was asked. */
    if ((rc = oaiw_rename(body, "dimensions", "output_dimension"))) {
        cJSON_Delete(body);
        return rc;
    }
    oaiw_keep_only(body, embedding_fields);
    return oaiw_post(call, &target, "/embeddings", body);
}

OAIW_PLUGIN("Mistral", "mistral", "MISTRAL", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                AIGW_CAP_JSON_SCHEMA | AIGW_CAP_EMBEDDINGS | AIGW_CAP_REASONING,
            .build_request = build_request, OAIW_STOCK_PARSERS,
            .embeddings_build = embeddings_build, .embeddings_parse = oaiw_parse_response)
