/* keys_cli - `aigw keys ...` (see keys_cli.h). */
#include "admin/keys_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "admin/admin_keys.h"
#include "aigw/plugin.h"
#include "lib/buf.h"
#include "store/store.h"

static const char usage[] =
    "usage: aigw keys create [FIELDS]\n"
    "       aigw keys list [--limit N] [--after ID]\n"
    "       aigw keys show ID\n"
    "       aigw keys update ID FIELDS\n"
    "       aigw keys rotate ID [--grace SECONDS]\n"
    "       aigw keys revoke ID\n"
    "FIELDS: --name TEXT --owner TEXT --metadata JSON-OBJECT\n"
    "        --models GLOB,GLOB|any --providers NAME,NAME|any\n"
    "        --rpm N|unlimited --tpm N|unlimited --budget USD|none\n"
    "        --period none|daily|weekly|monthly --expires UNIX-SECONDS|never\n";

/* "a,b,c" as a JSON array of strings; "any" as null. Every item goes, whatever its length:
 * the API judges it (one dropped here would leave the key allowed less than asked). */
static cJSON *csv_array(const char *v)
{
    if (!strcmp(v, "any"))
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    const char *p = v;
    while (a && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n) {
            char *item = strndup(p, n);
            cJSON *s = item ? cJSON_CreateString(item) : NULL;
            free(item);
            if (!s || !cJSON_AddItemToArray(a, s)) {
                cJSON_Delete(s);
                cJSON_Delete(a);
                return NULL;
            }
        }
        p += n + (comma != NULL);
    }
    return a;
}

/* A number, or null for the word that means "no limit". NULL when it is neither. */
static cJSON *num_or(const char *v, const char *none)
{
    if (!strcmp(v, none))
        return cJSON_CreateNull();
    char *end = NULL;
    double d = strtod(v, &end);
    if (!*v || *end)
        return NULL;
    return cJSON_CreateNumber(d);
}

/* Flags from argv[i..] into body; 0, or 2 after printing what is wrong. */
static int fields(int argc, char **argv, int i, int rotate, cJSON *body)
{
    for (; i < argc; i++) {
        const char *f = argv[i], *v;
        char name[32];
        const char *eq = strchr(f, '=');
        if (strncmp(f, "--", 2) || (!eq && i + 1 >= argc)) {
            fprintf(stderr, "aigw keys: unexpected \"%s\"\n%s", f, usage);
            return 2;
        }
        size_t n = eq ? (size_t)(eq - f - 2) : strlen(f + 2);
        if (n >= sizeof name) {
            fprintf(stderr, "aigw keys: unknown flag %s\n", f);
            return 2;
        }
        memcpy(name, f + 2, n);
        name[n] = '\0';
        v = eq ? eq + 1 : argv[++i];
        cJSON *item = NULL;
        const char *key = name;
        if (rotate) {
            key = !strcmp(name, "grace") ? "grace_seconds" : NULL;
            item = key ? num_or(v, "none") : NULL;
        } else if (!strcmp(name, "name") || !strcmp(name, "owner")) {
            item = cJSON_CreateString(v);
        } else if (!strcmp(name, "metadata")) {
            item = cJSON_ParseWithOpts(v, NULL, 1); /* all of it, not its first value */
        } else if (!strcmp(name, "models") || !strcmp(name, "providers")) {
            item = csv_array(v);
        } else if (!strcmp(name, "rpm") || !strcmp(name, "tpm")) {
            item = num_or(v, "unlimited");
        } else if (!strcmp(name, "budget")) {
            key = "budget_usd";
            item = num_or(v, "none");
        } else if (!strcmp(name, "period")) {
            key = "budget_period";
            item = cJSON_CreateString(v);
        } else if (!strcmp(name, "expires")) {
            key = "expires_at";
            item = num_or(v, "never");
        } else {
            key = NULL;
        }
        if (!key) {
            fprintf(stderr, "aigw keys: unknown flag --%s\n%s", name, usage);
            return 2;
        }
        if (!item) {
            fprintf(stderr, "aigw keys: --%s: bad value \"%s\"\n", name, v);
            return 2;
        }
        cJSON_AddItemToObject(body, key, item);
    }
    return 0;
}

/* Runs one admin call and prints its answer: the exit status. */
static int run(struct gw_store *s, const char *method, const char *path, cJSON *body,
               struct gw_buf *out)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    int status = 0;
    int rc = gw_admin_keys_handle(s, method, path, text, text ? strlen(text) : 0, out, &status);
    free(text);
    if (rc)
        return 1;
    if (status >= 300) {
        cJSON *e = cJSON_Parse(out->ptr);
        const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "error"), "message");
        fprintf(stderr, "aigw keys: %s\n", cJSON_IsString(m) ? m->valuestring : out->ptr);
        cJSON_Delete(e);
        return 1;
    }
    return 0;
}

