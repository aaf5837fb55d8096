/*
 * The canary run: aigw with canary secrets everywhere a secret goes (the upstream providers'
 * keys, a static gateway key, a stored gateway key's secret, the admin key, the metrics
 * token), a state directory with the request log keeping bodies, tracing with content
 * capture to the test OTLP receiver, metrics, debug logging; a mix of requests (good ones in
 * every dialect, streams, wrong keys, upstream errors, one of them echoing the upstream key
 * back, admin calls); then every file under the state directory (the SQLite database, its
 * WAL), the log, /metrics, every span, every response body and header is searched for every
 * canary. None may appear anywhere (the one answer that shows a new key's secret, its
 * creation, excepted).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "gov/gov.h"
#include "otlprecv/otlprecv.h"

#define UPSTREAM "sk-canary-UPSTREAM-5b1e0c7d9a"
#define GEMINI "AIza-canary-GEMINI-77f01d2c"
#define STATIC "gw-canary-STATIC-3e9d41aa0b"
#define ADMIN "adm-canary-ADMIN-c0ffee1234"
#define METRICS "met-canary-METRICS-9a8b7c"

struct run {
    struct mock *m;
    struct otlprecv *otlp;
    struct e2e_gw *gw;
    char *dir;
    char *seen; /* every response's headers and body, one after the other */
    size_t nreq;
};

static void keep(struct run *x, struct e2e_resp *r)
{
    x->seen = e2e_strf("%s\n%s\n%s", x->seen, r->headers ? r->headers : "", r->body ? r->body : "");
    x->nreq++;
    e2e_resp_free(r);
}

static struct e2e_resp *call(struct run *x, const char *method, const char *path, const char *body,
                             const char *headers)
{
    return e2e_request(method, e2e_strf("%s%s", e2e_gw_url(x->gw), path), body, headers, 15000);
}

static void routes(struct mock *m)
{
    /* An upstream that echoes the key it was sent, whole, in its error (some do, masked or
     * not): aigw must not pass it on. Chosen by a message the test sends. */
    cr_assert_eq(
        mock_add_route_json(
            m,
            "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\",\"match_body\":{"
            "\"messages\":[{\"role\":\"user\",\"content\":\"echo\"}]},\"status\":401,"
            "\"body\":\"{\\\"error\\\":{\\\"message\\\":\\\"Incorrect API key provided: " UPSTREAM
            "\\\",\\\"type\\\":\\\"invalid_request_error\\\",\\\"code\\\":"
            "\\\"invalid_api_key\\\"}}\"}"),
        0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"match_body\":{\"messages\":[{\"role\":\"user\","
                                        "\"content\":\"fail\"}]},\"status\":500,"
                                        "\"body_file\":\"openai/error_500.json\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"match_body\":{\"messages\":[{\"role\":\"user\","
                                        "\"content\":\"cut\"}]},\"close_after_headers\":1,"
                                        "\"body\":\"x\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"match_body\":{\"stream\":true},"
                                        "\"body_file\":\"openai/stream_text.sse\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                        "\"body_file\":\"openai/chat.json\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":"
                                        "\"/v1beta/models/*:streamGenerateContent\","
                                        "\"body_file\":\"gemini/stream_text.sse\"}"),
                 0);
    cr_assert_eq(mock_add_route_json(m, "{\"method\":\"POST\",\"path\":"
                                        "\"/v1beta/models/*:generateContent\",\"status\":400,"
                                        "\"body_file\":\"gemini/error_400_api_key.json\"}"),
                 0);
}

static const char *chat(const char *text, int stream)
{
    return e2e_strf("{\"model\":\"gpt-4o-mini\",%s\"messages\":[{\"role\":\"user\","
                    "\"content\":\"%s\"}]}",
                    stream ? "\"stream\":true," : "", text);
}

