/*
 * anthropic_models - GET /v1/models for Anthropic clients (anthropic-version sent): aigw's
 * model list rewritten into Anthropic's shape, {"data":[{"type":"model","id","display_name",
 * "created_at"}],"has_more","first_id","last_id"}. Claude Code's /model picker reads it.
 */
#include "front/anthropic.h"

#include <string.h>
#include <time.h>

#include "aigw/plugin.h"

static cJSON *model(const cJSON *m)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(m, "created");
    char when[32] = "1970-01-01T00:00:00Z";
    if (!cJSON_IsString(id))
        return NULL;
    if (cJSON_IsNumber(created) && created->valuedouble >= 0 && created->valuedouble < 1e11) {
        time_t t = (time_t)created->valuedouble;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "type", "model") ||
        !cJSON_AddStringToObject(o, "id", id->valuestring) ||
        !cJSON_AddStringToObject(o, "display_name", id->valuestring) ||
        !cJSON_AddStringToObject(o, "created_at", when)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int print(cJSON *doc, struct gw_buf *out)
{
    char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!s)
        return AIGW_ENOMEM;
    int rc = gw_buf_append_str(out, s);
    cJSON_free(s);
    return rc;
}

int gw_anth_models_body(const char *openai, size_t n, int single, struct gw_buf *out)
{
    cJSON *in = cJSON_ParseWithLength(openai, n), *doc = NULL;
    const cJSON *m;
    if (!in)
        return AIGW_EINVAL;
    if (single) {
        doc = model(in);
        cJSON_Delete(in);
        return doc ? print(doc, out) : AIGW_EINVAL;
    }
    doc = cJSON_CreateObject();
    cJSON *data = doc ? cJSON_AddArrayToObject(doc, "data") : NULL;
    const char *first = NULL, *last = NULL;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(in, "data"))
    {
        cJSON *o = model(m);
        if (o && data && cJSON_AddItemToArray(data, o)) {
            last = cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring;
            if (!first)
                first = last;
        } else {
            cJSON_Delete(o);
        }
    }
    int ok = data && cJSON_AddFalseToObject(doc, "has_more") &&
             (first ? cJSON_AddStringToObject(doc, "first_id", first) != NULL
                    : cJSON_AddNullToObject(doc, "first_id") != NULL) &&
             (last ? cJSON_AddStringToObject(doc, "last_id", last) != NULL
                   : cJSON_AddNullToObject(doc, "last_id") != NULL);
    cJSON_Delete(in);
    if (!ok) {
        cJSON_Delete(doc);
        return AIGW_ENOMEM;
    }
    return print(doc, out);
}
