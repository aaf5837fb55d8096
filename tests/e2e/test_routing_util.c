/* test_routing_util - the routing end-to-end tests' shared helpers (see test_routing.h), in
 * a file of their own so other end-to-end programs (tests/e2e/test_tracing.c) link them
 * without the routing tests. */
#include <criterion/criterion.h>

#include "e2e/test_routing.h"

struct mock *rt_mock(void)
{
    return e2e_mock(NULL);
}

void rt_add(struct mock *m, const char *vkey, const char *answer)
{
    const char *json = e2e_strf("{\"name\":\"%s\",\"method\":\"POST\","
                                "\"path\":\"/%s/v1/chat/completions\",%s}",
                                vkey, vkey, answer);
    cr_assert_eq(mock_add_route_json(m, json), 0, "bad mock route %s", json);
}

void rt_ok(struct mock *m, const char *vkey)
{
    rt_add(m, vkey, "\"match_body\":{\"stream\":true},\"body_file\":\"mock/stream_text.sse\"");
    rt_add(m, vkey, "\"body_file\":\"mock/chat.json\"");
}

struct e2e_gw *rt_gw(struct mock *m, const char *config)
{
    return e2e_gw_start(config, "OPENAI_API_KEY=sk-test-openai",
                        e2e_strf("OPENAI_BASE_URL=%s/openai/v1", mock_url(m)),
                        "GROQ_API_KEY=gsk-test", e2e_strf("GROQ_BASE_URL=%s/groq/v1", mock_url(m)),
                        "XAI_API_KEY=xai-test", e2e_strf("XAI_BASE_URL=%s/xai/v1", mock_url(m)),
                        NULL);
}

int rt_hits(struct mock *m, const char *vkey)
{
    return mock_route_hits(m, vkey);
}

struct e2e_resp *rt_post(struct e2e_gw *gw, const char *json, const char *headers)
{
    return e2e_post(gw, "/v1/chat/completions", json, headers);
}

void rt_log_has(struct e2e_gw *gw, const char *needle)
{
    cr_assert_eq(e2e_gw_wait_log(gw, needle, 5000), 0, "not in the log: %s\n%s", needle,
                 e2e_gw_log(gw));
}

void rt_stop(struct e2e_gw *gw, struct mock *m)
{
    cr_assert_eq(e2e_gw_stop(gw, 10000), 0);
    mock_stop(m);
}
