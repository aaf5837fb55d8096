/* body - the client's request body: UTF-8, one JSON value, no repeated key (see body.h). */
#include "front/body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/utf8.h"

/* Up to this many members, comparing every pair (120 strcmp at most, no allocation) is
 * cheaper than sorting; requests' objects are nearly all this small. */
#define PAIRWISE_MAX 16
#define PATH_MAX_LEN 200

/* A member and where it stands in its object. */
struct member_at {
    const char *name;
    size_t pos;
};

static int by_name_then_pos(const void *a, const void *b)
{
    const struct member_at *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* The second member of obj named like an earlier one (the first such in document order), or
 * NULL. Large objects are sorted, not hashed: the names are the client's, and a hash table
 * keyed by them can be flooded (a body whose thousands of names all land in one run of
 * slots held a worker for seconds per megabyte); sorting is n log n whatever they are. */
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
    struct member_at *v = malloc(n * sizeof *v);
    if (!v) {
        *oom = 1;
        return NULL;
    }
    size_t k = 0, i = 0;
    for (const cJSON *m = obj->child; m; m = m->next, i++)
        if (m->string)
            v[k++] = (struct member_at){m->string, i};
    qsort(v, k, sizeof *v, by_name_then_pos);
    /* In a run of one name, its second entry is the first repeat of it; the earliest of
     * those across names is the one the document repeats first. */
    size_t first = (size_t)-1;
    for (size_t j = 1; j < k; j++)
        if (!strcmp(v[j].name, v[j - 1].name) && (j < 2 || strcmp(v[j - 1].name, v[j - 2].name)))
            if (v[j].pos < first)
                first = v[j].pos;
    free(v);
    if (first == (size_t)-1)
        return NULL;
    const cJSON *m = obj->child;
    for (i = 0; i < first; i++)
        m = m->next;
    return m;
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

/* Walks a JSON text: counts its values (each ',', '[' and '{' outside a string begins one) up
 * to max + 1, and the "\u0000" escapes in its strings into *nuls; when fix is not NULL (a
 * copy of p), writes "\ufffd" over each of those at the same offset. Strings go by memchr,
 * escapes in order, so a text-heavy body costs little more than its bytes' reading. */
static size_t walk(const char *p, size_t n, size_t max, char *fix, size_t *nuls)
{
    const char *s = p, *e = p + n;
    size_t count = 1;
    *nuls = 0;
    while (p < e && count <= max) {
        char c = *p++;
        if (c == ',' || c == '[' || c == '{')
            count++;
        if (c != '"')
            continue;
        for (;;) { /* to the closing quote: the first one no backslash escapes */
            const char *q = memchr(p, '"', (size_t)(e - p)), *b;
            if (!q)
                return count; /* unterminated: the parser says so */
            while (p < q && (b = memchr(p, '\\', (size_t)(q - p)))) {
                if (e - b >= 6 && !memcmp(b + 1, "u0000", 5)) {
                    (*nuls)++;
                    if (fix)
                        memcpy(fix + (b - s), "\\ufffd", 6);
                }
                p = b + 2; /* past the escaped character (a quote, when it is q) */
            }
            if (p <= q) {
                p = q + 1;
                break;
            }
        }
    }
    return count;
}

size_t gw_body_count_values(const char *p, size_t n, size_t max)
{
    size_t nuls;
    return walk(p, n, max, NULL, &nuls);
}

/* The checks after the value count, on the text as it is parsed. */
static int parse_checked(const char *p, size_t n, cJSON **out, struct gw_body_err *err);

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
    size_t nuls;
    if (walk(p, n, GW_BODY_MAX_VALUES, NULL, &nuls) > GW_BODY_MAX_VALUES) {
        err->code = "too_many_values";
        snprintf(err->message, sizeof err->message,
                 "the request body holds more than %d JSON values; send fewer items (or "
                 "split the request)",
                 GW_BODY_MAX_VALUES);
        return AIGW_EINVAL;
    }
    if (!nuls)
        return parse_checked(p, n, out, err);
    /* cJSON keeps strings NUL-terminated: "abc\u0000def" would be read, checked by the
     * guards and sent on as "abc", the rest of the text (a tool's output read from
     * /proc/<pid>/cmdline, a binary file) silently gone. U+FFFD stands in for the NUL. */
    char *fixed = malloc(n);
    if (!fixed)
        return AIGW_ENOMEM;
    memcpy(fixed, p, n);
    walk(p, n, GW_BODY_MAX_VALUES, fixed, &nuls);
    int rc = parse_checked(fixed, n, out, err);
    free(fixed);
    return rc;
}

static int parse_checked(const char *p, size_t n, cJSON **out, struct gw_body_err *err)
{
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
