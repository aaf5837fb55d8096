/* test_gemini - the gemini plugin through the real loader, exchange and renderer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/harness.h"
#include "plugins/testutil.h"

#define jget(o, path) tu_at(o, path)
#define jstr(o, path) tu_str_at(o, path)
#define jnum(o, path) tu_num_at(o, path)

#define CANARY "sk-CANARY-1234"
#define SSE_HDR "Content-Type: text/event-stream\r\n"
#define JSON_HDR "Content-Type: application/json; charset=UTF-8\r\n"

static void setup(void)
{
    ph_env("GEMINI_API_KEY", CANARY, "GEMINI_BASE_URL", "http://mock.test/", NULL);
}

TestSuite(gemini, .init = setup);

static void no_canary(struct ph_call *c)
{
    tu_no_secret(c, CANARY);
}

static void assert_json_eq(const cJSON *got, const char *want_json)
{
    cJSON *want = cJSON_Parse(want_json);
    cr_assert_not_null(want, "expected JSON does not parse: %s", want_json);
    char *g = cJSON_PrintUnformatted(got);
    int same = cJSON_Compare(got, want, 1);
    cr_assert(same, "JSON differs\n got: %s\nwant: %s", g ? g : "(null)", want_json);
    free(g);
    cJSON_Delete(want);
}

static cJSON *body_of(const char *req)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT, req);
    cJSON *b = cJSON_Duplicate(ph_body_json(c), 1);
    cr_assert_null(strstr(ph_body(c), CANARY));
    ph_free(c);
    return b;
}

/* ---- request ---------------------------------------------------------------------------- */

Test(gemini, url_and_key_header)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini/gemini-2.5-flash\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1beta/models/gemini-2.5-flash:generateContent");
    cr_assert_str_eq(ph_header(c, "x-goog-api-key"), CANARY);
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/json");
    cr_assert_null(ph_header(c, "Authorization"));
    cr_assert_null(strstr(ph_url(c), CANARY));
    cr_assert_null(strstr(ph_url(c), "key="));
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    ph_free(c);

    c = ph_begin("gemini", AIGW_OP_CHAT,
                 "{\"model\":\"models/gemini-2.0-flash\",\"stream\":true,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(
        ph_url(c), "http://mock.test/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
    cr_assert_str_eq(ph_header(c, "x-goog-api-key"), CANARY);
    cr_assert_null(strstr(ph_url(c), CANARY));
    /* Read line by line: Google's mid-stream error is a bare JSON object, not an SSE event. */
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON_SEQ);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(ph_body_json(c), "stream"));
    ph_free(c);
}

Test(gemini, model_with_path_characters_rejected)
{
    int rc = 0;
    struct ph_call *c = ph_begin_rc("gemini", AIGW_OP_CHAT,
                                    "{\"model\":\"gemini-2.5-flash/../../x?key=1\",\"messages\":"
                                    "[{\"role\":\"user\",\"content\":\"Hi\"}]}",
                                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_not_null(strstr(ph_output(c), "model id not usable in a Gemini URL"), "%s",
                       ph_output(c));
    ph_free(c);
}

Test(gemini, system_roles_merged_and_generation_config)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"Answer in French.\"}]},"
        "{\"role\":\"user\",\"content\":\"Hi\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Part two\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}]},"
        "{\"role\":\"assistant\",\"content\":\"Hello\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"again\"}]},"
        "{\"role\":\"user\",\"content\":\"Bye\"}],"
        "\"temperature\":0.3,\"top_p\":0.9,\"max_tokens\":50,\"max_completion_tokens\":200,"
        "\"stop\":\"END\",\"seed\":7,\"n\":2,\"presence_penalty\":0,\"frequency_penalty\":0.5,"
        "\"user\":\"u-1\",\"parallel_tool_calls\":true,\"logprobs\":false}");
    assert_json_eq(b,
                   "{\"contents\":["
                   "{\"role\":\"user\",\"parts\":[{\"text\":\"Hi\"},{\"text\":\"Part two\"},"
                   "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}}]},"
                   "{\"role\":\"model\",\"parts\":[{\"text\":\"Hello\"},{\"text\":\"again\"}]},"
                   "{\"role\":\"user\",\"parts\":[{\"text\":\"Bye\"}]}],"
                   "\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\"},"
                   "{\"text\":\"Answer in French.\"}]},"
                   "\"generationConfig\":{\"temperature\":0.3,\"topP\":0.9,\"maxOutputTokens\":200,"
                   "\"stopSequences\":[\"END\"],\"candidateCount\":2,\"seed\":7,"
                   "\"frequencyPenalty\":0.5}}");
    cJSON_Delete(b);
}

/* top_k is no OpenAI field, but clients of OpenAI-compatible gateways send it (extra_body) and
 * Gemini has it: generationConfig.topK, as the anthropic plugin forwards it to Claude. */
Test(gemini, top_k_forwarded)
{
    cJSON *b = body_of("{\"model\":\"gemini-2.5-flash\",\"top_k\":40,\"messages\":"
                       "[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json_eq(jget(b, "generationConfig"), "{\"topK\":40}");
    cJSON_Delete(b);
}

Test(gemini, stop_array_and_only_system_prompt)
{
    cJSON *b = body_of("{\"model\":\"gemini-2.0-flash\",\"stop\":[\"a\",\"b\"],\"max_tokens\":9,"
                       "\"messages\":[{\"role\":\"system\",\"content\":\"Say hi.\"}]}");
    assert_json_eq(b, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Say hi.\"}]}],"
                      "\"generationConfig\":{\"maxOutputTokens\":9,"
                      "\"stopSequences\":[\"a\",\"b\"]}}");
    cJSON_Delete(b);
}

Test(gemini, image_urls)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"Compare\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.test/a/cat.PNG\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.test/dog.webp?x=1.png#f\","
        "\"detail\":\"high\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://img.test/photo\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/4AAQ\"}}]}]}");
    assert_json_eq(jget(b, "contents.0.parts"),
                   "[{\"text\":\"Compare\"},"
                   "{\"fileData\":{\"mimeType\":\"image/png\",\"fileUri\":"
                   "\"https://img.test/a/cat.PNG\"}},"
                   "{\"fileData\":{\"mimeType\":\"image/webp\",\"fileUri\":"
                   "\"https://img.test/dog.webp?x=1.png#f\"}},"
                   "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":"
                   "\"https://img.test/photo\"}},"
                   "{\"inlineData\":{\"mimeType\":\"image/jpeg\",\"data\":\"/9j/4AAQ\"}}]");
    cJSON_Delete(b);
}

