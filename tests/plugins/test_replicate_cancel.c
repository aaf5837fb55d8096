/*
 * test_replicate_cancel - the replicate plugin's cancel request (ABI 1.6 cancel_build) through
 * the real loader and exchange: nothing before a prediction exists or once it finished; a
 * POST to its cancel URL on the configured origin, with the token, while it runs (polled or
 * streamed); and the Cancel-After deadline a polled prediction is created with.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "plugins/harness.h"

#define CANARY "r8_CANARY-1234-replicate-token"
#define CHAT AIGW_OP_CHAT
#define PID "q7x2m4k9p1r8s5t3v6w0y2z4ab"
#define SID "h3k8n2p6r9t1v4w7y0z5b8c2df"
#define JSON_HDRS "Content-Type: application/json\r\n"
#define SSE_HDRS "Content-Type: text/event-stream\r\n"
#define ASK(stream)                                                                                \
    "{\"model\":\"meta/meta-llama-3-8b-instruct\",\"stream\":" stream ","                          \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Name a fjord.\"}]}"

static struct ph_call *begin(const char *json)
{
    ph_unenv("REPLICATE_WAIT_SECONDS", "REPLICATE_POLL_INTERVAL_MS", "REPLICATE_POLL_TIMEOUT_MS",
             NULL);
    ph_env("REPLICATE_API_TOKEN", CANARY, "REPLICATE_BASE_URL", "http://mock.test/v1/", NULL);
    return ph_begin("replicate", CHAT, json);
}

static void assert_nothing_to_cancel(struct ph_call *c)
{
    const char *job = "unset";
    cr_assert_eq(ph_cancel(c, &job), 1);
    cr_assert_null(job);
}

Test(replicate_cancel, polled_prediction_until_it_finishes)
{
    struct ph_call *c = begin(ASK("false"));
    assert_nothing_to_cancel(c); /* nothing created yet */
    ph_free(c);

    c = begin(ASK("false"));
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                 AIGW_CONTINUE);
    const char *job = NULL;
    cr_assert_eq(ph_cancel(c, &job), 0);
    cr_assert_str_eq(job, PID);
    cr_assert_str_eq(ph_method(c), "POST");
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" PID "/cancel");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    cr_assert_eq(ph_body_len(c), 0);
    ph_free(c);

    /* Finished, failed or canceled: nothing is left running. */
    static const char *const final[] = {"replicate/prediction_succeeded.json",
                                        "replicate/prediction_failed.json",
                                        "replicate/prediction_canceled.json"};
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++) {
        c = begin(ASK("false"));
        cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_starting.json", 0),
                     AIGW_CONTINUE);
        ph_respond_file(c, 200, JSON_HDRS, final[i], 0);
        assert_nothing_to_cancel(c);
        ph_free(c);
    }
}

Test(replicate_cancel, streamed_prediction_until_its_done_event)
{
    struct ph_call *c = begin(ASK("true"));
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_stream_created.json", 0),
                 AIGW_CONTINUE);
    const char *job = NULL;
    cr_assert_eq(ph_cancel(c, &job), 0);
    cr_assert_str_eq(job, SID);
    cr_assert_str_eq(ph_url(c), "http://mock.test/v1/predictions/" SID "/cancel");
    cr_assert_str_eq(ph_header(c, "Authorization"), "Bearer " CANARY);
    ph_free(c);

    c = begin(ASK("true"));
    cr_assert_eq(ph_respond_file(c, 201, JSON_HDRS, "replicate/prediction_stream_created.json", 0),
                 AIGW_CONTINUE);
    ph_respond_file(c, 200, SSE_HDRS, "replicate/stream_text.sse", 0);
    assert_nothing_to_cancel(c); /* the done event ended it */
    ph_free(c);
}

Test(replicate_cancel, polled_prediction_gets_a_cancel_after_deadline)
{
    struct ph_call *c = begin(ASK("false"));
    /* REPLICATE_POLL_TIMEOUT_MS (300000) and one poll interval (1000), in seconds. */
    cr_assert_str_eq(ph_header(c, "Cancel-After"), "301s");
    ph_free(c);

    ph_env("REPLICATE_POLL_TIMEOUT_MS", "1500", "REPLICATE_POLL_INTERVAL_MS", "250", NULL);
    c = ph_begin("replicate", CHAT, ASK("false"));
    cr_assert_str_eq(ph_header(c, "Cancel-After"), "2s");
    ph_free(c);

    /* A stream has no deadline the gateway keeps: none is set for it. */
    c = begin(ASK("true"));
    cr_assert_null(ph_header(c, "Cancel-After"));
    ph_free(c);
}
