/* The admin key API (transport-agnostic handler) and the `aigw keys` command, on SQLite. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin/admin_keys.h"
#include "admin/keys_cli.h"
#include "aigw/plugin.h"
#include "store/fixture.h"

TestSuite(admin_keys, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

struct answer {
    int status;
    cJSON *doc;
};

static struct answer call(struct gw_store *s, const char *method, const char *path,
                          const char *body)
{
    struct gw_buf out;
    gw_buf_init(&out, 1u << 20);
    struct answer a = {0};
    cr_assert_eq(
        gw_admin_keys_handle(s, method, path, body, body ? strlen(body) : 0, &out, &a.status), 0);
    a.doc = cJSON_Parse(out.ptr);
    cr_assert_not_null(a.doc, "not JSON: %s", out.ptr);
    gw_buf_free(&out);
    return a;
}

static const cJSON *get(const struct answer *a, const char *field)
{
    return cJSON_GetObjectItemCaseSensitive(a->doc, field);
}

static const char *str(const struct answer *a, const char *field)
{
    const cJSON *v = get(a, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *err_field(const struct answer *a, const char *field)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(a->doc, "error");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(admin_keys, create_shows_the_secret_once)
{
    struct gw_store *s = fx_open(NULL);
    struct answer a = call(s, "POST", "",
                           "{\"name\":\"app\",\"owner\":\"team-a\",\"models\":[\"gpt-4o*\"],"
                           "\"providers\":null,\"rpm\":10,\"tpm\":null,\"budget_usd\":5,"
                           "\"budget_period\":\"weekly\",\"expires_at\":4102444800,"
                           "\"metadata\":{\"cost_center\":\"42\"}}");
    cr_assert_eq(a.status, 201);
    const char *token = str(&a, "key"), *id = str(&a, "id");
    cr_assert_not_null(token);
    cr_assert_eq(strncmp(token, "aigw_", 5), 0);
    cr_assert_str_eq(str(&a, "object"), "gateway.key");
    cr_assert_str_eq(str(&a, "owner"), "team-a");
    cr_assert_eq(get(&a, "rpm")->valueint, 10);
    cr_assert(cJSON_IsNull(get(&a, "tpm")));
    cr_assert(cJSON_IsNull(get(&a, "providers")));
    cr_assert_str_eq(str(&a, "budget_period"), "weekly");
    cr_assert_float_eq(get(&a, "budget_usd")->valuedouble, 5, 1e-9);
    cr_assert_gt(get(&a, "budget_reset_at")->valuedouble, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(get(&a, "metadata"), "cost_center")->valuestring, "42");
    cr_assert_str_eq(str(&a, "state"), "active");
    struct gw_key *k = NULL;
    cr_assert_eq(gw_store_key_auth(s, token, strlen(token), &k), GW_AUTH_OK);
    gw_key_unref(k);

    char path[64];
    snprintf(path, sizeof path, "/%s", id);
    struct answer g = call(s, "GET", path, NULL);
    cr_assert_eq(g.status, 200);
    cr_assert_null(get(&g, "key"), "the secret is never shown again");
    cr_assert_str_eq(str(&g, "name"), "app");
    cr_assert_float_eq(get(&g, "spend_usd")->valuedouble, 0, 1e-12);
    cJSON_Delete(g.doc);
    cJSON_Delete(a.doc);
    gw_store_close(s);
}

Test(admin_keys, bad_bodies_name_the_field)
{
    struct gw_store *s = fx_open(NULL);
    struct {
        const char *body;
        int status;
        const char *param;
    } cases[] = {
        {"{\"rpm\":-1}", 400, "rpm"},
        {"{\"rpm\":1.5}", 400, "rpm"},
        {"{\"tpm\":\"10\"}", 400, "tpm"},
        {"{\"budget\":3}", 400, "budget"},
        {"{\"budget_usd\":-2}", 400, "budget_usd"},
        {"{\"budget_period\":\"yearly\"}", 400, "budget_period"},
        {"{\"models\":\"gpt-4o\"}", 400, "models"},
        {"{\"metadata\":[1]}", 400, "metadata"},
        {"{\"expires_at\":-5}", 400, "expires_at"},
        {"{\"name\":7}", 400, "name"},
        {"[1,2]", 400, NULL},
        {"{not json", 400, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct answer a = call(s, "POST", "", cases[i].body);
        cr_assert_eq(a.status, cases[i].status, "case %zu", i);
        cr_assert_str_eq(err_field(&a, "type"), "invalid_request_error");
        if (cases[i].param)
            cr_assert_str_eq(err_field(&a, "param"), cases[i].param, "case %zu", i);
        cJSON_Delete(a.doc);
    }
    /* an entry the store itself refuses (an empty glob) */
    struct answer a = call(s, "POST", "", "{\"models\":[\"\"]}");
    cr_assert_eq(a.status, 400);
    cr_assert(strstr(err_field(&a, "message"), "models"));
    cJSON_Delete(a.doc);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_keys"), 0, "nothing was created");

    char *big = malloc(GW_ADMIN_BODY_MAX + 2);
    memset(big, ' ', GW_ADMIN_BODY_MAX + 1);
    big[GW_ADMIN_BODY_MAX + 1] = '\0';
    a = call(s, "POST", "", big);
    cr_assert_eq(a.status, 413);
    cJSON_Delete(a.doc);
    free(big);
    gw_store_close(s);
}

