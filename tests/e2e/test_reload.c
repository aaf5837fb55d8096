/*
 * test_reload - the configuration reloaded while serving (proxy/reload.c): a stream in flight
 * survives a SIGHUP that changes the routing strategy and ends intact on the old routing,
 * while the next request follows the new one (seen by which provider's mock route gets it); a
 * broken file is refused with its reason, by signal and by the admin call, and the old
 * configuration keeps serving; the admin call needs the admin key; keys only a restart
 * applies are reported, not applied; client keys and guardrails change without a restart.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/test_routing.h"

#define ADMIN "admin-key-for-reload-tests-0123"

/* fallback: openai first, groq only when openai fails */
#define CFG_FALLBACK                                                                               \
    "{\"threads\":1,\"routing\":{\"strategy\":\"fallback\",\"targets\":[\"openai\",\"groq\"],"     \
    "\"retry\":{\"backoff_ms\":10,\"backoff_max_ms\":20}}}"
/* single: groq only */
#define CFG_SINGLE_GROQ                                                                            \
    "{\"threads\":1,\"routing\":{\"strategy\":\"single\",\"targets\":[\"groq\"]}}"

struct rl {
    struct mock *m;
    struct e2e_gw *gw;
    char dir[64];
    char path[128];
};

static void write_config(struct rl *t, const char *text)
{
    /* Written beside and renamed over, as an editor or a deploy tool does. */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.new", t->path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, t->path), 0);
}

/* Three OpenAI-wire providers on one mock (test_routing.h); openai's stream is slow (150 ms
 * between events), so a stream is still running when the test reloads. */
static void start(struct rl *t, const char *config)
{
    t->m = rt_mock();
    rt_add(t->m, "openai",
           "\"match_body\":{\"stream\":true},\"body_file\":\"mock/stream_text.sse\","
           "\"chunk_delay_ms\":150");
    rt_add(t->m, "openai", "\"body_file\":\"mock/chat.json\"");
    rt_ok(t->m, "groq");
    rt_ok(t->m, "xai");
    snprintf(t->dir, sizeof t->dir, "/tmp/aigw-reload.XXXXXX");
    cr_assert_not_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/aigw.json", t->dir);
    write_config(t, config);
    const char *env[] = {
        "OPENAI_API_KEY=sk-test-openai", e2e_strf("OPENAI_BASE_URL=%s/openai/v1", mock_url(t->m)),
        "GROQ_API_KEY=gsk-test",         e2e_strf("GROQ_BASE_URL=%s/groq/v1", mock_url(t->m)),
        "XAI_API_KEY=xai-test",          e2e_strf("XAI_BASE_URL=%s/xai/v1", mock_url(t->m)),
        "AIGW_ADMIN_KEY=" ADMIN,         NULL};
    const char *args[] = {"--config", t->path, NULL};
    t->gw = e2e_gw_start_opts(&(struct e2e_gw_opts){.env = env, .args = args});
}

static void stop(struct rl *t)
{
    rt_stop(t->gw, t->m);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.new", t->path);
    unlink(tmp);
    unlink(t->path);
    rmdir(t->dir);
}

static struct e2e_resp *reload_call(struct rl *t, const char *auth)
{
    return e2e_request("POST", e2e_strf("%s/admin/config/reload", e2e_gw_url(t->gw)), "", auth,
                       10000);
}

static struct e2e_resp *admin_get(struct rl *t, const char *path)
{
    return e2e_request("GET", e2e_strf("%s%s", e2e_gw_url(t->gw), path), NULL,
                       "Authorization: Bearer " ADMIN, 10000);
}

static const char *error_message(struct e2e_resp *r)
{
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(e2e_resp_json(r), "error"), "message");
    return cJSON_IsString(m) ? m->valuestring : "";
}

