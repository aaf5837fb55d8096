/*
 * test_replicate - the replicate plugin through the real loader, exchange and renderer:
 * prediction requests (prompt rendering, parameters, model / version endpoints, Prefer: wait),
 * results, polling with its deadline, the stream URL continuation and SSE events (whole and
 * split at every byte), image generation, errors, secrets, and a replay of the shared real
 * recordings when present.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/harness.h"
#include "plugins/testutil.h"

#define at(root, path) tu_at(root, path)
#define str_at(root, path) tu_str_at(root, path)
#define num_at(root, path) tu_num_at(root, path)
#define assert_json(got, expected) tu_assert_json(got, expected)

#define CANARY "r8_CANARY-1234-replicate-token"
#define CHAT AIGW_OP_CHAT
#define IMAGES AIGW_OP_IMAGES
#define PID "q7x2m4k9p1r8s5t3v6w0y2z4ab"
#define SID "h3k8n2p6r9t1v4w7y0z5b8c2df"
#define STREAM_URL                                                                                 \
    "https://stream.replicate.com/v1/streams/qmzxkq4ujd7ta2mz3s6lnbfxhgrvy5e2o3iwcjpk8a7bu1dt"
#define JSON_HDRS "Content-Type: application/json\r\n"
#define SSE_HDRS "Content-Type: text/event-stream\r\n"

static void env_default(void)
{
    ph_unenv("REPLICATE_WAIT_SECONDS", "REPLICATE_POLL_INTERVAL_MS", "REPLICATE_POLL_TIMEOUT_MS",
             NULL);
    ph_env("REPLICATE_API_TOKEN", CANARY, "REPLICATE_BASE_URL", "http://mock.test/v1/", NULL);
}

static struct ph_call *begin_op(int op, const char *json)
{
    env_default();
    return ph_begin("replicate", op, json);
}

static struct ph_call *begin(const char *json)
{
    return begin_op(CHAT, json);
}

static void assert_no_secret(struct ph_call *c)
{
    cr_assert_null(strstr(ph_output(c), CANARY), "token leaked: %s", ph_output(c));
}

/* ---- requests ------------------------------------------------------------------------------ */

Test(replicate_request, single_turn_official_model)
{
    struct ph_call *c =
        begin("{\"model\":\"replicate/meta/meta-llama-3-8b-instruct\",\"messages\":["
              "{\"role\":\"system\",\"content\":\"Be brief.\"},"
              "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Name a fjord.\"}]}],"
              "\"max_tokens\":64,\"temperature\":0.2,\"top_p\":0.8,\"seed\":11,"
              "\"stop\":[\"END\",\"STOP\"],\"tools\":[{\"type\":\"function\","
              "\"function\":{\"name\":\"f\"}}],\"user\":\"u\"}");
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c),
                     "http://mock.test/v1/models/meta/meta-llama-3-8b-instruct/predictions");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_str_eq(ph_header(c, "Content-Type"), "application/json");
    cr_assert_str_eq(ph_header(c, "Prefer"), "wait=60");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    assert_json(ph_body_json(c),
                "{\"input\":{\"prompt\":\"Name a fjord.\",\"system_prompt\":\"Be brief.\","
                "\"max_tokens\":64,\"temperature\":0.2,\"top_p\":0.8,\"seed\":11,"
                "\"stop_sequences\":\"END,STOP\"}}");
    ph_free(c);
}

Test(replicate_request, version_ids_and_wait_setting)
{
    env_default();
    ph_env("REPLICATE_WAIT_SECONDS", "0", NULL);
    struct ph_call *c = ph_begin(
        "replicate", CHAT,
        "{\"model\":\"acme/llm:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa\","
        "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions");
    cr_assert_null(ph_header(c, "Prefer"));
    assert_json(ph_body_json(c),
                "{\"version\":\"5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa\","
                "\"input\":{\"prompt\":\"Hi\"}}");
    ph_free(c);

    env_default();
    ph_env("REPLICATE_WAIT_SECONDS", "5", NULL);
    c = ph_begin("replicate", CHAT,
                 "{\"model\":\"5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa\","
                 "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions");
    cr_assert_str_eq(ph_header(c, "Prefer"), "wait=5");
    ph_free(c);
}

