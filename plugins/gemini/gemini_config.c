/*
 * gemini_config.c - the GenerateContentRequest's generationConfig (sampling, stop, the
 * thinking budget or level, the response schema with its properties' order) and its tools
 * (function declarations cut to Gemini's Schema subset, tool_choice). Split from
 * gemini_request.c, which translates the conversation itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gemini_xlate.h"

static void put(cJSON *o, const char *key, cJSON *item, int *rc)
{
    if (*rc == 0 && item && cJSON_AddItemToObject(o, key, item))
        return;
    cJSON_Delete(item);
    if (*rc == 0)
        *rc = AIGW_ENOMEM;
}

/* v (a field of the client body) as dst_key, when it is a number. */
static void put_num(cJSON *gen, const char *dst_key, const cJSON *v, int *rc)
{
    if (cJSON_IsNumber(v))
        put(gen, dst_key, cJSON_CreateNumber(v->valuedouble), rc);
}

/* reasoning_effort only means something to thinking models; elsewhere Gemini would reject
 * thinkingConfig, so it is dropped there. Budgets follow common gateway practice. none and
 * minimal lower thinking as far as the model allows (2.5 Pro's floor is a budget of 128,
 * Gemini 3 Pro's the level low): left out, the model would think at its dynamic default. */
static void thinking_config(struct aigw_call *call, cJSON *gen, int *rc)
{
    const char *effort = aigw_json_str(call->body, "reasoning_effort");
    const char *model = call->model ? call->model : "";
    if (!effort)
        return;
    int off = !strcmp(effort, "none") || !strcmp(effort, "minimal");
    int low = !strcmp(effort, "low"), high = !strcmp(effort, "high") || !strcmp(effort, "xhigh");
    int gen3 = strstr(model, "gemini-3") != NULL;
    if (!gen3 && !strstr(model, "gemini-2.5"))
        return;
    cJSON *tc = cJSON_CreateObject();
    if (!off)
        put(tc, "includeThoughts", cJSON_CreateTrue(), rc);
    if (gen3)
        put(tc, "thinkingLevel", cJSON_CreateString(off || low ? "low" : "high"), rc);
    else if (off)
        put(tc, "thinkingBudget", cJSON_CreateNumber(strstr(model, "-pro") ? 128 : 0), rc);
    else
        put(tc, "thinkingBudget", cJSON_CreateNumber(low ? 1024 : high ? 24576 : 8192), rc);
    put(gen, "thinkingConfig", tc, rc);
}

/* Gemini writes a responseSchema's properties in alphabetical order unless propertyOrdering
 * names one; OpenAI writes them in the schema's order, which clients rely on (a "reasoning"
 * field meant to come before the "answer"). Walks the cleaned schema: properties, items and
 * anyOf only, whose depth gem_schema_clean has capped. */
static int order_properties(cJSON *s)
{
    cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"), *c;
    int rc;
    if (!cJSON_IsObject(s))
        return 0;
    if (cJSON_IsObject(props) && props->child &&
        !cJSON_GetObjectItemCaseSensitive(s, "propertyOrdering")) {
        cJSON *order = cJSON_AddArrayToObject(s, "propertyOrdering");
        if (!order)
            return AIGW_ENOMEM;
        cJSON_ArrayForEach(c, props)
        {
            if (!cJSON_AddItemToArray(order, cJSON_CreateString(c->string)))
                return AIGW_ENOMEM;
        }
    }
    for (c = cJSON_IsObject(props) ? props->child : NULL; c; c = c->next)
        if ((rc = order_properties(c)) != 0)
            return rc;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "anyOf"))
    {
        if ((rc = order_properties(c)) != 0)
            return rc;
    }
    return order_properties(cJSON_GetObjectItemCaseSensitive(s, "items"));
}

int gem_generation_config(struct aigw_call *call, cJSON *req)
{
    const cJSON *b = call->body, *v;
    cJSON *gen = cJSON_CreateObject();
    int rc = 0;
    if (!gen)
        return AIGW_ENOMEM;
    put_num(gen, "temperature", aigw_json_get(b, "temperature"), &rc);
    put_num(gen, "topP", aigw_json_get(b, "top_p"), &rc);
    put_num(gen, "topK", aigw_json_get(b, "top_k"), &rc); /* not OpenAI's, but clients send it */
    v = aigw_json_get(b, "max_completion_tokens");
    put_num(gen, "maxOutputTokens", cJSON_IsNumber(v) ? v : aigw_json_get(b, "max_tokens"), &rc);
    v = aigw_json_get(b, "stop");
    if (cJSON_IsString(v))
        put(gen, "stopSequences", cJSON_CreateStringArray((const char *[]){v->valuestring}, 1),
            &rc);
    else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0)
        put(gen, "stopSequences", cJSON_Duplicate(v, 1), &rc);
    /* n == 1 is Gemini's default; leaving it out spares models that refuse candidateCount. */
    if (cJSON_IsNumber(v = aigw_json_get(b, "n")) && v->valuedouble > 1)
        put_num(gen, "candidateCount", v, &rc);
    put_num(gen, "seed", aigw_json_get(b, "seed"), &rc);
    /* Zero is OpenAI's default and some Gemini models refuse penalties outright. */
    if (cJSON_IsNumber(v = aigw_json_get(b, "presence_penalty")) && v->valuedouble != 0)
        put_num(gen, "presencePenalty", v, &rc);
    if (cJSON_IsNumber(v = aigw_json_get(b, "frequency_penalty")) && v->valuedouble != 0)
        put_num(gen, "frequencyPenalty", v, &rc);
    const cJSON *rf = aigw_json_get(b, "response_format");
    const char *rft = aigw_json_str(rf, "type");
    if (rft && (!strcmp(rft, "json_object") || !strcmp(rft, "json_schema")))
        put(gen, "responseMimeType", cJSON_CreateString("application/json"), &rc);
    const cJSON *schema = NULL;
    if (rft && !strcmp(rft, "json_schema"))
        schema = aigw_json_get(aigw_json_get(rf, "json_schema"), "schema");
    if (rc == 0 && cJSON_IsObject(schema)) {
        cJSON *clean = NULL;
        if ((rc = gem_schema_clean(call, schema, &clean)) == 0 &&
            (rc = order_properties(clean)) != 0) {
            cJSON_Delete(clean);
            clean = NULL;
        }
        if (rc == 0)
            put(gen, "responseSchema", clean, &rc);
    }
    thinking_config(call, gen, &rc);
    if (rc != 0 || !gen->child) {
        cJSON_Delete(gen);
        return rc;
    }
    cJSON_AddItemToObject(req, "generationConfig", gen);
    return 0;
}

