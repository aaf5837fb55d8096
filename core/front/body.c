/* body - the client's request body: UTF-8, one JSON value, no repeated key (see body.h). */
#include "front/body.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/utf8.h"

/* Up to this many members, comparing every pair (120 strcmp at most, no allocation) is
 * cheaper than hashing; requests' objects are nearly all this small. */
#define PAIRWISE_MAX 16
#define PATH_MAX_LEN 200

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The second member of obj named like an earlier one, or NULL. */
static const cJSON *repeated_in(const cJSON *obj, int *oom)
{
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    if (n < 2)
        return NULL;
    if (n <= PAIRWISE_MAX) {
        for (const cJSON *a = obj->child->next; a; a = a->next)
            for (const cJSON *b = obj->child; b != a; b = b->next)
                if (a->string && b->string && strcmp(a->string, b->string) == 0)
                    return a;
        return NULL;
    }
    size_t cap = 64;
    while (cap < 2 * n)
        cap <<= 1;
    const cJSON **slot = calloc(cap, sizeof *slot);
    if (!slot) {
        *oom = 1;
        return NULL;
    }
    const cJSON *hit = NULL;
    for (const cJSON *m = obj->child; m && !hit; m = m->next) {
        if (!m->string)
            continue;
        size_t i = (size_t)name_hash(m->string) & (cap - 1);
        for (; slot[i]; i = (i + 1) & (cap - 1))
            if (strcmp(slot[i]->string, m->string) == 0) {
                hit = m;
                break;
            }
        if (!hit)
            slot[i] = m;
    }
    free(slot);
    return hit;
}

/* The first object in the tree (depth first, members in order) that names a member twice:
 * its second such member, or NULL. *oom is set when a hash table could not be had. */
static const cJSON *repeated_key(const cJSON *v, int *oom)
{
    if (!v || !(cJSON_IsObject(v) || cJSON_IsArray(v)))
        return NULL;
    if (cJSON_IsObject(v)) {
        const cJSON *hit = repeated_in(v, oom);
        if (hit || *oom)
            return hit;
    }
    /* cJSON's parser stops at CJSON_NESTING_LIMIT levels, which bounds this recursion. */
    for (const cJSON *c = v->child; c; c = c->next) {
        const cJSON *hit = repeated_key(c, oom);
        if (hit || *oom)
            return hit;
    }
    return NULL;
}

/* Writes where the object holding `target` sits below v into path (len bytes used), as
 * "messages[2]" ("" for v itself). 1 when found; a long path is cut, never inside a character
 * (it goes out as JSON). */
static int path_to(const cJSON *v, const cJSON *target, char *path, size_t len)
{
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        int w;
        if (cJSON_IsObject(v)) {
            const char *name = c->string ? c->string : "";
            size_t dot = len ? 1 : 0, room = PATH_MAX_LEN - 1 - len;
            size_t nl = room > dot ? gw_utf8_cut(name, strlen(name), room - dot) : 0;
            w = snprintf(path + len, PATH_MAX_LEN - len, "%s%.*s", dot ? "." : "", (int)nl, name);
        } else
            w = snprintf(path + len, PATH_MAX_LEN - len, "[%zu]", i);
        size_t next = w < 0 ? len : len + (size_t)w;
        if (next >= PATH_MAX_LEN)
            next = PATH_MAX_LEN - 1;
        if (c == target) {
            path[len] = '\0';
            return 1;
        }
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && path_to(c, target, path, next))
            return 1;
        path[len] = '\0';
    }
    return 0;
}

int gw_body_parse(const char *p, size_t n, cJSON **out, struct gw_body_err *err)
{
    *out = NULL;
    err->code = NULL;
    err->message[0] = '\0';
    if (!p)
        p = "";
    size_t bad = gw_utf8_invalid_at(p, n);
    if (bad != (size_t)-1) {
        err->code = "invalid_utf8";
        snprintf(err->message, sizeof err->message,
                 "the request body is not valid UTF-8 (byte offset %zu)", bad);
        return AIGW_EINVAL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(p, n, &end, 0);
    if (!root) {
        err->code = "invalid_json";
        snprintf(err->message, sizeof err->message,
                 "the request body is not valid JSON (error at byte offset %zu)",
                 end && end >= p ? (size_t)(end - p) : 0);
        return AIGW_EINVAL;
    }
    /* cJSON stops after the first value; a provider's parser refuses what follows it. */
    size_t at = end && end >= p && end <= p + n ? (size_t)(end - p) : n;
    while (at < n && (p[at] == ' ' || p[at] == '\t' || p[at] == '\n' || p[at] == '\r'))
        at++;
    if (at < n) {
        cJSON_Delete(root);
        err->code = "invalid_json";
        snprintf(err->message, sizeof err->message,
                 "the request body is not valid JSON (more after the value, at byte offset %zu)",
                 at);
        return AIGW_EINVAL;
    }
    int oom = 0;
    const cJSON *dup = repeated_key(root, &oom);
    if (oom) {
        cJSON_Delete(root);
        return AIGW_ENOMEM;
    }
    if (dup) {
        char path[PATH_MAX_LEN] = "";
        char key[65];
        path_to(root, dup, path, 0);
        snprintf(key, sizeof key, "%.*s",
                 (int)gw_utf8_cut(dup->string, strlen(dup->string), sizeof key - 1), dup->string);
        err->code = "duplicate_key";
        snprintf(err->message, sizeof err->message,
                 "the request body repeats the key \"%s\"%s%s; a key may appear only once in "
                 "an object",
                 key, path[0] ? " in " : "", path);
        cJSON_Delete(root);
        return AIGW_EINVAL;
    }
    *out = root;
    return 0;
}
