/*
 * store_keys - creating, changing, rotating, revoking, reading and listing keys. Every change
 * runs on the writer thread (the one writer) and is read back there after its commit, so the
 * caller gets the record as stored. Local changes drop the key from this process' cache at
 * once; other replicas see them when their cached record ages out (about a second).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/crypto.h"
#include "lib/utf8.h"

#define META_CAP (16u << 10)
#define LIST_MAX 256
#define GLOB_MAX 200

/* A spec checked and turned into column values. */
struct spec_cols {
    char *metadata, *models, *providers; /* normalized JSON, or NULL */
    int64_t budget_nusd;
};

static void cols_free(struct spec_cols *c)
{
    free(c->metadata);
    free(c->models);
    free(c->providers);
}

static int fail(char *err, size_t errsize, const char *msg)
{
    snprintf(err, errsize, "%s", msg);
    return AIGW_EINVAL;
}

static int check_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max || gw_utf8_invalid_at(s, n) != (size_t)-1)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return -1;
    return 0;
}

static int norm_list(const char *json, const char *field, char **out, char *err, size_t errsize)
{
    *out = NULL;
    if (!json)
        return 0;
    cJSON *a = cJSON_Parse(json);
    int rc = 0;
    char msg[160];
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > LIST_MAX) {
        snprintf(msg, sizeof msg, "%s must be an array of at most %d strings", field, LIST_MAX);
        rc = fail(err, errsize, msg);
    }
    const cJSON *it;
    if (!rc) {
        cJSON_ArrayForEach(it, a)
        {
            if (!cJSON_IsString(it) || !it->valuestring[0] ||
                check_text(it->valuestring, GLOB_MAX)) {
                snprintf(msg, sizeof msg,
                         "%s entries must be non-empty strings of at most %d bytes", field,
                         GLOB_MAX);
                rc = fail(err, errsize, msg);
                break;
            }
        }
    }
    if (!rc && !(*out = cJSON_PrintUnformatted(a)))
        rc = AIGW_ENOMEM;
    cJSON_Delete(a);
    return rc;
}

static int check_spec(const struct gw_key_spec *sp, struct spec_cols *c, char *err, size_t errsize)
{
    memset(c, 0, sizeof *c);
    unsigned set = sp->set;
    if ((set & GW_KEYF_NAME) && (!sp->name || check_text(sp->name, 127)))
        return fail(err, errsize, "name must be text of at most 127 bytes");
    if ((set & GW_KEYF_OWNER) && (!sp->owner || check_text(sp->owner, 127)))
        return fail(err, errsize, "owner must be text of at most 127 bytes");
    if ((set & GW_KEYF_RPM) && sp->rpm < -1)
        return fail(err, errsize, "rpm must be a non-negative integer (or null: unlimited)");
    if ((set & GW_KEYF_TPM) && sp->tpm < -1)
        return fail(err, errsize, "tpm must be a non-negative integer (or null: unlimited)");
    c->budget_nusd = -1;
    if (set & GW_KEYF_BUDGET) {
        if (sp->budget_usd != -1 && !(sp->budget_usd >= 0 && sp->budget_usd <= 1e9))
            return fail(err, errsize, "budget_usd must be a number from 0 to 1e9 (or null)");
        c->budget_nusd = sp->budget_usd == -1 ? -1 : gw_usd_to_nusd(sp->budget_usd);
    }
    if ((set & GW_KEYF_PERIOD) && (unsigned)sp->budget_period > GW_PERIOD_MONTHLY)
        return fail(err, errsize, "budget_period must be none, daily, weekly or monthly");
    if ((set & GW_KEYF_EXPIRES) && sp->expires_at < 0)
        return fail(err, errsize, "expires_at must be unix seconds (or null: never)");
    int rc = 0;
    if ((set & GW_KEYF_METADATA) && sp->metadata_json) {
        cJSON *m = cJSON_Parse(sp->metadata_json);
        if (!cJSON_IsObject(m))
            rc = fail(err, errsize, "metadata must be a JSON object");
        else if (!(c->metadata = cJSON_PrintUnformatted(m)))
            rc = AIGW_ENOMEM;
        else if (strlen(c->metadata) > META_CAP)
            rc = fail(err, errsize, "metadata is larger than 16 KiB");
        /* cJSON passes bytes through: PostgreSQL would refuse the row, and an answer
         * showing it would not be JSON */
        else if (gw_utf8_invalid_at(c->metadata, strlen(c->metadata)) != (size_t)-1)
            rc = fail(err, errsize, "metadata must be UTF-8 text");
        cJSON_Delete(m);
    }
    if (!rc && (set & GW_KEYF_MODELS))
        rc = norm_list(sp->models_json, "models", &c->models, err, errsize);
    if (!rc && (set & GW_KEYF_PROVIDERS))
        rc = norm_list(sp->providers_json, "providers", &c->providers, err, errsize);
    if (rc)
        cols_free(c);
    return rc;
}