Test(admin_keys, patch_rotate_revoke_and_routes)
{
    struct gw_store *s = fx_open(NULL);
    struct answer c = call(s, "POST", "", "{\"name\":\"x\",\"rpm\":5}");
    char path[64], rot[80];
    snprintf(path, sizeof path, "/%s", str(&c, "id"));
    snprintf(rot, sizeof rot, "/%s/rotate", str(&c, "id"));
    char old[GW_KEY_TOKEN_SIZE];
    snprintf(old, sizeof old, "%s", str(&c, "key"));

    struct answer p = call(s, "PATCH", path, "{\"rpm\":null,\"models\":[\"claude-*\"]}");
    cr_assert_eq(p.status, 200);
    cr_assert(cJSON_IsNull(get(&p, "rpm")));
    cr_assert_str_eq(str(&p, "name"), "x");
    cr_assert_str_eq(cJSON_GetArrayItem(get(&p, "models"), 0)->valuestring, "claude-*");
    cJSON_Delete(p.doc);
    p = call(s, "PATCH", path, "{}");
    cr_assert_eq(p.status, 400);
    cJSON_Delete(p.doc);

    struct answer r = call(s, "POST", rot, "{\"grace_seconds\":600}");
    cr_assert_eq(r.status, 200);
    cr_assert_str_neq(str(&r, "key"), old);
    char cur[GW_KEY_TOKEN_SIZE];
    snprintf(cur, sizeof cur, "%s", str(&r, "key"));
    cr_assert_gt(get(&r, "previous_key_valid_until")->valuedouble, 0);
    cJSON_Delete(r.doc);
    r = call(s, "POST", rot, "{\"grace\":1}");
    cr_assert_eq(r.status, 400);
    cJSON_Delete(r.doc);

    struct answer d = call(s, "DELETE", path, NULL);
    cr_assert_eq(d.status, 200);
    cr_assert_str_eq(str(&d, "state"), "revoked");
    cr_assert_gt(get(&d, "revoked_at")->valuedouble, 0);
    cJSON_Delete(d.doc);
    struct gw_key *k = NULL;
    cr_assert_eq(gw_store_key_auth(s, cur, strlen(cur), &k), GW_AUTH_REVOKED);
    /* revoking ends the rotation grace too: the old secret is no credential at all */
    cr_assert_eq(gw_store_key_auth(s, old, strlen(old), &k), GW_AUTH_BAD_SECRET);

    const struct {
        const char *method, *path;
        int status;
    } routes[] = {
        {"GET", "/nosuchkey000", 404},
        {"PATCH", "/nosuchkey000", 404},
        {"DELETE", "/nosuchkey000", 404},
        {"PUT", path, 405},
        {"DELETE", "", 405},
        {"GET", rot, 405},
        {"GET", "/a/b", 404},
        {"GET", "nonsense", 404},
        {"GET", "?limit=0", 400},
        {"GET", "?limit=abc", 400},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        struct answer a = call(s, routes[i].method, routes[i].path,
                               !strcmp(routes[i].method, "PATCH") ? "{\"name\":\"y\"}" : NULL);
        cr_assert_eq(a.status, routes[i].status, "%s %s -> %d", routes[i].method, routes[i].path,
                     a.status);
        cr_assert_not_null(err_field(&a, "message"));
        cJSON_Delete(a.doc);
    }
    cJSON_Delete(c.doc);
    gw_store_close(s);
}

