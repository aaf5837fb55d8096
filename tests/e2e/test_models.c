/*
 * End-to-end tests of the live /v1/models listing: the real aigw binary in front of the mock
 * playing an Ollama server (and an OpenAI one), with a four-entry test catalog so every list
 * is asserted exactly. The server's models merged with the catalog without duplicates, the
 * cache, the deadline on a dead server, listings that share one refresh, garbage from the
 * server, the id cap, gateway keys, the canary key, and shutdown while a listing waits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define CANARY "sk-CANARY-0llama-5b1d0c93"
#define WARNING "live model list unavailable ("

/* The catalog's three ollama entries, in catalog order, with no live listing. */
#define CATALOG_IDS "ollama/codellama,ollama/deepseek-v3.1:671b,ollama/llama3.1"
/* tags_live.json merged in: the catalog's entries, then what only the server reported. */
#define MERGED_IDS                                                                                 \
    CATALOG_IDS ",ollama/codellama:latest,ollama/hf.co/acme/tiny-llm-GGUF:Q4_K_M,"                 \
                "ollama/nomic-embed-text:latest,ollama/qwen3:8b"

static const char *catalog_env(void)
{
    return e2e_strf("AIGW_CATALOG=%s/tests/fixtures/ollama/catalog_models.json",
                    getenv("AIGW_TEST_SRCDIR"));
}

static struct e2e_gw *start_ollama(struct mock *m, const char *config)
{
    return e2e_gw_start(config, e2e_strf("OLLAMA_HOST=%s", mock_url(m)), catalog_env(), NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The listed ids, comma-joined in order (malloc'ed). Asserts the list shape. */
static char *ids_of(struct e2e_resp *r)
{
    cJSON *doc = e2e_resp_json(r);
    cr_assert_not_null(doc, "not JSON: %s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "object")->valuestring, "list");
    cJSON *data = cJSON_GetObjectItem(doc, "data"), *m;
    cr_assert(cJSON_IsArray(data));
    size_t cap = 64, len = 0;
    char *out = calloc(1, cap);
    cr_assert_not_null(out);
    cJSON_ArrayForEach(m, data)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(m, "id"));
        cr_assert_not_null(id);
        size_t n = strlen(id);
        while (len + n + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        if (len)
            out[len++] = ',';
        memcpy(out + len, id, n + 1);
        len += n;
    }
    return out;
}

static void assert_ids(struct e2e_resp *r, const char *want)
{
    cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
    char *got = ids_of(r);
    cr_assert_str_eq(got, want);
    free(got);
}

/* The listed object with this id, or NULL. */
static cJSON *model(struct e2e_resp *r, const char *id)
{
    cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(e2e_resp_json(r), "data"))
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")), id))
            return m;
    }
    return NULL;
}

static int is_live(const cJSON *m)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(m, "live"));
}

static int count_in(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A GET on a raw connection, left open: the caller reads the answer with e2e_raw_status. */
static int raw_get(int port, const char *path)
{
    return e2e_raw_send(
        port, e2e_strf("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path), 15);
}

static struct mock *mock_with(const char *route_json)
{
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(m, route_json), 0, "%s", route_json);
    return m;
}

#define HANG_ROUTE                                                                                 \
    "{\"name\":\"hang\",\"method\":\"GET\",\"path\":\"/api/tags\",\"headers_delay_ms\":-1}"

Test(models, live_listing_merges_with_the_catalog)
{
    struct mock *m = e2e_mock("ollama_models");
    struct e2e_gw *gw = start_ollama(m, NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models", NULL);
    assert_ids(r, MERGED_IDS);
    cr_assert_not(is_live(model(r, "ollama/codellama")), "not reported by the server");
    cr_assert_not(is_live(model(r, "ollama/llama3.1")));
    cJSON *o = model(r, "ollama/deepseek-v3.1:671b");
    cr_assert(is_live(o), "reported and in the catalog: listed once, marked live");
    cr_assert_eq(cJSON_GetObjectItem(o, "context_window")->valueint, 163840);
    o = model(r, "ollama/codellama:latest");
    cr_assert(is_live(o));
    cr_assert_str_eq(cJSON_GetObjectItem(o, "upstream_id")->valuestring, "codellama:latest");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "mode")->valuestring, "completion",
                     "the catalog's codellama is the extras of codellama:latest");
    cr_assert_eq(cJSON_GetObjectItem(o, "context_window")->valueint, 4096);
    o = model(r, "ollama/qwen3:8b");
    cr_assert(is_live(o));
    cr_assert_str_eq(cJSON_GetObjectItem(o, "owned_by")->valuestring, "ollama");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "object")->valuestring, "model");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "upstream_id")->valuestring, "qwen3:8b");
    cr_assert_null(cJSON_GetObjectItem(o, "pricing"), "unknown to the catalog: no prices");
    e2e_resp_free(r);
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    const struct mock_req *up = mock_request(m, 0);
    cr_assert_str_eq(mock_req_method(up), "GET");
    cr_assert_str_eq(mock_req_path(up), "/api/tags");
    cr_assert_null(mock_req_header(up, "authorization"), "no OLLAMA_API_KEY: no credentials");
    mock_req_free(up);

    /* Within the TTL every answer comes from the cache. */
    r = e2e_get(gw, "/v1/models", NULL);
    assert_ids(r, MERGED_IDS);
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/ollama/qwen3:8b", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cr_assert_str_eq(cJSON_GetObjectItem(e2e_resp_json(r), "id")->valuestring, "ollama/qwen3:8b");
    cr_assert(is_live(e2e_resp_json(r)));
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/ollama/codellama:latest", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_eq(cJSON_GetObjectItem(e2e_resp_json(r), "context_window")->valueint, 4096);
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/ollama/codellama", NULL);
    cr_assert_eq(r->status, 200);
    cr_assert_not(is_live(e2e_resp_json(r)));
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/ollama/absent:1b", NULL);
    cr_assert_eq(r->status, 404);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1, "the server was asked once");
    cr_assert_eq(e2e_gw_wait_log(gw, "\"path\":\"/v1/models\",\"status\":200", 5000), 0);
    cr_assert_eq(count_in(e2e_gw_log(gw), WARNING), 0);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A lookup of one model on a cold cache asks that provider's server first. */
