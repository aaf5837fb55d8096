/* The fireworks plugin through the real loader, exchange and renderer (fixtures:
 * fireworks/). */
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/oaiwire_checks.h"

#define BASE "http://mock.invalid/inference/v1"
#define MODEL "accounts/fireworks/models/llama-v3p1-70b-instruct"
#define FLUX "accounts/fireworks/models/flux-1-schnell-fp8"

OC_SUITE(fireworks, "FIREWORKS", BASE);

/* Fields Fireworks has refused as "extra inputs", and its own name for the cache key. */
Test(fireworks, request_drops_rejected_fields)
{
    struct ph_call *c = oc_begin_file("fireworks", AIGW_OP_CHAT, "fireworks/request_full.json");
    cJSON *b = oc_request_is(c, BASE "/chat/completions", AIGW_FRAMING_SSE, MODEL);

    oc_absent_all(b, "stream_options store verbosity web_search_options prompt_cache_retention "
                     "user prompt_cache_key max_completion_tokens");
    cr_assert_eq(oc_num(b, "max_tokens"), 900);
    cr_assert_str_eq(oc_str(b, "prompt_cache_isolation_key"), "tenant-7");
    cr_assert_eq(oc_num(b, "top_k"), 40);
    ph_free(c);
}

Test(fireworks, request_always_bounds_output)
{
    struct ph_call *c = oc_begin_chat("fireworks", MODEL, 0);
    cJSON *b = oc_request_is(c, BASE "/chat/completions", AIGW_FRAMING_JSON, MODEL);
    cr_assert_eq(oc_num(b, "max_tokens"), 4096);
    ph_free(c);
}

static const char *image_b64(struct ph_call *c, int i)
{
    return oc_str(cJSON_GetArrayItem(oc_get(ph_output_json(c), "data"), i), "b64_json");
}

/* A workflow makes one image per call: n=2 takes two upstream calls. */
Test(fireworks, images_workflow)
{
    const char *url = BASE "/workflows/" FLUX "/text_to_image";
    struct ph_call *c = ph_begin("fireworks", AIGW_OP_IMAGES,
                                 "{\"model\":\"flux-1-schnell-fp8\",\"prompt\":\"a lighthouse\","
                                 "\"n\":2,\"size\":\"1792x1024\",\"quality\":\"hd\","
                                 "\"response_format\":\"b64_json\"}");
    cJSON *b = oc_request_is(c, url, AIGW_FRAMING_JSON, NULL);
    cr_assert_str_eq(ph_header(c, "Accept"), "application/json");
    cr_assert_str_eq(oc_str(b, "prompt"), "a lighthouse");
    cr_assert_str_eq(oc_str(b, "aspect_ratio"), "16:9");
    oc_absent_all(b, "quality n model");
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_workflow.json", 0),
                 AIGW_CONTINUE);
    oc_request_is(c, url, AIGW_FRAMING_JSON, NULL);
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_workflow.json", 0), 0);
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    cr_assert_eq(cJSON_GetArraySize(oc_get(ph_output_json(c), "data")), 2);
    cr_assert_str_eq(image_b64(c, 0), "/9j/4AAQSkZJRgABAQAAAQABAAD/2w==");
    cr_assert_str_eq(image_b64(c, 1), "/9j/4AAQSkZJRgABAQAAAQABAAD/2w==");
    oc_no_secret(c);
    ph_free(c);
}

/* A refusal on a later workflow call keeps the images already made. */
Test(fireworks, images_partial)
{
    struct ph_call *c = ph_begin("fireworks", AIGW_OP_IMAGES,
                                 "{\"model\":\"" FLUX "\",\"prompt\":\"a lighthouse\",\"n\":3,"
                                 "\"response_format\":\"b64_json\"}");
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_workflow.json", 0),
                 AIGW_CONTINUE);
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_filtered.json", 0), 0);
    cr_assert_eq(ph_client_status(c), 200, "%s", ph_output(c));
    cr_assert_eq(cJSON_GetArraySize(oc_get(ph_output_json(c), "data")), 1);
    ph_free(c);
}

