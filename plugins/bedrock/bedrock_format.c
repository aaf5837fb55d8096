/*
 * bedrock_format - response_format for Converse: a json_schema as Converse's structured
 * output (outputConfig.textFormat), json_object as a forced tool whose input is the answer
 * (bedrock_response.c hands it to the client as text).
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
 * fallback is a tool forced on the model whose input schema is "an object", its input being
 * the answer (bedrock_response.c turns it back into text). Only where no other tool is about:
 * the client's tools, or tool blocks in the history, keep the request as it is. */
int bedrock_json_object_tool(struct aigw_call *call, int has_tool_blocks)
{
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(call->body, "response_format");
    const char *type = aigw_json_str(rf, "type");
    if (!type || strcmp(type, "json_object"))
        return 0;
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(call->body, "tools")) > 0 ||
        has_tool_blocks) {
        call->host->log(call, AIGW_LOG_INFO,
                        "bedrock: response_format json_object is not forwarded next to tools");
        return 0;
    }
    return 1;
}

int bedrock_add_json_tool(cJSON *out)
{
    static const char config[] =
        "{\"tools\":[{\"toolSpec\":{\"name\":\"" BEDROCK_JSON_TOOL "\",\"description\":"
        "\"Give the whole answer as this tool's input: one JSON object.\",\"inputSchema\":"
        "{\"json\":{\"type\":\"object\"}}}}],\"toolChoice\":{\"tool\":{\"name\":"
        "\"" BEDROCK_JSON_TOOL "\"}}}";
    cJSON *cfg = cJSON_Parse(config);
    if (!cfg)
        return AIGW_ENOMEM;
    cJSON_AddItemToObject(out, "toolConfig", cfg);
    return 0;
}
