/* The SDK's JSON getters (aigw_json_*), which replaced the copies plugins each kept: absent
 * keys, wrong types and non-objects read as "not there", counts are range-checked. */
#include <criterion/criterion.h>

#include "aigw/plugin.h"

static cJSON *doc;

static void setup(void)
{
    doc =
        cJSON_Parse("{\"s\":\"x\",\"n\":2.5,\"t\":true,\"f\":false,\"z\":null,\"o\":{\"s\":\"in\"},"
                    "\"a\":[1],\"c\":1234.9,\"neg\":-1,\"huge\":1e300,\"max\":9007199254740992,"
                    "\"over\":9007199254740994,\"ns\":\"12\"}");
    cr_assert_not_null(doc);
}

static void teardown(void)
{
    cJSON_Delete(doc);
}

TestSuite(sdk_json, .init = setup, .fini = teardown);

Test(sdk_json, get)
{
    cr_assert_str_eq(aigw_json_get(doc, "s")->valuestring, "x");
    cr_assert_null(aigw_json_get(doc, "S"), "keys are case-sensitive");
    cr_assert_null(aigw_json_get(doc, "missing"));
    cr_assert_null(aigw_json_get(NULL, "s"));
    cr_assert_null(aigw_json_get(aigw_json_get(doc, "a"), "s"), "an array is not an object");
    cr_assert_null(aigw_json_get(aigw_json_get(doc, "s"), "s"));
    cr_assert_str_eq(aigw_json_str(aigw_json_get(doc, "o"), "s"), "in");
}

Test(sdk_json, str)
{
    cr_assert_str_eq(aigw_json_str(doc, "s"), "x");
    cr_assert_null(aigw_json_str(doc, "n"));
    cr_assert_null(aigw_json_str(doc, "z"));
    cr_assert_null(aigw_json_str(doc, "missing"));
    cr_assert_null(aigw_json_str(NULL, "s"));
}

Test(sdk_json, num)
{
    cr_assert_float_eq(aigw_json_num(doc, "n", -1), 2.5, 1e-12);
    cr_assert_float_eq(aigw_json_num(doc, "ns", -1), -1, 1e-12, "a numeric string is a string");
    cr_assert_float_eq(aigw_json_num(doc, "t", 7), 7, 1e-12);
    cr_assert_float_eq(aigw_json_num(NULL, "n", 3), 3, 1e-12);
}

Test(sdk_json, bool)
{
    cr_assert_eq(aigw_json_bool(doc, "t", -1), 1);
    cr_assert_eq(aigw_json_bool(doc, "f", -1), 0);
    cr_assert_eq(aigw_json_bool(doc, "z", -1), -1);
    cr_assert_eq(aigw_json_bool(doc, "n", -1), -1);
    cr_assert_eq(aigw_json_bool(doc, "missing", 0), 0);
}

Test(sdk_json, count)
{
    cr_assert_eq(aigw_json_count(doc, "c"), 1234);
    cr_assert_eq(aigw_json_count(doc, "max"), 9007199254740992LL);
    cr_assert_eq(aigw_json_count(doc, "over"), -1);
    cr_assert_eq(aigw_json_count(doc, "huge"), -1);
    cr_assert_eq(aigw_json_count(doc, "neg"), -1);
    cr_assert_eq(aigw_json_count(doc, "ns"), -1);
    cr_assert_eq(aigw_json_count(doc, "missing"), -1);
}