Test(replicate_request, multi_turn_transcript)
{
    struct ph_call *c =
        begin("{\"model\":\"mistralai/mixtral-8x7b-instruct-v0.1\",\"messages\":["
              "{\"role\":\"system\",\"content\":\"Be brief.\"},"
              "{\"role\":\"developer\",\"content\":\"Answer in English.\"},"
              "{\"role\":\"user\",\"content\":\"Hi\"},"
              "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
              "{\"role\":\"user\",\"content\":\"Name a fjord.\"}],\"max_completion_tokens\":9}");
    assert_json(ph_body_json(c),
                "{\"input\":{\"prompt\":\"User: Hi\\n\\nAssistant: Hello!\\n\\n"
                "User: Name a fjord.\\n\\nAssistant:\","
                "\"system_prompt\":\"Be brief.\\n\\nAnswer in English.\",\"max_tokens\":9}}");
    ph_free(c);

    /* The assistant's own last turn is continued, not cued again. */
    c = begin("{\"model\":\"mistralai/mixtral-8x7b-instruct-v0.1\",\"messages\":["
              "{\"role\":\"user\",\"content\":\"Hi\"},"
              "{\"role\":\"assistant\",\"content\":\"Hello, I am\"}]}");
    assert_json(ph_body_json(c),
                "{\"input\":{\"prompt\":\"User: Hi\\n\\nAssistant: Hello, I am\"}}");
    ph_free(c);
}

Test(replicate_request, multi_turn_llama3_template)
{
    struct ph_call *c = begin("{\"model\":\"meta/meta-llama-3-70b-instruct\",\"messages\":["
                              "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                              "{\"role\":\"user\",\"content\":\"Hi\"},"
                              "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                              "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"42\"},"
                              "{\"role\":\"user\",\"content\":\"Thanks\"}]}");
    assert_json(ph_body_json(c),
                "{\"input\":{\"prompt\":\"<|begin_of_text|>"
                "<|start_header_id|>system<|end_header_id|>\\n\\nBe brief.<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\\n\\nHi<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\\n\\nHello!<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\\n\\nTool result: 42<|eot_id|>"
                "<|start_header_id|>user<|end_header_id|>\\n\\nThanks<|eot_id|>"
                "<|start_header_id|>assistant<|end_header_id|>\\n\\n\","
                "\"prompt_template\":\"{prompt}\"}}");
    ph_free(c);
}

Test(replicate_request, llama2_max_new_tokens)
{
    struct ph_call *c = begin("{\"model\":\"meta/llama-2-70b-chat\",\"max_tokens\":500,"
                              "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                              "\"stop\":\"###\",\"presence_penalty\":0.5}");
    assert_json(ph_body_json(c), "{\"input\":{\"prompt\":\"Hi\",\"max_new_tokens\":500,"
                                 "\"stop_sequences\":\"###\",\"presence_penalty\":0.5}}");
    ph_free(c);
}

Test(replicate_request, refused)
{
    static const struct {
        const char *json;
        int rc;
        const char *why; /* in the client-visible message when set */
    } cases[] = {
        {"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         AIGW_EINVAL, "model must be owner/name[:version]"},
        {"{\"model\":\"../v1/x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         AIGW_EINVAL, NULL},
        {"{\"model\":\"a/b\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
         "\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}",
         AIGW_ENOTSUP, NULL},
        {"{\"model\":\"a/b\",\"n\":3,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         AIGW_ENOTSUP, "a prediction returns one choice (n = 1)"},
        {"{\"model\":\"a/b\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
         AIGW_EINVAL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        env_default();
        struct ph_call *c = ph_begin_rc("replicate", CHAT, cases[i].json, &rc);
        cr_assert_eq(rc, cases[i].rc, "case %zu: %d", i, rc);
        cr_assert_eq(ph_client_status(c), 400, "case %zu", i);
        if (cases[i].why)
            cr_assert_not_null(strstr(ph_output(c), cases[i].why), "case %zu: %s", i, ph_output(c));
        assert_no_secret(c);
        ph_free(c);
    }
}

/* ---- non-stream results and polling ---------------------------------------------------- */

#define CHAT_REQ                                                                                   \
    "{\"model\":\"meta/meta-llama-3-8b-instruct\",\"max_tokens\":64,"                              \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Name a fjord.\"}]}"

static void assert_fjord_answer(struct ph_call *c, const char *finish)
{
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "id"), PID);
    cr_assert_str_eq(str_at(o, "model"), "meta/meta-llama-3-8b-instruct");
    cr_assert_eq(num_at(o, "created"), 1741944413); /* 2025-03-14T09:26:53Z */
    cr_assert_str_eq(str_at(o, "choices.0.message.content"),
                     "\n\nThe Geirangerfjord is\nin Norway.");
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), finish);
    cr_assert_eq(num_at(o, "usage.prompt_tokens"), 18);
    cr_assert_eq(num_at(o, "usage.completion_tokens"), 9);
    cr_assert_eq(num_at(o, "usage.total_tokens"), 27);
    assert_no_secret(c);
}

Test(replicate_response, finished_within_wait)
{
    struct ph_call *c = begin(CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_succeeded.json", 0), 0);
    assert_fjord_answer(c, "stop");
    ph_free(c);

    /* output_token_count reached max_tokens: the answer was cut. */
    c = begin("{\"model\":\"meta/meta-llama-3-8b-instruct\",\"max_tokens\":9,"
              "\"messages\":[{\"role\":\"user\",\"content\":\"Name a fjord.\"}]}");
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_succeeded.json", 7), 0);
    assert_fjord_answer(c, "length");
    ph_free(c);
}

Test(replicate_response, polls_until_done)
{
    env_default();
    ph_env("REPLICATE_POLL_INTERVAL_MS", "250", NULL);
    struct ph_call *c = ph_begin("replicate", CHAT, CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                 AIGW_CONTINUE);
    /* urls.get is on api.replicate.com, the configured base is the mock: poll the mock. */
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" PID);
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_null(ph_header(c, "Prefer"));
    cr_assert_eq(ph_body_len(c), 0);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "replicate/prediction_processing.json", 0),
                 AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" PID);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "replicate/prediction_succeeded.json", 0), 0);
    assert_fjord_answer(c, "stop");
    ph_free(c);
}

Test(replicate_response, polls_urls_get_on_the_api_origin)
{
    env_default();
    ph_env("REPLICATE_BASE_URL", "https://api.replicate.com", NULL);
    struct ph_call *c = ph_begin("replicate", CHAT, CHAT_REQ);
    cr_assert_str_eq(ph_url(c), "https://api.replicate.com/v1/models/meta/meta-llama-3-8b-instruct/"
                                "predictions");
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                 AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "https://api.replicate.com/v1/predictions/" PID);
    ph_free(c);
}

