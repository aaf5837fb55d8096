/*
 * bedrock_format - response_format for Converse: a json_schema as Converse's structured
 * output (outputConfig.textFormat), json_object as a tool whose input is the answer
 * (bedrock_response.c hands it to the client as text), forced, or beside the client's tools.
 */
#include <stdlib.h>
#include <string.h>

#include "bedrock.h"

/* response_format json_schema -> outputConfig.textFormat, Converse's structured output: the
 * answer comes back as ordinary text that conforms, so nothing changes on the way back. The
 * schema travels as a JSON string there, not an object. Models without structured output
 * answer the request with Bedrock's own 400, which is the client's to see. */
int bedrock_output_config(struct aigw_call *call, cJSON *out)
{
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(call->body, "response_format");
    const char *type = aigw_json_str(rf, "type");
    if (!type || !strcmp(type, "text"))
        return 0;
    if (!strcmp(type, "json_object"))
        return 0; /* bedrock_json_object_tool() */
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(rf, "json_schema");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(js, "schema");
    if (strcmp(type, "json_schema") || !cJSON_IsObject(schema))
        return bedrock_reject(call, AIGW_EINVAL,
                              "response_format must be text or json_schema with a schema object");
    const char *name = aigw_json_str(js, "name"), *desc = aigw_json_str(js, "description");
    char *text = cJSON_PrintUnformatted(schema);
    cJSON *cfg = cJSON_AddObjectToObject(out, "outputConfig");
    cJSON *fmt = cfg ? cJSON_AddObjectToObject(cfg, "textFormat") : NULL;
    cJSON *st = fmt ? cJSON_AddObjectToObject(fmt, "structure") : NULL;
    cJSON *def = st ? cJSON_AddObjectToObject(st, "jsonSchema") : NULL;
    int ok = text && def && cJSON_AddStringToObject(fmt, "type", "json_schema") &&
             cJSON_AddStringToObject(def, "schema", text) &&
             (!name || cJSON_AddStringToObject(def, "name", name)) &&
             (!desc || cJSON_AddStringToObject(def, "description", desc));
    free(text);
    return ok ? 0 : AIGW_ENOMEM;
}

/* response_format json_object names no schema, which textFormat requires: the documented
 * fallback is a tool whose input schema is "an object", its input being the answer
 * (bedrock_response.c turns it back into text). Alone it is forced on the model. Beside the
 * client's tools, which OpenAI lets the model call instead of answering, the model must call
 * one of them or the answer tool (Converse's "any"): a tool call, or an answer that is an
 * object, as OpenAI's JSON mode. Under tool_choice "required" or a named function the answer
 * is a tool call the client asked for, which JSON mode does not shape: nothing to add. Tools
 * only the history names are declared, never callable: the answer tool is forced then. */
int bedrock_json_object_tool(struct aigw_call *call)
{
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(call->body, "response_format");
    const cJSON *tools = cJSON_GetObjectItemCaseSensitive(call->body, "tools"), *t;
    const cJSON *choice = cJSON_GetObjectItemCaseSensitive(call->body, "tool_choice");
    const char *type = aigw_json_str(rf, "type"), *tc = cJSON_GetStringValue(choice);
    if (!type || strcmp(type, "json_object"))
        return BEDROCK_JSON_NONE;
    if (cJSON_GetArraySize(tools) == 0 || (tc && !strcmp(tc, "none")))
        return BEDROCK_JSON_FORCED;
    if (choice && !(tc && !strcmp(tc, "auto")))
        return BEDROCK_JSON_NONE;
    cJSON_ArrayForEach(t, tools)
    {
        const char *name = aigw_json_str(aigw_json_get(t, "function"), "name");
        if (name && !strcmp(name, BEDROCK_JSON_TOOL))
            return bedrock_reject(call, AIGW_EINVAL,
                                  "a tool named " BEDROCK_JSON_TOOL " cannot be used with "
                                  "response_format json_object on Bedrock (the name carries "
                                  "the JSON answer)");
    }
    return BEDROCK_JSON_ANY;
}

/* The answer tool, into the toolConfig the client's tools made (or a new one), with the
 * toolChoice that mode says (the client's "auto", if any, is what "any" replaces). */
int bedrock_add_json_tool(cJSON *out, int mode)
{
    static const char spec[] =
        "{\"toolSpec\":{\"name\":\"" BEDROCK_JSON_TOOL "\",\"description\":"
        "\"Give the whole answer as this tool's input: one JSON object.\",\"inputSchema\":"
        "{\"json\":{\"type\":\"object\"}}}}";
    static const char forced[] = "{\"tool\":{\"name\":\"" BEDROCK_JSON_TOOL "\"}}";
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(out, "toolConfig");
    if (!cfg && !(cfg = cJSON_AddObjectToObject(out, "toolConfig")))
        return AIGW_ENOMEM;
    cJSON *list = cJSON_GetObjectItemCaseSensitive(cfg, "tools");
    if (!list && !(list = cJSON_AddArrayToObject(cfg, "tools")))
        return AIGW_ENOMEM;
    cJSON *tool = cJSON_Parse(spec);
    cJSON *choice = mode == BEDROCK_JSON_ANY ? cJSON_Parse("{\"any\":{}}") : cJSON_Parse(forced);
    if (!tool || !choice || !cJSON_AddItemToArray(list, tool)) {
        cJSON_Delete(tool);
        cJSON_Delete(choice);
        return AIGW_ENOMEM;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, "toolChoice");
    if (!cJSON_AddItemToObject(cfg, "toolChoice", choice)) {
        cJSON_Delete(choice);
        return AIGW_ENOMEM;
    }
    return 0;
}
