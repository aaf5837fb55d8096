/*
 * together - Together AI (providers-B §5). OpenAI's wire with older vocabulary: logprobs is a
 * count, stop a list, a JSON schema goes in response_format.schema. Responses end with
 * finish_reason "eos" (the host reads it as stop) or "error", which must not pass for a clean
 * stop. Usage rides on the last chunk without being asked for.
 */
#include <string.h>

#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.together.xyz/v1"

static const struct oaiw_target target = {"TOGETHER", BASE_DEFAULT};

/* Not in Together's request model; stream_options is never sent (usage comes regardless). */
static const char *const dropped[] = {"store", "service_tier", "parallel_tool_calls", "user", NULL};

/* OpenAI: logprobs true + top_logprobs k. Together: logprobs k. */
static int fix_logprobs(cJSON *body)
{
    cJSON *lp = oaiw_get(body, "logprobs"), *top = oaiw_get(body, "top_logprobs");
    int k = cJSON_IsNumber(top) && top->valuedouble >= 1 ? (int)top->valuedouble : 1;

    cJSON_DeleteItemFromObjectCaseSensitive(body, "top_logprobs");
    if (cJSON_IsTrue(lp))
        return oaiw_set(body, "logprobs", cJSON_CreateNumber(k));
    if (!cJSON_IsNumber(lp))
        cJSON_DeleteItemFromObjectCaseSensitive(body, "logprobs");
    return 0;
}

static int fix_response_format(cJSON *body)
{
    cJSON *rf = oaiw_get(body, "response_format"), *schema;
    if (!oaiw_str_is(oaiw_get(rf, "type"), "json_schema") ||
        !(schema = cJSON_DetachItemFromObjectCaseSensitive(oaiw_get(rf, "json_schema"), "schema")))
        return 0;
    cJSON_DeleteItemFromObjectCaseSensitive(rf, "json_schema");
    return oaiw_set(rf, "schema", schema);
}

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, dropped, OAIW_MAX_TOKENS), *stop, *list;
    int rc;

    if (!body)
        return AIGW_ENOMEM;
    rc = 0;
    if ((stop = cJSON_DetachItemFromObjectCaseSensitive(body, "stop"))) {
        /* A lone string becomes the list Together's schema wants. */
        if (cJSON_IsString(stop) && (list = cJSON_CreateArray())) {
            cJSON_AddItemToArray(list, stop);
            stop = list;
        }
        rc = oaiw_set(body, "stop", stop);
    }
    if (rc || (rc = fix_logprobs(body)) || (rc = fix_response_format(body))) {
        cJSON_Delete(body);
        return rc;
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

/* finish_reason "error": the generation broke off. The text so far is delivered, then an
 * error instead of a stop, so a client does not mistake a fragment for an answer. */
static int after(struct aigw_call *call, int rc, int failed)
{
    struct aigw_error e;
    if (rc < 0 || !failed)
        return rc;
    aigw_error_init(&e);
    e.type = "server_error";
    e.code = "generation_error";
    e.message = "Together ended the generation with finish_reason \"error\"";
    e.retryable = 1;
    return aigw_emit_error(call, &e);
}

static int parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    cJSON *root;
    int failed;
    if (!oaiw_has(body, "\"error\""))
        return call->host->oai_parse_response(call, body);
    root = oaiw_parse(body);
    failed = oaiw_finish_rename(root, "error", ""); /* "" is no finish to the host */
    return after(call, oaiw_parse_json(call, body, root), failed);
}

static int one_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    cJSON *root;
    int failed;
    if (!oaiw_has(frame->data, "\"error\""))
        return call->host->oai_stream_event(call, frame);
    root = oaiw_parse(frame->data);
    failed = oaiw_finish_rename(root, "error", "");
    return after(call, oaiw_stream_json(call, frame, root), failed);
}

/* Together's own SDK takes every data: line as a chunk, and captures exist with events run
 * together by single newlines. A JSON chunk never holds a raw newline, so a multi-line
 * payload is unambiguous: one chunk a line. */
static int stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct aigw_frame f = *frame;
    const char *p = frame->data.ptr, *end = p + frame->data.len, *nl;
    int rc = 0;

    if (!p || !memchr(p, '\n', frame->data.len))
        return one_event(call, frame);
    for (; p < end && rc == 0; p = nl + 1) {
        if (!(nl = memchr(p, '\n', (size_t)(end - p))))
            nl = end;
        f.data.ptr = p;
        f.data.len = (size_t)(nl - p);
        if (f.data.len)
            rc = one_event(call, &f);
    }
    return rc;
}

OAIW_PLUGIN("Together AI", "together", "TOGETHER", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                AIGW_CAP_JSON_SCHEMA,
            .build_request = build_request, .parse_response = parse_response,
            .stream_event = stream_event)
