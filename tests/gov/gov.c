/* gov - helpers of the governance end-to-end tests (see gov.h). */
#include "gov/gov.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store/store.h"

int64_t gov_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *gov_dir(void)
{
    char *d = e2e_strf("/tmp/aigw-gov-XXXXXX");
    cr_assert(mkdtemp(d), "mkdtemp: %s", strerror(errno));
    return d;
}

void gov_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlink(e2e_strf("%s/%s", dir, de->d_name));
    }
    closedir(d);
    rmdir(dir);
}

struct e2e_gw *gov_gw(struct mock *m, const char *store_url, const char *redis_url,
                      const char *extra)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    char *cfg = e2e_strf(
        "{\"threads\":1,%s%s%s%s%s%s%s%s}", GOV_PRICES, store_url ? ",\"store\":{\"url\":\"" : "",
        store_url ? store_url : "", store_url ? "\"}" : "",
        /* A generous deadline: the test box is shared and sanitized; the
         * failure policy has its own test, with Redis killed. */
        redis_url ? ",\"redis\":{\"timeout_ms\":3000,\"url\":\"" : "", redis_url ? redis_url : "",
        redis_url ? "\"}" : "", extra && *extra ? e2e_strf(",%s", extra) : "");
    struct e2e_gw *gw =
        e2e_gw_start(cfg, "OPENAI_API_KEY=sk-upstream",
                     e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), "AIGW_ADMIN_KEY=" GOV_ADMIN,
                     e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
    return gw;
}

struct e2e_resp *gov_admin(struct e2e_gw *gw, const char *method, const char *path,
                           const char *body)
{
    return e2e_request(method, e2e_strf("%s%s", e2e_gw_url(gw), path), body,
                       "Authorization: Bearer " GOV_ADMIN, 10000);
}

void gov_key_create(struct e2e_gw *gw, const char *body, struct gov_key *k)
{
    struct e2e_resp *r = gov_admin(gw, "POST", "/admin/keys", body);
    cr_assert_eq(r->status, 201, "POST /admin/keys: %d %s", r->status, r->body);
    cJSON *j = e2e_resp_json(r);
    const cJSON *id = cJSON_GetObjectItem(j, "id"), *key = cJSON_GetObjectItem(j, "key");
    cr_assert(cJSON_IsString(id) && cJSON_IsString(key), "%s", r->body);
    snprintf(k->id, sizeof k->id, "%s", id->valuestring);
    snprintf(k->token, sizeof k->token, "%s", key->valuestring);
    e2e_resp_free(r);
}

struct e2e_resp *gov_chat(struct e2e_gw *gw, const char *token)
{
    return e2e_post(gw, "/v1/chat/completions", GOV_CHAT,
                    token ? e2e_strf("Authorization: Bearer %s", token) : NULL);
}

int gov_file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = strlen(needle), cap = 1u << 20, len = 0;
    char *buf = malloc(cap);
    int found = 0;
    cr_assert(buf);
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        for (size_t i = 0; !found && n <= len && i <= len - n; i++)
            found = !memcmp(buf + i, needle, n);
        if (found || got == 0)
            break;
        /* Keep the last n - 1 bytes: a needle across two reads is still found. */
        if (len >= n) {
            memmove(buf, buf + len - (n - 1), n - 1);
            len = n - 1;
        }
    }
    free(buf);
    fclose(f);
    return found;
}

int gov_redis_wait_clients(const struct redis_srv *srv, int n, int timeout_ms)
{
    int64_t t0 = gov_now_ms();
    while (gov_now_ms() - t0 < timeout_ms) {
        struct raw_reply rep;
        if (redis_srv_call(srv, &rep, "INFO", "clients", NULL) == 0) {
            const char *p = strstr(rep.str, "connected_clients:");
            /* The probe's own connection is one of them. */
            if (p && (int)strtol(p + strlen("connected_clients:"), NULL, 10) - 1 >= n)
                return 0;
        }
    }
    return -1;
}

void gov_ledger_assert(const char *db, const char *key_id, int64_t rows, double told, double tol)
{
    char err[256];
    struct gw_store *st = gw_store_open(e2e_strf("sqlite:%s", db), NULL, err, sizeof err);
    cr_assert(st, "%s", err);
    double total = -1;
    int64_t got = 0;
    cr_assert_eq(gw_store_ledger_total(st, key_id, &total, &got), 0);
    cr_assert_eq(got, rows, "ledger rows: %lld, want %lld", (long long)got, (long long)rows);
    cr_assert(fabs(total - told) < tol, "ledger %.10f vs told %.10f", total, told);
    gw_store_close(st);
}
