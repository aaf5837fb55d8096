/*
 * test_log_bodies - log.bodies through the real aigw: the request's body and the answer as
 * the client got it (a JSON answer, an SSE stream, an error document) reach the request log,
 * a registered secret in them masked; a reload that turns log.bodies off stops keeping them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "admin/dirwait.h"
#include "e2e/e2e.h"

#define ADMIN "admin-key-for-bodies-tests-0123"
#define SECRET "sk-upstream-secret-0123456789"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static struct e2e_resp *admin(struct e2e_gw *gw, const char *method, const char *path)
{
    return e2e_request(method, e2e_strf("%s%s", e2e_gw_url(gw), path), method[0] == 'P' ? "" : NULL,
                       "Authorization: Bearer " ADMIN, 10000);
}

static const char *state_dir; /* the gateway's --state-dir, where the writer commits */

/* The row of request id, once the writer has it (or past a deadline). */
/* The answer's request id (the gateway's own: the client's X-Request-ID is inside it); frees r. */
static const char *id_of(struct e2e_resp *r)
{
    static char id[64];
    const char *h = e2e_resp_header(r, "X-Request-ID");
    cr_assert(h && strlen(h) < sizeof id);
    snprintf(id, sizeof id, "%s", h);
    e2e_resp_free(r);
    return id;
}

static struct e2e_resp *row(struct e2e_gw *gw, const char *id)
{
    long long deadline = now_ms() + 10000;
    int w = dirwait_open(state_dir);
    for (;;) {
        struct e2e_resp *r = admin(gw, "GET", e2e_strf("/admin/logs/%s", id));
        if (r->status == 200 || now_ms() > deadline) {
            close(w);
            return r;
        }
        e2e_resp_free(r);
        dirwait_wait(w, deadline);
    }
}

static const char *field(struct e2e_resp *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(e2e_resp_json(r), name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(log_bodies, bodies_are_kept_as_sent_redacted_and_a_reload_turns_them_off)
{
    struct mock *m = e2e_mock("openai_chat");
    char dir[] = "/tmp/aigw-bodies.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    state_dir = dir;
    const char *path = e2e_strf("%s/aigw.json", dir);
    write_file(path, "{\"threads\":1,\"log\":{\"bodies\":true}}");
    const char *env[] = {"OPENAI_API_KEY=" SECRET, e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)),
                         "AIGW_ADMIN_KEY=" ADMIN, NULL};
    const char *args[] = {"--state-dir", dir, "--config", path, NULL};
    struct e2e_gw *gw = e2e_gw_start_opts(&(struct e2e_gw_opts){.env = env, .args = args});

    const char *ask = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
                      "\"remember " SECRET " please\"}]}";
    struct e2e_resp *r = e2e_post(gw, "/v1/chat/completions", ask, "X-Request-ID: body-json");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    r = row(gw, id_of(r));
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    const char *req = field(r, "request_body"), *resp = field(r, "response_body");
    cr_assert(req && strstr(req, "remember"), "request body: %s", r->body);
    cr_assert(strstr(req, "[REDACTED]") && !strstr(req, SECRET), "not redacted: %s", req);
    cr_assert(resp && strstr(resp, "Hello from the aigw mock provider"), "answer: %s", r->body);
    e2e_resp_free(r);

    r = e2e_post(gw, "/v1/chat/completions",
                 "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"stream it\"}]}",
                 "X-Request-ID: body-stream");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    r = row(gw, id_of(r));
    resp = field(r, "response_body");
    cr_assert(resp && strstr(resp, "data: ") && strstr(resp, "[DONE]"), "the SSE sent: %s",
              r->body);
    e2e_resp_free(r);

    /* Refused before any upstream call: the error document is the answer kept. */
    r = e2e_post(gw, "/v1/chat/completions", "{\"model\":\"gpt-4o-mini\"}",
                 "X-Request-ID: body-bad");
    cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
    r = row(gw, id_of(r));
    resp = field(r, "response_body");
    cr_assert(resp && strstr(resp, "\"error\""), "the error sent: %s", r->body);
    cr_assert_str_eq(field(r, "request_body"), "{\"model\":\"gpt-4o-mini\"}");
    e2e_resp_free(r);

    write_file(path, "{\"threads\":1}");
    r = admin(gw, "POST", "/admin/config/reload");
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    e2e_resp_free(r);
    r = e2e_post(gw, "/v1/chat/completions", ask, "X-Request-ID: body-off");
    cr_assert_eq(r->status, 200);
    r = row(gw, id_of(r));
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(e2e_resp_json(r), "request_body")), "%s", r->body);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(e2e_resp_json(r), "response_body")), "%s", r->body);
    e2e_resp_free(r);
    cr_assert_null(strstr(e2e_gw_log(gw), SECRET), "the secret reached the log");

    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