Test(admin_keys, list_pages_with_after)
{
    struct gw_store *s = fx_open(NULL);
    for (int i = 0; i < 5; i++)
        cJSON_Delete(call(s, "POST", "", "{}").doc);
    struct answer a = call(s, "GET", "?limit=2", NULL);
    cr_assert_eq(a.status, 200);
    cr_assert_str_eq(str(&a, "object"), "list");
    cr_assert_eq(cJSON_GetArraySize(get(&a, "data")), 2);
    cr_assert(cJSON_IsTrue(get(&a, "has_more")));
    char q[64];
    snprintf(q, sizeof q, "?limit=10&after=%s", str(&a, "last_id"));
    struct answer b = call(s, "GET", q, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(&b, "data")), 3);
    cr_assert(cJSON_IsFalse(get(&b, "has_more")));
    cJSON_Delete(a.doc);
    cJSON_Delete(b.doc);
    gw_store_close(s);
}

/* Keys with 16 KiB of metadata each: a page holds what fits in the answer's buffer (1 MiB in
 * this test, 16 MiB in the server) and says has_more; following last_id lists every key
 * once. The whole list was an error. */
Test(admin_keys, a_page_of_large_keys_ends_where_the_answer_is_full)
{
    struct gw_store *s = fx_open(NULL);
    char *meta = malloc(16300 + 64);
    cr_assert_not_null(meta);
    int n = snprintf(meta, 64, "{\"name\":\"k\",\"metadata\":{\"blob\":\"");
    memset(meta + n, 'm', 16300 - (size_t)n - 8);
    memcpy(meta + 16300 - 8, "\"}}", 4);
    for (int i = 0; i < 100; i++) {
        struct answer c = call(s, "POST", "", meta);
        cr_assert_eq(c.status, 201, "%s", cJSON_PrintUnformatted(c.doc));
        cJSON_Delete(c.doc);
    }
    free(meta);
    int seen = 0, pages = 0;
    char q[96] = "?limit=1000";
    for (;;) {
        struct answer a = call(s, "GET", q, NULL);
        cr_assert_eq(a.status, 200);
        int got = cJSON_GetArraySize(get(&a, "data"));
        cr_assert_gt(got, 0);
        seen += got;
        pages++;
        int more = cJSON_IsTrue(get(&a, "has_more"));
        if (more)
            snprintf(q, sizeof q, "?limit=1000&after=%s", str(&a, "last_id"));
        cJSON_Delete(a.doc);
        if (!more)
            break;
        cr_assert_lt(pages, 100);
    }
    cr_assert_eq(seen, 100, "every key once");
    cr_assert_gt(pages, 1, "1.6 MB of keys do not fit one 1 MiB answer");
    gw_store_close(s);
}

