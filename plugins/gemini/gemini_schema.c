/*
 * gemini_schema.c - JSON Schema -> Gemini Schema (an OpenAPI 3.0 subset).
 *
 * Gemini rejects the whole request on a keyword it does not know (additionalProperties,
 * $schema, $defs, ...), so this is a whitelist: what Gemini documents is kept, everything else
 * is dropped, and the few constructs with a Gemini equivalent are rewritten ($ref inlined,
 * null-unions to nullable, const to enum, type arrays to nullable / anyOf).
 */
#include <string.h>

#include "gemini_xlate.h"

/* $ref chains deeper than this are recursive schemas: cut them to a free-form object. */
#define REF_DEPTH_MAX 8
/* Nesting of the input itself (stack safety on hostile input). */
#define NEST_MAX 48
/* Output nodes: $ref expansion can grow a schema exponentially. */
#define NODE_BUDGET 4096

struct sctx {
    struct aigw_call *call;
    const cJSON *root;
    int nodes;
};

static cJSON *clean(struct sctx *cx, const cJSON *s, int nest, int refs, int *rc);

/* Gemini types are the upper-case Type enum names. */
static const char *type_name(const char *t)
{
    static const char *const map[][2] = {
        {"string", "STRING"},   {"number", "NUMBER"}, {"integer", "INTEGER"},
        {"boolean", "BOOLEAN"}, {"array", "ARRAY"},   {"object", "OBJECT"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(t, map[i][0]) || !strcmp(t, map[i][1]))
            return map[i][1];
    return NULL;
}

/* Gemini refuses formats other than these per type ("only 'enum' and 'date-time' are
 * supported for STRING type"). */
static int format_ok(const char *type, const char *fmt)
{
    if (!type)
        return 0;
    if (!strcmp(type, "STRING"))
        return !strcmp(fmt, "enum") || !strcmp(fmt, "date-time");
    if (!strcmp(type, "INTEGER"))
        return !strcmp(fmt, "int32") || !strcmp(fmt, "int64");
    if (!strcmp(type, "NUMBER"))
        return !strcmp(fmt, "float") || !strcmp(fmt, "double");
    return 0;
}

static int is_null_schema(const cJSON *s)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    return cJSON_IsString(t) && !strcmp(t->valuestring, "null");
}

/* Resolve a local JSON pointer ("#", "#/$defs/A", "#/definitions/A/properties/b"). */
static const cJSON *resolve_ref(const cJSON *root, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const cJSON *cur = root;
    const char *p = ref + 1;
    while (*p == '/') {
        char key[256];
        size_t n = 0;
        p++;
        while (*p && *p != '/') {
            char ch = *p++;
            if (ch == '~' && (*p == '0' || *p == '1'))
                ch = *p++ == '0' ? '~' : '/';
            if (n + 1 >= sizeof key)
                return NULL;
            key[n++] = ch;
        }
        key[n] = 0;
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        if (!cur)
            return NULL;
    }
    return *p ? NULL : cur;
}

static int add_item(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return AIGW_ENOMEM;
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return AIGW_ENOMEM;
    }
    return 0;
}

/* Put string key `key` of src into dst (when present and a string). */
static int copy_string(cJSON *dst, const cJSON *src, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
    if (!cJSON_IsString(v) || cJSON_GetObjectItemCaseSensitive(dst, key))
        return 0;
    return add_item(dst, key, cJSON_CreateString(v->valuestring));
}

static int copy_number(cJSON *dst, const cJSON *src, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, key);
    if (!cJSON_IsNumber(v) || cJSON_GetObjectItemCaseSensitive(dst, key))
        return 0;
    return add_item(dst, key, cJSON_CreateNumber(v->valuedouble));
}

static int set_nullable(cJSON *dst)
{
    cJSON_DeleteItemFromObjectCaseSensitive(dst, "nullable");
    return add_item(dst, "nullable", cJSON_CreateTrue());
}

