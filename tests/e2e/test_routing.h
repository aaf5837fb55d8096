/*
 * test_routing - shared helpers of the routing end-to-end tests: three OpenAI-wire providers
 * (openai, groq, xai) served by one mock under /<vkey>/v1, each route named by its vkey so
 * mock_route_hits() counts the calls each provider got.
 */
#ifndef AIGW_TEST_E2E_ROUTING_H
#define AIGW_TEST_E2E_ROUTING_H

#include "e2e/e2e.h"

#define RT_CHAT "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define RT_STREAM                                                                                  \
    "{\"model\":\"m1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
#define RT_TEXT "Hello from the aigw mock provider. This stream was served from a local fixture."

/* Route answers (the JSON members after name/method/path). */
#define RT_500 "\"status\":500,\"body_file\":\"mock/error_500.json\""

/* A config: fallback over openai, groq, xai with short back-offs. */
#define FALLBACK3                                                                                  \
    "{\"routing\":{\"strategy\":\"fallback\",\"targets\":[\"openai\",\"groq\",\"xai\"],"           \
    "\"retry\":{\"backoff_ms\":10,\"backoff_max_ms\":20}}}"

/* A mock with no routes yet. */
struct mock *rt_mock(void);
/* Adds a route for vkey's chat endpoint answering `answer` (JSON members). */
void rt_add(struct mock *m, const char *vkey, const char *answer);
/* Adds vkey's success routes: a stream for stream requests, else a chat.completion. */
void rt_ok(struct mock *m, const char *vkey);
/* aigw with the three providers pointed at the mock and `config` (a whole config object). */
struct e2e_gw *rt_gw(struct mock *m, const char *config);
/* Calls vkey's routes answered so far. */
int rt_hits(struct mock *m, const char *vkey);
/* POST /v1/chat/completions. */
struct e2e_resp *rt_post(struct e2e_gw *gw, const char *json, const char *headers);
/* Asserts the access log gets a line containing needle (within 5 s). */
void rt_log_has(struct e2e_gw *gw, const char *needle);
void rt_stop(struct e2e_gw *gw, struct mock *m);

#endif
