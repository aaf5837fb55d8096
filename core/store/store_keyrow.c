/*
 * store_keyrow - key rows to records and back: token minting and hashing, reading a row into a
 * struct gw_key, and the spend of a key's current period from the per-day running totals.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/crypto.h"

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* n characters of [A-Za-z0-9] from the CSPRNG, unbiased (bytes >= 248 are redrawn). */
static int random_alnum(char *out, size_t n)
{
    unsigned char buf[64];
    size_t o = 0;
    while (o < n) {
        if (RAND_bytes(buf, sizeof buf) != 1)
            return AIGW_EINTERNAL;
        for (size_t i = 0; i < sizeof buf && o < n; i++)
            if (buf[i] < 248)
                out[o++] = alnum[buf[i] % 62];
    }
    out[n] = '\0';
    return 0;
}

int gw_store_mint(char id[GW_KEY_ID_LEN + 1], char secret[GW_KEY_SECRET_LEN + 1])
{
    if (id && random_alnum(id, GW_KEY_ID_LEN))
        return AIGW_EINTERNAL;
    return random_alnum(secret, GW_KEY_SECRET_LEN);
}

void gw_store_hash_secret(const struct gw_store *s, const char *secret, size_t len,
                          unsigned char out[32])
{
    gw_hmac_sha256(s->pepper, sizeof s->pepper, secret, len, out);
}

