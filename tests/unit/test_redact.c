/* redact: registered secrets and credential-shaped tokens never pass through. */
#include <string.h>

#include <criterion/criterion.h>

#include "redact.h"

static const char *red(const char *s)
{
    static char out[1024];
    gw_redact(s, strlen(s), out, sizeof out);
    return out;
}

Test(redact, registered_secret_is_masked_everywhere)
{
    gw_redact_register("sk-CANARY-123456");
    cr_assert_str_eq(red("Incorrect API key provided: sk-CANARY-123456."),
                     "Incorrect API key provided: [REDACTED].");
    cr_assert_str_eq(red("sk-CANARY-123456sk-CANARY-123456"), "[REDACTED][REDACTED]");
    cr_assert(gw_redact_contains_secret("xx sk-CANARY-123456", 19));
    gw_redact_reset();
    cr_assert_str_eq(red("sk-CANARY-123456"), "sk-CANARY-123456");
}

Test(redact, credential_shapes)
{
    cr_assert_str_eq(red("Authorization: Bearer abc.def-123"), "Authorization: Bearer [REDACTED]");
    cr_assert_str_eq(red("GET /v1/x?key=AIzaSecret&alt=sse"), "GET /v1/x?key=[REDACTED]&alt=sse");
    cr_assert_str_eq(red("monkey=banana"), "monkey=banana");
    cr_assert_str_eq(red("x-api-key: sk-ant-zzzz"), "x-api-key: [REDACTED]");
}

Test(redact, output_is_bounded)
{
    char out[8];
    size_t n = gw_redact("0123456789", 10, out, sizeof out);
    cr_assert_eq(n, 7);
    cr_assert_str_eq(out, "0123456");
}