/* OpenAI takes data:image/jpg (many clients write it); Gemini answers 400 "Unsupported MIME
 * type: image/jpg" and wants the registered name image/jpeg, in lower case. */
Test(gemini, image_jpg_media_type_normalised)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpg;base64,/9j/4AAQ\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:Image/PNG;base64,iVBORw0K\"}}]}]}");
    assert_json_eq(jget(b, "contents.0.parts"),
                   "[{\"inlineData\":{\"mimeType\":\"image/jpeg\",\"data\":\"/9j/4AAQ\"}},"
                   "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"iVBORw0K\"}}]");
    cJSON_Delete(b);
}

Test(gemini, tools_schema_cleaned)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"save_person\","
        "\"description\":\"Store a person\",\"strict\":true,\"parameters\":{"
        "\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\","
        "\"additionalProperties\":false,"
        "\"$defs\":{\"Address\":{\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{\"street\":{\"type\":\"string\"},"
        "\"city\":{\"type\":\"string\",\"default\":\"Paris\"}},\"required\":[\"street\"]}},"
        "\"properties\":{"
        "\"name\":{\"type\":\"string\",\"description\":\"Full name\",\"minLength\":1},"
        "\"home\":{\"$ref\":\"#/$defs/Address\",\"description\":\"Home address\"},"
        "\"work\":{\"$ref\":\"#/definitions/Office\"},"
        "\"website\":{\"type\":\"string\",\"format\":\"uri\"},"
        "\"born\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"nickname\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"default\":null},"
        "\"age\":{\"type\":[\"integer\",\"null\"],\"minimum\":0},"
        "\"kind\":{\"enum\":[\"person\",\"robot\"]},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"uniqueItems\":true},"
        "\"level\":{\"const\":\"admin\"},"
        "\"score\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
        "\"extra\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}},"
        "\"definitions\":{\"Office\":{\"type\":\"object\",\"properties\":"
        "{\"floor\":{\"type\":\"integer\",\"format\":\"int32\"}}}},"
        "\"required\":[\"name\",\"home\",\"missing\"]}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"ping\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"noop\",\"parameters\":"
        "{\"type\":\"object\",\"properties\":{}}}}]}");
    assert_json_eq(jget(b, "tools"),
                   "[{\"functionDeclarations\":["
                   "{\"name\":\"save_person\",\"description\":\"Store a person\",\"parameters\":{"
                   "\"type\":\"OBJECT\",\"properties\":{"
                   "\"name\":{\"type\":\"STRING\",\"description\":\"Full name\",\"minLength\":1},"
                   "\"home\":{\"type\":\"OBJECT\",\"description\":\"Home address\",\"properties\":{"
                   "\"street\":{\"type\":\"STRING\"},\"city\":{\"type\":\"STRING\"}},"
                   "\"required\":[\"street\"]},"
                   "\"work\":{\"type\":\"OBJECT\",\"properties\":{\"floor\":{\"type\":\"INTEGER\","
                   "\"format\":\"int32\"}}},"
                   "\"website\":{\"type\":\"STRING\"},"
                   "\"born\":{\"type\":\"STRING\",\"format\":\"date-time\"},"
                   "\"nickname\":{\"type\":\"STRING\",\"nullable\":true},"
                   "\"age\":{\"type\":\"INTEGER\",\"nullable\":true,\"minimum\":0},"
                   "\"kind\":{\"type\":\"STRING\",\"enum\":[\"person\",\"robot\"]},"
                   "\"tags\":{\"type\":\"ARRAY\",\"items\":{\"type\":\"STRING\"}},"
                   "\"level\":{\"type\":\"STRING\",\"enum\":[\"admin\"]},"
                   "\"score\":{\"type\":\"NUMBER\"},"
                   "\"extra\":{\"type\":\"OBJECT\"}},"
                   "\"required\":[\"name\",\"home\"]}},"
                   "{\"name\":\"ping\",\"parameters\":{\"type\":\"OBJECT\",\"properties\":{}}},"
                   "{\"name\":\"noop\",\"parameters\":{\"type\":\"OBJECT\",\"properties\":{}}}]}]");
    cr_assert_null(jget(b, "toolConfig"));
    cJSON_Delete(b);
}