static int unhex32(const char *h, unsigned char out[32])
{
    if (!h || strlen(h) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = h[2 * i + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* A JSON array of strings into a malloc'd vector; NULL text: any (NULL vector). */
static int parse_list(const char *json, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json)
        return 0;
    cJSON *a = cJSON_Parse(json);
    if (!cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return AIGW_EINTERNAL;
    }
    int count = cJSON_GetArraySize(a);
    char **v = calloc((size_t)count + 1, sizeof *v);
    if (!v) {
        cJSON_Delete(a);
        return AIGW_ENOMEM;
    }
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        if (cJSON_IsString(it) && !(v[k++] = strdup(it->valuestring)))
            break;
    }
    cJSON_Delete(a);
    *out = v;
    *n = k;
    return k == (size_t)count ? 0 : AIGW_ENOMEM;
}

/* The columns every key read selects, in the order row_key expects. */
const char gw_store_key_cols[] =
    "id, name, owner, metadata, models, providers, rpm, tpm, budget_nusd, budget_period,"
    " expires_at, state, hash, prev_hash, prev_valid_until, created_at, updated_at,"
    " revoked_at, last_used_at";

int gw_store_row_key(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct gw_key_read *r = ctx;
    if (ncol < 19)
        return AIGW_EINTERNAL;
    struct gw_key *k = gw_key_alloc();
    if (!k)
        return AIGW_ENOMEM;
    gw_sql_str(k->id, sizeof k->id, v[0]);
    gw_sql_str(k->name, sizeof k->name, v[1]);
    gw_sql_str(k->owner, sizeof k->owner, v[2]);
    int rc = 0;
    if (v[3] && !(k->metadata_json = strdup(v[3])))
        rc = AIGW_ENOMEM;
    if (!rc)
        rc = parse_list(v[4], &k->models, &k->n_models);
    if (!rc)
        rc = parse_list(v[5], &k->providers, &k->n_providers);
    k->rpm = gw_sql_i64(v[6]);
    k->tpm = gw_sql_i64(v[7]);
    int64_t b = gw_sql_i64(v[8]);
    k->budget_usd = b < 0 ? -1 : gw_nusd_to_usd(b);
    if (gw_budget_period_parse(v[9], &k->budget_period))
        k->budget_period = GW_PERIOD_NONE;
    k->expires_at = gw_sql_i64(v[10]);
    k->state = v[11] && !strcmp(v[11], "active") ? GW_KEY_ACTIVE : GW_KEY_REVOKED;
    if (r->hash && unhex32(v[12], r->hash))
        rc = AIGW_EINTERNAL;
    if (r->prev_hash && (!v[13] || unhex32(v[13], r->prev_hash)))
        memset(r->prev_hash, 0, 32);
    k->prev_valid_until = v[13] ? gw_sql_i64(v[14]) : 0;
    k->created_at = gw_sql_i64(v[15]);
    k->updated_at = gw_sql_i64(v[16]);
    k->revoked_at = gw_sql_i64(v[17]);
    k->last_used_at = gw_sql_i64(v[18]);
    if (rc) {
        gw_key_unref(k);
        return rc;
    }
    r->k = k;
    return 1; /* one row is all a load wants */
}

int gw_store_key_load(struct gw_store *s, struct gw_sql_conn *c, const char *id,
                      struct gw_key **out, unsigned char hash[32], unsigned char prev_hash[32],
                      int64_t deadline)
{
    char sql[512];
    size_t n = gw_strlcpy(sql, "SELECT ", sizeof sql);
    n += gw_strlcpy(sql + n, gw_store_key_cols, sizeof sql - n);
    gw_strlcpy(sql + n, " FROM aigw_keys WHERE id = $1", sizeof sql - n);
    struct gw_key_read r = {NULL, hash, prev_hash};
    struct gw_sql_param p = gw_sql_text(id);
    int rc = s->ops->exec(c, sql, &p, 1, gw_store_row_key, &r, deadline);
    if (rc == 1)
        rc = 0;
    if (rc)
        return rc;
    if (!r.k)
        return GW_STORE_ENOTFOUND;
    *out = r.k;
    return 0;
}

/* SQL summing a key's per-day spend over each period kind at once ($2..$4: start days). */
const char gw_store_spend_sql[] = "SELECT key_id, SUM(cost_nusd),"
                                  " SUM(CASE WHEN day >= $2 THEN cost_nusd ELSE 0 END),"
                                  " SUM(CASE WHEN day >= $3 THEN cost_nusd ELSE 0 END),"
                                  " SUM(CASE WHEN day >= $4 THEN cost_nusd ELSE 0 END)"
                                  " FROM aigw_key_spend WHERE ";

void gw_store_spend_params(int64_t now, struct gw_sql_param p[3])
{
    p[0] = gw_sql_int(gw_budget_period_start(GW_PERIOD_DAILY, now) / 86400);
    p[1] = gw_sql_int(gw_budget_period_start(GW_PERIOD_WEEKLY, now) / 86400);
    p[2] = gw_sql_int(gw_budget_period_start(GW_PERIOD_MONTHLY, now) / 86400);
}

/* Sets k's spend and period from a spend row (columns as gw_store_spend_sql). */
void gw_store_spend_apply(struct gw_key *k, const char *const *v, int64_t now)
{
    int col = k->budget_period == GW_PERIOD_DAILY     ? 2
              : k->budget_period == GW_PERIOD_WEEKLY  ? 3
              : k->budget_period == GW_PERIOD_MONTHLY ? 4
                                                      : 1;
    k->spend_usd = v ? gw_nusd_to_usd(gw_sql_i64(v[col])) : 0;
}

void gw_store_period_apply(struct gw_key *k, int64_t now)
{
    k->period_start = gw_budget_period_start(k->budget_period, now);
    k->period_reset = gw_budget_period_reset(k->budget_period, now);
}

static int spend_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    void **a = ctx;
    if (ncol >= 5)
        gw_store_spend_apply(a[0], v, *(int64_t *)a[1]);
    return 0;
}

int gw_key_fill_spend(struct gw_store *s, struct gw_sql_conn *c, struct gw_key *k, int64_t now,
                      int64_t deadline)
{
    char sql[512];
    size_t n = gw_strlcpy(sql, gw_store_spend_sql, sizeof sql);
    gw_strlcpy(sql + n, "key_id = $1 GROUP BY key_id", sizeof sql - n);
    struct gw_sql_param p[4];
    p[0] = gw_sql_text(k->id);
    gw_store_spend_params(now, p + 1);
    gw_store_period_apply(k, now);
    k->spend_usd = 0;
    void *a[2] = {k, &now};
    return s->ops->exec(c, sql, p, 4, spend_row, a, deadline);
}