/* "aigw_<id>_<secret>"; both parts have fixed lengths, so it always fits. */
static void make_token(char token[GW_KEY_TOKEN_SIZE], const char *id, const char *secret)
{
    size_t n = gw_strlcpy(token, GW_KEY_PREFIX, GW_KEY_TOKEN_SIZE);
    n += gw_strlcpy(token + n, id, GW_KEY_ID_LEN + 1);
    token[n++] = '_';
    gw_strlcpy(token + n, secret, GW_KEY_SECRET_LEN + 1);
}

/* What a call on the writer needs, and what it hands back. */
struct key_call {
    const char *id;
    const struct gw_key_spec *sp;
    struct spec_cols cols;
    int64_t grace_s;
    char id_buf[GW_KEY_ID_LEN + 1];
    char secret[GW_KEY_SECRET_LEN + 1];
    struct gw_key *out;
    char *err;
    size_t errsize;
};

static int found_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)ncol;
    (void)v;
    (void)len;
    *(int *)ctx = 1;
    return 0;
}

/* Reads the committed record back on the writer's connection. */
static int read_back(struct gw_store *s, struct gw_sql_conn *c, struct key_call *k,
                     int64_t deadline)
{
    int rc = gw_store_key_load(s, c, k->id, &k->out, NULL, NULL, deadline);
    if (!rc)
        rc = gw_key_fill_spend(s, c, k->out, gw_store_now_ms() / 1000, deadline);
    return rc;
}

static int end_tx(struct gw_store *s, struct gw_sql_conn *c, int rc, int64_t deadline)
{
    if (!rc)
        rc = gw_sql_tx(s, c, "commit", deadline);
    if (rc)
        gw_sql_tx(s, c, "rollback", deadline);
    return rc;
}

static int do_create(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    struct key_call *k = ctx;
    const struct gw_key_spec *sp = k->sp;
    int64_t deadline = gw_store_mono_ms() + STORE_WRITE_MS;
    int64_t now = gw_store_now_ms() / 1000;
    unsigned char h[32];
    char hex[65];
    gw_store_hash_secret(s, k->secret, strlen(k->secret), h);
    gw_hex(h, sizeof h, hex);
    int rc = gw_sql_tx(s, c, "begin", deadline);
    int inserted = 0;
    for (int tries = 0; !rc && !inserted && tries < 4; tries++) {
        if (tries && gw_store_mint(k->id_buf, k->secret) == 0) {
            gw_store_hash_secret(s, k->secret, strlen(k->secret), h);
            gw_hex(h, sizeof h, hex);
        }
        struct gw_sql_param p[] = {
            gw_sql_text(k->id_buf),
            gw_sql_text((sp->set & GW_KEYF_NAME) ? sp->name : ""),
            gw_sql_text((sp->set & GW_KEYF_OWNER) ? sp->owner : ""),
            gw_sql_text(k->cols.metadata),
            gw_sql_text(k->cols.models),
            gw_sql_text(k->cols.providers),
            gw_sql_int((sp->set & GW_KEYF_RPM) ? sp->rpm : -1),
            gw_sql_int((sp->set & GW_KEYF_TPM) ? sp->tpm : -1),
            gw_sql_int(k->cols.budget_nusd),
            gw_sql_text(gw_budget_period_str((sp->set & GW_KEYF_PERIOD) ? sp->budget_period
                                                                        : GW_PERIOD_NONE)),
            gw_sql_int((sp->set & GW_KEYF_EXPIRES) ? sp->expires_at : 0),
            gw_sql_text(hex),
            gw_sql_int(now),
        };
        /* ids are random: a clash (1 in 62^12) just draws again */
        rc = s->ops->exec(c,
                          "INSERT INTO aigw_keys (id, name, owner, metadata, models, providers,"
                          " rpm, tpm, budget_nusd, budget_period, expires_at, state, hash,"
                          " prev_hash, prev_valid_until, created_at, updated_at, revoked_at,"
                          " last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                          " 'active', $12, NULL, 0, $13, $13, 0, 0)"
                          " ON CONFLICT (id) DO NOTHING RETURNING id",
                          p, 13, found_row, &inserted, deadline);
    }
    if (!rc && !inserted)
        rc = AIGW_EINTERNAL;
    rc = end_tx(s, c, rc, deadline);
    k->id = k->id_buf;
    return rc ? rc : read_back(s, c, k, deadline);
}