Test(gemini, recursive_ref_is_cut_and_bad_ref_rejected)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"tree\",\"parameters\":{"
        "\"type\":\"object\",\"properties\":{\"root\":{\"$ref\":\"#/$defs/Node\"}},"
        "\"$defs\":{\"Node\":{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"},"
        "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Node\"}}}}}}}}]}");
    const cJSON *n = jget(b, "tools.0.functionDeclarations.0.parameters.properties.root");
    int depth = 0;
    while (jget(n, "properties.children.items")) {
        cr_assert_str_eq(jstr(n, "properties.label.type"), "STRING");
        n = jget(n, "properties.children.items");
        depth++;
    }
    cr_assert_eq(depth, 8); /* expansions stop at the cap; the cut node is a bare object */
    assert_json_eq(n, "{\"type\":\"OBJECT\"}");
    cJSON_Delete(b);

    int rc = 0;
    struct ph_call *c = ph_begin_rc(
        "gemini", AIGW_OP_CHAT,
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"t\",\"parameters\":{"
        "\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/$defs/Nope\"}}}}}]}",
        &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

Test(gemini, exponential_ref_expansion_is_capped)
{
    /* Each level refers to the next four times: 4^8 nodes before the $ref depth cap. */
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                     "\"content\":\"x\"}],\"tools\":[{\"type\":\"function\",\"function\":{"
                     "\"name\":\"t\",\"parameters\":{\"$ref\":\"#/$defs/D0\",\"$defs\":{");
    for (int i = 0; i < 10; i++)
        n += snprintf(req + n, sizeof req - (size_t)n,
                      "%s\"D%d\":{\"type\":\"object\",\"properties\":{"
                      "\"a\":{\"$ref\":\"#/$defs/D%d\"},\"b\":{\"$ref\":\"#/$defs/D%d\"},"
                      "\"c\":{\"$ref\":\"#/$defs/D%d\"},\"d\":{\"$ref\":\"#/$defs/D%d\"}}}",
                      i ? "," : "", i, i + 1, i + 1, i + 1, i + 1);
    n += snprintf(req + n, sizeof req - (size_t)n, ",\"D10\":{\"type\":\"string\"}}}}}]}");
    cr_assert_lt((size_t)n, sizeof req);
    int rc = 0;
    struct ph_call *c = ph_begin_rc("gemini", AIGW_OP_CHAT, req, &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

static const char *tool_choice_mode(const char *choice, const char **only)
{
    static char mode[32], name[64];
    char req[512];
    snprintf(req, sizeof req,
             "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
             "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
             "{\"type\":\"function\",\"function\":{\"name\":\"b\"}}],\"tool_choice\":%s}",
             choice);
    cJSON *b = body_of(req);
    const char *m = jstr(b, "toolConfig.functionCallingConfig.mode");
    const cJSON *names = jget(b, "toolConfig.functionCallingConfig.allowedFunctionNames");
    snprintf(mode, sizeof mode, "%s", m ? m : "");
    name[0] = 0;
    if (names) {
        cr_assert_eq(cJSON_GetArraySize(names), 1);
        snprintf(name, sizeof name, "%s", cJSON_GetArrayItem(names, 0)->valuestring);
    }
    *only = name;
    cJSON_Delete(b);
    return mode;
}

Test(gemini, tool_choice)
{
    const char *only;
    cr_assert_str_eq(tool_choice_mode("\"auto\"", &only), "AUTO");
    cr_assert_str_eq(only, "");
    cr_assert_str_eq(tool_choice_mode("\"none\"", &only), "NONE");
    cr_assert_str_eq(tool_choice_mode("\"required\"", &only), "ANY");
    cr_assert_str_eq(only, "");
    cr_assert_str_eq(
        tool_choice_mode("{\"type\":\"function\",\"function\":{\"name\":\"b\"}}", &only), "ANY");
    cr_assert_str_eq(only, "b");
}

Test(gemini, tool_round_trip_names_looked_up)
{
    cJSON *b =
        body_of("{\"model\":\"gemini-2.5-flash\",\"messages\":["
                "{\"role\":\"user\",\"content\":\"Weather and time in Rome?\"},"
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}},"
                "{\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\","
                "\"arguments\":\"\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"{\\\"time\\\":\\\"14:"
                "05\\\"}\"},"
                "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"Sunny, 24 C\"},"
                "{\"role\":\"assistant\",\"content\":\"It is sunny and 14:05.\"},"
                "{\"role\":\"user\",\"content\":\"And Milan?\"},"
                "{\"role\":\"assistant\",\"tool_calls\":["
                "{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_humidity\","
                "\"arguments\":\"{\\\"city\\\":\\\"Milan\\\"}\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"call_a\","
                "\"content\":[{\"type\":\"text\",\"text\":\"61%\"}]}]}");
    assert_json_eq(
        jget(b, "contents"),
        "[{\"role\":\"user\",\"parts\":[{\"text\":\"Weather and time in Rome?\"}]},"
        "{\"role\":\"model\",\"parts\":["
        "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Rome\"}}},"
        "{\"functionCall\":{\"name\":\"get_time\",\"args\":{}}}]},"
        "{\"role\":\"user\",\"parts\":["
        "{\"functionResponse\":{\"name\":\"get_time\",\"response\":{\"time\":\"14:05\"}}},"
        "{\"functionResponse\":{\"name\":\"get_weather\",\"response\":"
        "{\"content\":\"Sunny, 24 C\"}}}]},"
        "{\"role\":\"model\",\"parts\":[{\"text\":\"It is sunny and 14:05.\"}]},"
        "{\"role\":\"user\",\"parts\":[{\"text\":\"And Milan?\"}]},"
        "{\"role\":\"model\",\"parts\":["
        "{\"functionCall\":{\"name\":\"get_humidity\",\"args\":{\"city\":\"Milan\"}}}]},"
        "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_humidity\","
        "\"response\":{\"content\":\"61%\"}}}]}]");
    cJSON_Delete(b);

    int rc = 0;
    struct ph_call *c =
        ph_begin_rc("gemini", AIGW_OP_CHAT,
                    "{\"model\":\"gemini-2.5-flash\",\"messages\":["
                    "{\"role\":\"user\",\"content\":\"x\"},"
                    "{\"role\":\"tool\",\"tool_call_id\":\"call_zz\",\"content\":\"r\"}]}",
                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    cr_assert_eq(ph_client_status(c), 400);
    ph_free(c);
}

/* Gemini 3 refuses a replayed functionCall without the thoughtSignature it came with ("Function
 * call is missing a thought_signature in functionCall parts", 400), and chat messages cannot
 * carry the signature back: every second tool turn failed. Google documents the sentinel
 * skip_thought_signature_validator for calls without their signature (gemini-cli sends it). */
Test(gemini, gemini3_replayed_calls_carry_signature_sentinel)
{
    static const char *const models[] = {"gemini-3-pro-preview", "gemini-3.5-flash"};
    for (size_t i = 0; i < 2; i++) {
        char req[1024];
        snprintf(req, sizeof req,
                 "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"ls\"},"
                 "{\"role\":\"assistant\",\"content\":\"Listing.\",\"tool_calls\":["
                 "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"sh\","
                 "\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}},"
                 "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"pwd\","
                 "\"arguments\":\"{}\"}}]},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"a b\"},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"/\"}]}",
                 models[i]);
        cJSON *b = body_of(req);
        assert_json_eq(jget(b, "contents.1"),
                       "{\"role\":\"model\",\"parts\":[{\"text\":\"Listing.\"},"
                       "{\"functionCall\":{\"name\":\"sh\",\"args\":{\"cmd\":\"ls\"}},"
                       "\"thoughtSignature\":\"skip_thought_signature_validator\"},"
                       "{\"functionCall\":{\"name\":\"pwd\",\"args\":{}},"
                       "\"thoughtSignature\":\"skip_thought_signature_validator\"}]}");
        cJSON_Delete(b);
    }
}

/* Some clients replay arguments as the JSON object itself rather than its text (the bedrock
 * plugin takes both): the object must survive, not silently turn into {}. */
Test(gemini, tool_call_arguments_given_as_object)
{
    cJSON *b = body_of("{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                       "\"content\":\"x\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\","
                       "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
                       "{\"city\":\"Oslo\"}}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\","
                       "\"content\":\"ok\"}]}");
    assert_json_eq(jget(b, "contents.1.parts.0"),
                   "{\"functionCall\":{\"name\":\"f\",\"args\":{\"city\":\"Oslo\"}}}");
    cJSON_Delete(b);
}

Test(gemini, response_format)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"city\","
        "\"strict\":true,\"schema\":{\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{\"name\":{\"type\":\"string\"},\"pop\":{\"$ref\":\"#/$defs/n\"}},"
        "\"required\":[\"name\",\"pop\"],\"$defs\":{\"n\":{\"type\":\"integer\"}}}}}}");
    assert_json_eq(jget(b, "generationConfig"),
                   "{\"responseMimeType\":\"application/json\",\"responseSchema\":{"
                   "\"type\":\"OBJECT\",\"properties\":{\"name\":{\"type\":\"STRING\"},"
                   "\"pop\":{\"type\":\"INTEGER\"}},\"required\":[\"name\",\"pop\"],"
                   "\"propertyOrdering\":[\"name\",\"pop\"]}}");
    cJSON_Delete(b);

    b = body_of("{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":"
                "\"x\"}],\"response_format\":{\"type\":\"json_object\"}}");
    assert_json_eq(jget(b, "generationConfig"), "{\"responseMimeType\":\"application/json\"}");
    cJSON_Delete(b);

    b = body_of("{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":"
                "\"x\"}],\"response_format\":{\"type\":\"text\"}}");
    cr_assert_null(jget(b, "generationConfig"));
    cJSON_Delete(b);
}