/* Runs `aigw keys ...` in process with stdout captured. */
static int cli(char **out, int argc, ...)
{
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    char tmpl[] = "/tmp/aigw-cli-XXXXXX";
    int fd = mkstemp(tmpl);
    cr_assert_geq(fd, 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    int rc = gw_keys_cli(argc, argv, fx_url());
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    *out = calloc(1, (size_t)n + 1);
    cr_assert_eq(pread(fd, *out, (size_t)n, 0), n);
    close(fd);
    unlink(tmpl);
    return rc;
}

Test(admin_keys, the_command_line_does_the_same)
{
    char *out = NULL;
    cr_assert_eq(cli(&out, 8, "keys", "create", "--name", "cli", "--models", "gpt-4o*,o3",
                     "--budget=1.5", "--period=daily"),
                 0);
    cJSON *doc = cJSON_Parse(out);
    cr_assert_not_null(doc, "%s", out);
    const char *id = cJSON_GetObjectItem(doc, "id")->valuestring;
    cr_assert_str_eq(cJSON_GetObjectItem(doc, "name")->valuestring, "cli");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "models")), 2);
    cr_assert_not_null(cJSON_GetObjectItem(doc, "key"));
    char idc[32];
    snprintf(idc, sizeof idc, "%s", id);
    cJSON_Delete(doc);
    free(out);

    cr_assert_eq(cli(&out, 5, "keys", "update", idc, "--rpm", "30"), 0);
    cr_assert(strstr(out, "\"rpm\":\t30") || strstr(out, "\"rpm\": 30"), "%s", out);
    free(out);
    cr_assert_eq(cli(&out, 3, "keys", "show", idc), 0);
    cr_assert_null(strstr(out, "\"key\""), "show never prints a secret");
    free(out);
    cr_assert_eq(cli(&out, 2, "keys", "list"), 0);
    cr_assert(strstr(out, idc));
    free(out);
    cr_assert_eq(cli(&out, 5, "keys", "rotate", idc, "--grace", "60"), 0);
    cr_assert(strstr(out, "aigw_"));
    free(out);
    cr_assert_eq(cli(&out, 3, "keys", "revoke", idc), 0);
    cr_assert(strstr(out, "revoked"));
    free(out);

    cr_assert_eq(cli(&out, 4, "keys", "create", "--bogus", "1"), 2);
    free(out);
    cr_assert_eq(cli(&out, 4, "keys", "create", "--rpm", "-3"), 1, "refused by the API");
    free(out);
    cr_assert_eq(cli(&out, 2, "keys", "show"), 2);
    free(out);
    cr_assert_eq(cli(&out, 3, "keys", "show", "nosuchkey000"), 1);
    free(out);
    cr_assert_eq(cli(&out, 2, "keys", "frobnicate"), 2);
    free(out);
}

Test(admin_keys, a_field_given_twice_counts_once_the_last)
{
    struct gw_store *s = fx_open(NULL);
    struct answer a = call(s, "POST", "",
                           "{\"models\":[\"a\"],\"models\":[\"b\"],\"metadata\":{\"x\":1},"
                           "\"metadata\":null}");
    cr_assert_eq(a.status, 201);
    cr_assert_eq(cJSON_GetArraySize(get(&a, "models")), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(get(&a, "models"), 0)->valuestring, "b");
    cr_assert(cJSON_IsNull(get(&a, "metadata")));
    cJSON_Delete(a.doc);
    gw_store_close(s);
}

/* A body with one member: name = now + delta seconds (a few live at once, each its own). */
static const char *now_body(const char *name, long long delta)
{
    static char bufs[4][160];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "{\"%s\":%lld}", name, (long long)time(NULL) + delta);
    return b;
}

/* A key created already expired could never be used: a slip (a date in the past, a stale
 * script) the operator must hear about, not a 201 with a dead secret. */