/* A poll that fails (a 5xx, a 429) asks the same prediction again, never creates another:
 * a new attempt would start (and bill) a second prediction. */
Test(replicate_response, failed_poll_polls_the_same_prediction)
{
    static const char err[] = "{\"title\":\"Bad Gateway\",\"status\":502}";
    static const char slow[] = "{\"title\":\"Too Many Requests\",\"status\":429,"
                               "\"detail\":\"Request was throttled.\"}";
    struct ph_call *c = begin(CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                 AIGW_CONTINUE);
    cr_assert_eq(ph_respond(c, 502, JSON_HDRS, err, sizeof err - 1, 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" PID);
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_eq(ph_respond(c, 429, JSON_HDRS, slow, sizeof slow - 1, 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" PID);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "replicate/prediction_succeeded.json", 0), 0);
    assert_fjord_answer(c, "stop");
    ph_free(c);
}

/* A prediction that cannot be polled any more ends the request with an error that says so
 * and is not retried (a retry would create the prediction again). */
Test(replicate_response, poll_that_keeps_failing_is_not_retried)
{
    static const char err[] = "{\"title\":\"Service Unavailable\",\"status\":503}";
    struct ph_call *c = begin(CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                 AIGW_CONTINUE);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ph_respond(c, 503, JSON_HDRS, err, sizeof err - 1, 0), AIGW_CONTINUE);
        cr_assert_str_eq(ph_method(c), "GET");
        cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" PID);
    }
    cr_assert_eq(ph_respond(c, 503, JSON_HDRS, err, sizeof err - 1, 0), 0);
    const struct aigw_error *e = ph_error(c);
    cr_assert_not_null(e);
    cr_assert_eq(e->retryable, 0);
    cr_assert_str_eq(e->code, "follow_up_failed");
    cr_assert_not_null(strstr(e->message, "Service Unavailable"), "%s", e->message);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.code"), "follow_up_failed");
    assert_no_secret(c);
    ph_free(c);
}

Test(replicate_response, poll_deadline)
{
    env_default();
    ph_env("REPLICATE_POLL_TIMEOUT_MS", "0", NULL);
    struct ph_call *c = ph_begin("replicate", CHAT, CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0), 0);
    cr_assert_eq(ph_client_status(c), 504);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.type"), "timeout");
    ph_free(c);
}

Test(replicate_response, failed_and_canceled)
{
    struct ph_call *c = begin(CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                 AIGW_CONTINUE);
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "replicate/prediction_failed.json", 0), 0);
    cr_assert_eq(ph_client_status(c), 502);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "error.message"), "CUDA error: out of memory");
    cr_assert_str_eq(str_at(o, "error.code"), "prediction_failed");
    ph_free(c);

    c = begin(CHAT_REQ);
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_canceled.json", 0), 0);
    cr_assert_eq(ph_client_status(c), 502);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.code"), "prediction_canceled");
    ph_free(c);
}