/* One chat request; asserts 200 and that exactly the provider `vkey` got one more call. */
static void chat_goes_to(struct rl *t, const char *vkey)
{
    int before_openai = rt_hits(t->m, "openai"), before_groq = rt_hits(t->m, "groq");
    struct e2e_resp *r = rt_post(t->gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    int openai = rt_hits(t->m, "openai") - before_openai;
    int groq = rt_hits(t->m, "groq") - before_groq;
    cr_assert_eq(openai + groq, 1, "one upstream call: openai %d, groq %d", openai, groq);
    cr_assert_eq(!strcmp(vkey, "openai") ? openai : groq, 1, "not sent to %s (openai %d groq %d)",
                 vkey, openai, groq);
}

Test(reload, a_stream_survives_sighup_and_the_next_request_uses_the_new_strategy)
{
    struct rl t;
    start(&t, CFG_FALLBACK);
    chat_goes_to(&t, "openai");

    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(t.gw)),
                                            RT_STREAM, NULL, &(struct e2e_stream_opts){0});
    cr_assert_eq(e2e_stream_wait_events(s, 2, 10000), 0, "the stream did not start");

    write_config(&t, CFG_SINGLE_GROQ);
    cr_assert_eq(e2e_gw_signal(t.gw, SIGHUP), 0);
    rt_log_has(t.gw, "generation 2 serves new requests");
    /* The stream was in flight across the reload: its upstream is still being answered. */
    cr_assert_eq(mock_active_requests(t.m), 1, "the stream ended before the reload was done");

    /* The next request follows the new strategy (single: groq), while the stream goes on. */
    chat_goes_to(&t, "groq");
    chat_goes_to(&t, "groq");

    struct e2e_resp *r = e2e_stream_finish(s, 20000);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(r->curl_code, 0, "the stream broke: %s", r->error);
    cr_assert(e2e_resp_done(r), "no [DONE]:\n%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), RT_TEXT, "the stream's text changed");
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(t.m, "openai"), 2, "the stream stayed on openai (the old routing)");

    r = admin_get(&t, "/admin/config");
    cr_assert_eq(r->status, 200, "%s", r->body);
    const cJSON *doc = e2e_resp_json(r);
    cr_assert_eq(cJSON_GetObjectItem(doc, "generation")->valuedouble, 2);
    const cJSON *strategy = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "config"), "routing"), "strategy");
    cr_assert(cJSON_IsString(strategy) && !strcmp(strategy->valuestring, "single"), "%s", r->body);
    e2e_resp_free(r);
    stop(&t);
}

