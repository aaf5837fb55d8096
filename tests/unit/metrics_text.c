/* metrics_text - reading a scrape in tests (see metrics_text.h). */
#include "unit/metrics_text.h"

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "obs/metrics.h"

char *mt_render(const struct gw_gateway *gw)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    cr_assert_eq(gw_metrics_render(gw, &b), 0);
    size_t n;
    char *s = gw_buf_steal(&b, &n);
    cr_assert_not_null(s);
    return s;
}

/* The sample lines (no comments) of one metric name prefix, '\n'-joined. */
char *mt_samples(const char *text, const char *prefix)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_buf_append_str(&b, "");
    size_t pl = strlen(prefix);
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > pl && !strncmp(p, prefix, pl) && (p[pl] == '{' || p[pl] == ' ' || p[pl] == '_')) {
            gw_buf_append(&b, p, n);
            gw_buf_append_str(&b, "\n");
        }
        p += n + (e ? 1 : 0);
    }
    size_t n;
    return gw_buf_steal(&b, &n);
}

int mt_count_lines(const char *text, const char *prefix)
{
    int k = 0;
    size_t pl = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        k += !strncmp(p, prefix, pl);
    return k;
}

void mt_expect(const char *text, const char *prefix, const char *want)
{
    char *got = mt_samples(text, prefix);
    cr_assert_str_eq(got, want, "%s: got\n%s\nwant\n%s", prefix, got, want);
    free(got);
}