/* A later workflow call that fails (a 5xx, a 429) is neither sent again nor retried as a new
 * attempt: each call makes (and bills) one image, and a new attempt would make the first
 * ones again. The request ends with an error that says so. */
Test(fireworks, failed_later_workflow_call_is_not_repeated)
{
    static const char err[] = "{\"error\":{\"object\":\"error\",\"type\":\"internal_server_error\","
                              "\"code\":\"internal_server_error\",\"message\":\"busy\"}}";
    struct ph_call *c = ph_begin("fireworks", AIGW_OP_IMAGES,
                                 "{\"model\":\"" FLUX "\",\"prompt\":\"a lighthouse\",\"n\":3,"
                                 "\"response_format\":\"b64_json\"}");
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_workflow.json", 0),
                 AIGW_CONTINUE);
    cr_assert_eq(ph_respond(c, 503, OC_JSON, err, sizeof err - 1, 0), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->retryable, 0);
    cr_assert_str_eq(e->code, "follow_up_failed");
    cr_assert_not_null(strstr(e->message, "busy"), "%s", e->message);
    cr_assert_str_eq(oc_str(oc_get(ph_output_json(c), "error"), "code"), "follow_up_failed");
    oc_no_secret(c);
    ph_free(c);
}

/* No hosted URL exists: a client asking for url gets the data: URL. */
Test(fireworks, images_url_is_data_url)
{
    struct ph_call *c = ph_begin("fireworks", AIGW_OP_IMAGES,
                                 "{\"model\":\"" FLUX "\",\"prompt\":\"a lighthouse\"}");
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_workflow.json", 0), 0);
    cr_assert_str_eq(oc_str(cJSON_GetArrayItem(oc_get(ph_output_json(c), "data"), 0), "url"),
                     "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2w==");
    ph_free(c);
}

/* SDXL-style models: one call makes n samples; sides clamped to 512..1024. */
Test(fireworks, images_sdxl)
{
    struct ph_call *c = ph_begin("fireworks", AIGW_OP_IMAGES,
                                 "{\"model\":\"stable-diffusion-xl-1024-v1-0\",\"prompt\":"
                                 "\"a fox\",\"n\":2,\"size\":\"256x2048\",\"response_format\":"
                                 "\"b64_json\"}");
    cJSON *b = oc_request_is(
        c, BASE "/image_generation/accounts/fireworks/models/stable-diffusion-xl-1024-v1-0",
        AIGW_FRAMING_JSON, NULL);
    cr_assert_eq(oc_num(b, "samples"), 2);
    cr_assert_eq(oc_num(b, "width"), 512);
    cr_assert_eq(oc_num(b, "height"), 1024);
    cr_assert_eq(ph_respond_file(c, 200, OC_JSON, "fireworks/images_sdxl.json", 0), 0);
    cr_assert_str_eq(image_b64(c, 0), "iVBORw0KGgoAAAANSUhEUgAAAAE=");
    cr_assert_str_eq(image_b64(c, 1), "iVBORw0KGgoAAAANSUhEUgAAAAI=");
    ph_free(c);
}

Test(fireworks, images_filtered)
{
    struct ph_call *c =
        ph_begin("fireworks", AIGW_OP_IMAGES, "{\"model\":\"" FLUX "\",\"prompt\":\"x\"}");
    ph_respond_file(c, 200, OC_JSON, "fireworks/images_filtered.json", 0);
    cr_assert_eq(ph_client_status(c), 400, "%s", ph_output(c));
    cr_assert_str_eq(oc_str(oc_get(ph_output_json(c), "error"), "code"),
                     "content_policy_violation");
    ph_free(c);
}

/* The Apigee-style fault body still gives the client a message. */
Test(fireworks, fault_body)
{
    struct ph_call *c = oc_begin_chat("fireworks", MODEL, 0);
    ph_respond_file(c, 401, OC_JSON, "fireworks/error_401_fault.json", 0);
    cr_assert_str_eq(oc_str(oc_get(ph_output_json(c), "error"), "message"), "Invalid ApiKey");
    ph_free(c);
}

OC_EXPECTATION_TESTS(fireworks, "fireworks")
