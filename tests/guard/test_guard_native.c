/*
 * Guardrails and the native Anthropic path: a Messages client whose request goes to a real
 * Anthropic target is forwarded its own body, not the chat translation the guards read. Every
 * text that body carries to the model and the translation drops (the Claude Code billing
 * block of system, a document's context and title, citations, thinking, server-tool and MCP
 * blocks, block types the translation does not know) must pass the input guards as well:
 *
 *   - each such text with a blocked phrase gets the 400 and reaches no upstream;
 *   - PII in one is redacted, and the rewritten request goes translated (never the client's
 *     own body with the number in it);
 *   - a request whose texts are clean still goes native, the billing block and all;
 *   - with log.bodies, a request an input guard refused is logged without its body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>
#include <unistd.h>

#include "e2e/e2e.h"

#define AHDR "anthropic-version: 2023-06-01\nx-api-key: client-key-ignored"
#define WORDS "[{\"name\":\"word-filter\",\"config\":{\"words\":[\"forbidden fruit\"]}}]"
#define M "{\"model\":\"anthropic/claude-sonnet-4-5\",\"max_tokens\":64,"
#define TEXTDOC "{\"type\":\"text\",\"media_type\":\"text/plain\",\"data\":\"x\"}"
#define TOOL_TURN                                                                                  \
    "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":"       \
    "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"t\",\"input\":{}}]},"

static const char *guard_dir(void)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    return e2e_strf("%s/plugins/guards/.libs", b ? b : ".");
}

static struct e2e_gw *gw_for(struct mock *m, const char *guardrails)
{
    const char *cfg = e2e_strf("{\"guard_dir\":\"%s\",\"guardrails\":%s}", guard_dir(), guardrails);
    return e2e_gw_start(cfg, "ANTHROPIC_API_KEY=sk-ant-test-gateway",
                        e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), NULL);
}

static void stop(struct e2e_gw *gw, struct mock *m)
{
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

static const char *const HIDDEN[][2] = {
    {"the billing block of system",
     M "\"system\":[{\"type\":\"text\",\"text\":\"x-anthropic-billing-header: forbidden "
       "fruit\"}],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"},
    {"a document's context",
     M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":" TEXTDOC
       ",\"context\":\"forbidden fruit\"},{\"type\":\"text\",\"text\":\"hi\"}]}]}"},
    {"a document's context in a tool result",
     M "\"messages\":[" TOOL_TURN "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
       "\"tool_use_id\":\"toolu_1\",\"content\":[{\"type\":\"document\",\"source\":" TEXTDOC
       ",\"context\":\"forbidden fruit\"}]}]}]}"},
    {"a server tool's input",
     M "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
       "[{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":"
       "{\"query\":\"forbidden fruit\"}}]},{\"role\":\"user\",\"content\":\"go\"}]}"},
    {"a thinking block",
     M "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
       "[{\"type\":\"thinking\",\"thinking\":\"forbidden fruit\",\"signature\":\"c2ln\"},"
       "{\"type\":\"text\",\"text\":\"ok\"}]},{\"role\":\"user\",\"content\":\"go\"}]}"},
    {"an MCP tool result",
     M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"mcp_tool_result\","
       "\"tool_use_id\":\"m1\",\"content\":[{\"type\":\"text\",\"text\":\"forbidden fruit\"}]},"
       "{\"type\":\"text\",\"text\":\"hi\"}]}]}"},
    {"a PDF document's title",
     M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"title\":"
       "\"forbidden fruit\",\"source\":{\"type\":\"base64\",\"media_type\":"
       "\"application/pdf\",\"data\":\"JVBERi0=\"}},{\"type\":\"text\",\"text\":\"hi\"}]}]}"},
    {"a stored file document's title",
     M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"title\":"
       "\"forbidden fruit\",\"source\":{\"type\":\"file\",\"file_id\":\"file_1\"}},"
       "{\"type\":\"text\",\"text\":\"hi\"}]}]}"},
    {"a citation's quoted text in an assistant turn",
     M "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
       "[{\"type\":\"text\",\"text\":\"ok\",\"citations\":[{\"type\":\"char_location\","
       "\"cited_text\":\"forbidden fruit\",\"document_index\":0,\"document_title\":\"d\","
       "\"start_char_index\":0,\"end_char_index\":15}]}]},{\"role\":\"user\",\"content\":"
       "\"go\"}]}"},
    {"a block type the translation does not know, in a tool result",
     M "\"messages\":[" TOOL_TURN "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
       "\"tool_use_id\":\"toolu_1\",\"content\":[{\"type\":\"future_block\",\"body\":{\"note\":"
       "\"forbidden fruit\"}}]}]}]}"},
};

Test(guard_native, every_text_a_native_target_gets_passes_the_input_guards)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
    struct e2e_gw *gw = gw_for(m, WORDS);
    for (size_t i = 0; i < sizeof HIDDEN / sizeof HIDDEN[0]; i++) {
        struct e2e_resp *r = e2e_post(gw, "/v1/messages", HIDDEN[i][1], AHDR);
        cr_assert_eq(r->status, 400, "%s: %d %s", HIDDEN[i][0], r->status, r->body);
        cr_assert_not_null(strstr(r->body, "guardrail 'word-filter'"), "%s", r->body);
        e2e_resp_free(r);
        cr_assert_eq(mock_request_count(m), 0, "%s reached the upstream unguarded", HIDDEN[i][0]);
    }

    /* Clean texts: the client's own body goes, its billing block and context included. */
    struct e2e_resp *r = e2e_post(
        gw, "/v1/messages",
        M "\"system\":[{\"type\":\"text\",\"text\":\"x-anthropic-billing-header: cc_version=2.1; "
          "cc_entrypoint=cli;\"}],\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
          "\"document\",\"source\":" TEXTDOC ",\"context\":\"the context\"},{\"type\":\"text\","
          "\"text\":\"hi\"}]}]}",
        AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_not_null(strstr(mock_req_body(q), "cc_entrypoint=cli;"), "%s", mock_req_body(q));
    cr_assert_not_null(strstr(mock_req_body(q), "\"context\":\"the context\""), "%s",
                       mock_req_body(q));
    cr_assert_null(strstr(mock_req_body(q), "\"role\":\"user\",\"content\":[{\"type\":\"text\","
                                            "\"text\":\"x-anthropic"),
                   "the guards' extra message was forwarded: %s", mock_req_body(q));
    mock_req_free(q);
    stop(gw, m);
}

