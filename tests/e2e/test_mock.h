/*
 * test_mock.h - small helpers shared by the two files of the test_mock program.
 */
#ifndef AIGW_TEST_MOCK_H
#define AIGW_TEST_MOCK_H

#include <stdint.h>
#include <time.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define CHAT "/v1/chat/completions"
#define AUTH "Authorization: Bearer sk-test"

static inline const char *murl(struct mock *m, const char *path)
{
    return e2e_strf("%s%s", mock_url(m), path);
}

static inline struct e2e_resp *post(struct mock *m, const char *path, const char *body,
                                    const char *headers)
{
    struct e2e_resp *r = e2e_request("POST", murl(m, path), body, headers, 10000);
    cr_assert(r);
    return r;
}

static inline struct e2e_resp *get(struct mock *m, const char *path)
{
    struct e2e_resp *r = e2e_request("GET", murl(m, path), NULL, NULL, 10000);
    cr_assert(r);
    return r;
}

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void add(struct mock *m, const char *json)
{
    cr_assert_eq(mock_add_route_json(m, json), 0, "route rejected: %s", json);
}

static inline const char *jstr(const cJSON *j, const char *path0, const char *path1)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, path0);
    if (path1)
        v = cJSON_GetObjectItemCaseSensitive(v, path1);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A body of 4 SSE events, as a JSON string literal for routes. */
#define SSE4                                                                                       \
    "\"data: {\\\"n\\\":1}\\n\\ndata: {\\\"n\\\":2}\\n\\ndata: {\\\"n\\\":3}\\n\\ndata: "          \
    "[DONE]\\n\\n\""

#endif /* AIGW_TEST_MOCK_H */