Test(reload, a_broken_file_is_refused_with_its_reason_and_the_old_one_keeps_serving)
{
    struct rl t;
    start(&t, CFG_FALLBACK);

    /* A routing error: the admin call says which key and why; nothing changes. */
    write_config(&t, "{\"routing\":{\"strategy\":\"fastest-please\",\"targets\":[\"groq\"]}}");
    struct e2e_resp *r = reload_call(&t, "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
    cr_assert(strstr(error_message(r), "routing.strategy"), "%s", r->body);
    cr_assert(strstr(error_message(r), t.path), "the file is named: %s", r->body);
    e2e_resp_free(r);
    rt_log_has(t.gw, "config reload refused, nothing changed (generation 1 still serves)");
    chat_goes_to(&t, "openai");

    /* Not JSON at all, by signal: logged, still serving the first configuration. */
    write_config(&t, "{\"routing\": {\"strategy\": \"single\", \"targets\": [\"groq\"]");
    cr_assert_eq(e2e_gw_signal(t.gw, SIGHUP), 0);
    rt_log_has(t.gw, "not valid JSON");
    chat_goes_to(&t, "openai");

    /* A guardrail that cannot be loaded, and an unknown key: refused the same way. */
    write_config(&t, "{\"guardrails\":[{\"name\":\"no-such-guard\"}]}");
    r = reload_call(&t, "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
    cr_assert(strstr(error_message(r), "guardrails"), "%s", r->body);
    e2e_resp_free(r);
    write_config(&t, "{\"routing\":{\"strategy\":\"single\",\"targets\":[\"groq\"]},"
                     "\"timeouts\":{\"conect_ms\":5}}");
    r = reload_call(&t, "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
    cr_assert(strstr(error_message(r), "timeouts.conect_ms: unknown key"), "%s", r->body);
    e2e_resp_free(r);
    chat_goes_to(&t, "openai");

    r = admin_get(&t, "/admin/config");
    cr_assert_eq(cJSON_GetObjectItem(e2e_resp_json(r), "generation")->valuedouble, 1);
    e2e_resp_free(r);

    /* Fixed: the same call applies it. */
    write_config(&t, CFG_SINGLE_GROQ);
    r = reload_call(&t, "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(e2e_resp_json(r), "reloaded")), "%s", r->body);
    cr_assert_eq(cJSON_GetObjectItem(e2e_resp_json(r), "generation")->valuedouble, 2);
    e2e_resp_free(r);
    chat_goes_to(&t, "groq");
    stop(&t);
}

Test(reload, the_admin_call_needs_the_admin_key)
{
    struct rl t;
    start(&t, CFG_FALLBACK);
    write_config(&t, CFG_SINGLE_GROQ);
    struct e2e_resp *r = reload_call(&t, NULL);
    cr_assert_eq(r->status, 401, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = reload_call(&t, "Authorization: Bearer admin-key-for-reload-tests-WRONG");
    cr_assert_eq(r->status, 401, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = reload_call(&t, "Authorization: Bearer sk-test-openai");
    cr_assert_eq(r->status, 401, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    chat_goes_to(&t, "openai"); /* nothing was reloaded */
    r = admin_get(&t, "/admin/config/reload");
    cr_assert_eq(r->status, 405, "GET does not reload: %d %s", r->status, r->body);
    e2e_resp_free(r);
    chat_goes_to(&t, "openai");
    stop(&t);
}

Test(reload, restart_only_keys_are_reported_and_not_applied)
{
    struct rl t;
    start(&t, CFG_FALLBACK);
    write_config(&t, "{\"threads\":3,\"listen\":\"127.0.0.1:1\",\"state_dir\":\"/nonexistent\","
                     "\"routing\":{\"strategy\":\"single\",\"targets\":[\"groq\"]}}");
    struct e2e_resp *r = reload_call(&t, "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    char *list = cJSON_PrintUnformatted(cJSON_GetObjectItem(e2e_resp_json(r), "needs_restart"));
    cr_assert_str_eq(list, "[\"listen\",\"threads\",\"state_dir\"]", "%s", r->body);
    free(list);
    e2e_resp_free(r);
    rt_log_has(t.gw, "listen, threads, state_dir changed and needs a restart (not applied)");
    /* Still on the same port, with the new routing. */
    chat_goes_to(&t, "groq");
    r = admin_get(&t, "/admin/config");
    const cJSON *doc = e2e_resp_json(r);
    list = cJSON_PrintUnformatted(cJSON_GetObjectItem(doc, "needs_restart"));
    cr_assert_str_eq(list, "[\"listen\",\"threads\",\"state_dir\"]", "%s", r->body);
    free(list);
    const cJSON *cfg = cJSON_GetObjectItem(doc, "config");
    cr_assert_eq(cJSON_GetObjectItem(cfg, "threads")->valuedouble, 1, "threads as running");
    cr_assert_str_eq(cJSON_GetObjectItem(cfg, "listen")->valuestring, "127.0.0.1:0");
    e2e_resp_free(r);
    stop(&t);
}

Test(reload, client_keys_change_without_a_restart)
{
    struct rl t;
    start(&t, CFG_FALLBACK);
    chat_goes_to(&t, "openai");
    write_config(&t, "{\"routing\":{\"strategy\":\"fallback\",\"targets\":[\"openai\",\"groq\"]},"
                     "\"auth\":{\"api_keys\":[\"client-key-0123456789\"]}}");
    cr_assert_eq(e2e_gw_signal(t.gw, SIGHUP), 0);
    rt_log_has(t.gw, "generation 2 serves new requests");
    struct e2e_resp *r = rt_post(t.gw, RT_CHAT, NULL);
    cr_assert_eq(r->status, 401, "a key is needed now: %d %s", r->status, r->body);
    e2e_resp_free(r);
    r = rt_post(t.gw, RT_CHAT, "Authorization: Bearer client-key-0123456789");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_null(strstr(e2e_gw_log(t.gw), "client-key-0123456789"), "a key reached the log");
    stop(&t);
}

/* Guardrails are swapped with the rest: a word the new file's guard denies is refused from
 * the reload on, with the routing that came with it; a stream that started before it, on the
 * old configuration (no guard), ends intact although its answer holds nothing denied anyway;
 * a reload back without the guard lets the word through again. */
Test(reload, guardrails_change_with_the_routing)
{
    struct rl t;
    start(&t, CFG_FALLBACK);
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    const char *gdir = e2e_strf("%s/plugins/guards/.libs", b ? b : ".");
    const char *ask = "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":\"a "
                      "forbidden fruit\"}]}";
    struct e2e_resp *r = rt_post(t.gw, ask, NULL);
    cr_assert_eq(r->status, 200, "no guard yet: %d %s", r->status, r->body);
    e2e_resp_free(r);

    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s/v1/chat/completions", e2e_gw_url(t.gw)),
                                            RT_STREAM, NULL, &(struct e2e_stream_opts){0});
    cr_assert_eq(e2e_stream_wait_events(s, 2, 10000), 0, "the stream did not start");
    write_config(&t, e2e_strf("{\"threads\":1,\"guard_dir\":\"%s\",\"guardrails\":[{\"name\":"
                              "\"word-filter\",\"config\":{\"words\":[\"forbidden fruit\"]}}],"
                              "\"routing\":{\"strategy\":\"single\",\"targets\":[\"groq\"]}}",
                              gdir));
    r = reload_call(&t, "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    cr_assert_eq(mock_active_requests(t.m), 1, "the stream ended before the reload was done");

    int groq = rt_hits(t.m, "groq");
    r = rt_post(t.gw, ask, NULL);
    cr_assert_eq(r->status, 400, "the new guard refuses: %d %s", r->status, r->body);
    cr_assert(strstr(error_message(r), "word-filter"), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_eq(rt_hits(t.m, "groq"), groq, "a refused request reaches no provider");
    chat_goes_to(&t, "groq"); /* and the routing came with it */

    r = e2e_stream_finish(s, 20000);
    cr_assert_eq(r->curl_code, 0, "the stream broke: %s", r->error);
    cr_assert(e2e_resp_done(r), "no [DONE]:\n%s", r->body);
    cr_assert_str_eq(e2e_resp_text(r), RT_TEXT);
    e2e_resp_free(r);

    write_config(&t, CFG_FALLBACK);
    cr_assert_eq(e2e_gw_signal(t.gw, SIGHUP), 0);
    rt_log_has(t.gw, "generation 3 serves new requests");
    r = rt_post(t.gw, ask, NULL);
    cr_assert_eq(r->status, 200, "the guard is gone again: %d %s", r->status, r->body);
    e2e_resp_free(r);
    stop(&t);
}
