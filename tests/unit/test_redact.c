/* redact: registered secrets and credential-shaped tokens never pass through. */
#include <string.h>

#include <criterion/criterion.h>

#include "lib/redact.h"

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

/* The scan skips bytes that cannot start a secret or a credential prefix; secrets starting with
 * any byte (digits, punctuation, high bytes) and overlapping a prefix letter are still found. */
Test(redact, secrets_with_any_first_byte)
{
    gw_redact_register("7f3e9a1c-CANARY");
    gw_redact_register("{zz-CANARY}");
    gw_redact_register("\xc3\xa9t\xc3\xa9-CANARY");
    gw_redact_register("bkey-CANARY-2");
    cr_assert_str_eq(red("id=17f3e9a1c-CANARY9"), "id=1[REDACTED]9");
    cr_assert_str_eq(red("{\"v\":{zz-CANARY}}"), "{\"v\":[REDACTED]}");
    cr_assert_str_eq(red("x \xc3\xa9t\xc3\xa9-CANARY."), "x [REDACTED].");
    cr_assert_str_eq(red("abkey-CANARY-2"), "a[REDACTED]");
    cr_assert_str_eq(red("plain text with no secret"), "plain text with no secret");
    gw_redact_reset();
}

/* A long line is copied in runs: the output must be byte-identical to the input when nothing
 * matches, right up to the cap. */
Test(redact, long_clean_line_is_copied_exactly)
{
    static char in[900], out[1024];
    for (size_t i = 0; i < sizeof in - 1; i++)
        in[i] = (char)('c' + i % 20);
    in[sizeof in - 1] = '\0';
    size_t n = gw_redact(in, strlen(in), out, sizeof out);
    cr_assert_eq(n, strlen(in));
    cr_assert_str_eq(out, in);
}

/* Cut at the buffer's end, the output keeps whole UTF-8 characters (2, 3 and 4 bytes, cut at
 * each of their bytes); a text that fits is not touched. */
Test(redact, a_cut_never_splits_a_character)
{
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t c = 0; c < 3; c++) {
        size_t w = strlen(chars[c]);
        for (size_t pad = 0; pad < w; pad++) {
            char in[64] = "", out[16];
            memset(in, '.', pad);
            for (size_t k = 0; k < 8; k++)
                memcpy(in + pad + k * w, chars[c], w);
            size_t n = gw_redact(in, strlen(in), out, sizeof out);
            cr_assert_eq(out[n], '\0');
            cr_assert_eq((n - pad) % w, 0, "char %zu pad %zu: cut inside a character (%zu)", c, pad,
                         n);
            cr_assert_geq(n, sizeof out - 1 - w, "no more than the cut character is dropped");
        }
    }
    char out[16];
    cr_assert_eq(gw_redact("\xc3\xa9\xc3\xa9", 4, out, sizeof out), 4);
}

/* A gateway key ("aigw_" + 12-character public id + "_" + secret) is masked by its shape
 * wherever it turns up (a prompt, a client's body, an upstream error): its secret is never
 * registered anywhere, as only its hash is kept. The public id stays, to say whose it was. */
Test(redact, gateway_key_secrets_by_shape)
{
    cr_assert_str_eq(
        red("my key is aigw_AbCdEfGh1234_0123456789abcdefghijABCDEFGHIJ0123456789xyz, ok"),
        "my key is aigw_AbCdEfGh1234_[REDACTED], ok");
    cr_assert_str_eq(red("{\"api_key\":\"aigw_AbCdEfGh1234_S3cr3tS3cr3tS3cr3t\"}"),
                     "{\"api_key\":\"aigw_AbCdEfGh1234_[REDACTED]\"}");
    /* not that shape: left alone */
    cr_assert_str_eq(red("aigw_keys table"), "aigw_keys table");
    cr_assert_str_eq(red("aigw_AbCdEfGh1234 alone"), "aigw_AbCdEfGh1234 alone");
    cr_assert_str_eq(red("aigw_AbCdEfGh1234_ab"), "aigw_AbCdEfGh1234_ab");
}