/* Gemini writes a responseSchema's properties in alphabetical order unless propertyOrdering
 * says otherwise; OpenAI writes them in the schema's order, which clients rely on ("reasoning"
 * before "answer" is chain of thought; "answer" first is not). Every object gets its order. */
Test(gemini, response_schema_keeps_property_order)
{
    cJSON *b = body_of(
        "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"r\","
        "\"schema\":{\"type\":\"object\",\"properties\":{\"reasoning\":{\"type\":\"string\"},"
        "\"steps\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
        "{\"z\":{\"type\":\"string\"},\"a\":{\"type\":\"string\"}}}},"
        "\"answer\":{\"type\":\"string\"}}}}}}");
    const cJSON *rs = jget(b, "generationConfig.responseSchema");
    assert_json_eq(jget(rs, "propertyOrdering"), "[\"reasoning\",\"steps\",\"answer\"]");
    assert_json_eq(jget(rs, "properties.steps.items.propertyOrdering"), "[\"z\",\"a\"]");
    cJSON_Delete(b);
}

Test(gemini, reasoning_effort_only_for_thinking_models)
{
    cJSON *b = body_of("{\"model\":\"gemini-2.5-pro\",\"reasoning_effort\":\"low\",\"messages\":"
                       "[{\"role\":\"user\",\"content\":\"x\"}]}");
    assert_json_eq(jget(b, "generationConfig"),
                   "{\"thinkingConfig\":{\"includeThoughts\":true,\"thinkingBudget\":1024}}");
    cJSON_Delete(b);
    b = body_of("{\"model\":\"gemini-2.0-flash\",\"reasoning_effort\":\"high\",\"messages\":"
                "[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_null(jget(b, "generationConfig"));
    cJSON_Delete(b);
}

/* The lowest efforts ask for (almost) no thinking: left out, Gemini 2.5 and 3 think at their
 * dynamic default, the slowest and dearest setting. 2.5 Pro cannot switch thinking off (its
 * minimum budget is 128), Gemini 3 Pro knows only the levels low and high. */
Test(gemini, reasoning_effort_minimal_and_none_lower_thinking)
{
    static const struct {
        const char *model, *effort, *want;
    } cases[] = {
        {"gemini-2.5-flash", "minimal", "{\"thinkingBudget\":0}"},
        {"gemini-2.5-flash-lite", "none", "{\"thinkingBudget\":0}"},
        {"gemini-2.5-pro", "none", "{\"thinkingBudget\":128}"},
        {"gemini-3-pro-preview", "minimal", "{\"thinkingLevel\":\"low\"}"},
        {"gemini-2.5-flash", "xhigh", "{\"includeThoughts\":true,\"thinkingBudget\":24576}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[256];
        snprintf(req, sizeof req,
                 "{\"model\":\"%s\",\"reasoning_effort\":\"%s\",\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"x\"}]}",
                 cases[i].model, cases[i].effort);
        cJSON *b = body_of(req);
        const cJSON *tc = jget(b, "generationConfig.thinkingConfig");
        cr_assert_not_null(tc, "%s %s: no thinkingConfig", cases[i].model, cases[i].effort);
        assert_json_eq(tc, cases[i].want);
        cJSON_Delete(b);
    }
}

/* ---- non-stream responses ---------------------------------------------------------------- */

static struct ph_call *chat(const char *fixture)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDR, fixture, 0), 0);
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    no_canary(c);
    return c;
}