/* ---- streams ------------------------------------------------------------------------------- */

#define STREAM_REQ                                                                                 \
    "{\"model\":\"meta/meta-llama-3-8b-instruct\",\"stream\":true,"                                \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Count to three.\"}]}"

/* Create the prediction and follow urls.stream; returns the call ready for the SSE body. */
static struct ph_call *stream_begin(void)
{
    struct ph_call *c = begin(STREAM_REQ);
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    cr_assert_null(ph_header(c, "Prefer"));
    assert_json(ph_body_json(c), "{\"input\":{\"prompt\":\"Count to three.\"},\"stream\":true}");
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_stream_created.json", 0),
                 AIGW_CONTINUE);
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), STREAM_URL);
    cr_assert_str_eq(ph_header(c, "Accept"), "text/event-stream");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    return c;
}

#define POLL_URL "http://mock.test/v1/predictions/" SID
#define FINAL_PREDICTION                                                                           \
    "{\"id\":\"" SID "\",\"status\":\"succeeded\",\"output\":[\"One\"],"                           \
    "\"metrics\":{\"input_token_count\":7,\"output_token_count\":5}}"

/* A stream that ended well asks for the prediction's final state (its token counts). */
static void respond_final(struct ph_call *c, int rc)
{
    static const char final[] = FINAL_PREDICTION;
    if (rc != AIGW_CONTINUE)
        return;
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), POLL_URL);
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    cr_assert_eq(ph_respond(c, 200, JSON_HDRS, final, sizeof final - 1, 0), 0);
}

static struct ph_call *stream_file(const char *fixture, size_t split)
{
    struct ph_call *c = stream_begin();
    respond_final(c, ph_respond_file(c, 200, SSE_HDRS, fixture, split));
    return c;
}

Test(replicate_stream, text_whole_and_split)
{
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = stream_file("replicate/stream_text.sse", split);
        cr_assert_str_eq(ph_stream_text(c), "One, two, three.");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert(ph_sse_done(c));
        cr_assert_str_eq(str_at(cJSON_GetArrayItem(ph_sse_events(c), 0), "choices.0.delta.role"),
                         "assistant");
        assert_no_secret(c);
        ph_free(c);
    }
}

Test(replicate_stream, multi_line_tokens_keep_newlines)
{
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = stream_file("replicate/stream_multiline.sse", split);
        cr_assert_str_eq(ph_stream_text(c), "Roses are red,\nviolets are blue\n\xe2\x80\x94 fin");
        cr_assert_str_eq(ph_stream_finish(c), "stop");
        cr_assert_null(strstr(ph_output(c), "generation complete"));
        ph_free(c);
    }
}

Test(replicate_stream, error_event_and_canceled)
{
    for (size_t split = 0; split <= 1; split++) {
        struct ph_call *c = stream_file("replicate/stream_error.sse", split);
        cr_assert_str_eq(ph_stream_text(c), "Partial");
        cJSON *evs = ph_sse_events(c);
        cJSON *last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
        cr_assert_str_eq(str_at(last, "error.message"),
                         "Prediction interrupted; please retry (code: PA)");
        cr_assert(ph_sse_done(c));
        ph_free(c);

        c = stream_file("replicate/stream_canceled.sse", split);
        cr_assert_str_eq(ph_stream_text(c), "Stopped");
        evs = ph_sse_events(c);
        last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
        cr_assert_str_eq(str_at(last, "error.code"), "prediction_canceled");
        cr_assert_null(ph_stream_finish(c));
        ph_free(c);
    }
}

/* Replicate's stream carries no token counts; the prediction's metrics have them once it is
 * done: one GET of the prediction after the stream's end (again while it is still finishing)
 * brings them as the stream's usage. */