static int list_all(struct gw_store *s, int argc, char **argv, struct gw_buf *out)
{
    char q[160] = "";
    const char *after = NULL, *limit = NULL;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--after"))
            after = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--limit"))
            limit = argv[++i];
        else {
            fprintf(stderr, "aigw keys list: unexpected \"%s\"\n%s", argv[i], usage);
            return 2;
        }
    }
    /* one page when asked for one, else every page */
    int all = !limit && !after;
    char cursor[64] = "";
    if (after)
        snprintf(cursor, sizeof cursor, "%s", after);
    cJSON *data = cJSON_CreateArray();
    int rc = 0;
    for (;;) {
        snprintf(q, sizeof q, "?limit=%s%s%s", limit ? limit : "1000", cursor[0] ? "&after=" : "",
                 cursor);
        if ((rc = run(s, "GET", q, NULL, out)))
            break;
        cJSON *page = cJSON_Parse(out->ptr);
        cJSON *d = cJSON_DetachItemFromObject(page, "data");
        cJSON *it;
        while (d && (it = cJSON_DetachItemFromArray(d, 0)))
            cJSON_AddItemToArray(data, it);
        cJSON_Delete(d);
        const cJSON *more = cJSON_GetObjectItem(page, "has_more");
        const cJSON *last = cJSON_GetObjectItem(page, "last_id");
        int again = all && cJSON_IsTrue(more) && cJSON_IsString(last);
        if (again)
            snprintf(cursor, sizeof cursor, "%s", last->valuestring);
        cJSON_Delete(page);
        if (!again)
            break;
    }
    if (!rc) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "object", "list");
        cJSON_AddItemToObject(doc, "data", data);
        data = NULL;
        char *text = cJSON_Print(doc);
        cJSON_Delete(doc);
        if (text)
            printf("%s\n", text);
        free(text);
    }
    cJSON_Delete(data);
    return rc;
}

static int dispatch(struct gw_store *s, int argc, char **argv, struct gw_buf *out)
{
    const char *cmd = argv[1];
    if (!strcmp(cmd, "list"))
        return list_all(s, argc, argv, out);
    static const char *const known[] = {"create", "show", "update", "rotate", "revoke"};
    size_t c = 0;
    while (c < sizeof known / sizeof known[0] && strcmp(cmd, known[c]))
        c++;
    if (c == sizeof known / sizeof known[0]) {
        fprintf(stderr, "aigw keys: unknown command \"%s\"\n%s", cmd, usage);
        return 2;
    }
    int with_id = strcmp(cmd, "create") != 0;
    if (with_id && (argc < 3 || argv[2][0] == '-')) {
        fprintf(stderr, "aigw keys %s: which key? (its id)\n%s", cmd, usage);
        return 2;
    }
    char path[128];
    snprintf(path, sizeof path, "%s%s%s", with_id ? "/" : "", with_id ? argv[2] : "",
             !strcmp(cmd, "rotate") ? "/rotate" : "");
    if (strchr(with_id ? argv[2] : "", '/') || strchr(with_id ? argv[2] : "", '?')) {
        fprintf(stderr, "aigw keys: bad key id\n");
        return 2;
    }
    cJSON *body = cJSON_CreateObject();
    int rc = 0;
    const char *method = "GET";
    if (!strcmp(cmd, "create") || !strcmp(cmd, "update") || !strcmp(cmd, "rotate")) {
        rc = fields(argc, argv, with_id ? 3 : 2, !strcmp(cmd, "rotate"), body);
        method = !strcmp(cmd, "update") ? "PATCH" : "POST";
    } else {
        method = cmd[0] == 'r' ? "DELETE" : "GET";
        if (argc > 3) {
            fprintf(stderr, "aigw keys %s: unexpected \"%s\"\n", cmd, argv[3]);
            rc = 2;
        }
    }
    if (!rc)
        rc = run(s, method, path, strcmp(method, "GET") && strcmp(method, "DELETE") ? body : NULL,
                 out);
    cJSON_Delete(body);
    if (rc)
        return rc;
    cJSON *doc = cJSON_Parse(out->ptr);
    char *text = doc ? cJSON_Print(doc) : NULL;
    printf("%s\n", text ? text : out->ptr);
    if (cJSON_GetObjectItem(doc, "key"))
        fprintf(stderr, "aigw keys: the \"key\" above is shown this once; store it now.\n");
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    cJSON *secret = cJSON_GetObjectItem(doc, "key");
    if (cJSON_IsString(secret))
        OPENSSL_cleanse(secret->valuestring, strlen(secret->valuestring));
    cJSON_Delete(doc);
    return 0;
}

int gw_keys_cli(int argc, char **argv, const char *store_url)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    char err[256];
    struct gw_store *s = gw_store_open(store_url, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, "aigw keys: cannot open the store: %s\n", err);
        return 1;
    }
    struct gw_buf out;
    gw_buf_init(&out, 16u << 20);
    int rc = dispatch(s, argc, argv, &out);
    if (out.ptr)
        OPENSSL_cleanse(out.ptr, out.len);
    gw_buf_free(&out);
    gw_store_close(s);
    return rc;
}
