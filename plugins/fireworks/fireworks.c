/*
 * fireworks - Fireworks AI (providers-B §7, images §14.3). Chat is OpenAI's wire minus the
 * fields Fireworks has refused (stream_options among them; usage comes on the final chunk
 * anyway). Images are not: FLUX models run as "workflows" returning data: URLs, one image per
 * call, and the older SDXL-style models as "image_generation" returning a JSON array.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/oaiwire.h"

#define BASE_DEFAULT "https://api.fireworks.ai/inference/v1"
/* Some models default to a few hundred tokens; OpenAI clients expect "as long as needed".
 * Fireworks lowers an oversized max_tokens to what the context leaves (its default
 * context_length_exceeded_behavior "truncate"), so a generous value is safe. */
#define DEFAULT_MAX_TOKENS 4096
#define MAX_IMAGES 10

static const struct oaiw_target target = {"FIREWORKS", BASE_DEFAULT};

/* Rejected as "extra inputs" in the past, or OpenAI-only. */
static const char *const dropped[] = {
    "store", "verbosity", "web_search_options", "prompt_cache_retention", "user", NULL};

struct fw_state {
    int images; /* images emitted over the workflow calls so far */
};

static int build_request(struct aigw_call *call)
{
    cJSON *body = oaiw_body(call, dropped, OAIW_MAX_TOKENS);
    int rc = 0;

    if (!body)
        return AIGW_ENOMEM;
    if (!oaiw_get(body, "max_tokens"))
        rc = oaiw_set(body, "max_tokens", cJSON_CreateNumber(DEFAULT_MAX_TOKENS));
    if (rc || (rc = oaiw_rename(body, "prompt_cache_key", "prompt_cache_isolation_key"))) {
        cJSON_Delete(body);
        return rc;
    }
    return oaiw_post(call, &target, "/chat/completions", body);
}

/* ---- images ------------------------------------------------------------------------------ */

static int wanted_images(const struct aigw_call *call)
{
    const cJSON *n = oaiw_get(call->body, "n");
    if (!cJSON_IsNumber(n) || n->valuedouble < 1)
        return 1;
    return n->valuedouble > MAX_IMAGES ? MAX_IMAGES : (int)n->valuedouble;
}

static int parse_size(const struct aigw_call *call, long *w, long *h)
{
    const char *s = cJSON_GetStringValue(oaiw_get(call->body, "size"));
    char *end;
    if (!s)
        return -1;
    *w = strtol(s, &end, 10);
    if (end == s || *end != 'x' || *w <= 0 || *w > 100000)
        return -1;
    s = end + 1;
    *h = strtol(s, &end, 10);
    return end == s || *end || *h <= 0 || *h > 100000 ? -1 : 0;
}

/* The workflow aspect ratio nearest the requested size. */
static const char *aspect_ratio(const struct aigw_call *call)
{
    static const char *const names[] = {"1:1", "21:9", "16:9", "3:2", "5:4",
                                        "4:5", "2:3",  "9:16", "9:21"};
    static const double ratios[] = {1.0, 21.0 / 9, 16.0 / 9, 1.5,     1.25,
                                    0.8, 2.0 / 3,  9.0 / 16, 9.0 / 21};
    double best = 0, r, d;
    long w, h;
    size_t i, pick = 0;

    if (parse_size(call, &w, &h))
        return NULL;
    r = (double)w / (double)h;
    for (i = 0; i < sizeof ratios / sizeof ratios[0]; i++) {
        d = r > ratios[i] ? r / ratios[i] : ratios[i] / r;
        if (i == 0 || d < best)
            best = d, pick = i;
    }
    return names[pick];
}

static long clamp_side(long v)
{
    return v < 512 ? 512 : v > 1024 ? 1024 : v;
}

