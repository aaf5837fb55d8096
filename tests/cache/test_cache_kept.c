/*
 * What the response cache keeps and what it says it holds, through the real aigw binary and
 * the mock provider: an answer the gateway could not deliver is never kept, however large
 * cache.max_entry_bytes is; aigw_cache_bytes says what the in-memory cache holds, expired
 * entries gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

static const char *cache_header(struct e2e_resp *r)
{
    const char *v = e2e_resp_header(r, "X-Gateway-Cache");
    return v ? v : "(none)";
}

static const char *error_code(struct e2e_resp *r)
{
    const cJSON *e = cJSON_GetObjectItem(e2e_resp_json(r), "error");
    const cJSON *c = cJSON_GetObjectItem(e, "code");
    return cJSON_IsString(c) ? c->valuestring : "(none)";
}

#define ASK "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Say it.\"}]}"

/* A chat document whose text is n backspaces, each sent as the 2-byte escape \b: the answer
 * is under the upstream body cap (32 MiB), but rendered back as \u0008 (6 bytes each) it is
 * past what the relay takes for one document (twice that cap plus max_body_bytes). */
static char *backspace_doc(size_t n, size_t *len)
{
    static const char head[] =
        "{\"id\":\"chatcmpl-big\",\"object\":\"chat.completion\",\"created\":1735689601,"
        "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":\"";
    static const char tail[] = "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
                               "5,\"completion_tokens\":7,\"total_tokens\":12}}";
    size_t hl = sizeof head - 1, tl = sizeof tail - 1;
    char *d = malloc(hl + 2 * n + tl + 1);
    cr_assert_not_null(d);
    memcpy(d, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(d + hl + 2 * i, "\\b", 2);
    memcpy(d + hl + 2 * n, tail, tl + 1);
    *len = hl + 2 * n + tl;
    return d;
}

/* The relay refuses the document (502 response_too_large); its chunks (12 MiB) fit an entry of
 * 32 MiB, and were kept: the next identical request was a "hit" replaying an answer no
 * client ever got. Now it is a miss that asks the upstream again. */
Test(cache_kept, an_answer_the_relay_refused_is_not_kept)
{
    size_t n = (size_t)12 << 20, len;
    char *doc = backspace_doc(n, &len);
    cr_assert_lt(len, (size_t)32 << 20, "under the upstream body cap");
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route(m, &(struct mock_route){.method = "POST",
                                                        .path = "/v1/chat/completions",
                                                        .headers = "Content-Type: "
                                                                   "application/json",
                                                        .body = doc,
                                                        .body_len = len}),
                 0);
    free(doc);
    struct e2e_gw *gw = e2e_gw_start(
        "{\"max_body_bytes\":65536,\"cache\":{\"enabled\":true,\"max_bytes\":268435456,"
        "\"max_entry_bytes\":33554432}}",
        "OPENAI_API_KEY=sk-up", e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    struct e2e_resp *a =
        e2e_request("POST", e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), ASK, NULL, 60000);
    cr_assert_eq(a->status, 502, "%d %.300s", a->status, a->body);
    cr_assert_str_eq(error_code(a), "response_too_large", "%.300s", a->body);
    cr_assert_str_eq(cache_header(a), "miss");
    struct e2e_resp *b =
        e2e_request("POST", e2e_strf("%s/v1/chat/completions", e2e_gw_url(gw)), ASK, NULL, 60000);
    cr_assert_str_eq(cache_header(b), "miss", "a refused answer was replayed: %.300s", b->body);
    cr_assert_eq(mock_request_count(m), 2, "the second request went upstream");
    e2e_resp_free(a);
    e2e_resp_free(b);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The value of aigw_cache_bytes in a /metrics page, or -1 when it has none. */
static long long cache_bytes(struct e2e_gw *gw)
{
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    const char *p = met->body ? strstr(met->body, "\naigw_cache_bytes ") : NULL;
    long long v = p ? strtoll(p + strlen("\naigw_cache_bytes "), NULL, 10) : -1;
    e2e_resp_free(met);
    return v;
}

/* The gauge changed only when an answer was stored: once the entry expired (dropped by a
 * lookup, or by nothing at all) it still said the cache held its bytes. */
Test(cache_kept, the_bytes_gauge_drops_to_zero_when_the_entry_expires)
{
    struct mock *m = e2e_mock("openai_chat");
    struct e2e_gw *gw =
        e2e_gw_start("{\"cache\":{\"enabled\":true,\"ttl_s\":2}}", "OPENAI_API_KEY=sk-up",
                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    int64_t t0 = e2e_now_ms();
    struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_eq(a->status, 200, "%d %s", a->status, a->body);
    cr_assert_str_eq(cache_header(a), "miss");
    e2e_resp_free(a);
    long long held = cache_bytes(gw);
    if (e2e_now_ms() - t0 < 2000) /* stored after t0, so not expired yet: it is counted */
        cr_assert_gt(held, 0, "the entry's bytes are counted");
    /* Past the TTL, with no request at all: the scrape says the cache holds nothing. */
    int64_t deadline = e2e_now_ms() + 10000;
    while ((held = cache_bytes(gw)) != 0 && e2e_now_ms() < deadline)
        ;
    cr_assert_eq(held, 0, "an expired entry still counted: %lld bytes", held);
    /* And the entry that went is counted, as an expiry (the evictions counter said nothing:
     * an operator sizing the cache could not tell a TTL too short from a cache too small). */
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    cr_assert(strstr(met->body, "aigw_cache_evictions_total{reason=\"expired\"} 1\n"), "%s",
              met->body);
    cr_assert_not(strstr(met->body, "aigw_cache_evictions_total{reason=\"capacity\"}"), "%s",
                  met->body);
    e2e_resp_free(met);
    /* A lookup after it expired is a miss, and the store after it counts again. */
    a = e2e_post(gw, "/v1/chat/completions", ASK, NULL);
    cr_assert_str_eq(cache_header(a), "miss");
    e2e_resp_free(a);
    cr_assert_eq(mock_request_count(m), 2);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}

/* The value of a counter's series in a /metrics page (its name and labels), or -1. */
static long long series(struct e2e_gw *gw, const char *name)
{
    struct e2e_resp *met = e2e_get(gw, "/metrics", NULL);
    const char *p = met->body ? strstr(met->body, e2e_strf("\n%s ", name)) : NULL;
    long long v = p ? strtoll(p + strlen(name) + 2, NULL, 10) : -1;
    e2e_resp_free(met);
    return v;
}

/* A cache too small for what it is asked to keep evicts for room: counted as capacity, and
 * nothing as expired (the TTL is an hour). */
Test(cache_kept, an_entry_evicted_for_room_is_counted_as_capacity)
{
    /* Each answer about 12 KiB, under max_entry_bytes (max_bytes / 4): five fill 64 KiB. */
    size_t n = 12000;
    char *text = malloc(n + 1);
    cr_assert_not_null(text);
    memset(text, 'a', n);
    text[n] = '\0';
    struct mock *m = e2e_mock(NULL);
    cr_assert_eq(mock_add_route_json(
                     m, e2e_strf("{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
                                 "\"body\":{\"id\":\"c1\",\"object\":\"chat.completion\","
                                 "\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{"
                                 "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
                                 "\"%s\"},\"finish_reason\":\"stop\"}],\"usage\":{"
                                 "\"prompt_tokens\":5,\"completion_tokens\":3000,"
                                 "\"total_tokens\":3005}}}",
                                 text)),
                 0);
    free(text);
    struct e2e_gw *gw =
        e2e_gw_start("{\"cache\":{\"enabled\":true,\"max_bytes\":65536}}", "OPENAI_API_KEY=sk-up",
                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), NULL);
    for (int i = 0; i < 8; i++) {
        struct e2e_resp *a = e2e_post(gw, "/v1/chat/completions",
                                      e2e_strf("{\"model\":\"gpt-4o-mini\",\"messages\":[{"
                                               "\"role\":\"user\",\"content\":\"Say %d.\"}]}",
                                               i),
                                      NULL);
        cr_assert_eq(a->status, 200, "%d %.300s", a->status, a->body);
        cr_assert_str_eq(cache_header(a), "miss");
        e2e_resp_free(a);
    }
    /* Each answer is kept once it has been delivered: wait for the stores, not a clock. At
     * most five such entries fit, so at least three of the eight were evicted. */
    long long room = -1;
    for (int64_t end = e2e_now_ms() + 10000; room < 3 && e2e_now_ms() < end;)
        room = series(gw, "aigw_cache_evictions_total{reason=\"capacity\"}");
    cr_assert_geq(room, 3, "8 entries of ~12 KiB in 64 KiB: %lld evicted", room);
    cr_assert_leq(room, 7);
    cr_assert_eq(series(gw, "aigw_cache_evictions_total{reason=\"expired\"}"), -1);
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