static void assert_usage(const cJSON *u, int prompt, int completion, int total, int cached,
                         int reasoning)
{
    cr_assert_not_null(u, "no usage");
    cr_assert_eq(jnum(u, "prompt_tokens"), prompt);
    cr_assert_eq(jnum(u, "completion_tokens"), completion);
    cr_assert_eq(jnum(u, "total_tokens"), total);
    if (cached >= 0)
        cr_assert_eq(jnum(u, "prompt_tokens_details.cached_tokens"), cached);
    if (reasoning >= 0)
        cr_assert_eq(jnum(u, "completion_tokens_details.reasoning_tokens"), reasoning);
}

Test(gemini, response_text_and_usage)
{
    struct ph_call *c = chat("gemini/chat.json");
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "object"), "chat.completion");
    cr_assert_str_eq(jstr(o, "id"), "gemresp-alps-0001");
    cr_assert_str_eq(jstr(o, "model"), "gemini-2.5-flash");
    cr_assert_eq(cJSON_GetArraySize(jget(o, "choices")), 1);
    cr_assert_str_eq(jstr(o, "choices.0.message.role"), "assistant");
    cr_assert_str_eq(jstr(o, "choices.0.message.content"),
                     "The tallest mountain in the Alps is Mont Blanc, at about 4,806 metres.");
    cr_assert_null(jget(o, "choices.0.message.tool_calls"));
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "stop");
    /* completion = candidates 19 + thoughts 40 */
    assert_usage(ph_usage(c), 14, 59, 73, 6, 40);
    ph_free(c);
}

Test(gemini, response_function_calls_and_thoughts)
{
    struct ph_call *c = chat("gemini/chat_tools.json");
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "choices.0.message.content"), "Let me check both timetables.");
    cr_assert_str_eq(jstr(o, "choices.0.message.reasoning_content"),
                     "The user wants train times for two cities; I should look both up.");
    cr_assert_eq(cJSON_GetArraySize(jget(o, "choices.0.message.tool_calls")), 2);
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.0.id"), "call_rains-0002_0");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.0.type"), "function");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.0.function.name"), "train_times");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.0.function.arguments"),
                     "{\"city\":\"Lyon\",\"day\":\"saturday\"}");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.1.id"), "call_rains-0002_1");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.1.function.arguments"),
                     "{\"city\":\"Turin\",\"day\":\"saturday\"}");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "tool_calls");
    assert_usage(ph_usage(c), 61, 63, 124, -1, 25);
    ph_free(c);
}

Test(gemini, response_safety_and_blocked_prompt)
{
    struct ph_call *c = chat("gemini/chat_safety.json");
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "choices.0.message.content"), "I can describe the general idea, but");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "content_filter");
    assert_usage(ph_usage(c), 9, 8, 17, -1, -1);
    ph_free(c);

    c = chat("gemini/chat_blocked.json");
    o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(jget(o, "choices")), 1);
    /* No text at all (the renderer decides between "" and null for such a choice). */
    const cJSON *content = jget(o, "choices.0.message.content");
    cr_assert(cJSON_IsNull(content) || (cJSON_IsString(content) && !content->valuestring[0]));
    cr_assert_null(jget(o, "choices.0.message.tool_calls"));
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "content_filter");
    assert_usage(ph_usage(c), 11, 0, 11, -1, -1);
    ph_free(c);
}

Test(gemini, response_two_candidates_length)
{
    struct ph_call *c = chat("gemini/chat_length.json");
    cJSON *o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(jget(o, "choices")), 2);
    cr_assert_str_eq(jstr(o, "choices.0.message.content"), "Once upon a time, in a village by the");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "length");
    cr_assert_eq(jnum(o, "choices.1.index"), 1);
    cr_assert_str_eq(jstr(o, "choices.1.message.content"),
                     "There was once a lighthouse keeper who");
    cr_assert_str_eq(jstr(o, "choices.1.finish_reason"), "stop");
    ph_free(c);
}

/* ---- streams ------------------------------------------------------------------------------ */

static struct ph_call *stream(const char *fixture, size_t split)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"stream\":true,"
                                 "\"stream_options\":{\"include_usage\":true},\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDR, fixture, split), 0);
    cr_assert_eq(ph_client_status(c), 200);
    no_canary(c);
    return c;
}

/* The client output with "created" zeroed, so two runs compare byte for byte. */
static char *normalized(struct ph_call *c)
{
    const char *o = ph_output(c);
    char *s = malloc(strlen(o) + 1), *w = s;
    cr_assert_not_null(s);
    while (*o) {
        if (!strncmp(o, "\"created\":", 10)) {
            memcpy(w, "\"created\":0", 11);
            w += 11;
            o += 10;
            while (*o >= '0' && *o <= '9')
                o++;
            continue;
        }
        *w++ = *o++;
    }
    *w = 0;
    return s;
}

