/*
 * store_schema - the tables, created and migrated by aigw itself. aigw_schema holds the
 * version; each step below moves the database one version up, inside the same transaction as
 * the version bump, so a crash mid-migration leaves the old version intact. A database newer
 * than this binary is refused rather than guessed at.
 *
 * One text serves both databases: TEXT and BIGINT only, no serials, no blobs.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/crypto.h"
#include "lib/log.h"

#include <openssl/rand.h>

static const char *const steps[STORE_SCHEMA_VERSION] = {
    /* 1: keys, ledger with per-day spend, request log with daily rollups, responses */
    "CREATE TABLE aigw_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE aigw_keys ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, metadata TEXT,"
    " models TEXT, providers TEXT, rpm BIGINT NOT NULL, tpm BIGINT NOT NULL,"
    " budget_nusd BIGINT NOT NULL, budget_period TEXT NOT NULL, expires_at BIGINT NOT NULL,"
    " state TEXT NOT NULL, hash TEXT NOT NULL, prev_hash TEXT,"
    " prev_valid_until BIGINT NOT NULL, created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL, revoked_at BIGINT NOT NULL, last_used_at BIGINT NOT NULL);"
    "CREATE TABLE aigw_ledger ("
    " request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, ts_ms BIGINT NOT NULL,"
    " model TEXT NOT NULL, provider TEXT NOT NULL, input_tokens BIGINT NOT NULL,"
    " output_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL,"
    " reasoning_tokens BIGINT NOT NULL, cost_nusd BIGINT);"
    "CREATE INDEX aigw_ledger_key ON aigw_ledger (key_id, ts_ms);"
    /* the running total budget checks read: one row per key and UTC day */
    "CREATE TABLE aigw_key_spend ("
    " key_id TEXT NOT NULL, day BIGINT NOT NULL, cost_nusd BIGINT NOT NULL,"
    " requests BIGINT NOT NULL, PRIMARY KEY (key_id, day));"
    "CREATE TABLE aigw_log ("
    " request_id TEXT PRIMARY KEY, ts_ms BIGINT NOT NULL, key_id TEXT NOT NULL,"
    " dialect TEXT NOT NULL, endpoint TEXT NOT NULL, model_asked TEXT NOT NULL,"
    " model_served TEXT NOT NULL, provider TEXT NOT NULL, attempts BIGINT NOT NULL,"
    " failures TEXT NOT NULL, status BIGINT NOT NULL, stream BIGINT NOT NULL,"
    " input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,"
    " cached_tokens BIGINT NOT NULL, reasoning_tokens BIGINT NOT NULL, cost_nusd BIGINT,"
    " latency_ms BIGINT NOT NULL, ttfb_ms BIGINT NOT NULL, cache_hit BIGINT NOT NULL,"
    " guardrail TEXT NOT NULL, error_code TEXT NOT NULL, request_body TEXT,"
    " response_body TEXT);"
    "CREATE INDEX aigw_log_ts ON aigw_log (ts_ms, request_id);"
    "CREATE INDEX aigw_log_key ON aigw_log (key_id, ts_ms);"
    "CREATE INDEX aigw_log_model ON aigw_log (model_served, ts_ms);"
    "CREATE INDEX aigw_log_provider ON aigw_log (provider, ts_ms);"
    /* dashboards read these, never the raw log */
    "CREATE TABLE aigw_usage_daily ("
    " day BIGINT NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL,"
    " requests BIGINT NOT NULL, errors BIGINT NOT NULL, input_tokens BIGINT NOT NULL,"
    " output_tokens BIGINT NOT NULL, cached_tokens BIGINT NOT NULL,"
    " reasoning_tokens BIGINT NOT NULL, cost_nusd BIGINT NOT NULL, cache_hits BIGINT NOT NULL,"
    " PRIMARY KEY (day, key_id, model, provider));"
    "CREATE TABLE aigw_usage_hist ("
    " day BIGINT NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL,"
    " kind BIGINT NOT NULL, bucket BIGINT NOT NULL, n BIGINT NOT NULL,"
    " PRIMARY KEY (day, key_id, model, provider, kind, bucket));"
    /* request_json is no longer written (always NULL): the response object repeats the
     * parameters it held. Kept, as every migration is, so that no database needs a rewrite. */
    "CREATE TABLE aigw_responses ("
    " id TEXT PRIMARY KEY, key_id TEXT NOT NULL, previous_id TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, request_json TEXT,"
    " response_json TEXT, input_items_json TEXT);"
    "CREATE INDEX aigw_responses_exp ON aigw_responses (expires_at);",
    /* 2: the log's model index goes. The one query that filters by model asks for the model
     * asked OR served; no planner can answer that from an index of one of the two (SQLite
     * scans aigw_log_ts, newest first, with or without it), so it only cost a B-tree
     * insert per row. */
    "DROP INDEX IF EXISTS aigw_log_model;",
};

