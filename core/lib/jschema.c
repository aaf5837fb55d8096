/* jschema - the JSON Schema subset validator (see jschema.h). */
#include "lib/jschema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"

#define PATH_CAP 160 /* so "path: reason" fits the callers' 256-byte buffers */

struct walk {
    char path[PATH_CAP];
    size_t len;
    char *err;
    size_t errsize;
};

static const char *const annotations[] = {"$schema",     "$id",      "$comment",  "title",
                                          "description", "default",  "examples",  "format",
                                          "deprecated",  "readOnly", "writeOnly", NULL};
static const char *const type_names[] = {"object",  "array",   "string", "number",
                                         "integer", "boolean", "null",   NULL};

static int fail(struct walk *w, const char *what)
{
    snprintf(w->err, w->errsize, "%s: %s", w->len ? w->path : "$", what);
    return AIGW_EINVAL;
}

/* Appends ".name" or "[i]" to the path; returns the length to restore. A path that would not
 * fit is cut with "..." so the error still says roughly where. */
static size_t push(struct walk *w, const char *name, int index)
{
    size_t old = w->len;
    int n;
    if (name)
        n = snprintf(w->path + w->len, PATH_CAP - w->len, "%s%.64s", w->len ? "." : "", name);
    else
        n = snprintf(w->path + w->len, PATH_CAP - w->len, "[%d]", index);
    if (n < 0 || (size_t)n >= PATH_CAP - w->len) {
        memcpy(w->path + PATH_CAP - 4, "...", 4);
        w->len = PATH_CAP - 1;
    } else {
        w->len += (size_t)n;
    }
    return old;
}

static void pop(struct walk *w, size_t old)
{
    w->len = old;
    w->path[old] = '\0';
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

static int is_count(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1e15 &&
           v->valuedouble == floor(v->valuedouble);
}

static int check_node(const cJSON *s, struct walk *w, int depth);

static int check_keyword(const cJSON *k, struct walk *w, int depth)
{
    const char *key = k->string;
    const cJSON *it;
    if (in_list(key, annotations))
        return 0;
    if (!strcmp(key, "type")) {
        if (cJSON_IsString(k))
            return in_list(k->valuestring, type_names) ? 0 : fail(w, "unknown type name");
        if (!cJSON_IsArray(k) || !cJSON_GetArraySize(k))
            return fail(w, "must be a type name or a non-empty array of them");
        cJSON_ArrayForEach(it, k)
        {
            if (!cJSON_IsString(it) || !in_list(it->valuestring, type_names))
                return fail(w, "unknown type name");
        }
        return 0;
    }
    if (!strcmp(key, "properties")) {
        if (!cJSON_IsObject(k))
            return fail(w, "must be an object of schemas");
        cJSON_ArrayForEach(it, k)
        {
            size_t old = push(w, it->string, 0);
            int rc = check_node(it, w, depth + 1);
            pop(w, old);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!strcmp(key, "required")) {
        if (!cJSON_IsArray(k))
            return fail(w, "must be an array of member names");
        cJSON_ArrayForEach(it, k)
        {
            if (!cJSON_IsString(it))
                return fail(w, "must be an array of member names");
        }
        return 0;
    }
    if (!strcmp(key, "additionalProperties") || !strcmp(key, "items")) {
        if (cJSON_IsBool(k) && key[0] == 'a')
            return 0;
        if (cJSON_IsArray(k))
            return fail(w, "the tuple form of items is not supported");
        return check_node(k, w, depth + 1);
    }
    if (!strcmp(key, "enum"))
        return cJSON_IsArray(k) && cJSON_GetArraySize(k) ? 0 : fail(w, "must be a non-empty array");
    if (!strcmp(key, "const"))
        return 0;
    if (!strcmp(key, "minimum") || !strcmp(key, "maximum") || !strcmp(key, "exclusiveMinimum") ||
        !strcmp(key, "exclusiveMaximum"))
        return cJSON_IsNumber(k) ? 0 : fail(w, "must be a number");
    if (!strcmp(key, "minLength") || !strcmp(key, "maxLength") || !strcmp(key, "minItems") ||
        !strcmp(key, "maxItems") || !strcmp(key, "minProperties") || !strcmp(key, "maxProperties"))
        return is_count(k) ? 0 : fail(w, "must be a non-negative integer");
    return fail(w, "unsupported keyword (see the subset in aigw.json(5))");
}

static int check_node(const cJSON *s, struct walk *w, int depth)
{
    const cJSON *k;
    if (depth > GW_JSCHEMA_MAX_DEPTH)
        return fail(w, "nested too deeply");
    if (cJSON_IsBool(s))
        return 0; /* true: anything; false: nothing */
    if (!cJSON_IsObject(s))
        return fail(w, "a schema must be an object or a boolean");
    cJSON_ArrayForEach(k, s)
    {
        size_t old = push(w, k->string, 0);
        int rc = check_keyword(k, w, depth);
        pop(w, old);
        if (rc)
            return rc;
    }
    return 0;
}

int gw_jschema_check(const cJSON *schema, char *err, size_t errsize)
{
    struct walk w = {.len = 0, .err = err, .errsize = errsize};
    w.path[0] = '\0';
    if (errsize)
        err[0] = '\0';
    if (!schema)
        return fail(&w, "no schema");
    return check_node(schema, &w, 0);
}

/* ---- validation ---------------------------------------------------------------------------- */

static int json_equal(const cJSON *a, const cJSON *b, int depth)
{
    if (depth > GW_JSCHEMA_MAX_DEPTH)
        return 0;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if ((a->type & 0xff) != (b->type & 0xff))
        return 0;
    if (cJSON_IsString(a))
        return !strcmp(a->valuestring, b->valuestring);
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y, depth + 1))
                return 0;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        const cJSON *x, *y;
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return 0;
        cJSON_ArrayForEach(x, a)
        {
            y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !json_equal(x, y, depth + 1))
                return 0;
        }
        return 1;
    }
    return 1; /* true, false, null: the type said it all */
}