static void check_text_stream(struct ph_call *c)
{
    cJSON *ev = ph_sse_events(c);
    cr_assert_str_eq(jstr(ev, "0.choices.0.delta.role"), "assistant");
    cr_assert_str_eq(jstr(ev, "0.object"), "chat.completion.chunk");
    cr_assert_str_eq(jstr(ev, "0.id"), "gemresp-stream-0005");
    cr_assert_str_eq(jstr(ev, "0.model"), "gemini-2.5-flash");
    cr_assert_str_eq(ph_stream_text(c), "Bonjour et bienvenue \xc3\xa0 Paris !");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert(ph_sse_done(c));
    assert_usage(ph_usage(c), 10, 21, 31, 2, 15);
    int finishes = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ev)
    {
        if (cJSON_IsString(jget(e, "choices.0.finish_reason")))
            finishes++;
    }
    cr_assert_eq(finishes, 1);
}

Test(gemini, stream_text_crlf_lf_whole_and_split)
{
    struct ph_call *ref = stream("gemini/stream_text.sse", 0);
    check_text_stream(ref);
    char *want = normalized(ref);
    const char *files[] = {"gemini/stream_text.sse", "gemini/stream_text_lf.sse"};
    for (int f = 0; f < 2; f++) {
        for (size_t split = 0; split <= 1; split++) {
            struct ph_call *c = stream(files[f], split);
            check_text_stream(c);
            char *got = normalized(c);
            cr_assert_str_eq(got, want, "%s split=%zu differs", files[f], split);
            free(got);
            ph_free(c);
        }
    }
    /* Every split point of the CRLF file gives the same output. */
    for (size_t split = 2; split < 64; split += 7) {
        struct ph_call *c = stream("gemini/stream_text.sse", split);
        char *got = normalized(c);
        cr_assert_str_eq(got, want, "split=%zu differs", split);
        free(got);
        ph_free(c);
    }
    free(want);
    ph_free(ref);
}

static void check_tools_stream(struct ph_call *c)
{
    cr_assert_str_eq(ph_stream_reasoning(c),
                     "**Planning**\n\nI need the forecast before answering.");
    cr_assert_str_eq(ph_stream_text(c), "");
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "get_forecast");
    cr_assert_str_eq(ph_stream_tool_id(c, 0), "call_ools-0006_0");
    cr_assert_str_eq(ph_stream_tool_args(c, 0), "{\"place\":\"Oslo\",\"days\":3}");
    cr_assert_str_eq(ph_stream_tool_name(c, 1), "get_tide");
    cr_assert_str_eq(ph_stream_tool_id(c, 1), "call_ools-0006_1");
    cr_assert_str_eq(ph_stream_tool_args(c, 1), "{\"harbour\":\"Oslo\"}");
    cr_assert_null(ph_stream_tool_name(c, 2));
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    cr_assert(ph_sse_done(c));
    assert_usage(ph_usage(c), 52, 66, 118, -1, 35);
}

Test(gemini, stream_tool_calls_whole_and_split)
{
    struct ph_call *a = stream("gemini/stream_tools.sse", 0);
    struct ph_call *b = stream("gemini/stream_tools.sse", 1);
    check_tools_stream(a);
    check_tools_stream(b);
    char *na = normalized(a), *nb = normalized(b);
    cr_assert_str_eq(na, nb);
    free(na);
    free(nb);
    ph_free(a);
    ph_free(b);
}

Test(gemini, stream_bare_json_error_mid_stream)
{
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = stream("gemini/stream_error_midstream.sse", split);
        const struct aigw_error *e = ph_error(c);
        cr_assert_not_null(e, "the mid-stream error was lost");
        cr_assert_eq(e->status, 503);
        cr_assert_str_eq(e->code, "UNAVAILABLE");
        cr_assert_str_eq(e->message, "The model is overloaded {retry later}.");
        cr_assert_eq(e->retryable, 1);
        cr_assert_str_eq(ph_stream_text(c), "Counting: one, two, ");
        cr_assert_not_null(strstr(ph_output(c), "The model is overloaded {retry later}."));
        cr_assert(ph_sse_done(c));
        ph_free(c);
    }
}

Test(gemini, stream_garbage_is_protocol_error)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    const char *body = "data: {\"candidates\": [\r\n\r\n";
    cr_assert_eq(ph_respond(c, 200, SSE_HDR, body, strlen(body), 0), AIGW_EPROTO);
    cr_assert_eq(ph_client_status(c), 502);
    ph_free(c);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void check_error(const char *fixture, int http, int status, const char *type,
                        const char *code, int retryable, long long retry_ms)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_eq(ph_respond_file(c, http, JSON_HDR, fixture, 0), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e, "%s: no error", fixture);
    cr_assert_eq(e->status, status, "%s: status %d", fixture, e->status);
    cr_assert_str_eq(e->type, type, "%s", fixture);
    cr_assert_str_eq(e->code, code, "%s", fixture);
    cr_assert_eq(e->retryable, retryable, "%s", fixture);
    cr_assert_eq(e->retry_after_ms, retry_ms, "%s: retry %lld", fixture,
                 (long long)e->retry_after_ms);
    cr_assert_eq(ph_client_status(c), status);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "error.type"), type);
    cr_assert_str_eq(jstr(o, "error.code"), code);
    no_canary(c);
    ph_free(c);
}

Test(gemini, error_mapping)
{
    check_error("gemini/error_400_api_key.json", 400, 401, "authentication_error",
                "invalid_api_key", 0, -1);
    check_error("gemini/error_400.json", 400, 400, "invalid_request_error", "INVALID_ARGUMENT", 0,
                -1);
    check_error("gemini/error_403.json", 403, 403, "permission_error", "PERMISSION_DENIED", 0, -1);
    check_error("gemini/error_404.json", 404, 404, "not_found_error", "NOT_FOUND", 0, -1);
    check_error("gemini/error_429.json", 429, 429, "rate_limit_error", "RESOURCE_EXHAUSTED", 1,
                31500);
    check_error("gemini/error_500.json", 500, 500, "server_error", "INTERNAL", 1, -1);
    check_error("gemini/error_503.json", 503, 503, "server_error", "UNAVAILABLE", 1, -1);
}

