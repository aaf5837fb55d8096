/*
 * testutil - shared helpers of the plugin tests (see testutil.h).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

const char *tu_json(const char *s)
{
    static char buf[4][16384];
    static int k;
    char *b = buf[k++ % 4];
    size_t i;

    for (i = 0; s[i] && i < sizeof buf[0] - 1; i++)
        b[i] = s[i] == '\'' ? '"' : s[i];
    b[i] = '\0';
    return b;
}

const cJSON *tu_at(const cJSON *root, const char *path)
{
    const cJSON *cur = root;
    const char *p = path;

    while (cur && *p) {
        char key[128];
        size_t n = strcspn(p, ".");
        cr_assert(n < sizeof key, "path segment too long: %s", path);
        memcpy(key, p, n);
        key[n] = '\0';
        p += n + (p[n] == '.');
        if (cJSON_IsArray(cur)) {
            char *end;
            long i = strtol(key, &end, 10);
            cur = (*end || end == key) ? NULL : cJSON_GetArrayItem(cur, (int)i);
        } else {
            cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        }
    }
    return cur;
}

const char *tu_str_at(const cJSON *root, const char *path)
{
    const cJSON *v = tu_at(root, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double tu_num_at(const cJSON *root, const char *path)
{
    const cJSON *v = tu_at(root, path);
    cr_assert(cJSON_IsNumber(v), "%s is not a number", path);
    return v->valuedouble;
}

void tu_expect_str(const cJSON *o, const char *path, const char *want)
{
    const cJSON *v = tu_at(o, path);
    cr_assert(cJSON_IsString(v), "%s is not a string", path);
    cr_assert_str_eq(v->valuestring, want, "%s", path);
}

void tu_expect_num(const cJSON *o, const char *path, double want)
{
    const cJSON *v = tu_at(o, path);
    cr_assert(cJSON_IsNumber(v), "%s is not a number", path);
    cr_assert_eq(v->valuedouble, want, "%s: %g != %g", path, v->valuedouble, want);
}

void tu_expect_absent(const cJSON *o, const char *path)
{
    cr_assert_null(tu_at(o, path), "%s should be absent", path);
}

const cJSON *tu_get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert_not_null(v, "missing %s", key);
    return v;
}

double tu_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "%s is not a number", key);
    return v->valuedouble;
}

const char *tu_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "%s is not a string", key);
    return v->valuestring;
}

void tu_no_secret(struct ph_call *c, const char *secret)
{
    cr_assert_null(strstr(ph_output(c), secret), "the key leaked: %s", ph_output(c));
}

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

void tu_expect_error(struct ph_call *c, int status, const char *message, const char *type,
                     const char *param, const char *code)
{
    /* Built with cJSON so the escaping matches; the key order is the renderer's. */
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    cr_assert_not_null(e);
    cJSON_AddItemToObject(e, "message", cJSON_CreateString(message));
    cJSON_AddItemToObject(e, "type", str_or_null(type));
    cJSON_AddItemToObject(e, "param", str_or_null(param));
    cJSON_AddItemToObject(e, "code", str_or_null(code));
    char *want = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    cr_assert_not_null(want);
    cr_assert_eq(ph_client_status(c), status, "status %d, want %d: %s", ph_client_status(c), status,
                 ph_output(c));
    cr_assert_str_eq(ph_output(c), want, "got  %s\nwant %s", ph_output(c), want);
    free(want);
}

const struct tu_retry_hint tu_retry_hints[TU_RETRY_HINTS] = {
    {"retry-after: 7\r\n", 7000},
    {"Retry-After-Ms: 1500\r\nRetry-After: 9\r\n", 1500},  /* milliseconds win */
    {"retry-after-ms: later\r\nretry-after: 4\r\n", 4000}, /* a bad one does not hide */
    {"Retry-After: 1.5\r\n", 1500},
    {"Retry-After: 99999999\r\n", 86400000},                      /* capped at a day */
    {"Retry-After: Wed, 21 Oct 2099 07:28:00 GMT\r\n", 86400000}, /* HTTP-date, capped */
    {"Retry-After: Sat, 01 Jan 2000 00:00:00 GMT\r\n", 0},        /* a past date: now */
};

void tu_assert_json(const cJSON *got, const char *expected)
{
    cJSON *want = cJSON_Parse(expected);
    cr_assert_not_null(want, "bad expected JSON: %s", expected);
    char *g = got ? cJSON_PrintUnformatted(got) : NULL;
    cr_assert(cJSON_Compare(got, want, 1), "got %s\nwant %s", g ? g : "(null)", expected);
    free(g);
    cJSON_Delete(want);
}

char *tu_blank_created(const char *s)
{
    size_t n = strlen(s), i = 0, o = 0;
    char *out = malloc(n + 1);

    cr_assert_not_null(out);
    while (i < n) {
        if (strncmp(s + i, "\"created\":", 10) == 0) {
            memcpy(out + o, s + i, 10);
            o += 10;
            i += 10;
            while (i < n && s[i] >= '0' && s[i] <= '9')
                i++;
            continue;
        }
        out[o++] = s[i++];
    }
    out[o] = '\0';
    return out;
}

void tu_expect_split_identical(struct ph_call *(*run)(const char *fixture, size_t split),
                               const char *fixture, int blank_created)
{
    struct ph_call *a = run(fixture, 0);
    struct ph_call *b = run(fixture, 1);

    if (blank_created) {
        char *x = tu_blank_created(ph_output(a)), *y = tu_blank_created(ph_output(b));
        cr_assert_str_eq(x, y, "split=1 differs for %s", fixture);
        free(x);
        free(y);
    } else {
        cr_assert_str_eq(ph_output(a), ph_output(b), "split=1 differs for %s", fixture);
    }
    ph_free(a);
    ph_free(b);
}