Test(guard_native, pii_in_a_documents_context_never_reaches_the_upstream)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_load_scenario(m, "anthropic_inbound"), 0);
    struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\"}]");
    struct e2e_resp *r = e2e_post(
        gw, "/v1/messages",
        M "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":" TEXTDOC
          ",\"context\":\"card 4111 1111 1111 1111\"},{\"type\":\"text\",\"text\":\"hi\"}]}]}",
        AHDR);
    cr_assert_eq(r->status, 200, "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *q = mock_request(m, 0);
    cr_assert_null(strstr(mock_req_body(q), "4111"), "%s", mock_req_body(q));
    cr_assert_not_null(strstr(mock_req_body(q), "hi"), "%s", mock_req_body(q));
    mock_req_free(q);
    stop(gw, m);
}

/* A native answer's text passes the output guards whatever block carries it: a text block
 * with citations came whole, as a block the renderer passed on (the card number in it went
 * out), and a plain one left the guard's held tail behind its block's end (the client got
 * one text block cut in two). */
#define CITED_ANSWER                                                                               \
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"                    \
    "\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"pay with 4111 1111 1111 "    \
    "1111 now\"%s}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":"                \
    "{\"input_tokens\":5,\"output_tokens\":9}}"
#define CITATIONS                                                                                  \
    ",\"citations\":[{\"type\":\"char_location\",\"cited_text\":\"the doc\",\"document_index\":0," \
    "\"document_title\":\"d\",\"start_char_index\":0,\"end_char_index\":7}]"

Test(guard_native, a_native_answers_text_blocks_pass_the_output_guards)
{
    const char *cites[] = {CITATIONS, ""};
    for (int i = 0; i < 2; i++) {
        struct mock *m = e2e_mock(NULL);
        cJSON *route = cJSON_CreateObject();
        cJSON_AddStringToObject(route, "method", "POST");
        cJSON_AddStringToObject(route, "path", "/v1/messages");
        cJSON_AddItemToObject(route, "body", cJSON_Parse(e2e_strf(CITED_ANSWER, cites[i])));
        char *rj = cJSON_PrintUnformatted(route);
        cr_assert_eq(mock_add_route_json(m, rj), 0);
        free(rj);
        cJSON_Delete(route);
        struct e2e_gw *gw = gw_for(m, "[{\"name\":\"pii\"}]");
        struct e2e_resp *r = e2e_post(
            gw, "/v1/messages", M "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", AHDR);
        cr_assert_eq(r->status, 200, "%s", r->body);
        cr_assert_null(strstr(r->body, "4111"), "the card went out: %s", r->body);
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(e2e_resp_json(r), "content");
        cr_assert_eq(cJSON_GetArraySize(content), 1, "one block: %s", r->body);
        const cJSON *b = cJSON_GetArrayItem(content, 0);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(b, "text")->valuestring,
                         "pay with [CARD] now", "%s", r->body);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "citations")),
                     i == 0 ? 1 : 0, "%s", r->body);
        e2e_resp_free(r);
        stop(gw, m);
    }
}

/* The request log with log.bodies: a request an input guard refused is kept without its body,
 * as a rewritten one is: what a guard matched is never stored. */
Test(guard_native, a_refused_requests_body_is_not_kept_in_the_request_log)
{
    struct mock *m = e2e_mock(NULL);
    char *dir = e2e_strf("/tmp/aigw-guardlog-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    const char *cfg = e2e_strf("{\"guard_dir\":\"%s\",\"store\":{\"url\":\"sqlite:%s/aigw.db\"},"
                               "\"log\":{\"bodies\":true},\"guardrails\":%s}",
                               guard_dir(), dir, WORDS);
    struct e2e_gw *gw = e2e_gw_start(cfg, "ANTHROPIC_API_KEY=sk-ant-test-gateway",
                                     e2e_strf("ANTHROPIC_BASE_URL=%s", mock_url(m)), NULL);
    struct e2e_resp *r =
        e2e_post(gw, "/v1/messages",
                 M "\"messages\":[{\"role\":\"user\",\"content\":\"the forbidden fruit\"}]}", AHDR);
    cr_assert_eq(r->status, 400, "%s", r->body);
    e2e_resp_free(r);
    stop(gw, m); /* the store's queue is written by the end of a graceful stop */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open_v2(e2e_strf("%s/aigw.db", dir), &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT status, request_body FROM aigw_log", -1, &st, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(st, 0), 400);
    const char *body = (const char *)sqlite3_column_text(st, 1);
    cr_assert(!body || !strstr(body, "forbidden"), "the matched text was stored: %s", body);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(e2e_strf("%s/aigw.db", dir));
    unlink(e2e_strf("%s/aigw.db-wal", dir));
    unlink(e2e_strf("%s/aigw.db-shm", dir));
    rmdir(dir);
}