static int images_build(struct aigw_call *call)
{
    const char *model = call->model ? call->model : "";
    const char *prompt = cJSON_GetStringValue(oaiw_get(call->body, "prompt"));
    int flux = strstr(model, "flux") != NULL, rc;
    const char *ar;
    char *path;
    long w, h;
    cJSON *body;

    if (!prompt)
        return AIGW_EINVAL;
    /* Catalog ids come bare ("flux-1-schnell-fp8"); Fireworks paths are account-qualified. */
    path = call->host->strf(call, "/%s/%s%s%s", flux ? "workflows" : "image_generation",
                            strncmp(model, "accounts/", 9) ? "accounts/fireworks/models/" : "",
                            model, flux ? "/text_to_image" : "");
    if (!path || !(body = cJSON_CreateObject()))
        return AIGW_ENOMEM;
    rc = oaiw_set(body, "prompt", cJSON_CreateString(prompt));
    if (flux && !rc && (ar = aspect_ratio(call)))
        rc = oaiw_set(body, "aspect_ratio", cJSON_CreateString(ar));
    if (!flux && !rc) {
        rc = oaiw_set(body, "samples", cJSON_CreateNumber(wanted_images(call)));
        if (!rc && parse_size(call, &w, &h) == 0 &&
            !(rc = oaiw_set(body, "width", cJSON_CreateNumber(clamp_side(w)))))
            rc = oaiw_set(body, "height", cJSON_CreateNumber(clamp_side(h)));
    }
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    /* Without it the answer is raw image bytes. */
    if ((rc = oaiw_post(call, &target, path, body)))
        return rc;
    return call->host->add_header(call, "Accept", "application/json", 0);
}

/* One base64 image, with or without its data: prefix, as the client asked for it. */
static int emit_image(struct aigw_call *call, int index, const char *s)
{
    const char *comma = strncmp(s, "data:", 5) == 0 ? strchr(s, ',') : NULL;
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_IMAGE, index);

    if (oaiw_str_is(oaiw_get(call->body, "response_format"), "b64_json")) {
        c.text = aigw_bytes_of(comma ? comma + 1 : s);
        c.is_b64 = 1;
    } else {
        /* There is no hosted URL; a data: URL is the only url we can give. */
        c.text = aigw_bytes_of(comma ? s : call->host->strf(call, "data:image/png;base64,%s", s));
        if (!c.text.ptr)
            return AIGW_ENOMEM;
    }
    return call->host->emit(call, &c);
}

static int images_parse(struct aigw_call *call, struct aigw_bytes body)
{
    struct fw_state *st = call->state;
    const cJSON *root = call->host->json_parse(call, body), *item, *b;
    const char *reason = cJSON_GetStringValue(oaiw_get(root, "finishReason"));
    int rc, emitted = 0;

    /* workflows: {"base64":[...],"finishReason"}; image_generation: [{"base64","finishReason"}]*/
    const cJSON *list = cJSON_IsArray(root) ? root : NULL;
    const cJSON *items = list ? list : oaiw_get(root, "base64");

    if (!list && !cJSON_IsObject(root))
        return AIGW_EPROTO;
    if (oaiw_get(root, "error")) /* an error document on a 200: the host reports it */
        return call->host->oai_parse_response(call, body);
    cJSON_ArrayForEach(item, items)
    {
        const cJSON *fr = oaiw_get(list ? item : root, "finishReason");
        b = list ? oaiw_get(item, "base64") : item;
        if (cJSON_IsString(fr) && strcmp(fr->valuestring, "SUCCESS") != 0) {
            reason = fr->valuestring;
            continue;
        }
        if (!cJSON_IsString(b) || !*b->valuestring || st->images >= MAX_IMAGES)
            continue;
        if ((rc = emit_image(call, st->images++, b->valuestring)) < 0)
            return rc;
        emitted++;
    }
    if (!emitted && st->images > 0) /* a later workflow call came back empty: keep what we have */
        return 0;
    if (!emitted) {
        struct aigw_error e;
        /* CONTENT_FILTERED and kin: the prompt was refused, as OpenAI's policy 400. */
        aigw_error_init(&e);
        e.status = 400;
        e.type = "invalid_request_error";
        e.code = reason && strstr(reason, "FILTER") ? "content_policy_violation" : NULL;
        e.message = call->host->strf(call, "Fireworks returned no image (finishReason %s)",
                                     reason ? reason : "missing");
        return aigw_emit_error(call, &e);
    }
    /* A workflow makes one image per call: ask again until n are made. */
    if (!list && st->images < wanted_images(call)) {
        if ((rc = images_build(call)))
            return rc;
        return AIGW_CONTINUE;
    }
    return 0;
}

OAIW_PLUGIN("Fireworks AI", "fireworks", "FIREWORKS", BASE_DEFAULT,
            AIGW_CAP_CHAT | AIGW_CAP_STREAM | AIGW_CAP_TOOLS | AIGW_CAP_VISION |
                AIGW_CAP_JSON_SCHEMA | AIGW_CAP_REASONING | AIGW_CAP_IMAGES,
            .state_size = sizeof(struct fw_state), .build_request = build_request,
            OAIW_STOCK_PARSERS, .images_build = images_build, .images_parse = images_parse)
