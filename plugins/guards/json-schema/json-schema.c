/*
 * json-schema - a guard on the final answer: it must be a JSON document that validates against
 * the schema in the config (the subset of aigw.json(5), checked by the host's schema_check and
 * schema_validate). On failure it blocks, or (on_failure "retry", the default) asks the
 * gateway for one more answer with the validation error appended, when the answer was not
 * streamed; a streamed answer has reached the client already, so it ends with an error
 * instead.
 *
 * Config: {"schema": {...}, "on_failure": "retry" | "block", "allow_fences": true}
 *   allow_fences: an answer wrapped in a Markdown code fence (```json ... ```) is judged by
 *   what is inside it.
 * An answer that is only tool calls (no text) is not judged: there is no document to check.
 *
 * Threading: the instance (the parsed schema) is read-only after create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#define NOTE_SCHEMA_MAX 2000

struct js {
    cJSON *schema;
    char *schema_text; /* compact, for the retry note (NULL when too long to quote) */
    int retry;
    int fences;
};

static const char config_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"schema\"],"
    "\"properties\":{\"schema\":{\"type\":[\"object\",\"boolean\"]},"
    "\"on_failure\":{\"enum\":[\"retry\",\"block\"]},\"allow_fences\":{\"type\":\"boolean\"}}}";

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    char serr[256];
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(cfg, "schema");
    const cJSON *onf = cJSON_GetObjectItemCaseSensitive(cfg, "on_failure");
    const cJSON *fences = cJSON_GetObjectItemCaseSensitive(cfg, "allow_fences");
    if (host->schema_check(schema, serr, sizeof serr)) {
        snprintf(err, errsize, "schema: %s", serr);
        return AIGW_EINVAL;
    }
    struct js *j = calloc(1, sizeof *j);
    if (!j || !(j->schema = cJSON_Duplicate(schema, 1))) {
        free(j);
        return AIGW_ENOMEM;
    }
    j->schema_text = cJSON_PrintUnformatted(j->schema);
    if (j->schema_text && strlen(j->schema_text) > NOTE_SCHEMA_MAX) {
        free(j->schema_text);
        j->schema_text = NULL;
    }
    j->retry = !cJSON_IsString(onf) || strcmp(onf->valuestring, "block") != 0;
    j->fences = !cJSON_IsFalse(fences);
    *instance = j;
    return 0;
}

static void destroy(void *instance)
{
    struct js *j = instance;
    if (!j)
        return;
    cJSON_Delete(j->schema);
    free(j->schema_text);
    free(j);
}

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The document inside the answer: trimmed, and out of a ``` fence when allowed. */
static void document(const struct js *j, const char **p, size_t *n)
{
    const char *s = *p, *e = *p + *n;
    while (s < e && space(*s))
        s++;
    while (e > s && space(e[-1]))
        e--;
    if (j->fences && e - s >= 6 && !memcmp(s, "```", 3) && !memcmp(e - 3, "```", 3)) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        if (nl && nl < e - 3) { /* the fence line may name a language: ```json */
            s = nl + 1;
            e -= 3;
            while (s < e && space(*s))
                s++;
            while (e > s && space(e[-1]))
                e--;
        }
    }
    *p = s;
    *n = (size_t)(e - s);
}

static int failed(struct aigw_guard_ctx *g, const struct js *j, const char *why)
{
    if (j->retry)
        return g->host->retry(g,
                              "Your previous answer did not match the required JSON schema "
                              "(%s). Answer again with only a JSON document that matches%s%s.",
                              why, j->schema_text ? " this schema: " : " it",
                              j->schema_text ? j->schema_text : "");
    return g->host->deny(g, "the answer does not match the required JSON schema (%s)", why);
}

static int on_final(struct aigw_guard_ctx *g, const struct aigw_guard_answer *a)
{
    const struct js *j = g->instance;
    const char *p = a->text.ptr, *end = NULL;
    size_t n = a->text.len;
    char err[300];
    if (!n && a->tool_calls > 0)
        return AIGW_GUARD_ALLOW;
    document(j, &p, &n);
    cJSON *doc = n ? cJSON_ParseWithLengthOpts(p, n, &end, 0) : NULL;
    if (doc && end && end != p + n) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    if (!doc)
        return failed(g, j, "the answer is not a JSON document");
    int bad = g->host->schema_validate(j->schema, doc, err, sizeof err);
    cJSON_Delete(doc);
    return bad ? failed(g, j, err) : AIGW_GUARD_ALLOW;
}

static const struct aigw_guard guard = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard),
    .name = "json-schema",
    .version = "1.0.0",
    .description = "the final answer must be JSON valid against a schema; retry once or block",
    .config_schema = config_schema,
    .stages = AIGW_GUARD_OUTPUT,
    .state_size = 0,
    .window = 0,
    .create = create,
    .destroy = destroy,
    .on_request = NULL,
    .on_answer_delta = NULL,
    .on_answer_final = on_final,
    .on_error = NULL,
};

AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