int gw_store_key_create(struct gw_store *s, const struct gw_key_spec *spec,
                        char token[GW_KEY_TOKEN_SIZE], struct gw_key **out, char *err,
                        size_t errsize)
{
    struct key_call k = {.sp = spec, .err = err, .errsize = errsize};
    if (errsize)
        err[0] = '\0';
    token[0] = '\0';
    int rc = check_spec(spec, &k.cols, err, errsize);
    if (rc)
        return rc;
    if (gw_store_mint(k.id_buf, k.secret)) {
        cols_free(&k.cols);
        return AIGW_EINTERNAL;
    }
    rc = gw_store_call(s, do_create, &k);
    cols_free(&k.cols);
    if (rc == 0)
        make_token(token, k.id_buf, k.secret);
    gw_store_keycache_forget(s, k.id_buf);
    /* the secret must not outlive this frame anywhere but in token */
    OPENSSL_cleanse(k.secret, sizeof k.secret);
    if (out)
        *out = k.out;
    else
        gw_key_unref(k.out);
    return rc;
}

static int do_update(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    struct key_call *k = ctx;
    const struct gw_key_spec *sp = k->sp;
    int64_t deadline = gw_store_mono_ms() + STORE_WRITE_MS;
    struct gw_sql_param p[16];
    int np = 0;
    char sql[512];
    struct gw_buf b;
    gw_buf_init(&b, sizeof sql);
    p[np++] = gw_sql_text(k->id);
    p[np++] = gw_sql_int(gw_store_now_ms() / 1000);
    int rc = gw_buf_append_str(&b, "UPDATE aigw_keys SET updated_at = $2");
    /* one "col = $n" per member the spec sets */
    static const struct {
        unsigned bit;
        const char *col;
    } map[] = {
        {GW_KEYF_NAME, "name"},
        {GW_KEYF_OWNER, "owner"},
        {GW_KEYF_METADATA, "metadata"},
        {GW_KEYF_MODELS, "models"},
        {GW_KEYF_PROVIDERS, "providers"},
        {GW_KEYF_RPM, "rpm"},
        {GW_KEYF_TPM, "tpm"},
        {GW_KEYF_BUDGET, "budget_nusd"},
        {GW_KEYF_PERIOD, "budget_period"},
        {GW_KEYF_EXPIRES, "expires_at"},
    };
    for (size_t i = 0; !rc && i < sizeof map / sizeof map[0]; i++) {
        if (!(sp->set & map[i].bit))
            continue;
        switch (map[i].bit) {
        case GW_KEYF_NAME:
            p[np] = gw_sql_text(sp->name);
            break;
        case GW_KEYF_OWNER:
            p[np] = gw_sql_text(sp->owner);
            break;
        case GW_KEYF_METADATA:
            p[np] = gw_sql_text(k->cols.metadata);
            break;
        case GW_KEYF_MODELS:
            p[np] = gw_sql_text(k->cols.models);
            break;
        case GW_KEYF_PROVIDERS:
            p[np] = gw_sql_text(k->cols.providers);
            break;
        case GW_KEYF_RPM:
            p[np] = gw_sql_int(sp->rpm);
            break;
        case GW_KEYF_TPM:
            p[np] = gw_sql_int(sp->tpm);
            break;
        case GW_KEYF_BUDGET:
            p[np] = gw_sql_int(k->cols.budget_nusd);
            break;
        case GW_KEYF_PERIOD:
            p[np] = gw_sql_text(gw_budget_period_str(sp->budget_period));
            break;
        default:
            p[np] = gw_sql_int(sp->expires_at);
            break;
        }
        np++;
        rc = gw_buf_printf(&b, ", %s = $%d", map[i].col, np);
    }
    if (!rc)
        rc = gw_buf_append_str(&b, " WHERE id = $1 RETURNING id");
    int found = 0;
    if (!rc)
        rc = gw_sql_tx(s, c, "begin", deadline);
    if (!rc)
        rc = s->ops->exec(c, b.ptr, p, np, found_row, &found, deadline);
    gw_buf_free(&b);
    if (!rc && !found)
        rc = GW_STORE_ENOTFOUND;
    rc = end_tx(s, c, rc, deadline);
    return rc ? rc : read_back(s, c, k, deadline);
}

int gw_store_key_update(struct gw_store *s, const char *id, const struct gw_key_spec *spec,
                        struct gw_key **out, char *err, size_t errsize)
{
    struct key_call k = {.id = id, .sp = spec, .err = err, .errsize = errsize};
    if (errsize)
        err[0] = '\0';
    if (out)
        *out = NULL;
    if (!id || !*id)
        return GW_STORE_ENOTFOUND;
    int rc = check_spec(spec, &k.cols, err, errsize);
    if (rc)
        return rc;
    rc = gw_store_call(s, do_update, &k);
    cols_free(&k.cols);
    gw_store_keycache_forget(s, id);
    if (out)
        *out = k.out;
    else
        gw_key_unref(k.out);
    return rc;
}