/* Function parameters must be an OBJECT schema; a tool without parameters gets an empty one
 * (Gemini refuses a declaration without parameters under mode ANY). */
static int tool_params(struct aigw_call *call, const cJSON *params, cJSON **out)
{
    int rc;
    *out = NULL;
    if (cJSON_IsObject(params) && (rc = gem_schema_clean(call, params, out)) != 0)
        return rc;
    if (!*out && !(*out = cJSON_CreateObject()))
        return AIGW_ENOMEM;
    if (!cJSON_GetObjectItemCaseSensitive(*out, "type") &&
        !cJSON_GetObjectItemCaseSensitive(*out, "anyOf") &&
        !cJSON_AddStringToObject(*out, "type", "OBJECT"))
        return AIGW_ENOMEM;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(*out, "type");
    if (cJSON_IsString(t) && !strcmp(t->valuestring, "OBJECT") &&
        !cJSON_GetObjectItemCaseSensitive(*out, "properties") &&
        !cJSON_AddObjectToObject(*out, "properties"))
        return AIGW_ENOMEM;
    return 0;
}

int gem_tools(struct aigw_call *call, cJSON *req)
{
    const cJSON *tl = aigw_json_get(call->body, "tools"), *t;
    int rc;
    if (!cJSON_IsArray(tl) || cJSON_GetArraySize(tl) == 0)
        return 0;
    cJSON *arr = cJSON_AddArrayToObject(req, "tools");
    cJSON *wrap = arr ? cJSON_CreateObject() : NULL;
    if (!wrap)
        return AIGW_ENOMEM;
    cJSON_AddItemToArray(arr, wrap);
    cJSON *decls = cJSON_AddArrayToObject(wrap, "functionDeclarations");
    if (!decls)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(t, tl)
    {
        const char *type = aigw_json_str(t, "type");
        const cJSON *fn = aigw_json_get(t, "function");
        const char *name = aigw_json_str(fn, "name"), *desc = aigw_json_str(fn, "description");
        if (type && strcmp(type, "function")) {
            call->host->log(call, AIGW_LOG_INFO, "tool type not supported by Gemini");
            return AIGW_ENOTSUP;
        }
        if (!name)
            return gem_inval(call, "tool without a function name");
        cJSON *d = cJSON_CreateObject();
        if (!d)
            return AIGW_ENOMEM;
        cJSON_AddItemToArray(decls, d);
        if (!cJSON_AddStringToObject(d, "name", name) ||
            (desc && !cJSON_AddStringToObject(d, "description", desc)))
            return AIGW_ENOMEM;
        cJSON *params = NULL;
        if ((rc = tool_params(call, aigw_json_get(fn, "parameters"), &params)) != 0) {
            cJSON_Delete(params);
            return rc;
        }
        cJSON_AddItemToObject(d, "parameters", params);
    }

    const cJSON *tc = aigw_json_get(call->body, "tool_choice");
    const char *mode = NULL, *only = NULL;
    if (cJSON_IsString(tc)) {
        mode = !strcmp(tc->valuestring, "none")       ? "NONE"
               : !strcmp(tc->valuestring, "required") ? "ANY"
               : !strcmp(tc->valuestring, "auto")     ? "AUTO"
                                                      : NULL;
        if (!mode)
            return gem_inval(call, "unknown tool_choice");
    } else if (cJSON_IsObject(tc)) {
        only = aigw_json_str(aigw_json_get(tc, "function"), "name");
        if (!only)
            return gem_inval(call, "tool_choice object without a function name");
        mode = "ANY";
    }
    if (!mode)
        return 0;
    cJSON *cfg = cJSON_AddObjectToObject(req, "toolConfig");
    cJSON *fcc = cfg ? cJSON_AddObjectToObject(cfg, "functionCallingConfig") : NULL;
    if (!fcc || !cJSON_AddStringToObject(fcc, "mode", mode))
        return AIGW_ENOMEM;
    if (only) {
        cJSON *names = cJSON_CreateStringArray(&only, 1);
        if (!names)
            return AIGW_ENOMEM;
        cJSON_AddItemToObject(fcc, "allowedFunctionNames", names);
    }
    return 0;
}
