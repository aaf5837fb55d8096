/* test_jschema - the JSON Schema subset: what a schema may say, and documents against it. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "lib/jschema.h"

static const char *check(const char *schema)
{
    static char err[256];
    cJSON *s = cJSON_Parse(schema);
    cr_assert_not_null(s, "bad test JSON: %s", schema);
    int rc = gw_jschema_check(s, err, sizeof err);
    cJSON_Delete(s);
    return rc ? err : NULL;
}

/* NULL when valid, else the error. */
static const char *validate(const char *schema, const char *doc)
{
    static char err[256];
    cJSON *s = cJSON_Parse(schema), *d = cJSON_Parse(doc);
    char serr[256];
    cr_assert_not_null(s, "bad test JSON: %s", schema);
    cr_assert_not_null(d, "bad test JSON: %s", doc);
    cr_assert_eq(gw_jschema_check(s, serr, sizeof serr), 0, "schema refused: %s", serr);
    int rc = gw_jschema_validate(s, d, err, sizeof err);
    cJSON_Delete(s);
    cJSON_Delete(d);
    return rc ? err : NULL;
}

Test(jschema, the_subset_is_accepted)
{
    cr_assert_null(check("true"));
    cr_assert_null(check("{}"));
    cr_assert_null(check("{\"$schema\":\"x\",\"title\":\"t\",\"description\":\"d\",\"type\":"
                         "[\"object\",\"null\"],\"properties\":{\"a\":{\"type\":\"integer\","
                         "\"minimum\":0,\"maximum\":9,\"exclusiveMaximum\":10},\"b\":{\"enum\":"
                         "[1,\"x\",null]},\"c\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
                         "\"minLength\":1,\"maxLength\":3,\"format\":\"email\"},\"minItems\":1,"
                         "\"maxItems\":2},\"d\":{\"const\":{\"k\":[1]}}},\"required\":[\"a\"],"
                         "\"additionalProperties\":{\"type\":\"boolean\"},\"minProperties\":1,"
                         "\"maxProperties\":5}"));
}

Test(jschema, what_the_subset_refuses)
{
    cr_assert_str_eq(check("{\"anyOf\":[]}"), "anyOf: unsupported keyword (see the subset in "
                                              "aigw.json(5))");
    cr_assert_str_eq(check("{\"properties\":{\"a\":{\"pattern\":\"x\"}}}"),
                     "properties.a.pattern: unsupported keyword (see the subset in aigw.json(5))");
    cr_assert_str_eq(check("{\"type\":\"int\"}"), "type: unknown type name");
    cr_assert_str_eq(check("{\"type\":[]}"),
                     "type: must be a type name or a non-empty array of them");
    cr_assert_str_eq(check("{\"minimum\":\"1\"}"), "minimum: must be a number");
    cr_assert_str_eq(check("{\"maxLength\":-1}"), "maxLength: must be a non-negative integer");
    cr_assert_str_eq(check("{\"maxItems\":1.5}"), "maxItems: must be a non-negative integer");
    cr_assert_str_eq(check("{\"required\":[1]}"), "required: must be an array of member names");
    cr_assert_str_eq(check("{\"items\":[{}]}"), "items: the tuple form of items is not supported");
    cr_assert_str_eq(check("{\"enum\":[]}"), "enum: must be a non-empty array");
    cr_assert_str_eq(check("\"string\""), "$: a schema must be an object or a boolean");
}

Test(jschema, nesting_is_bounded)
{
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"items\":");
    n += (size_t)snprintf(deep + n, sizeof deep - n, "{}");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "}");
    const char *e = check(deep);
    cr_assert_not_null(e);
    cr_assert(strstr(e, "nested too deeply"), "%s", e);
}