static int read_text(void *ctx, int ncol, const char *const *val, const size_t *len)
{
    (void)len;
    if (ncol > 0)
        gw_sql_str(ctx, 65, val[0]);
    return 0;
}

static int unhex(const char *h, unsigned char *out, size_t n)
{
    if (strlen(h) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char ch = h[2 * i + (size_t)j];
            int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* The pepper keyed into every secret hash: made once per store, kept in aigw_meta. */
static int load_pepper(struct gw_store *s, struct gw_sql_conn *c, int64_t deadline)
{
    unsigned char fresh[32];
    char hex[65];
    if (RAND_bytes(fresh, sizeof fresh) != 1)
        return AIGW_EINTERNAL;
    gw_hex(fresh, sizeof fresh, hex);
    struct gw_sql_param p[] = {gw_sql_text("pepper"), gw_sql_text(hex)};
    int rc =
        s->ops->exec(c, "INSERT INTO aigw_meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING",
                     p, 2, NULL, NULL, deadline);
    if (rc)
        return rc;
    char got[65] = "";
    rc = s->ops->exec(c, "SELECT v FROM aigw_meta WHERE k = $1", p, 1, read_text, got, deadline);
    if (rc)
        return rc;
    return unhex(got, s->pepper, sizeof s->pepper) ? AIGW_EINTERNAL : 0;
}

static int migrate_tx(struct gw_store *s, struct gw_sql_conn *c, char *err, size_t errsize,
                      int64_t deadline)
{
    const struct gw_store_ops *o = s->ops;
    int rc;
    if (o->migrate_lock_sql &&
        (rc = o->exec(c, o->migrate_lock_sql, NULL, 0, NULL, NULL, deadline)))
        return rc;
    rc = o->script(c, "CREATE TABLE IF NOT EXISTS aigw_schema (version BIGINT NOT NULL)", deadline);
    if (rc)
        return rc;
    int64_t version = -1;
    rc = o->exec(c, "SELECT COALESCE(MAX(version), 0) FROM aigw_schema", NULL, 0, gw_sql_read_i64,
                 &version, deadline);
    if (rc)
        return rc;
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errsize,
                 "the database has schema version %lld, newer than this aigw (%d): upgrade aigw",
                 (long long)version, STORE_SCHEMA_VERSION);
        return AIGW_ECONFIG;
    }
    for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
        if ((rc = o->script(c, steps[v], deadline)))
            return rc;
        gw_logf(AIGW_LOG_INFO, "store", NULL, "%s schema migrated to version %lld", o->name,
                (long long)v + 1);
    }
    if (version < STORE_SCHEMA_VERSION) {
        struct gw_sql_param p = gw_sql_int(STORE_SCHEMA_VERSION);
        if ((rc = o->script(c, "DELETE FROM aigw_schema", deadline)) ||
            (rc = o->exec(c, "INSERT INTO aigw_schema (version) VALUES ($1)", &p, 1, NULL, NULL,
                          deadline)))
            return rc;
    }
    return load_pepper(s, c, deadline);
}

int gw_store_migrate(struct gw_store *s, struct gw_sql_conn *c, char *err, size_t errsize)
{
    int64_t deadline = gw_store_mono_ms() + 30000;
    int rc = gw_sql_tx(s, c, "begin", deadline);
    if (!rc)
        rc = migrate_tx(s, c, err, errsize, deadline);
    if (!rc)
        rc = gw_sql_tx(s, c, "commit", deadline);
    if (rc) {
        if (!err[0])
            snprintf(err, errsize, "%s schema: %s", s->ops->name, s->ops->errmsg(c));
        gw_sql_tx(s, c, "rollback", deadline);
    }
    return rc;
}