Test(models, one_model_lookup_asks_the_server)
{
    struct mock *m = e2e_mock("ollama_models");
    struct e2e_gw *gw = start_ollama(m, NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models/ollama/hf.co/acme/tiny-llm-GGUF:Q4_K_M", NULL);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *o = e2e_resp_json(r);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "id")->valuestring,
                     "ollama/hf.co/acme/tiny-llm-GGUF:Q4_K_M");
    cr_assert(is_live(o));
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1);
    r = e2e_get(gw, "/v1/models/unknown-alias", NULL);
    cr_assert_eq(r->status, 404);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Every provider with AIGW_CAP_MODELS is listed live, not only Ollama: both servers asked. */
Test(models, any_provider_with_the_capability)
{
    struct mock *m = e2e_mock("ollama_models");
    cr_assert_eq(mock_load_scenario(m, "openai_chat"), 0);
    struct e2e_gw *gw =
        e2e_gw_start(NULL, e2e_strf("OLLAMA_HOST=%s", mock_url(m)), "OPENAI_API_KEY=" CANARY,
                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), catalog_env(), NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models", NULL);
    assert_ids(r, MERGED_IDS ",openai/gpt-4o-mini,openai/gpt-4o");
    cr_assert(is_live(model(r, "openai/gpt-4o-mini")));
    cr_assert(is_live(model(r, "openai/gpt-4o")));
    cr_assert_not_null(cJSON_GetObjectItem(model(r, "openai/gpt-4o-mini"), "pricing"));
    cr_assert_null(strstr(r->body, CANARY));
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 2);
    int openai = 0;
    for (int i = 0; i < 2; i++) {
        const struct mock_req *up = mock_request(m, i);
        if (!strcmp(mock_req_path(up), "/v1/models")) {
            openai++;
            cr_assert_str_eq(mock_req_header(up, "authorization"), "Bearer " CANARY);
        } else {
            cr_assert_str_eq(mock_req_path(up), "/api/tags");
        }
        mock_req_free(up);
    }
    cr_assert_eq(openai, 1);
    cr_assert_null(strstr(e2e_gw_log(gw), CANARY), "the canary is in aigw's log");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* A server that never answers costs one listing the deadline (3 s by default), then the
 * catalog is served at once until the retry time; one warning line. */