/* Every regular file under dir, recursively. */
static void files_under(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = e2e_strf("%s/%s", dir, de->d_name);
        struct stat st;
        cr_assert_eq(lstat(p, &st), 0, "%s", p);
        if (S_ISDIR(st.st_mode)) {
            files_under(p, out, n);
        } else if (S_ISREG(st.st_mode)) {
            *out = realloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = p;
        }
    }
    closedir(d);
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = e2e_strf("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

Test(canary, no_secret_appears_in_any_file_log_metric_span_or_answer, .timeout = 120)
{
    struct run x = {0};
    x.seen = e2e_strf("%s", "");
    x.m = e2e_mock(NULL);
    routes(x.m);
    x.otlp = otlprecv_start();
    cr_assert_not_null(x.otlp);
    x.dir = gov_dir();
    const char *src = getenv("AIGW_TEST_SRCDIR");
    char *cfg = e2e_strf(
        "{\"threads\":1,%s,"
        "\"log\":{\"bodies\":true,\"access_log\":\"%s/access.log\",\"file\":\"%s/aigw.log\"},"
        "\"auth\":{\"api_keys\":[\"" STATIC "\"],\"max_failures\":0},"
        "\"metrics\":{\"token\":\"" METRICS "\"},"
        "\"routing\":{\"retry\":{\"max_attempts\":2,\"backoff_ms\":5,\"backoff_max_ms\":10}},"
        "\"otel\":{\"endpoint\":\"%s\",\"batch_interval_ms\":50,\"capture_content\":true}}",
        GOV_PRICES, x.dir, x.dir, otlprecv_url(x.otlp));
    const char *env[] = {"OPENAI_API_KEY=" UPSTREAM,
                         e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(x.m)),
                         "GEMINI_API_KEY=" GEMINI,
                         e2e_strf("GEMINI_BASE_URL=%s", mock_url(x.m)),
                         "AIGW_ADMIN_KEY=" ADMIN,
                         e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."),
                         NULL};
    const char *args[] = {"--state-dir", x.dir, NULL}; /* the test's own, searched after */
    x.gw = e2e_gw_start_opts(&(struct e2e_gw_opts){.config = cfg, .env = env, .args = args});

    /* Admin: a stored key (its secret shown once, in this answer only), a list, a show. */
    struct e2e_resp *r = call(&x, "POST", "/admin/keys", "{\"name\":\"canary\",\"budget_usd\":5}",
                              "Authorization: Bearer " ADMIN);
    cr_assert_eq(r->status, 201, "%s", r->body);
    cJSON *j = e2e_resp_json(r);
    const char *id = e2e_strf("%s", cJSON_GetObjectItem(j, "id")->valuestring);
    const char *token = e2e_strf("%s", cJSON_GetObjectItem(j, "key")->valuestring);
    const char *secret = strrchr(token, '_') + 1;
    cr_assert_gt(strlen(secret), 20);
    e2e_resp_free(r); /* the one answer allowed to hold it */
    const char *bearer = e2e_strf("Authorization: Bearer %s", token);
    keep(&x, call(&x, "GET", "/admin/keys", NULL, "Authorization: Bearer " ADMIN));
    keep(&x, call(&x, "GET", e2e_strf("/admin/keys/%s", id), NULL, "Authorization: Bearer " ADMIN));
    keep(&x, call(&x, "PATCH", e2e_strf("/admin/keys/%s", id), "{\"rpm\":1000}",
                  "Authorization: Bearer " ADMIN));
    keep(&x, call(&x, "GET", "/admin/keys", NULL, "Authorization: Bearer " ADMIN "-wrong"));
    keep(&x, call(&x, "GET", "/admin/keys", NULL, "x-api-key: " ADMIN));

    /* Good requests in every dialect, streamed and not, with both kinds of gateway key. */
    r = call(&x, "POST", "/v1/chat/completions", chat("hi", 0), bearer);
    cr_assert_eq(r->status, 200, "%s", r->body);
    keep(&x, r);
    r = e2e_stream(x.gw, "/v1/chat/completions", chat("hi", 1), "Authorization: Bearer " STATIC,
                   NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    keep(&x, r);
    r = call(&x, "POST", "/v1/messages",
             "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","
             "\"content\":\"hi\"}]}",
             e2e_strf("anthropic-version: 2023-06-01\nx-api-key: %s", token));
    cr_assert_eq(r->status, 200, "%s", r->body);
    keep(&x, r);
    r = call(&x, "POST", "/v1/responses",
             "{\"model\":\"gpt-4o-mini\",\"input\":\"hi\",\"store\":true}", bearer);
    cr_assert_eq(r->status, 200, "%s", r->body);
    const char *rid = e2e_strf("%s", cJSON_GetObjectItem(e2e_resp_json(r), "id")->valuestring);
    keep(&x, r);
    keep(&x, call(&x, "GET", e2e_strf("/v1/responses/%s", rid), NULL, bearer));
    keep(&x, call(&x, "GET", e2e_strf("/v1/responses/%s/input_items", rid), NULL, bearer));
    r = e2e_stream(x.gw, "/v1/chat/completions",
                   "{\"model\":\"gemini-2.5-flash\",\"stream\":true,\"messages\":[{\"role\":"
                   "\"user\",\"content\":\"hi\"}]}",
                   bearer, NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    keep(&x, r);
    keep(&x, call(&x, "GET", "/v1/usage", NULL, bearer));
    keep(&x, call(&x, "GET", "/v1/models", NULL, bearer));

    /* log.bodies keeps a body's first 16 KiB: a secret pasted into a prompt across that cut
     * must be masked whole, not half stored (and the crash spool holds what the store was
     * given, so masking happens before the row is queued). */
    const char *head = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"";
    size_t pad = (16u << 10) - strlen(head) - 12; /* the secret starts 12 bytes before the cut */
    char *filler = malloc(pad + 1);
    memset(filler, 'a', pad);
    filler[pad] = '\0';
    r = call(&x, "POST", "/v1/chat/completions",
             e2e_strf("%s%s" STATIC " and " UPSTREAM " then more\"}]}", head, filler), bearer);
    cr_assert_eq(r->status, 200, "%s", r->body);
    keep(&x, r);
    free(filler);

    /* Wrong keys: a stored key's id with a wrong secret, a near-miss static key, none. */
    keep(&x, call(&x, "POST", "/v1/chat/completions", chat("hi", 0),
                  e2e_strf("Authorization: Bearer aigw_%s_%sX", id, secret)));
    keep(&x, call(&x, "POST", "/v1/chat/completions", chat("hi", 0),
                  "Authorization: Bearer " STATIC "X"));
    keep(&x, call(&x, "POST", "/v1/chat/completions", chat("hi", 0), NULL));
    keep(&x, call(&x, "POST", "/v1/messages", "{}",
                  "anthropic-version: 2023-06-01\nx-api-key: " STATIC "X"));

    /* Upstream errors: the echoed key, a 500, a cut connection, Gemini's key error. */
    r = call(&x, "POST", "/v1/chat/completions", chat("echo", 0), bearer);
    cr_assert_eq(r->status, 401, "%d %s", r->status, r->body);
    keep(&x, r);
    r = e2e_stream(x.gw, "/v1/chat/completions", chat("echo", 1), bearer, NULL);
    keep(&x, r);
    keep(&x, call(&x, "POST", "/v1/chat/completions", chat("fail", 0), bearer));
    keep(&x, call(&x, "POST", "/v1/chat/completions", chat("cut", 0), bearer));
    keep(&x, call(&x, "POST", "/v1/chat/completions",
                  "{\"model\":\"gemini-2.5-flash\",\"messages\":[{\"role\":\"user\","
                  "\"content\":\"hi\"}]}",
                  bearer));
    keep(&x, call(&x, "POST", "/v1/chat/completions", "{not json", bearer));

    /* Metrics, with and without their token. */
    struct e2e_resp *met = call(&x, "GET", "/metrics", NULL, "Authorization: Bearer " METRICS);
    cr_assert_eq(met->status, 200);
    cr_assert(strstr(met->body, "aigw_requests_total"), "%s", met->body);
    char *metrics = e2e_strf("%s", met->body);
    keep(&x, met);
    keep(&x, call(&x, "GET", "/metrics", NULL, "Authorization: Bearer " METRICS "x"));

    /* Spans: one per request at least, then aigw stops (flushing its store and log). */
    cr_assert_eq(otlprecv_wait_spans(x.otlp, 10, 10000), 0, "%d spans",
                 otlprecv_span_count(x.otlp));
    char *stderr_log = e2e_strf("%s", e2e_gw_log(x.gw)); /* what it printed, beside log.file */
    cr_assert_eq(e2e_gw_stop(x.gw, 15000), 0);
    cJSON *spans = otlprecv_spans(x.otlp);
    char *span_text = cJSON_PrintUnformatted(spans);
    cJSON_Delete(spans);

    const char *canaries[] = {UPSTREAM, GEMINI, STATIC, ADMIN, METRICS, secret, "canary-"};
    char **files = NULL;
    size_t nfiles = 0;
    files_under(x.dir, &files, &nfiles);
    char *names = e2e_strf("%s", "");
    for (size_t f = 0; f < nfiles; f++)
        names = e2e_strf("%s %s", names, files[f]);
    cr_assert_geq(nfiles, 3, "the database, its log, the access log at least:%s", names);
    int have_db = 0, have_id = 0, have_body = 0;
    for (size_t f = 0; f < nfiles; f++) {
        have_db |= strstr(files[f], ".db") != NULL;
        have_id |= gov_file_has(files[f], id);
        have_body |= gov_file_has(files[f], "Incorrect API key provided");
    }
    cr_assert(have_db, "the store lives in the state directory:%s", names);
    cr_assert(have_id && have_body, "sanity: the files hold the key id and the logged bodies");
    cr_assert(strstr(x.seen, id), "sanity: the key's id is in the answers");
    cr_assert(strstr(span_text, "gpt-4o-mini"), "sanity: the spans are the requests'");
    for (size_t c = 0; c < sizeof canaries / sizeof *canaries; c++) {
        const char *k = canaries[c];
        cr_assert_null(strstr(x.seen, k), "an answer holds %s:\n%s", k, strstr(x.seen, k));
        cr_assert_null(strstr(metrics, k), "/metrics holds %s", k);
        cr_assert_null(strstr(span_text, k), "a span holds %s: %s", k, strstr(span_text, k));
        cr_assert_null(strstr(stderr_log, k), "aigw printed %s", k);
        for (size_t f = 0; f < nfiles; f++)
            cr_assert_not(gov_file_has(files[f], k), "%s holds %s", files[f], k);
    }
    free(span_text);
    free(files); /* the paths themselves live until the process exits (e2e_strf) */
    cr_assert_gt(x.nreq, 25);
    otlprecv_stop(x.otlp);
    mock_stop(x.m);
    rm_tree(x.dir);
}