Test(jschema, types)
{
    cr_assert_null(validate("{\"type\":\"integer\"}", "3"));
    cr_assert_null(validate("{\"type\":\"integer\"}", "3.0"));
    cr_assert_str_eq(validate("{\"type\":\"integer\"}", "3.5"), "$: expected integer, got number");
    cr_assert_str_eq(validate("{\"type\":\"string\"}", "null"), "$: expected string, got null");
    cr_assert_null(validate("{\"type\":[\"string\",\"null\"]}", "null"));
    cr_assert_str_eq(validate("{\"type\":[\"string\",\"null\"]}", "[]"),
                     "$: array is not an allowed type");
    cr_assert_null(validate("{\"type\":\"boolean\"}", "false"));
    cr_assert_null(validate("{\"type\":\"number\"}", "-1e300"));
    cr_assert_str_eq(validate("false", "1"), "$: no value is allowed here");
}

Test(jschema, objects)
{
    const char *s = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                    "\"age\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"name\"],"
                    "\"additionalProperties\":false}";
    cr_assert_null(validate(s, "{\"name\":\"Ann\",\"age\":3}"));
    cr_assert_str_eq(validate(s, "{\"age\":3}"), "$.name: required");
    cr_assert_str_eq(validate(s, "{\"name\":\"Ann\",\"age\":-1}"),
                     "$.age: the value must be at least 0");
    cr_assert_str_eq(validate(s, "{\"name\":\"Ann\",\"extra\":1}"),
                     "$.extra: not an allowed member");
    cr_assert_null(validate("{\"additionalProperties\":{\"type\":\"number\"}}", "{\"a\":1}"));
    cr_assert_str_eq(validate("{\"additionalProperties\":{\"type\":\"number\"}}", "{\"a\":\"1\"}"),
                     "$.a: expected number, got string");
    cr_assert_str_eq(validate("{\"minProperties\":2}", "{\"a\":1}"),
                     "$: the member count must be at least 2");
    cr_assert_str_eq(validate("{\"maxProperties\":0}", "{\"a\":1}"),
                     "$: the member count must be at most 0");
}

Test(jschema, arrays_and_strings)
{
    const char *s = "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3},"
                    "\"minItems\":1,\"maxItems\":2}";
    cr_assert_null(validate(s, "[\"abc\"]"));
    cr_assert_null(validate(s, "[\"äöü\"]")); /* code points, not bytes */
    cr_assert_str_eq(validate(s, "[\"abcd\"]"), "$[0]: the length must be at most 3");
    cr_assert_str_eq(validate(s, "[]"), "$: the item count must be at least 1");
    cr_assert_str_eq(validate(s, "[\"a\",\"b\",\"c\"]"), "$: the item count must be at most 2");
    cr_assert_str_eq(validate("{\"minLength\":2}", "\"é\""), "$: the length must be at least 2");
    /* Keywords of other types do not apply. */
    cr_assert_null(validate("{\"minLength\":2,\"minimum\":5}", "[1]"));
}

Test(jschema, enum_const_and_bounds)
{
    cr_assert_null(validate("{\"enum\":[\"red\",2,{\"a\":[1,null]}]}", "{\"a\":[1,null]}"));
    cr_assert_null(validate("{\"enum\":[2]}", "2.0"));
    cr_assert_str_eq(validate("{\"enum\":[\"red\"]}", "\"blue\""),
                     "$: not one of the allowed values");
    cr_assert_str_eq(validate("{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":2}"),
                     "$: not the required value");
    cr_assert_str_eq(validate("{\"exclusiveMinimum\":1}", "1"), "$: the value must be above 1");
    cr_assert_str_eq(validate("{\"exclusiveMaximum\":1}", "1"), "$: the value must be below 1");
    cr_assert_str_eq(validate("{\"maximum\":1.5}", "2"), "$: the value must be at most 1.5");
}

Test(jschema, paths_name_members_deep_down)
{
    const char *s = "{\"properties\":{\"items\":{\"items\":{\"properties\":{\"id\":"
                    "{\"type\":\"integer\"}},\"required\":[\"id\"]}}}}";
    cr_assert_str_eq(validate(s, "{\"items\":[{\"id\":1},{\"id\":\"x\"}]}"),
                     "$.items[1].id: expected integer, got string");
    cr_assert_str_eq(validate(s, "{\"items\":[{\"id\":1},{}]}"), "$.items[1].id: required");
}