Test(replicate_stream, usage_from_the_final_prediction)
{
    static const char processing[] = "{\"id\":\"" SID "\",\"status\":\"processing\"}";
    static const char final[] = FINAL_PREDICTION;
    env_default();
    ph_env("REPLICATE_POLL_INTERVAL_MS", "100", NULL);
    struct ph_call *c = ph_begin("replicate", CHAT,
                                 "{\"model\":\"meta/meta-llama-3-8b-instruct\",\"stream\":true,"
                                 "\"stream_options\":{\"include_usage\":true},\"messages\":["
                                 "{\"role\":\"user\",\"content\":\"Count to three.\"}]}");
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_stream_created.json", 0),
                 AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), STREAM_URL);
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDRS, "replicate/stream_text.sse", 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), POLL_URL);
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_eq(ph_respond(c, 200, JSON_HDRS, processing, sizeof processing - 1, 0),
                 AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), POLL_URL);
    cr_assert_eq(ph_respond(c, 200, JSON_HDRS, final, sizeof final - 1, 0), 0);
    cr_assert_str_eq(ph_stream_text(c), "One, two, three.");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert(ph_sse_done(c));
    cJSON *u = ph_usage(c);
    cr_assert_eq(num_at(u, "prompt_tokens"), 7);
    cr_assert_eq(num_at(u, "completion_tokens"), 5);
    cr_assert_eq(num_at(u, "total_tokens"), 12);
    assert_no_secret(c);
    ph_free(c);
}

/* The answer was whole before the usage was asked for: a usage fetch that keeps failing is
 * dropped (after the same bounded repeats as any poll), never turned into an error. */
Test(replicate_stream, failed_usage_fetch_keeps_the_answer)
{
    static const char err[] = "{\"title\":\"Internal Server Error\",\"status\":500}";
    struct ph_call *c = stream_begin();
    cr_assert_eq(ph_respond_file(c, 200, SSE_HDRS, "replicate/stream_text.sse", 0), AIGW_CONTINUE);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ph_respond(c, 500, JSON_HDRS, err, sizeof err - 1, 0), AIGW_CONTINUE);
        cr_assert_str_eq(ph_url(c), POLL_URL);
    }
    cr_assert_eq(ph_respond(c, 500, JSON_HDRS, err, sizeof err - 1, 0), 0);
    cr_assert_null(ph_error(c));
    cr_assert_eq(ph_client_status(c), 200);
    cr_assert_str_eq(ph_stream_text(c), "One, two, three.");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

Test(replicate_stream, plain_text_error_event)
{
    static const char sse[] = "event: error\nid: 1\ndata: model crashed\n\n";
    struct ph_call *c = stream_begin();
    cr_assert_eq(ph_respond(c, 200, SSE_HDRS, sse, sizeof sse - 1, 0), 0);
    cr_assert_eq(ph_client_status(c), 502);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.message"), "model crashed");
    ph_free(c);
}

Test(replicate_stream, untrusted_stream_url_is_polled_instead)
{
    static const char created[] =
        "{\"id\":\"" SID "\",\"status\":\"starting\",\"urls\":{\"get\":\"https://evil.example/p\","
        "\"stream\":\"https://evil.example/stream\"}}";
    struct ph_call *c = begin(STREAM_REQ);
    cr_assert_eq(ph_respond(c, 201, JSON_HDRS, created, sizeof created - 1, 0), AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" SID);
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_JSON);
    /* The result arrives whole and is streamed to the client. */
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "replicate/prediction_succeeded.json", 0), 0);
    cr_assert_str_eq(ph_stream_text(c), "\n\nThe Geirangerfjord is\nin Norway.");
    cr_assert_str_eq(ph_stream_finish(c), "stop");
    cr_assert(ph_sse_done(c));
    ph_free(c);
}

/* ---- images ---------------------------------------------------------------------------- */