Test(admin_keys, a_key_cannot_be_created_already_expired)
{
    struct gw_store *s = fx_open(NULL);
    const char *bodies[] = {"{\"name\":\"late\",\"expires_at\":1}",
                            "{\"name\":\"late\",\"expires_at\":0}", now_body("expires_at", -5)};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        struct answer a = call(s, "POST", "", bodies[i]);
        cr_assert_eq(a.status, 400, "case %zu: %d", i, a.status);
        cr_assert_str_eq(err_field(&a, "param"), "expires_at", "case %zu", i);
        cJSON_Delete(a.doc);
    }
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_keys"), 0, "nothing was created");
    /* the future and null are fine; a PATCH may still end a key now */
    struct answer ok = call(s, "POST", "", now_body("expires_at", 3600));
    cr_assert_eq(ok.status, 201);
    char path[64];
    snprintf(path, sizeof path, "/%s", str(&ok, "id"));
    cr_assert_str_eq(str(&ok, "state"), "active");
    struct answer p = call(s, "PATCH", path, now_body("expires_at", -1));
    cr_assert_eq(p.status, 200);
    /* refused from now on, and shown so: not "active" */
    cr_assert_str_eq(str(&p, "state"), "expired");
    cJSON_Delete(p.doc);
    p = call(s, "GET", "", NULL);
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(get(&p, "data"), 0), "state")->valuestring,
        "expired");
    cJSON_Delete(p.doc);
    cJSON_Delete(ok.doc);
    ok = call(s, "POST", "", "{\"expires_at\":null}");
    cr_assert_eq(ok.status, 201);
    cJSON_Delete(ok.doc);
    gw_store_close(s);
}

/* JSON's \u0000 ends a C string: "ab\u0000cd" must be refused, not stored as "ab". */
Test(admin_keys, a_nul_escape_is_refused_not_cut)
{
    struct gw_store *s = fx_open(NULL);
    const char *bodies[] = {"{\"name\":\"ab\\u0000cd\"}", "{\"owner\":\"\\u0000\"}",
                            "{\"models\":[\"gpt-4o\\u0000*\"]}",
                            "{\"metadata\":{\"note\":\"x\\u0000y\"}}"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        struct answer a = call(s, "POST", "", bodies[i]);
        cr_assert_eq(a.status, 400, "case %zu: %d", i, a.status);
        cJSON_Delete(a.doc);
    }
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_keys"), 0, "nothing was created");
    /* an escaped backslash before "u0000" is ordinary text */
    struct answer a = call(s, "POST", "", "{\"name\":\"a\\\\u0000b\"}");
    cr_assert_eq(a.status, 201);
    cr_assert_str_eq(str(&a, "name"), "a\\u0000b");
    cJSON_Delete(a.doc);
    gw_store_close(s);
}

/* A glob the API refuses (over 200 bytes) must be refused on the command line too, not
 * dropped from the list: a key allowed fewer models (or, alone, none) than asked. */
Test(admin_keys, the_command_line_drops_no_glob)
{
    char *out = NULL, glob[301];
    memset(glob, 'g', 300);
    glob[300] = '\0';
    char *arg = malloc(400);
    snprintf(arg, 400, "gpt-4o,%s", glob);
    cr_assert_eq(cli(&out, 4, "keys", "create", "--models", arg), 1, "%s", out);
    free(out);
    free(arg);
    /* nor is what follows a --metadata object dropped */
    cr_assert_eq(cli(&out, 4, "keys", "create", "--metadata", "{\"team\":\"a\"} x"), 2, "%s", out);
    free(out);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_keys"), 0, "nothing was created");
}

/* cJSON stops after the first value: what follows it must not be dropped in silence (the
 * limits in a second object would never apply). */
Test(admin_keys, content_after_the_object_is_refused)
{
    struct gw_store *s = fx_open(NULL);
    const char *bodies[] = {"{\"name\":\"a\"} {\"rpm\":5}", "{\"name\":\"a\"},\"rpm\":5}",
                            "{\"name\":\"a\"}x"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        struct answer a = call(s, "POST", "", bodies[i]);
        cr_assert_eq(a.status, 400, "case %zu: %d", i, a.status);
        cr_assert_str_eq(err_field(&a, "code"), "invalid_json", "case %zu", i);
        cJSON_Delete(a.doc);
    }
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_keys"), 0, "nothing was created");
    struct answer a = call(s, "POST", "", "{\"name\":\"a\"} \r\n\t");
    cr_assert_eq(a.status, 201, "white space after it is fine");
    cJSON_Delete(a.doc);
    gw_store_close(s);
}