static int state_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    if (ncol > 0)
        *(int *)ctx = v[0] && !strcmp(v[0], "active") ? 1 : 2;
    return 0;
}

static int do_rotate(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    struct key_call *k = ctx;
    int64_t deadline = gw_store_mono_ms() + STORE_WRITE_MS;
    int64_t now = gw_store_now_ms() / 1000;
    unsigned char h[32];
    char hex[65];
    gw_store_hash_secret(s, k->secret, strlen(k->secret), h);
    gw_hex(h, sizeof h, hex);
    int state = 0;
    struct gw_sql_param p[] = {gw_sql_text(k->id), gw_sql_text(hex), gw_sql_int(now),
                               gw_sql_int(k->grace_s > 0 ? now + k->grace_s : 0)};
    int rc = gw_sql_tx(s, c, "begin", deadline);
    if (!rc)
        rc = s->ops->exec(c, "SELECT state FROM aigw_keys WHERE id = $1", p, 1, state_row, &state,
                          deadline);
    if (!rc && !state)
        rc = GW_STORE_ENOTFOUND;
    if (!rc && state != 1) {
        snprintf(k->err, k->errsize, "key %s is revoked", k->id);
        rc = AIGW_EINVAL;
    }
    /* the current secret becomes the grace secret (replacing an older one), or none */
    if (!rc)
        rc = s->ops->exec(c,
                          k->grace_s > 0
                              ? "UPDATE aigw_keys SET prev_hash = hash, prev_valid_until = $4,"
                                " hash = $2, updated_at = $3 WHERE id = $1"
                              : "UPDATE aigw_keys SET prev_hash = NULL, prev_valid_until = 0,"
                                " hash = $2, updated_at = $3 WHERE id = $1",
                          p, k->grace_s > 0 ? 4 : 3, NULL, NULL, deadline);
    rc = end_tx(s, c, rc, deadline);
    return rc ? rc : read_back(s, c, k, deadline);
}

int gw_store_key_rotate(struct gw_store *s, const char *id, int64_t grace_s,
                        char token[GW_KEY_TOKEN_SIZE], struct gw_key **out, char *err,
                        size_t errsize)
{
    struct key_call k = {.id = id, .grace_s = grace_s, .err = err, .errsize = errsize};
    if (errsize)
        err[0] = '\0';
    token[0] = '\0';
    if (out)
        *out = NULL;
    if (!id || !*id)
        return GW_STORE_ENOTFOUND;
    if (grace_s < 0 || grace_s > 90 * 86400)
        return fail(err, errsize, "grace must be 0 to 90 days (in seconds)");
    if (gw_store_mint(NULL, k.secret))
        return AIGW_EINTERNAL;
    int rc = gw_store_call(s, do_rotate, &k);
    if (rc == 0)
        make_token(token, id, k.secret);
    OPENSSL_cleanse(k.secret, sizeof k.secret);
    gw_store_keycache_forget(s, id);
    if (out)
        *out = k.out;
    else
        gw_key_unref(k.out);
    return rc;
}

static int do_revoke(struct gw_store *s, struct gw_sql_conn *c, void *ctx)
{
    struct key_call *k = ctx;
    int64_t deadline = gw_store_mono_ms() + STORE_WRITE_MS;
    int64_t now = gw_store_now_ms() / 1000;
    struct gw_sql_param p[] = {gw_sql_text(k->id), gw_sql_int(now)};
    int found = 0;
    int rc = gw_sql_tx(s, c, "begin", deadline);
    /* the grace secret goes too: a revoked key has no way in */
    if (!rc)
        rc = s->ops->exec(c,
                          "UPDATE aigw_keys SET revoked_at = CASE WHEN state = 'active'"
                          " THEN $2 ELSE revoked_at END, state = 'revoked', prev_hash = NULL,"
                          " prev_valid_until = 0, updated_at = $2 WHERE id = $1 RETURNING id",
                          p, 2, found_row, &found, deadline);
    if (!rc && !found)
        rc = GW_STORE_ENOTFOUND;
    rc = end_tx(s, c, rc, deadline);
    return rc ? rc : read_back(s, c, k, deadline);
}

int gw_store_key_revoke(struct gw_store *s, const char *id, struct gw_key **out)
{
    struct key_call k = {.id = id};
    if (out)
        *out = NULL;
    if (!id || !*id)
        return GW_STORE_ENOTFOUND;
    int rc = gw_store_call(s, do_revoke, &k);
    gw_store_keycache_forget(s, id);
    if (out)
        *out = k.out;
    else
        gw_key_unref(k.out);
    return rc;
}