/* An overlong prompt: OpenAI clients recognise it by the code context_length_exceeded (Codex
 * compacts its history on it), as the bedrock and anthropic plugins report it. The message is
 * Google's, as recorded in many gemini-cli reports; the same comes mid-stream. */
Test(gemini, prompt_too_long_is_context_length_exceeded)
{
    static const char body[] =
        "{\"error\":{\"code\":400,\"message\":\"The input token count (1200293) exceeds the "
        "maximum number of tokens allowed (1048576).\",\"status\":\"INVALID_ARGUMENT\"}}";
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-pro\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_eq(ph_respond(c, 400, JSON_HDR, body, strlen(body), 0), 0);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_str_eq(jstr(ph_output_json(c), "error.code"), "context_length_exceeded");
    cr_assert_str_eq(jstr(ph_output_json(c), "error.type"), "invalid_request_error");
    cr_assert_eq(ph_error(c)->retryable, 0);
    ph_free(c);
}

Test(gemini, error_retry_after_header_and_message)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_eq(ph_respond_file(c, 503, JSON_HDR "Retry-After: 7\r\n", "gemini/error_503.json", 0),
                 0);
    cr_assert_eq(ph_error(c)->retry_after_ms, 7000);
    cr_assert_str_eq(jstr(ph_output_json(c), "error.message"),
                     "The model is overloaded. Please try again later.");
    ph_free(c);
}

Test(gemini, upstream_echo_of_key_is_scrubbed)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    const char *body = "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\",\"message\":"
                       "\"Invalid API key: " CANARY " (key " CANARY ")\"}}";
    cr_assert_eq(ph_respond(c, 400, JSON_HDR, body, strlen(body), 0), 0);
    cr_assert_eq(ph_client_status(c), 400);
    cr_assert_str_eq(ph_error(c)->message, "Invalid API key: [redacted] (key [redacted])");
    no_canary(c);
    ph_free(c);

    c = ph_begin("gemini", AIGW_OP_CHAT,
                 "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":"
                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    const char *sse = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\r\n"
                      "\r\n{\"error\":{\"code\":401,\"status\":\"UNAUTHENTICATED\",\"message\":"
                      "\"bad " CANARY "\"}}\r\n";
    cr_assert_eq(ph_respond(c, 200, SSE_HDR, sse, strlen(sse), 1), 0);
    cr_assert_eq(ph_error(c)->status, 401);
    no_canary(c);
    ph_free(c);
}

Test(gemini, non_json_error_body)
{
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                 "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    const char *body = "<html>Bad Gateway</html>";
    cr_assert_eq(ph_respond(c, 502, "Content-Type: text/html\r\n", body, strlen(body), 0), 0);
    cr_assert_eq(ph_client_status(c), 502);
    cr_assert_eq(ph_error(c)->retryable, 1);
    ph_free(c);
}

/* ---- conformance: real recordings ---------------------------------------------------------- */

static char *shared_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing shared fixture %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

