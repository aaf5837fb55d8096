/* retry_after - Retry-After and retry-after-ms to milliseconds (see retry_after.h). */
#include "lib/retry_after.h"

#include <string.h>
#include <time.h>

/* Longer than any HTTP-date form ("Sunday, 06-Nov-94 08:49:37 GMT" is 30 bytes). */
#define DATE_MAX 64
/* Fraction digits that can still change a rounded-up millisecond count of seconds. */
#define FRAC_DIGITS 9

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Header values arrive with optional whitespace around them (RFC 9110 OWS). */
static struct aigw_bytes trim(struct aigw_bytes b)
{
    if (!b.ptr)
        b.len = 0;
    while (b.len && (b.ptr[0] == ' ' || b.ptr[0] == '\t')) {
        b.ptr++;
        b.len--;
    }
    while (b.len && (b.ptr[b.len - 1] == ' ' || b.ptr[b.len - 1] == '\t'))
        b.len--;
    return b;
}

/* "123" or "1.25" (digits, optionally a dot and more digits; nothing else) times unit_ms,
 * rounded up and capped; -1 for anything else. Parsed by hand rather than with strtod, which
 * would also take signs, "inf", "nan", hex and exponents, none of which a header means. */
static int64_t decimal_ms(struct aigw_bytes b, int64_t unit_ms)
{
    int64_t whole = 0, frac = 0, scale = 1;
    size_t i = 0;

    if (b.len == 0 || !is_digit(b.ptr[0]))
        return -1;
    for (; i < b.len && is_digit(b.ptr[i]); i++)
        if (whole <= GW_RETRY_AFTER_MAX_MS) /* past the cap, the exact value no longer matters */
            whole = whole * 10 + (b.ptr[i] - '0');
    if (i < b.len && b.ptr[i] == '.') {
        size_t first = ++i;
        for (; i < b.len && is_digit(b.ptr[i]); i++) {
            if (i - first < FRAC_DIGITS) {
                frac = frac * 10 + (b.ptr[i] - '0');
                scale *= 10;
            }
        }
        if (i == first)
            return -1;
    }
    if (i != b.len)
        return -1;
    if (whole >= GW_RETRY_AFTER_MAX_MS / unit_ms)
        return GW_RETRY_AFTER_MAX_MS;
    int64_t ms = whole * unit_ms + (frac * unit_ms + scale - 1) / scale;
    return ms > GW_RETRY_AFTER_MAX_MS ? GW_RETRY_AFTER_MAX_MS : ms;
}

/* An HTTP-date in any of the three forms RFC 9110 §5.6.7 obliges recipients to accept, as
 * milliseconds from now_unix (0 when it has passed); -1 when it is none of them. */
static int64_t date_ms(struct aigw_bytes b, int64_t now_unix)
{
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",      /* asctime: Sun Nov  6 08:49:37 1994 */
    };
    char buf[DATE_MAX];

    if (b.len == 0 || b.len >= sizeof buf)
        return -1;
    memcpy(buf, b.ptr, b.len);
    buf[b.len] = '\0';
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(buf, forms[i], &tm);
        if (!end || *end)
            continue;
        int64_t delta = (int64_t)timegm(&tm) - now_unix;
        if (delta <= 0)
            return 0;
        return delta >= GW_RETRY_AFTER_MAX_MS / 1000 ? GW_RETRY_AFTER_MAX_MS : delta * 1000;
    }
    return -1;
}

int64_t gw_retry_after_parse(struct aigw_bytes ms_header, struct aigw_bytes header,
                             int64_t now_unix)
{
    int64_t ms;

    /* A malformed retry-after-ms must not hide a good Retry-After: fall through. */
    if ((ms = decimal_ms(trim(ms_header), 1)) >= 0)
        return ms;
    header = trim(header);
    if ((ms = decimal_ms(header, 1000)) >= 0)
        return ms;
    return date_ms(header, now_unix);
}

int64_t gw_retry_after_ms(struct aigw_call *call)
{
    const struct aigw_host *h = call->host;
    return gw_retry_after_parse(h->response_header(call, "retry-after-ms"),
                                h->response_header(call, "retry-after"), h->unix_time());
}
