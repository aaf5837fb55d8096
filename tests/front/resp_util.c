/* resp_util - see resp_util.h. */
#include "resp_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/buf.h"

char *ru_fixture(const char *name, size_t *len)
{
    char path[1024];
    const char *src = getenv("AIGW_TEST_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/responses-inbound/%s", src ? src : ".", name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "fixture %s", path);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        cr_assert_eq(gw_buf_append(&b, tmp, n), 0);
    fclose(f);
    gw_buf_append(&b, "", 0);
    return gw_buf_steal(&b, len);
}

cJSON *ru_fixture_json(const char *name)
{
    char *s = ru_fixture(name, NULL);
    cJSON *j = cJSON_Parse(s);
    cr_assert_not_null(j, "fixture %s is JSON", name);
    free(s);
    return j;
}

static const char *no_header(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

int ru_parse(const char *body, size_t len, struct gw_parsed *p, struct gw_front_err *err)
{
    struct gw_inbound in = {.body = body, .len = len, .path = "/v1/responses", .header = no_header};
    memset(p, 0, sizeof *p);
    return gw_responses_parse(&in, p, err);
}

void ru_parsed_free(struct gw_parsed *p)
{
    gw_parsed_free(p);
}

void ru_fix_identity(struct gw_parsed *p)
{
    struct gw_resp_ctx *ctx = p->ctx;
    gw_strlcpy(ctx->id, "resp_0123456789abcdef0123456789abcdef0123456789abcdef", sizeof ctx->id);
    ctx->created_at = 1767225600;
}