static struct ph_call *replay(const char *dir, const char *name, int http, int is_stream)
{
    size_t len;
    char *body = shared_file(dir, name, &len);
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 is_stream ? "{\"model\":\"gemini-2.5-flash\",\"stream\":true,"
                                             "\"stream_options\":{\"include_usage\":true},"
                                             "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"
                                           : "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                             "[{\"role\":\"user\",\"content\":\"x\"}]}");
    cr_assert_eq(ph_respond(c, http, is_stream ? SSE_HDR : JSON_HDR, body, len, 0), 0, "%s", name);
    if (is_stream) {
        /* Whole and byte-by-byte must agree on real recordings too. */
        struct ph_call *d = ph_begin("gemini", AIGW_OP_CHAT,
                                     "{\"model\":\"gemini-2.5-flash\",\"stream\":true,"
                                     "\"stream_options\":{\"include_usage\":true},"
                                     "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        cr_assert_eq(ph_respond(d, http, SSE_HDR, body, len, 1), 0);
        char *a = normalized(c), *b = normalized(d);
        cr_assert_str_eq(a, b, "%s: split=1 differs", name);
        free(a);
        free(b);
        ph_free(d);
    }
    free(body);
    no_canary(c);
    return c;
}

Test(gemini, conformance_shared_recordings)
{
    const char *root = getenv("AIGW_SHARED_FIXTURES");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/gemini", root ? root : "/nonexistent");
    FILE *probe = fopen(dir, "r");
    if (!probe)
        cr_skip_test("shared fixtures absent");
    fclose(probe);

    struct ph_call *c = replay(dir, "chat_response.json", 200, 0);
    cJSON *o = ph_output_json(c);
    cr_assert_not_null(strstr(jstr(o, "choices.0.message.content"), "Mountain View"));
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "stop");
    cr_assert_str_eq(jstr(o, "model"), "gemini-2.0-flash");
    assert_usage(ph_usage(c), 7, 22, 29, -1, -1);
    ph_free(c);

    c = replay(dir, "generate_content_basic.json", 200, 0);
    o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "choices.0.message.content"), "2 + 2 = **4**");
    assert_usage(ph_usage(c), 10, 31, 41, -1, 23);
    ph_free(c);

    c = replay(dir, "chat_response_function_call_thinking.json", 200, 0);
    o = ph_output_json(c);
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.0.function.name"), "now");
    cr_assert_str_eq(jstr(o, "choices.0.message.tool_calls.0.function.arguments"), "{}");
    cr_assert_str_eq(jstr(o, "choices.0.finish_reason"), "tool_calls");
    cr_assert(strlen(jstr(o, "choices.0.message.reasoning_content")) > 100);
    assert_usage(ph_usage(c), 38, 509, 547, -1, 501);
    ph_free(c);

    c = replay(dir, "chat_response_finish_safety.json", 200, 0);
    cr_assert_str_eq(jstr(ph_output_json(c), "choices.0.finish_reason"), "content_filter");
    ph_free(c);
    c = replay(dir, "chat_response_prompt_blocked.json", 200, 0);
    cr_assert_str_eq(jstr(ph_output_json(c), "choices.0.finish_reason"), "content_filter");
    ph_free(c);

    c = replay(dir, "stream_basic.sse", 200, 1);
    cr_assert_str_eq(ph_stream_text(c), "The capital of Wyoming is **Cheyenne**.\n");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    assert_usage(ph_usage(c), 7, 10, 17, -1, -1);
    ph_free(c);

    c = replay(dir, "stream_function_call.sse", 200, 1);
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "weather");
    cr_assert_str_eq(ph_stream_tool_args(c, 0),
                     "{\"latitude\":\"52.5200\",\"longitude\":\"13.4050\"}");
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    assert_usage(ph_usage(c), 103, 73, 176, -1, 43);
    ph_free(c);

    c = replay(dir, "stream_after_function_response.sse", 200, 1);
    cr_assert_not_null(strstr(ph_stream_text(c), "The weather in Berlin is 15"));
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    assert_usage(ph_usage(c), 233, 21, 254, -1, -1);
    ph_free(c);

    c = replay(dir, "stream_function_call_thinking.sse", 200, 1);
    cr_assert_str_eq(ph_stream_tool_name(c, 0), "now");
    cr_assert(strlen(ph_stream_reasoning(c)) > 50);
    cr_assert_str_eq(ph_stream_finish(c), "tool_calls");
    assert_usage(ph_usage(c), 38, 174, 212, -1, 168);
    ph_free(c);

    struct {
        const char *file;
        int http, status, retryable;
        long long retry_ms;
    } errs[] = {
        {"error_400_api_key.json", 400, 401, 0, -1},
        {"error_400_api_key_invalid_real.json", 400, 401, 0, -1},
        {"error_404_unknown_model.json", 404, 404, 0, -1},
        {"error_429_resource_exhausted.json", 429, 429, 1, 48000},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        c = replay(dir, errs[i].file, errs[i].http, 0);
        cr_assert_eq(ph_error(c)->status, errs[i].status, "%s", errs[i].file);
        cr_assert_eq(ph_error(c)->retryable, errs[i].retryable, "%s", errs[i].file);
        cr_assert_eq(ph_error(c)->retry_after_ms, errs[i].retry_ms, "%s", errs[i].file);
        cr_assert_eq(ph_client_status(c), errs[i].status);
        ph_free(c);
    }
}

/* Without a RetryInfo detail, a retryable error takes its hint from host->retry_after_ms:
 * every header form the host reads, and nothing from a value that is no hint. */
Test(gemini, retry_after_forms_read_by_the_host)
{
    char hdrs[512];
    for (size_t i = 0; i <= TU_RETRY_HINTS; i++) {
        struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                     "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                     "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        snprintf(hdrs, sizeof hdrs, JSON_HDR "%s",
                 i < TU_RETRY_HINTS ? tu_retry_hints[i].headers : "Retry-After: soon\r\n");
        cr_assert_eq(ph_respond_file(c, 503, hdrs, "gemini/error_503.json", 0), 0);
        cr_assert_eq(ph_error(c)->retry_after_ms, i < TU_RETRY_HINTS ? tu_retry_hints[i].ms : -1,
                     "%s-> %lld", hdrs, (long long)ph_error(c)->retry_after_ms);
        ph_free(c);
    }
}

/* Gemini 2.x function calls carry no id. The ids the client gets must still differ from one
 * response to the next: they end up in the conversation history, where every later turn, a
 * fallback to another provider (Anthropic refuses repeated tool_use ids) and the Responses
 * front's call_id bookkeeping rely on them being unique. */
static char *tool_id_of_turn(const char *response_id, int streamed)
{
    char body[512];
    snprintf(body, sizeof body,
             "%s{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":"
             "{\"name\":\"lookup\",\"args\":{\"q\":\"x\"}}}]},\"finishReason\":\"STOP\","
             "\"index\":0}],\"responseId\":\"%s\",\"modelVersion\":\"gemini-2.5-flash\"}%s",
             streamed ? "data: " : "", response_id, streamed ? "\r\n\r\n" : "");
    struct ph_call *c = ph_begin("gemini", AIGW_OP_CHAT,
                                 streamed ? "{\"model\":\"gemini-2.5-flash\",\"stream\":true,"
                                            "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
                                          : "{\"model\":\"gemini-2.5-flash\",\"messages\":"
                                            "[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_eq(ph_respond(c, 200, streamed ? SSE_HDR : JSON_HDR, body, strlen(body), 0), 0);
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    const char *id = streamed ? ph_stream_tool_id(c, 0)
                              : jstr(ph_output_json(c), "choices.0.message.tool_calls.0.id");
    cr_assert_not_null(id, "%s", ph_output(c));
    char *copy = strdup(id);
    ph_free(c);
    return copy;
}

Test(gemini, generated_tool_call_ids_unique_across_turns)
{
    for (int streamed = 0; streamed <= 1; streamed++) {
        char *a = tool_id_of_turn("Xk2iaO-first-turn-aaaa", streamed);
        char *b = tool_id_of_turn("Xk2iaO-second-turn-bbb", streamed);
        cr_assert_str_neq(a, b, "two turns both got tool call id %s (streamed=%d)", a, streamed);
        cr_assert(strlen(a) > 5 && strlen(a) <= 64, "%s", a);
        free(a);
        free(b);
    }
}
