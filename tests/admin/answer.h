/* answer - calls one transport-agnostic admin handler and parses what it wrote. */
#ifndef AIGW_TEST_ADMIN_ANSWER_H
#define AIGW_TEST_ADMIN_ANSWER_H

#include <criterion/criterion.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/buf.h"

struct answer {
    int status;
    cJSON *doc;
    char *text;
};

/* CALL(answer, handler, args...): runs handler(args..., &out, &status). */
#define CALL(a, fn, ...)                                                                           \
    do {                                                                                           \
        struct gw_buf out_;                                                                        \
        gw_buf_init(&out_, 1u << 24);                                                              \
        (a).status = 0;                                                                            \
        cr_assert_eq(fn(__VA_ARGS__, &out_, &(a).status), 0);                                      \
        (a).doc = cJSON_ParseWithLength(out_.ptr, out_.len);                                       \
        cr_assert_not_null((a).doc, "not JSON: %.*s", (int)out_.len, out_.ptr);                    \
        (a).text = gw_buf_steal(&out_, NULL);                                                      \
        gw_buf_free(&out_);                                                                        \
    } while (0)

static inline void answer_free(struct answer *a)
{
    cJSON_Delete(a->doc);
    free(a->text);
}

static inline const cJSON *field(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static inline const char *err_code(const struct answer *a)
{
    const cJSON *c = field(field(a->doc, "error"), "code");
    return cJSON_IsString(c) ? c->valuestring : "";
}

#endif