Test(models, dead_server_answers_within_the_deadline)
{
    struct mock *m = mock_with(HANG_ROUTE);
    struct e2e_gw *gw = start_ollama(m, NULL);
    int64_t t0 = now_ms();
    struct e2e_resp *r =
        e2e_request("GET", e2e_strf("%s/v1/models", e2e_gw_url(gw)), NULL, NULL, 15000);
    int64_t took = now_ms() - t0;
    assert_ids(r, CATALOG_IDS);
    e2e_resp_free(r);
    cr_assert_geq(took, 2500, "answered after %lld ms: the deadline was not waited for",
                  (long long)took);
    cr_assert_eq(e2e_gw_wait_log(gw, WARNING, 5000), 0);
    r = e2e_request("GET", e2e_strf("%s/v1/models", e2e_gw_url(gw)), NULL, NULL, 15000);
    assert_ids(r, CATALOG_IDS);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 1, "no second try within the retry time");
    cr_assert_eq(mock_wait_disconnects(m, 1, 5000), 0, "the held request was abandoned");
    cr_assert_eq(count_in(e2e_gw_log(gw), WARNING), 1, "one warning line:\n%s", e2e_gw_log(gw));
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Listings arriving while a refresh is in flight wait for that one; the deadline is capped by
 * timeouts.request_ms. */
Test(models, concurrent_listings_share_one_refresh)
{
    struct mock *m = mock_with(HANG_ROUTE);
    struct e2e_gw *gw = start_ollama(m, "{\"timeouts\":{\"request_ms\":1500}}");
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = raw_get(e2e_gw_port(gw), i % 2 ? "/v1/models" : "/v1/models/ollama/llama3.1");
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(e2e_raw_status(fds[i]), 200, "listing %d", i);
    cr_assert_eq(mock_request_count(m), 1, "one refresh for all four");
    cr_assert_eq(count_in(e2e_gw_log(gw), WARNING), 1);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

struct garbage {
    const char *route; /* the mock's answer to GET /api/tags */
    const char *why;   /* the start of the warning's reason; NULL: no warning */
    const char *ids;   /* the whole listing */
};

/* Whatever the server sends, the listing answers 200 with what is known. */
Test(models, garbage_from_the_server)
{
    static const struct garbage cases[] = {
        {"{\"path\":\"/api/tags\",\"body_file\":\"ollama/tags_truncated.json\"}",
         "unreadable response", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"body_file\":\"ollama/tags_not_array.json\"}",
         "unreadable response", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"body\":\"<html>proxy error</html>\","
         "\"headers\":{\"content-type\":\"text/html\"}}",
         "unreadable response", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"body\":[{\"name\":\"qwen3:8b\"}]}", "unreadable response",
         CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"status\":500,\"body_file\":\"ollama/error_500.json\"}",
         "HTTP 500", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"status\":302}", "HTTP 302", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"body_file\":\"ollama/"
         "tags_live.json\",\"close_after_bytes\":40}",
         "", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"close_before_headers\":true}", "", CATALOG_IDS},
        {"{\"path\":\"/api/tags\",\"body_file\":\"ollama/tags_wrong_types.json\"}", NULL,
         CATALOG_IDS
         ",ollama/fallback-model:1b,ollama/ok-model:2b,ollama/\xc3\xa9t\xc3\xa9-model:3b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct garbage *c = &cases[i];
        struct mock *m = mock_with(c->route);
        struct e2e_gw *gw = start_ollama(m, NULL);
        struct e2e_resp *r = e2e_get(gw, "/v1/models", NULL);
        cr_assert_eq(r->status, 200, "case %zu: %s", i, r->body);
        char *got = ids_of(r);
        cr_assert_str_eq(got, c->ids, "case %zu", i);
        free(got);
        e2e_resp_free(r);
        if (c->why)
            cr_assert_eq(e2e_gw_wait_log(gw, e2e_strf(WARNING "%s", c->why), 5000), 0,
                         "case %zu: %s", i, e2e_gw_log(gw));
        else
            cr_assert_eq(count_in(e2e_gw_log(gw), WARNING), 0, "case %zu", i);
        cr_assert_eq(e2e_gw_stop(gw, 10000), 0, "case %zu", i);
        mock_stop(m);
    }
}

/* A server reporting more than 2000 models: the first 2000 are listed, said once. A
 * response over the body cap (4 MiB) fails the refresh instead of growing memory. */
Test(models, huge_listings_are_capped)
{
    size_t cap = 64 * 1024, len = 0;
    char *route = malloc(cap);
    cr_assert_not_null(route);
    len += (size_t)snprintf(route, cap, "{\"path\":\"/api/tags\",\"body\":{\"models\":[");
    for (int i = 0; i < 2500; i++)
        len +=
            (size_t)snprintf(route + len, cap - len, "%s{\"name\":\"m%04d:1b\"}", i ? "," : "", i);
    cr_assert_lt(len + 8, cap);
    snprintf(route + len, cap - len, "]}}");
    struct mock *m = mock_with(route);
    free(route);
    struct e2e_gw *gw = start_ollama(m, NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models", NULL);
    cr_assert_eq(r->status, 200);
    int live = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(e2e_resp_json(r), "data"))
    {
        live += is_live(o);
    }
    cr_assert_eq(live, 2000);
    cr_assert_not_null(model(r, "ollama/m0000:1b"));
    cr_assert_not_null(model(r, "ollama/m1999:1b"));
    cr_assert_null(model(r, "ollama/m2000:1b"), "past the cap");
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, "more than 2000 models", 5000), 0);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);

    size_t pad = (5u << 20);
    route = malloc(pad + 256);
    cr_assert_not_null(route);
    len = (size_t)snprintf(route, 256,
                           "{\"path\":\"/api/tags\",\"body\":{\"models\":[{\"name\":\"a:1b\"}],"
                           "\"pad\":\"");
    memset(route + len, 'x', pad);
    snprintf(route + len + pad, 16, "\"}}");
    m = mock_with(route);
    free(route);
    gw = start_ollama(m, NULL);
    r = e2e_get(gw, "/v1/models", NULL);
    assert_ids(r, CATALOG_IDS);
    e2e_resp_free(r);
    cr_assert_eq(e2e_gw_wait_log(gw, WARNING "response larger than the listing cap", 5000), 0);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* Gateway keys guard the listing before any server is asked; the provider's key goes upstream
 * and nowhere else, even when the server echoes it in an error. */