Test(replicate_images, urls)
{
    struct ph_call *c = begin_op(IMAGES, "{\"model\":\"black-forest-labs/flux-schnell\","
                                         "\"prompt\":\"a red fox in snow\",\"n\":2,"
                                         "\"size\":\"1792x1024\",\"quality\":\"hd\"}");
    cr_assert_str_eq(ph_url(c),
                     "http://mock.test/v1/models/black-forest-labs/flux-schnell/predictions");
    cr_assert_str_eq(ph_header(c, "Prefer"), "wait=60");
    assert_json(ph_body_json(c), "{\"input\":{\"prompt\":\"a red fox in snow\",\"num_outputs\":2,"
                                 "\"aspect_ratio\":\"16:9\"}}");
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/image_succeeded.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_eq(cJSON_GetArraySize(at(o, "data")), 2);
    cr_assert_str_eq(str_at(o, "data.0.url"),
                     "https://replicate.delivery/xezq/fOxR3dSn0w1/out-0.webp");
    cr_assert_str_eq(str_at(o, "data.1.url"),
                     "https://replicate.delivery/xezq/fOxR3dSn0w2/out-1.webp");
    assert_no_secret(c);
    ph_free(c);
}

Test(replicate_images, aspect_ratios)
{
    static const char *const sizes[][2] = {{"1024x1024", "1:1"},
                                           {"1024x1792", "9:16"},
                                           {"1536x1024", "3:2"},
                                           {"1024x1536", "2:3"},
                                           {"256x256", "1:1"}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char req[256];
        snprintf(req, sizeof req,
                 "{\"model\":\"black-forest-labs/flux-schnell\","
                 "\"prompt\":\"p\",\"size\":\"%s\"}",
                 sizes[i][0]);
        struct ph_call *c = begin_op(IMAGES, req);
        cr_assert_str_eq(str_at(ph_body_json(c), "input.aspect_ratio"), sizes[i][1], "%s",
                         sizes[i][0]);
        ph_free(c);
    }
}

Test(replicate_images, b64_from_data_uri_after_polling)
{
    struct ph_call *c = begin_op(IMAGES, "{\"model\":\"black-forest-labs/flux-schnell\","
                                         "\"prompt\":\"a red fox in snow\","
                                         "\"response_format\":\"b64_json\"}");
    assert_json(ph_body_json(c), "{\"input\":{\"prompt\":\"a red fox in snow\","
                                 "\"output_format\":\"png\"}}");
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/image_starting.json", 0),
                 AIGW_CONTINUE);
    cr_assert_str_eq(ph_method(c), "GET");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/f9d2c7b4a1e8x6w3v0t5r2p9nm");
    cr_assert_eq(ph_respond_file(c, 200, JSON_HDRS, "replicate/image_data_uri.json", 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "data.0.b64_json"),
                     "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0"
                     "gAAAABJRU5ErkJggg==");
    cr_assert_null(at(o, "data.0.url"));
    ph_free(c);
}

Test(replicate_images, refused)
{
    int rc = 0;
    env_default();
    struct ph_call *c = ph_begin_rc("replicate", IMAGES,
                                    "{\"model\":\"black-forest-labs/flux-schnell\","
                                    "\"prompt\":\"p\",\"n\":5}",
                                    &rc);
    cr_assert_eq(rc, AIGW_ENOTSUP);
    ph_free(c);
    c = ph_begin_rc("replicate", IMAGES,
                    "{\"model\":\"black-forest-labs/flux-schnell\",\"prompt\":\"p\","
                    "\"size\":\"big\"}",
                    &rc);
    cr_assert_eq(rc, AIGW_EINVAL);
    ph_free(c);
}

/* ---- errors ----------------------------------------------------------------------------- */