/* anyOf / oneOf: null branches become nullable; one remaining branch is inlined. */
static cJSON *clean_union(struct sctx *cx, const cJSON *s, const cJSON *arr, int nest, int refs,
                          int *rc)
{
    int nullable = 0, kept = 0;
    const cJSON *only = NULL, *b;
    cJSON_ArrayForEach(b, arr)
    {
        if (is_null_schema(b)) {
            nullable = 1;
        } else {
            kept++;
            only = b;
        }
    }
    cJSON *out;
    if (kept == 1) {
        out = clean(cx, only, nest + 1, refs, rc);
        if (!out)
            return NULL;
    } else {
        out = cJSON_CreateObject();
        if (!out) {
            *rc = AIGW_ENOMEM;
            return NULL;
        }
        if (kept > 1) {
            cJSON *any = cJSON_AddArrayToObject(out, "anyOf");
            if (!any) {
                *rc = AIGW_ENOMEM;
                goto fail;
            }
            cJSON_ArrayForEach(b, arr)
            {
                if (is_null_schema(b))
                    continue;
                cJSON *c = clean(cx, b, nest + 1, refs, rc);
                if (!c)
                    goto fail;
                cJSON_AddItemToArray(any, c);
            }
        }
    }
    if ((nullable && (*rc = set_nullable(out)) != 0) ||
        (*rc = copy_string(out, s, "description")) != 0 ||
        (*rc = copy_string(out, s, "title")) != 0)
        goto fail;
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* allOf: object branches are merged (properties and required unioned); the first non-object
 * branch wins otherwise. */
static cJSON *clean_all_of(struct sctx *cx, const cJSON *s, const cJSON *arr, int nest, int refs,
                           int *rc)
{
    cJSON *out = NULL;
    const cJSON *b;
    cJSON_ArrayForEach(b, arr)
    {
        cJSON *c = clean(cx, b, nest + 1, refs, rc);
        if (!c)
            goto fail;
        if (!out) {
            out = c;
            continue;
        }
        cJSON *op = cJSON_GetObjectItemCaseSensitive(out, "properties");
        cJSON *cp = cJSON_GetObjectItemCaseSensitive(c, "properties");
        if (cJSON_IsObject(op) && cJSON_IsObject(cp)) {
            cJSON *it;
            while ((it = cp->child) != NULL) {
                cJSON_DetachItemViaPointer(cp, it);
                cJSON_DeleteItemFromObjectCaseSensitive(op, it->string);
                cJSON_AddItemToObject(op, it->string, it);
            }
            cJSON *oreq = cJSON_GetObjectItemCaseSensitive(out, "required");
            cJSON *creq = cJSON_DetachItemFromObjectCaseSensitive(c, "required");
            if (creq && !oreq) {
                cJSON_AddItemToObject(out, "required", creq);
            } else if (creq) {
                cJSON *r;
                while ((r = creq->child) != NULL)
                    cJSON_AddItemToArray(oreq, cJSON_DetachItemViaPointer(creq, r));
                cJSON_Delete(creq);
            }
        }
        cJSON_Delete(c);
    }
    if (!out && !(out = cJSON_CreateObject())) {
        *rc = AIGW_ENOMEM;
        return NULL;
    }
    if ((*rc = copy_string(out, s, "description")) != 0)
        goto fail;
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* "type": "x" or ["x", "null"]; sets *type_out to the Gemini name kept in dst (or NULL). */
static int clean_type(cJSON *dst, const cJSON *t, const char **type_out)
{
    *type_out = NULL;
    if (cJSON_IsString(t)) {
        if (!strcmp(t->valuestring, "null"))
            return set_nullable(dst);
        *type_out = type_name(t->valuestring);
    } else if (cJSON_IsArray(t)) {
        const cJSON *e;
        int n = 0, rc;
        cJSON_ArrayForEach(e, t)
        {
            if (!cJSON_IsString(e))
                continue;
            if (!strcmp(e->valuestring, "null")) {
                if ((rc = set_nullable(dst)) != 0)
                    return rc;
            } else if (type_name(e->valuestring) && n++ == 0) {
                *type_out = type_name(e->valuestring);
            }
        }
        if (n > 1) {
            /* Several real types: a union of bare types. */
            cJSON *any = cJSON_AddArrayToObject(dst, "anyOf");
            if (!any)
                return AIGW_ENOMEM;
            cJSON_ArrayForEach(e, t)
            {
                const char *g = cJSON_IsString(e) ? type_name(e->valuestring) : NULL;
                cJSON *o = g ? cJSON_CreateObject() : NULL;
                if (!g)
                    continue;
                if (!o || !cJSON_AddStringToObject(o, "type", g)) {
                    cJSON_Delete(o);
                    return AIGW_ENOMEM;
                }
                cJSON_AddItemToArray(any, o);
            }
            *type_out = NULL;
            return 0;
        }
    }
    if (*type_out)
        return add_item(dst, "type", cJSON_CreateString(*type_out));
    return 0;
}

static int clean_enum(cJSON *dst, const cJSON *s, const char *type)
{
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    const cJSON *cst = cJSON_GetObjectItemCaseSensitive(s, "const");
    const cJSON *e;
    /* Gemini enums are STRING-only; a numeric enum is dropped rather than rejected. */
    if (type && strcmp(type, "STRING"))
        return 0;
    if (cJSON_IsArray(en)) {
        cJSON_ArrayForEach(e, en)
        {
            if (!cJSON_IsString(e))
                return 0;
        }
        cJSON *copy = cJSON_CreateArray();
        if (!copy)
            return AIGW_ENOMEM;
        cJSON_ArrayForEach(e, en)
        {
            if (!cJSON_IsString(e))
                continue;
            cJSON *str = cJSON_CreateString(e->valuestring);
            if (!str) {
                cJSON_Delete(copy);
                return AIGW_ENOMEM;
            }
            cJSON_AddItemToArray(copy, str);
        }
        return add_item(dst, "enum", copy);
    }
    if (cJSON_IsString(cst)) {
        cJSON *copy = cJSON_CreateArray();
        cJSON *str = cJSON_CreateString(cst->valuestring);
        if (!copy || !str) {
            cJSON_Delete(copy);
            cJSON_Delete(str);
            return AIGW_ENOMEM;
        }
        cJSON_AddItemToArray(copy, str);
        return add_item(dst, "enum", copy);
    }
    return 0;
}

static int clean_props(struct sctx *cx, cJSON *dst, const cJSON *s, int nest, int refs)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *p;
    int rc = 0;
    if (!cJSON_IsObject(props))
        return 0;
    cJSON *out = cJSON_AddObjectToObject(dst, "properties");
    if (!out)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(p, props)
    {
        cJSON *c = clean(cx, p, nest + 1, refs, &rc);
        if (!c)
            return rc;
        if ((rc = add_item(out, p->string, c)) != 0)
            return rc;
    }
    if (!cJSON_IsArray(req))
        return 0;
    /* Gemini rejects a required name that is not a property. */
    cJSON *r = cJSON_AddArrayToObject(dst, "required");
    if (!r)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(p, req)
    {
        if (!cJSON_IsString(p) || !cJSON_GetObjectItemCaseSensitive(out, p->valuestring))
            continue;
        cJSON *str = cJSON_CreateString(p->valuestring);
        if (!str)
            return AIGW_ENOMEM;
        cJSON_AddItemToArray(r, str);
    }
    return 0;
}

static cJSON *clean(struct sctx *cx, const cJSON *s, int nest, int refs, int *rc)
{
    static const char *const numbers[] = {"minItems",  "maxItems",      "minLength",
                                          "maxLength", "minProperties", "maxProperties",
                                          "minimum",   "maximum"};
    const char *type = NULL;
    cJSON *out = NULL;

    if (nest > NEST_MAX || ++cx->nodes > NODE_BUDGET) {
        /* The client's schema, not the upstream: a request Gemini cannot be given. */
        if (cx->nodes == NODE_BUDGET + 1 || nest == NEST_MAX + 1)
            cx->call->host->log(cx->call, AIGW_LOG_INFO, "schema too deep or too large");
        *rc = AIGW_EINVAL;
        return NULL;
    }
    if (!cJSON_IsObject(s)) {
        /* true / false / garbage: an unconstrained schema. */
        out = cJSON_CreateObject();
        if (!out)
            *rc = AIGW_ENOMEM;
        return out;
    }

    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (cJSON_IsString(ref)) {
        if (refs >= REF_DEPTH_MAX) {
            out = cJSON_CreateObject();
            if (!out || !cJSON_AddStringToObject(out, "type", "OBJECT"))
                goto nomem;
        } else {
            const cJSON *target = resolve_ref(cx->root, ref->valuestring);
            if (!target) {
                cx->call->host->log(cx->call, AIGW_LOG_INFO, "schema $ref not resolvable");
                *rc = AIGW_EINVAL;
                return NULL;
            }
            if (!(out = clean(cx, target, nest + 1, refs + 1, rc)))
                return NULL;
        }
        /* A description next to the $ref describes this use of it: it wins. */
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "description");
        if (cJSON_IsString(d)) {
            cJSON_DeleteItemFromObjectCaseSensitive(out, "description");
            if ((*rc = copy_string(out, s, "description")) != 0)
                goto fail;
        }
        return out;
    }

    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    if (!cJSON_IsArray(any))
        any = cJSON_GetObjectItemCaseSensitive(s, "oneOf");
    if (cJSON_IsArray(any) && cJSON_GetArraySize(any) > 0)
        return clean_union(cx, s, any, nest, refs, rc);
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(s, "allOf");
    if (cJSON_IsArray(all) && cJSON_GetArraySize(all) > 0)
        return clean_all_of(cx, s, all, nest, refs, rc);

    if (!(out = cJSON_CreateObject()))
        goto nomem;
    if ((*rc = clean_type(out, cJSON_GetObjectItemCaseSensitive(s, "type"), &type)) != 0)
        goto fail;
    if (!type && !cJSON_GetObjectItemCaseSensitive(out, "anyOf")) {
        /* Gemini wants a type; infer the obvious ones from the shape. */
        if (cJSON_GetObjectItemCaseSensitive(s, "properties"))
            type = "OBJECT";
        else if (cJSON_GetObjectItemCaseSensitive(s, "items"))
            type = "ARRAY";
        else if (cJSON_GetObjectItemCaseSensitive(s, "enum") ||
                 cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "const")))
            type = "STRING";
        if (type && !cJSON_AddStringToObject(out, "type", type))
            goto nomem;
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
    if (cJSON_IsString(fmt) && format_ok(type, fmt->valuestring) &&
        !cJSON_AddStringToObject(out, "format", fmt->valuestring))
        goto nomem;
    if ((*rc = copy_string(out, s, "title")) != 0 ||
        (*rc = copy_string(out, s, "description")) != 0 ||
        (*rc = copy_string(out, s, "pattern")) != 0 || (*rc = clean_enum(out, s, type)) != 0)
        goto fail;
    const cJSON *nb = cJSON_GetObjectItemCaseSensitive(s, "nullable");
    if (cJSON_IsTrue(nb) && (*rc = set_nullable(out)) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if ((*rc = copy_number(out, s, numbers[i])) != 0)
            goto fail;
    if ((*rc = clean_props(cx, out, s, nest, refs)) != 0)
        goto fail;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    if (cJSON_IsArray(items)) /* tuple form: Gemini has one item schema */
        items = cJSON_GetArrayItem(items, 0);
    if (items) {
        cJSON *c = clean(cx, items, nest + 1, refs, rc);
        if (!c || (*rc = add_item(out, "items", c)) != 0)
            goto fail;
    }
    const cJSON *order = cJSON_GetObjectItemCaseSensitive(s, "propertyOrdering");
    if (cJSON_IsArray(order) &&
        (*rc = add_item(out, "propertyOrdering", cJSON_Duplicate(order, 1))) != 0)
        goto fail;
    return out;
nomem:
    *rc = AIGW_ENOMEM;
fail:
    cJSON_Delete(out);
    return NULL;
}

int gem_schema_clean(struct aigw_call *call, const cJSON *schema, cJSON **out)
{
    struct sctx cx = {call, schema, 0};
    int rc = 0;
    *out = clean(&cx, schema, 0, 0, &rc);
    return *out ? 0 : rc ? rc : AIGW_ENOMEM;
}
