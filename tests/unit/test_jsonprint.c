/* jsonprint: the bytes cJSON_PrintUnformatted writes, for every kind of value. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jsonprint.h"

static void same_as_cjson(const cJSON *j, const char *what)
{
    char *want = cJSON_PrintUnformatted(j);
    cr_assert_not_null(want, "%s", what);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    cr_assert_eq(gw_json_print(&b, j), 0, "%s", what);
    cr_assert_str_eq(b.ptr, want, "%s", what);
    gw_buf_free(&b);
    free(want);
}

Test(jsonprint, every_kind_of_value_prints_as_cjson_prints_it)
{
    static const char *docs[] = {
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1",
        "-1",
        "2147483647",
        "-2147483648",
        "2147483648",
        "-2147483649",
        "1e300",
        "-1e-300",
        "0.5",
        "0.1",
        "1.0",
        "1.5e3",
        "3.141592653589793",
        "123456789012345678",
        "1e15",
        "0.30000000000000004",
        "\"\"",
        "\"plain\"",
        "\"q\\\"b\\\\s\\/\"",
        "\"\\b\\f\\n\\r\\t\"",
        "\"\\u0001\\u001f\\u007f\\u0080\"",
        "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
        "[]",
        "{}",
        "[1,[2,[3,[]]],{}]",
        "{\"a\":1,\"a\":2,\"\":null}",
        "{\"k\\n\\u0002\":\"v\",\"n\":{\"m\":[true,false,null,-7.25]}}",
        "{\"instructions\":null,\"max_output_tokens\":64,\"temperature\":1,\"top_p\":0.9,"
        "\"text\":{\"format\":{\"type\":\"text\"}},\"tools\":[],\"metadata\":{}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *j = cJSON_Parse(docs[i]);
        cr_assert_not_null(j, "%s", docs[i]);
        same_as_cjson(j, docs[i]);
        cJSON_Delete(j);
    }
}

Test(jsonprint, built_values_nan_raw_and_null_strings)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "nan", cJSON_CreateNumber(0.0 / 0.0));
    cJSON_AddItemToObject(o, "inf", cJSON_CreateNumber(1e308 * 10));
    cJSON_AddItemToObject(o, "big", cJSON_CreateNumber(4294967296.0));
    cJSON_AddItemToObject(o, "raw", cJSON_CreateRaw("{\"x\": 1}"));
    cJSON *s = cJSON_CreateString("x");
    free(s->valuestring);
    s->valuestring = NULL;
    cJSON_AddItemToObject(o, "nullstr", s);
    same_as_cjson(o, "built");
    /* every control byte */
    char ctl[33];
    for (int c = 1; c < 32; c++)
        ctl[c - 1] = (char)c;
    ctl[31] = '"';
    ctl[32] = '\0';
    cJSON *t = cJSON_CreateString(ctl);
    same_as_cjson(t, "controls");
    cJSON_Delete(t);
    cJSON_Delete(o);
}

Test(jsonprint, stops_at_the_buffers_cap)
{
    cJSON *j = cJSON_Parse("[\"0123456789\",\"0123456789\"]");
    struct gw_buf b;
    gw_buf_init(&b, 16);
    cr_assert_lt(gw_json_print(&b, j), 0);
    gw_buf_free(&b);
    cJSON_Delete(j);
    cr_assert_lt(gw_json_print(&b, NULL), 0);
}