Test(replicate_errors, problem_json)
{
    static const struct {
        int upstream;
        const char *fixture, *headers;
        int status;
        const char *type, *message;
        int retryable;
        int64_t retry_after_ms;
    } cases[] = {
        {401, "replicate/error_401.json", "", 401, "authentication_error",
         "You did not pass a valid authentication token", 0, -1},
        {404, "replicate/error_404.json", "", 404, "not_found_error",
         "The requested resource could not be found.", 0, -1},
        {422, "replicate/error_422.json", "", 400, "invalid_request_error",
         "- input.max_tokens: Must be greater than or equal to 1\n", 0, -1},
        {429, "replicate/error_429.json", "retry-after: 3\r\n", 429, "rate_limit_error",
         "Request was throttled. Expected available in 7 seconds.", 1, 3000},
        {429, "replicate/error_429.json", "", 429, "rate_limit_error",
         "Request was throttled. Expected available in 7 seconds.", 1, 7000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ph_call *c = begin(CHAT_REQ);
        char hdrs[256];
        snprintf(hdrs, sizeof hdrs, "Content-Type: application/problem+json\r\n%s",
                 cases[i].headers);
        cr_assert_eq(ph_respond_file(c, cases[i].upstream, hdrs, cases[i].fixture, 0), 0);
        const struct aigw_error *e = ph_error(c);
        cr_assert_not_null(e);
        cr_assert_eq(e->status, cases[i].status, "case %zu", i);
        cr_assert_eq(e->retryable, cases[i].retryable, "case %zu", i);
        cr_assert_eq(e->retry_after_ms, cases[i].retry_after_ms, "case %zu", i);
        cr_assert_eq(ph_client_status(c), cases[i].status, "case %zu", i);
        cJSON *o = ph_output_json(c);
        cr_assert_str_eq(str_at(o, "error.type"), cases[i].type, "case %zu", i);
        cr_assert_str_eq(str_at(o, "error.message"), cases[i].message, "case %zu", i);
        assert_no_secret(c);
        ph_free(c);
    }
}

/* ---- conformance: the shared real recordings ------------------------------------------- */

static const char *shared_dir(void)
{
    const char *dir = getenv("AIGW_SHARED_FIXTURES");
    char path[4096];
    if (!dir)
        return NULL;
    snprintf(path, sizeof path, "%s/replicate", dir);
    FILE *probe = fopen(path, "r");
    if (!probe)
        return NULL;
    fclose(probe);
    return dir;
}

static char *shared(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/replicate/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s missing", path);
    char *b = malloc(1 << 16);
    cr_assert_not_null(b);
    *len = fread(b, 1, (1 << 16) - 1, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static struct ph_call *respond_shared(struct ph_call *c, const char *dir, const char *name,
                                      int status, const char *hdrs, int want_rc)
{
    size_t len;
    char *body = shared(dir, name, &len);
    cr_assert_eq(ph_respond(c, status, hdrs, body, len, 0), want_rc, "%s", name);
    free(body);
    return c;
}

Test(replicate_conformance, recorded_predictions)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");

    /* Prefer: wait answered while still processing: poll. */
    struct ph_call *c = begin(CHAT_REQ);
    respond_shared(c, dir, "prediction_create_prefer_wait_201.json", 201, JSON_HDRS, AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/jp9nrd1g2hrj20cjb2vrb55mkr");
    /* A succeeded text prediction: the tokens joined. */
    size_t len;
    char *raw = shared(dir, "prediction_succeeded_text_output.json", &len);
    cJSON *rec = cJSON_Parse(raw);
    cr_assert_not_null(rec);
    char want[8192] = "";
    const cJSON *tok;
    cJSON_ArrayForEach(tok, cJSON_GetObjectItemCaseSensitive(rec, "output"))
    {
        size_t n = strlen(want);
        snprintf(want + n, sizeof want - n, "%s", tok->valuestring);
    }
    cr_assert_eq(ph_respond(c, 200, JSON_HDRS, raw, len, 0), 0);
    cJSON *o = ph_output_json(c);
    cr_assert_str_eq(str_at(o, "choices.0.message.content"), want);
    cr_assert_not_null(strstr(want, "open source"));
    cr_assert_str_eq(str_at(o, "choices.0.finish_reason"), "stop");
    cr_assert_str_eq(str_at(o, "id"), "lcugc4dbrucyanpbgo6mokdwpu");
    cJSON_Delete(rec);
    free(raw);
    ph_free(c);

    /* A canceled prediction. */
    c = begin(CHAT_REQ);
    respond_shared(c, dir, "prediction_cancel_200.json", 200, JSON_HDRS, 0);
    cr_assert_eq(ph_client_status(c), 502);
    ph_free(c);

    /* An official-model create answer (starting, no stream): poll. */
    c = begin(CHAT_REQ);
    respond_shared(c, dir, "prediction_create_official_model_201.json", 201, JSON_HDRS,
                   AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/heat2o3bzn3ahtr6bjfftvbaci");
    ph_free(c);

    /* An image prediction. */
    c = begin_op(IMAGES, "{\"model\":\"stability-ai/sdxl\",\"prompt\":\"a corgi\"}");
    respond_shared(c, dir, "prediction_get_succeeded_image.json", 200, JSON_HDRS, 0);
    cr_assert_str_eq(str_at(ph_output_json(c), "data.0.url"),
                     "https://replicate.delivery/pbxt/"
                     "9inf36wjsEWuQ6XTf84iezPftv9QZdePfGySnU5tUai3BOrWE/out-0.png");
    ph_free(c);

    /* The auth error. */
    c = begin(CHAT_REQ);
    respond_shared(c, dir, "error_401_unauthenticated.json", 401,
                   "Content-Type: application/problem+json\r\n", 0);
    cr_assert_eq(ph_client_status(c), 401);
    cr_assert_str_eq(str_at(ph_output_json(c), "error.message"),
                     "You did not pass a valid authentication token");
    ph_free(c);
}

Test(replicate_conformance, recorded_streams)
{
    const char *dir = shared_dir();
    if (!dir)
        cr_skip_test("shared fixtures absent");

    struct ph_call *c = begin(STREAM_REQ);
    respond_shared(c, dir, "prediction_create_with_stream_201.json", 201, JSON_HDRS, AIGW_CONTINUE);
    cr_assert_str_eq(ph_url(c), "https://streaming-api.svc.us.c.replicate.net/v1/predictions/"
                                "4awn473bsrztjzlx2b6ufoxkkm");
    cr_assert_eq(ph_framing(c), AIGW_FRAMING_SSE);
    ph_free(c);

    static const struct {
        const char *name, *text;
        int error;
    } cases[] = {
        {"stream_output_done.sse", "hello worldhello dave", 0},
        {"stream_multiline_output.sse", "hello,\nthis is a new line,\nand this is a new line too",
         0},
        {"stream_error_event.sse", "hello world", 1},
        {"stream_docs_excerpt.sse", "Once upon a time...", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t split = 0; split <= 1; split++) {
            size_t len;
            char *body = shared(dir, cases[i].name, &len);
            c = stream_begin();
            int rc = ph_respond(c, 200, SSE_HDRS, body, len, split);
            cr_assert_eq(rc, cases[i].error ? 0 : AIGW_CONTINUE, "%s", cases[i].name);
            respond_final(c, rc);
            free(body);
            cr_assert_str_eq(ph_stream_text(c), cases[i].text, "%s", cases[i].name);
            cr_assert(ph_sse_done(c));
            if (cases[i].error) {
                cr_assert_str_eq(ph_error(c)->message, "An unexpected error occurred");
            } else {
                cr_assert_null(ph_error(c));
                cr_assert_str_eq(ph_stream_finish(c), "stop");
            }
            ph_free(c);
        }
    }
}

/* What Replicate cannot express gets the same client document for chat and images: 400,
 * invalid_request_error, code "unsupported" and the reason as the message. */
Test(replicate_request, unsupported_refusals_exact_client_error)
{
    static const struct {
        int op;
        const char *json;
        const char *why;
    } cases[] = {
        {CHAT, "{\"model\":\"a/b\",\"n\":3,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "a prediction returns one choice (n = 1)"},
        {CHAT,
         "{\"model\":\"a/b\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
         "\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}",
         "Replicate language models take text content only"},
        {IMAGES, "{\"model\":\"black-forest-labs/flux-schnell\",\"prompt\":\"p\",\"n\":5}",
         "n must be between 1 and 4 for Replicate image models"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = 0;
        env_default();
        struct ph_call *c = ph_begin_rc("replicate", cases[i].op, cases[i].json, &rc);
        cr_assert_eq(rc, AIGW_ENOTSUP, "case %zu: rc %d", i, rc);
        tu_expect_error(c, 400, cases[i].why, "invalid_request_error", NULL, "unsupported");
        cr_assert_eq(ph_error(c)->retry_after_ms, -1, "case %zu", i);
        assert_no_secret(c);
        ph_free(c);
    }
}

/* A 429's hint: host->retry_after_ms for every header form the host reads; only when the
 * headers give none, the wait Replicate writes into its message (7 s in the fixture). */
Test(replicate_errors, retry_after_forms_read_by_the_host)
{
    char hdrs[512];
    for (size_t i = 0; i <= TU_RETRY_HINTS; i++) {
        struct ph_call *c = begin(CHAT_REQ);
        snprintf(hdrs, sizeof hdrs, "Content-Type: application/problem+json\r\n%s",
                 i < TU_RETRY_HINTS ? tu_retry_hints[i].headers : "retry-after: soon\r\n");
        cr_assert_eq(ph_respond_file(c, 429, hdrs, "replicate/error_429.json", 0), 0);
        cr_assert_eq(ph_error(c)->retry_after_ms, i < TU_RETRY_HINTS ? tu_retry_hints[i].ms : 7000,
                     "%s-> %lld", hdrs, (long long)ph_error(c)->retry_after_ms);
        assert_no_secret(c);
        ph_free(c);
    }
}
