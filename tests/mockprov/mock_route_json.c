/*
 * mock_route_json.c - the JSON form of a route (scenario files, mock_add_route_json): checked
 * strictly (unknown keys are errors, so a typo cannot silently drop a fault) and turned into
 * a struct mock_route for mroute_build.
 */
#include <stdlib.h>
#include <string.h>

#include "mock_int.h"

static const char *const json_keys[] = {"name",
                                        "method",
                                        "path",
                                        "match_body",
                                        "match_headers",
                                        "match_query",
                                        "times",
                                        "repeat",
                                        "status",
                                        "headers",
                                        "body",
                                        "body_file",
                                        "encode",
                                        "chunking",
                                        "headers_delay_ms",
                                        "body_delay_ms",
                                        "chunk_delay_ms",
                                        "drip",
                                        "stall_after_bytes",
                                        "stall_after_chunks",
                                        "close_after_bytes",
                                        "close_after_chunks",
                                        "close_after_headers",
                                        "close_before_headers",
                                        "truncate_at",
                                        "inject",
                                        "comment",
                                        NULL};

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An integer member: *out set when present. -1 on a non-integer value. */
static int jint(const cJSON *j, const char *key, long *out, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    *present = 0;
    if (!v)
        return 0;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
    } else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long)v->valuedouble &&
               v->valuedouble >= -1 && v->valuedouble <= (double)MOCK_MAX_BODY) {
        *out = (long)v->valuedouble;
    } else {
        fprintf(stderr, "mockprov: \"%s\" must be an integer\n", key);
        return -1;
    }
    *present = 1;
    return 0;
}

/* {"name": "glob" | null} -> pairs (null: must be absent). */
static int jpairs(const cJSON *obj, const char *what, struct mpair **p, int *n)
{
    if (!obj)
        return 0;
    if (!cJSON_IsObject(obj))
        goto bad;
    for (const cJSON *it = obj->child; it; it = it->next) {
        const char *v = cJSON_IsString(it) ? it->valuestring : NULL;
        if (!v && !cJSON_IsNull(it))
            goto bad;
        if (mpair_add(p, n, it->string, strlen(it->string), v, v ? strlen(v) : 0))
            return -1;
    }
    return 0;
bad:
    fprintf(stderr, "mockprov: \"%s\" must be an object of strings\n", what);
    return -1;
}

struct mroute *mroute_from_json(const cJSON *j, const char *fixtures)
{
    struct mock_route in = {0};
    struct mroute *rt = NULL;
    char *printed = NULL;
    long v;
    int has;

    if (!cJSON_IsObject(j)) {
        fprintf(stderr, "mockprov: a route must be a JSON object\n");
        return NULL;
    }
    for (const cJSON *it = j->child; it; it = it->next) {
        int known = 0;
        for (int i = 0; json_keys[i]; i++)
            known |= strcmp(it->string, json_keys[i]) == 0;
        if (!known) {
            fprintf(stderr, "mockprov: unknown route key \"%s\"\n", it->string);
            return NULL;
        }
    }
    rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    in.name = jstr(j, "name");
    in.method = jstr(j, "method");
    in.path = jstr(j, "path");
    in.body_file = jstr(j, "body_file");
    in.encode = jstr(j, "encode");
    in.chunking = jstr(j, "chunking");
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(j, "match_body");
    if (mb && !(rt->match_body = cJSON_Duplicate(mb, 1)))
        goto fail;
    if (jpairs(cJSON_GetObjectItemCaseSensitive(j, "match_headers"), "match_headers", &rt->mh,
               &rt->nmh) ||
        jpairs(cJSON_GetObjectItemCaseSensitive(j, "match_query"), "match_query", &rt->mq,
               &rt->nmq) ||
        jpairs(cJSON_GetObjectItemCaseSensitive(j, "headers"), "headers", &rt->hdrs, &rt->nhdrs))
        goto fail;
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    if (cJSON_IsString(body)) {
        in.body = body->valuestring;
    } else if (body) {
        printed = cJSON_PrintUnformatted(body);
        if (!printed)
            goto fail;
        in.body = printed;
    }

#define INT_FIELD(key, field)                                                                      \
    do {                                                                                           \
        if (jint(j, key, &v, &has))                                                                \
            goto fail;                                                                             \
        if (has)                                                                                   \
            in.field = (int)v;                                                                     \
    } while (0)
    INT_FIELD("repeat", times);
    INT_FIELD("times", times);
    INT_FIELD("status", status);
    INT_FIELD("headers_delay_ms", headers_delay_ms);
    INT_FIELD("body_delay_ms", body_delay_ms);
    INT_FIELD("chunk_delay_ms", chunk_delay_ms);
    INT_FIELD("drip", drip);
    INT_FIELD("close_after_headers", close_after_headers);
    INT_FIELD("close_before_headers", close_before_headers);
#undef INT_FIELD
    /* Here 0 means "at once", which the struct spells with other members. */
    if (jint(j, "stall_after_bytes", &v, &has))
        goto fail;
    if (has && v == 0)
        in.body_delay_ms = -1;
    else if (has)
        in.stall_after_bytes = v;
    if (jint(j, "stall_after_chunks", &v, &has))
        goto fail;
    if (has && v == 0)
        in.body_delay_ms = -1;
    else if (has)
        in.stall_after_chunks = (int)v;
    if (jint(j, "close_after_bytes", &v, &has))
        goto fail;
    if (has && v == 0)
        in.close_after_headers = 1;
    else if (has)
        in.close_after_bytes = v;
    if (jint(j, "close_after_chunks", &v, &has))
        goto fail;
    if (has && v == 0)
        in.close_after_headers = 1;
    else if (has)
        in.close_after_chunks = (int)v;
    if (jint(j, "truncate_at", &v, &has))
        goto fail;
    int empty_body = has && v == 0;
    if (has)
        in.truncate_at = v;

    const cJSON *inj = cJSON_GetObjectItemCaseSensitive(j, "inject");
    if (inj) {
        if (!cJSON_IsObject(inj)) {
            fprintf(stderr, "mockprov: \"inject\" must be an object\n");
            goto fail;
        }
        in.inject = jstr(inj, "body");
        in.inject_file = jstr(inj, "body_file");
        if (!in.inject && !in.inject_file) {
            fprintf(stderr, "mockprov: \"inject\" needs \"body\" or \"body_file\"\n");
            goto fail;
        }
        if (jint(inj, "after_chunks", &v, &has))
            goto fail;
        in.inject_after_chunks = has ? (int)v : 0;
        if (jint(inj, "end", &v, &has))
            goto fail;
        in.inject_end = has && v;
    }
    struct mroute *out = mroute_build(rt, &in, fixtures);
    if (out && empty_body) {
        out->body_len = 0; /* "truncate_at": 0 serves an empty body */
        out->body[0] = '\0';
    }
    free(printed);
    return out;
fail:
    free(printed);
    mroute_free(rt);
    return NULL;
}