Test(models, gateway_keys_and_the_canary)
{
    struct mock *m = mock_with("{\"path\":\"/api/tags\",\"status\":401,"
                               "\"body\":{\"error\":\"unauthorized: bad key " CANARY "\"}}");
    struct e2e_gw *gw = e2e_gw_start("{\"auth\":{\"api_keys\":[\"gw-key-1\"]}}",
                                     e2e_strf("OLLAMA_HOST=%s", mock_url(m)),
                                     "OLLAMA_API_KEY=" CANARY, catalog_env(), NULL);
    struct e2e_resp *r = e2e_get(gw, "/v1/models", NULL);
    cr_assert_eq(r->status, 401);
    e2e_resp_free(r);
    r = e2e_get(gw, "/v1/models/ollama/qwen3:8b", "Authorization: Bearer wrong");
    cr_assert_eq(r->status, 401);
    e2e_resp_free(r);
    cr_assert_eq(mock_request_count(m), 0, "no server asked for an unauthorized client");
    r = e2e_get(gw, "/v1/models", "Authorization: Bearer gw-key-1");
    assert_ids(r, CATALOG_IDS);
    cr_assert_null(strstr(r->body, CANARY));
    e2e_resp_free(r);
    const struct mock_req *up = mock_request(m, 0);
    cr_assert_str_eq(mock_req_header(up, "authorization"), "Bearer " CANARY);
    mock_req_free(up);
    cr_assert_eq(e2e_gw_wait_log(gw, WARNING "HTTP 401", 5000), 0);
    cr_assert_null(strstr(e2e_gw_log(gw), CANARY), "the canary is in aigw's log");
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* SIGTERM while a listing waits: a graceful stop lets it finish (the catalog, at the
 * deadline); with no grace the cancelled listing answers 503. Both exit cleanly. */
Test(models, shutdown_while_a_listing_waits)
{
    struct mock *m = mock_with(HANG_ROUTE);
    struct e2e_gw *gw = start_ollama(m, "{\"shutdown\":{\"grace_ms\":0}}");
    int fd = raw_get(e2e_gw_port(gw), "/v1/models");
    cr_assert_eq(mock_wait_requests(m, 1, 5000), 0);
    cr_assert_eq(e2e_gw_signal(gw, SIGTERM), 0);
    cr_assert_eq(e2e_raw_status(fd), 503);
    cr_assert_eq(e2e_gw_wait_exit(gw, 15000), 0, "%s", e2e_gw_log(gw));
    cr_assert_eq(count_in(e2e_gw_log(gw), WARNING), 0, "a cancel is no server failure");
    e2e_gw_stop(gw, 1000);

    gw = start_ollama(m, NULL);
    fd = raw_get(e2e_gw_port(gw), "/v1/models");
    cr_assert_eq(mock_wait_requests(m, 2, 5000), 0);
    cr_assert_eq(e2e_gw_signal(gw, SIGTERM), 0);
    cr_assert_eq(e2e_raw_status(fd), 200);
    cr_assert_eq(e2e_gw_wait_exit(gw, 15000), 0, "%s", e2e_gw_log(gw));
    e2e_gw_stop(gw, 1000);
    mock_stop(m);
}