static int type_is(const cJSON *d, const char *t)
{
    if (!strcmp(t, "object"))
        return cJSON_IsObject(d);
    if (!strcmp(t, "array"))
        return cJSON_IsArray(d);
    if (!strcmp(t, "string"))
        return cJSON_IsString(d);
    if (!strcmp(t, "number"))
        return cJSON_IsNumber(d);
    if (!strcmp(t, "integer"))
        return cJSON_IsNumber(d) && isfinite(d->valuedouble) &&
               d->valuedouble == floor(d->valuedouble);
    if (!strcmp(t, "boolean"))
        return cJSON_IsBool(d);
    return cJSON_IsNull(d);
}

static const char *type_of(const cJSON *d)
{
    if (cJSON_IsObject(d))
        return "object";
    if (cJSON_IsArray(d))
        return "array";
    if (cJSON_IsString(d))
        return "string";
    if (cJSON_IsNumber(d))
        return "number";
    if (cJSON_IsBool(d))
        return "boolean";
    return "null";
}

/* Code points of a UTF-8 string: every byte that does not continue a sequence starts one. */
static double utf8_length(const char *s)
{
    double n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int validate_node(const cJSON *s, const cJSON *d, struct walk *w, int depth);

static int check_type(const cJSON *t, const cJSON *d, struct walk *w)
{
    char msg[128];
    const cJSON *it;
    if (cJSON_IsString(t)) {
        if (type_is(d, t->valuestring))
            return 0;
        snprintf(msg, sizeof msg, "expected %s, got %s", t->valuestring, type_of(d));
        return fail(w, msg);
    }
    cJSON_ArrayForEach(it, t)
    {
        if (type_is(d, it->valuestring))
            return 0;
    }
    snprintf(msg, sizeof msg, "%s is not an allowed type", type_of(d));
    return fail(w, msg);
}

static int check_bound(const cJSON *s, const char *key, double v, int upper, int exclusive,
                       struct walk *w, const char *what)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, key);
    char msg[160];
    if (!b)
        return 0;
    double lim = b->valuedouble;
    int bad = upper ? (exclusive ? v >= lim : v > lim) : (exclusive ? v <= lim : v < lim);
    if (!bad)
        return 0;
    snprintf(msg, sizeof msg, "%s must be %s %.17g", what,
             upper ? (exclusive ? "below" : "at most") : (exclusive ? "above" : "at least"), lim);
    return fail(w, msg);
}

