/* The console's embedded files: found at their URLs, and free of what the CSP forbids or
 * what would render request data as HTML (so the policy never has to save the page). */
#include <criterion/criterion.h>
#include <string.h>

#include "admin/console.h"

static char *text_of(const char *path)
{
    const struct gw_ui_asset *a = gw_console_find(path);
    cr_assert_not_null(a, "%s is not embedded", path);
    char *s = malloc(a->len + 1);
    cr_assert_not_null(s);
    memcpy(s, a->data, a->len);
    s[a->len] = '\0';
    cr_assert_eq(strlen(s), a->len, "%s holds a NUL", path);
    return s;
}

Test(console, files_are_served_at_their_urls_with_their_types)
{
    cr_assert_str_eq(gw_console_find("/admin/")->type, "text/html; charset=utf-8");
    cr_assert_str_eq(gw_console_find("/admin/ui/console.js")->type,
                     "text/javascript; charset=utf-8");
    cr_assert_str_eq(gw_console_find("/admin/ui/console.css")->type, "text/css; charset=utf-8");
    cr_assert_not_null(gw_console_find("/admin/ui/vendor/uplot/uPlot.iife.min.js"));
    cr_assert_not_null(gw_console_find("/admin/ui/vendor/uplot/LICENSE"));
    cr_assert_null(gw_console_find("/admin/ui/../../etc/passwd"));
    cr_assert_null(gw_console_find("/admin/ui/"));
    cr_assert(gw_console_path("/admin/") && gw_console_path("/admin") &&
              gw_console_path("/admin/ui/x.js"));
    cr_assert(!gw_console_path("/admin/logs") && !gw_console_path("/admin/keys/ui"));
    cr_assert_not_null(strstr(GW_CONSOLE_CSP, "script-src 'self';"));
    cr_assert_not_null(strstr(GW_CONSOLE_CSP, "frame-ancestors 'none'"));
}

Test(console, the_page_has_no_inline_script_style_or_handler)
{
    char *html = text_of("/admin/");
    for (const char *p = html; (p = strstr(p, "<script")); p++) {
        const char *end = strchr(p, '>');
        cr_assert_not_null(end);
        cr_assert_not_null(memmem(p, (size_t)(end - p), " src=\"/admin/ui/", 16),
                           "a script without a local src: %.60s", p);
        cr_assert_eq(strncmp(end, "></script>", 10), 0, "an inline script body: %.60s", p);
    }
    cr_assert_null(strstr(html, " style="), "an inline style attribute");
    cr_assert_null(strstr(html, "<style"), "an inline style element");
    cr_assert_null(strstr(html, "javascript:"));
    /* no event-handler attribute (" onclick=", " onload=", ...) */
    for (const char *p = html; (p = strstr(p, " on")); p++) {
        size_t n = 3;
        while (p[n] >= 'a' && p[n] <= 'z')
            n++;
        cr_assert(!(n > 3 && p[n] == '='), "an inline handler: %.30s", p);
    }
    cr_assert_null(strstr(html, "http://"), "no other origin");
    cr_assert_null(strstr(html, "https://"), "no other origin");
    free(html);
}

Test(console, the_script_never_parses_data_as_html)
{
    char *js = text_of("/admin/ui/console.js");
    static const char *const banned[] = {"innerHTML",      "outerHTML", "insertAdjacentHTML",
                                         "document.write", "eval(",     "new Function",
                                         "localStorage",   "http://",   "https://"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        cr_assert_null(strstr(js, banned[i]), "console.js uses %s", banned[i]);
    cr_assert_not_null(strstr(js, "sessionStorage"));
    free(js);
}