static int check_object(const cJSON *s, const cJSON *d, struct walk *w, int depth)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *it;
    int rc;
    cJSON_ArrayForEach(it, req)
    {
        if (!cJSON_GetObjectItemCaseSensitive(d, it->valuestring)) {
            size_t old = push(w, it->valuestring, 0);
            rc = fail(w, "required");
            pop(w, old);
            return rc;
        }
    }
    cJSON_ArrayForEach(it, d)
    {
        const cJSON *sub = cJSON_GetObjectItemCaseSensitive(props, it->string);
        size_t old = push(w, it->string, 0);
        if (sub)
            rc = validate_node(sub, it, w, depth + 1);
        else if (cJSON_IsFalse(extra))
            rc = fail(w, "not an allowed member");
        else if (extra && !cJSON_IsBool(extra))
            rc = validate_node(extra, it, w, depth + 1);
        else
            rc = 0;
        pop(w, old);
        if (rc)
            return rc;
    }
    double n = cJSON_GetArraySize(d);
    if ((rc = check_bound(s, "minProperties", n, 0, 0, w, "the member count")) ||
        (rc = check_bound(s, "maxProperties", n, 1, 0, w, "the member count")))
        return rc;
    return 0;
}

static int check_array(const cJSON *s, const cJSON *d, struct walk *w, int depth)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *it;
    int i = 0, rc;
    if (items) {
        cJSON_ArrayForEach(it, d)
        {
            size_t old = push(w, NULL, i++);
            rc = validate_node(items, it, w, depth + 1);
            pop(w, old);
            if (rc)
                return rc;
        }
    }
    double n = cJSON_GetArraySize(d);
    if ((rc = check_bound(s, "minItems", n, 0, 0, w, "the item count")) ||
        (rc = check_bound(s, "maxItems", n, 1, 0, w, "the item count")))
        return rc;
    return 0;
}

static int validate_node(const cJSON *s, const cJSON *d, struct walk *w, int depth)
{
    const cJSON *k;
    int rc;
    if (cJSON_IsTrue(s))
        return 0;
    if (cJSON_IsFalse(s))
        return fail(w, "no value is allowed here");
    if (depth > GW_JSCHEMA_MAX_DEPTH)
        return fail(w, "nested too deeply");
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "type")) && (rc = check_type(k, d, w)))
        return rc;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        const cJSON *it;
        int found = 0;
        cJSON_ArrayForEach(it, k)
        {
            if (json_equal(it, d, 0)) {
                found = 1;
                break;
            }
        }
        if (!found)
            return fail(w, "not one of the allowed values");
    }
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "const")) && !json_equal(k, d, 0))
        return fail(w, "not the required value");
    if (cJSON_IsNumber(d)) {
        double v = d->valuedouble;
        if ((rc = check_bound(s, "minimum", v, 0, 0, w, "the value")) ||
            (rc = check_bound(s, "maximum", v, 1, 0, w, "the value")) ||
            (rc = check_bound(s, "exclusiveMinimum", v, 0, 1, w, "the value")) ||
            (rc = check_bound(s, "exclusiveMaximum", v, 1, 1, w, "the value")))
            return rc;
    } else if (cJSON_IsString(d)) {
        double n = utf8_length(d->valuestring);
        if ((rc = check_bound(s, "minLength", n, 0, 0, w, "the length")) ||
            (rc = check_bound(s, "maxLength", n, 1, 0, w, "the length")))
            return rc;
    } else if (cJSON_IsObject(d)) {
        return check_object(s, d, w, depth);
    } else if (cJSON_IsArray(d)) {
        return check_array(s, d, w, depth);
    }
    return 0;
}

int gw_jschema_validate(const cJSON *schema, const cJSON *doc, char *err, size_t errsize)
{
    struct walk w = {.len = 0, .err = err, .errsize = errsize};
    w.path[0] = '$';
    w.path[1] = '\0';
    w.len = 1;
    if (errsize)
        err[0] = '\0';
    if (!schema || !doc)
        return fail(&w, "nothing to validate");
    return validate_node(schema, doc, &w, 0);
}
