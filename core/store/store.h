/*
 * store - aigw's durable state: gateway keys, the spend ledger, the request log with its daily
 * rollups, and stored responses (Responses API). One API; the backend is chosen by the URL:
 * "sqlite:PATH" (one file, WAL; the default, in the state directory) or "postgres://..."
 * (libpq, for a fleet). Each backend fills the ops table in store_int.h; the schema is created
 * and migrated by aigw itself (a version table).
 *
 * Writes made per request (ledger rows, log rows, last-used touches, stored responses) are
 * copied into bounded in-memory queues and written by ONE writer thread in batched
 * transactions: they never block the caller. A full log queue drops its oldest rows and counts
 * them (gw_store_stats); a full ops queue refuses the new write (GW_STORE_EFULL) and counts it.
 *
 * Key records are cached in process for opts.key_cache_ms (1 s by default): authentication
 * costs no I/O on a hit, and a revocation or rotation made on any replica is seen within about
 * a second. Secrets are never stored: a token is "aigw_<id>_<secret>"; the row keeps
 * HMAC-SHA256(store pepper, secret), compared in constant time.
 *
 * Threading: every function may be called from any thread between gw_store_open and
 * gw_store_close. Functions marked (blocking) wait for the database: admin, CLI, startup and
 * tests only, never a request thread. The others do no I/O, except gw_store_key_auth on a cache
 * miss (one indexed read, bounded by opts.read_timeout_ms); request threads use
 * gw_store_key_auth_start, which leaves that read to the store's key loader thread.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Store results besides AIGW_OK / AIGW_EINVAL / AIGW_ENOMEM / AIGW_ETOOBIG / AIGW_EINTERNAL. */
#define GW_STORE_ENOTFOUND (-20) /* no such row (or expired, or owned by another key) */
#define GW_STORE_EUNAVAIL (-21)  /* the database did not answer in time */
#define GW_STORE_EFULL (-22)     /* the write queue is full; the write was not accepted */

struct gw_store;

struct gw_store_opts {
    int key_cache_ms;       /* lifetime of a cached key record; 0: 1000 */
    int read_timeout_ms;    /* deadline of one read (key cache miss, admin query); 0: 2000 */
    int log_queue_rows;     /* log rows waiting for the writer; 0: 10000 */
    size_t log_queue_bytes; /* and their bytes; 0: 32 MiB */
    int ops_queue_rows;     /* ledger rows, touches, stored responses waiting; 0: 50000 */
    size_t ops_queue_bytes; /* and their bytes; 0: 64 MiB */
    int log_bodies;         /* keep request/response bodies in log rows (log.bodies) */
    size_t log_body_cap;    /* bytes kept of each body; 0: 16 KiB */
    int log_retention_days; /* log rows older than this are deleted in batches; 0: kept */
    /* A path prefix on the machine's own disk ("<db>-spool" beside a SQLite file, or in the
     * state directory): each ledger and log row is also appended to a file <prefix>.* when
     * queued, so a process killed before its rows were committed loses none: the next store
     * opened with the same prefix writes them. NULL: no spool (rows queued when the process
     * dies are lost). */
    const char *spool_prefix;
    /* Told of every database operation, from whichever thread ran it (a request thread on a
     * key-cache miss, the writer, an admin caller): backend "sqlite" or "postgres"; op
     * "key_lookup", "key_read", "spend_read", "log_query", "usage_query", "response_get",
     * "write" (one batch), "admin" (a key change), "retention"; its duration; error NULL, or
     * "timeout" / "error", or what the database said: "disk_full", "locked", "io_error".
     * For gw_metrics_store; must not block. NULL: nobody. */
    void (*on_op)(void *ud, const char *backend, const char *op, int64_t us, const char *error);
    void *on_op_ud;
    /* Told of rows given up (queue full, refused by the database, closing): what is
     * "request_log", "ledger" or "store_writes" (touches, stored responses); n rows. From
     * whichever thread dropped them, never under a store lock; must not block. */
    void (*on_drop)(void *ud, const char *what, int64_t n);
};

/* Opens the store at url, creating the schema or migrating it to this version. A sqlite file
 * (and its directory) is created owner-only. NULL on failure, with the reason in err (never
 * the URL's password). opts may be NULL (all defaults). (blocking) */
struct gw_store *gw_store_open(const char *url, const struct gw_store_opts *opts, char *err,
                               size_t errsize);
/* Writes what is queued (waiting at most a few seconds), stops the writer and closes. */
void gw_store_close(struct gw_store *s);
/* Waits until every write queued before the call is committed (or dropped): 0, or
 * GW_STORE_EUNAVAIL when timeout_ms passes first. (blocking) */
int gw_store_flush(struct gw_store *s, int timeout_ms);
/* "sqlite:<state_dir>/aigw.db" into out: 0, or AIGW_ETOOBIG. */
int gw_store_default_url(const char *state_dir, char *out, size_t size);
/* "sqlite" or "postgres". */
const char *gw_store_backend(const struct gw_store *s);

struct gw_store_stats {
    uint64_t log_written;  /* log rows committed */
    uint64_t log_dropped;  /* log rows dropped: queue full (oldest first) or refused by the db */
    uint64_t ops_dropped;  /* ledger/response writes refused: queue full or refused by the db */
    uint64_t write_errors; /* failed transactions (retried) */
    uint64_t queued;       /* rows waiting now */
    uint64_t key_cache_hits;
    uint64_t key_cache_misses;
};
/* Counters for the metrics layer; no I/O. */
void gw_store_stats(struct gw_store *s, struct gw_store_stats *out);
/* log.bodies and log.retention_days from now on (a config reload); any thread. Rows already
 * queued keep what they were queued with. */
void gw_store_set_log_opts(struct gw_store *s, int bodies, int retention_days);

/* ---- gateway keys ---------------------------------------------------------------------- */

#define GW_KEY_PREFIX "aigw_"
#define GW_KEY_ID_LEN 12     /* public id: [A-Za-z0-9], safe to log and to show */
#define GW_KEY_SECRET_LEN 43 /* [A-Za-z0-9], about 256 bits */
#define GW_KEY_TOKEN_SIZE 64 /* "aigw_" id "_" secret NUL fits */

enum gw_key_state { GW_KEY_ACTIVE = 0, GW_KEY_REVOKED = 1 };

enum gw_budget_period {
    GW_PERIOD_NONE = 0, /* the budget covers the key's whole life */
    GW_PERIOD_DAILY,    /* UTC midnight */
    GW_PERIOD_WEEKLY,   /* Monday 00:00 UTC */
    GW_PERIOD_MONTHLY,  /* the 1st, 00:00 UTC */
};

/* A key record. Returned records are reference counted and read-only: release each with
 * gw_key_unref. Times are unix seconds. Never holds the secret or its hash. */
struct gw_key {
    char id[GW_KEY_ID_LEN + 4];
    char name[128];
    char owner[128];     /* owner or team label */
    char *metadata_json; /* a JSON object, or NULL */
    char **models;       /* allowed model globs; NULL: any model; n_models 0: none */
    size_t n_models;
    char **providers; /* allowed providers (globs); NULL: any */
    size_t n_providers;
    int64_t rpm;       /* -1: unlimited */
    int64_t tpm;       /* -1: unlimited */
    double budget_usd; /* -1: no budget */
    enum gw_budget_period budget_period;
    int64_t expires_at; /* 0: never */
    enum gw_key_state state;
    int64_t created_at;
    int64_t updated_at;
    int64_t revoked_at;       /* 0 while active */
    int64_t last_used_at;     /* 0: never; written at most once a minute per key */
    int64_t prev_valid_until; /* after a rotation the old secret works until then; 0: none */
    /* Spend in the current budget period (all time when the period is none), as committed
     * when the record was read, and the period's bounds [period_start, period_reset). */
    double spend_usd;
    int64_t period_start;
    int64_t period_reset; /* 0 when the period is none */
    int refs;             /* internal */
};

void gw_key_ref(struct gw_key *k);
void gw_key_unref(struct gw_key *k);
/* 1 when the key's allowlist admits model / provider (fnmatch globs; NULL list: any). */
int gw_key_allows_model(const struct gw_key *k, const char *model);
int gw_key_allows_provider(const struct gw_key *k, const char *provider);

const char *gw_budget_period_str(enum gw_budget_period p);             /* "none", "daily", ... */
int gw_budget_period_parse(const char *s, enum gw_budget_period *out); /* 0 or AIGW_EINVAL */
/* Start of the period holding now, and the next reset (0 for none). */
int64_t gw_budget_period_start(enum gw_budget_period p, int64_t now);
int64_t gw_budget_period_reset(enum gw_budget_period p, int64_t now);

/* Bits of gw_key_spec.set: which members a create or update sets. */
enum {
    GW_KEYF_NAME = 1u << 0,
    GW_KEYF_OWNER = 1u << 1,
    GW_KEYF_METADATA = 1u << 2,
    GW_KEYF_MODELS = 1u << 3,
    GW_KEYF_PROVIDERS = 1u << 4,
    GW_KEYF_RPM = 1u << 5,
    GW_KEYF_TPM = 1u << 6,
    GW_KEYF_BUDGET = 1u << 7,
    GW_KEYF_PERIOD = 1u << 8,
    GW_KEYF_EXPIRES = 1u << 9,
};

/* What a create or update sets. Lists and metadata travel as JSON text, validated here. */
struct gw_key_spec {
    unsigned set;               /* GW_KEYF_* */
    const char *name;           /* <= 127 bytes */
    const char *owner;          /* <= 127 bytes */
    const char *metadata_json;  /* an object (<= 16 KiB), or NULL: none */
    const char *models_json;    /* an array of globs (<= 256 of <= 200 bytes), or NULL: any */
    const char *providers_json; /* the same for providers */
    int64_t rpm;                /* -1: unlimited */
    int64_t tpm;                /* -1: unlimited */
    double budget_usd;          /* -1: none */
    enum gw_budget_period budget_period;
    int64_t expires_at; /* 0: never */
};

/* Creates a key. token receives "aigw_<id>_<secret>": the only time the secret exists outside
 * the caller's hands. *out (may be NULL) gets the record. Bad input: AIGW_EINVAL with the
 * reason in err. (blocking) */
int gw_store_key_create(struct gw_store *s, const struct gw_key_spec *spec,
                        char token[GW_KEY_TOKEN_SIZE], struct gw_key **out, char *err,
                        size_t errsize);
/* Changes the members spec->set names. GW_STORE_ENOTFOUND, AIGW_EINVAL (err). (blocking) */
int gw_store_key_update(struct gw_store *s, const char *id, const struct gw_key_spec *spec,
                        struct gw_key **out, char *err, size_t errsize);
/* Issues a new secret (token as in create); the old one keeps working for grace_s seconds
 * (0: stops at once). A revoked key cannot be rotated (AIGW_EINVAL). (blocking) */
int gw_store_key_rotate(struct gw_store *s, const char *id, int64_t grace_s,
                        char token[GW_KEY_TOKEN_SIZE], struct gw_key **out, char *err,
                        size_t errsize);
/* Revokes the key and any rotated-out secret; revoking twice is 0. (blocking) */
int gw_store_key_revoke(struct gw_store *s, const char *id, struct gw_key **out);
/* The record with spend_usd and last_used_at filled from the database. (blocking) */
int gw_store_key_get(struct gw_store *s, const char *id, struct gw_key **out);

struct gw_key_list {
    struct gw_key **keys;
    size_t n;
    char next_cursor[GW_KEY_ID_LEN + 4]; /* "" on the last page */
};
/* Keys ordered by id after cursor (NULL or "": from the start); limit 1..1000 (0: 100).
 * (blocking) */
int gw_store_key_list(struct gw_store *s, const char *cursor, int limit, struct gw_key_list *out);
void gw_key_list_free(struct gw_key_list *l);
/* 1 when the store holds at least one key (active or not), from a cache refreshed like the
 * key records (read at open, then by the key loader thread: no I/O here; 1 while not known);
 * the admit phase then requires a key on every request. */
int gw_store_has_keys(struct gw_store *s);

enum gw_key_auth {
    GW_AUTH_OK = 0,
    GW_AUTH_NOT_OURS,   /* not shaped like an aigw key: try the static auth.api_keys */
    GW_AUTH_UNKNOWN,    /* no such key */
    GW_AUTH_BAD_SECRET, /* the id exists, the secret does not match (or its grace is over) */
    GW_AUTH_REVOKED,
    GW_AUTH_EXPIRED,
    GW_AUTH_UNAVAILABLE, /* not cached, and the store did not answer within its deadline */
    GW_AUTH_PENDING,     /* gw_store_key_auth_start: the record is being read; done follows */
};
/* Checks a bearer token (token/len: the bytes as sent). GW_AUTH_OK puts a reference to the key
 * record in *out (release with gw_key_unref); any other answer leaves *out NULL. Tell clients
 * only "invalid key": the reasons are for logs and metrics. */
enum gw_key_auth gw_store_key_auth(struct gw_store *s, const char *token, size_t len,
                                   struct gw_key **out);
/* What gw_store_key_auth_start calls once, on the store's key loader thread, when the record
 * it went to read is cached (rc 0) or could not be read (rc negative). */
typedef void (*gw_key_loaded_fn)(void *ud, int rc);
/* gw_store_key_auth for a request's event loop, which must not wait for the database: a
 * record that has to be read first is read on the store's key loader thread. The answer is
 * then GW_AUTH_PENDING, and done(ud, rc) follows once; ask gw_store_key_auth again then (a
 * cache hit). Any other answer is final, and done is not called. When the loader's queue is
 * full, the record is read here, as gw_store_key_auth does. done NULL only looks: PENDING
 * says a read is due, and nothing was read or queued (a caller that must first make ud). */
enum gw_key_auth gw_store_key_auth_start(struct gw_store *s, const char *token, size_t len,
                                         struct gw_key **out, gw_key_loaded_fn done, void *ud);
const char *gw_key_auth_str(enum gw_key_auth r);

/* ---- spend ledger ---------------------------------------------------------------------- */

/* One settled request. Written once per request id: a second write with the same id is
 * ignored, so a replayed settlement never counts twice. */
struct gw_ledger_entry {
    char request_id[64];
    char key_id[GW_KEY_ID_LEN + 4];
    char model[128];
    char provider[64];
    int64_t ts_ms;         /* settle time, unix ms (0: now) */
    int64_t input_tokens;  /* OpenAI convention: includes cached */
    int64_t output_tokens; /* includes reasoning */
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    double cost_usd; /* < 0: unknown (counted as 0 spend, stored as NULL) */
};
/* Queues the entry: 0, GW_STORE_EFULL, AIGW_EINVAL (no request id). No I/O. */
int gw_store_ledger_add(struct gw_store *s, const struct gw_ledger_entry *e);
struct gw_log_row;
/* A request's ledger entry and log row together (either may be NULL), queued and spooled as
 * one record: a process killed at any moment leaves both or neither. Returns what
 * gw_store_ledger_add would for the entry. No I/O but the spool's append. */
int gw_store_record(struct gw_store *s, const struct gw_ledger_entry *e,
                    const struct gw_log_row *r);
/* Committed spend of key_id in the period holding now (all time for none). (blocking) */
int gw_store_key_spend(struct gw_store *s, const char *key_id, enum gw_budget_period p, int64_t now,
                       double *usd);
/* Sum of every ledger row's cost for key_id (NULL: all keys), for reconciliation. (blocking) */
int gw_store_ledger_total(struct gw_store *s, const char *key_id, double *usd, int64_t *rows);

/* ---- request log ----------------------------------------------------------------------- */

struct gw_log_row {
    int64_t ts_ms; /* request start, unix ms (0: now) */
    char request_id[64];
    char key_id[GW_KEY_ID_LEN + 4];
    char dialect[16];  /* "openai", "anthropic", "responses", ... */
    char endpoint[64]; /* "/v1/chat/completions" */
    char model_asked[128];
    char model_served[128];
    char provider[64];
    int attempts;
    char failures[512]; /* what each failed attempt failed on: "groq:timeout; openai:503" */
    int status;         /* HTTP status sent to the client */
    int stream;
    int64_t input_tokens; /* -1: unknown */
    int64_t output_tokens;
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    double cost_usd; /* < 0: unknown */
    int64_t latency_ms;
    int64_t ttfb_ms; /* -1: no byte sent */
    int cache_hit;
    char guardrail[64];  /* outcome, "" when none ran */
    char error_code[64]; /* "" on success */
    /* Bodies: read only on put (redacted, then cut to opts.log_body_cap, before anything is
     * queued or spooled; dropped unless opts.log_bodies); malloc'd in rows the store returns.
     * Pass up to GW_STORE_BODY_MARGIN bytes past the cap: a secret the cut would split is
     * then found whole and masked. */
    char *request_body;
    size_t request_body_len;
    char *response_body;
    size_t response_body_len;
};
#define GW_STORE_BODY_MARGIN 4096
/* Queues the row; never blocks and never fails for the caller: a full queue drops its oldest
 * row (counted in log_dropped). 0, or AIGW_EINVAL for a row without request id. */
int gw_store_log_put(struct gw_store *s, const struct gw_log_row *r);

struct gw_log_query {
    const char *key_id;   /* NULL: any */
    const char *model;    /* matches the model asked or served; NULL: any */
    const char *provider; /* NULL: any */
    int status_min;       /* 0: unbounded; min = max = 429 for one status */
    int status_max;
    int64_t since_ms;   /* inclusive; 0: unbounded */
    int64_t until_ms;   /* exclusive; 0: unbounded */
    const char *cursor; /* next_cursor of the previous page, or NULL */
    int limit;          /* 1..1000; 0: 100 */
};
struct gw_log_page {
    struct gw_log_row *rows; /* newest first */
    size_t n;
    char next_cursor[128]; /* "" on the last page */
};
/* AIGW_EINVAL for a bad cursor or limit. (blocking) */
int gw_store_log_query(struct gw_store *s, const struct gw_log_query *q, struct gw_log_page *out);
void gw_log_page_free(struct gw_log_page *p);
/* One row with its bodies (if kept): 0 or GW_STORE_ENOTFOUND. (blocking) */
int gw_store_log_get(struct gw_store *s, const char *request_id, struct gw_log_row *out);
void gw_log_row_free(struct gw_log_row *r);

enum gw_usage_group { GW_USAGE_KEY, GW_USAGE_MODEL, GW_USAGE_PROVIDER, GW_USAGE_DAY };
int gw_usage_group_parse(const char *s, enum gw_usage_group *out); /* "key", "model", ... */

struct gw_usage_query {
    enum gw_usage_group group_by;
    int64_t since_ms;   /* the UTC day holding it is the first day; 0: unbounded */
    int64_t until_ms;   /* the UTC day holding until_ms - 1 is the last; 0: unbounded */
    const char *key_id; /* NULL: every key */
};
struct gw_usage_row {
    char group[128]; /* key id, model served, provider, or "YYYY-MM-DD" */
    int64_t requests;
    int64_t errors; /* status >= 400 */
    double error_rate;
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    double cost_usd; /* known costs only */
    int64_t cache_hits;
    /* Estimated from the rollup's latency histograms (within one bucket); -1: no samples. */
    double latency_p50_ms;
    double latency_p95_ms;
    double ttfb_p50_ms;
    double ttfb_p95_ms;
};
struct gw_usage_report {
    struct gw_usage_row *rows; /* ordered by group */
    size_t n;
    struct gw_usage_row total; /* group "total": every group, shown or not */
    int truncated;             /* 1: more groups than rows (the busiest are shown) */
};
/* From the daily rollup (day granularity), never from raw rows. (blocking) */
int gw_store_usage(struct gw_store *s, const struct gw_usage_query *q, struct gw_usage_report *out);
void gw_usage_report_free(struct gw_usage_report *r);

/* ---- stored responses (Responses API) ---------------------------------------------------- */

/* Times are unix seconds; expires_at 0: never. */
struct gw_stored_response {
    char id[64];
    char key_id[64];
    char previous_id[64];
    int64_t created_at;
    int64_t expires_at;
    char *response_json; /* the response object: it repeats every request parameter kept */
    char *input_items_json;
};

/* Queues the write (no I/O); a get right after sees it. 0, AIGW_EINVAL (no id), AIGW_ETOOBIG
 * (over 16 MiB together), GW_STORE_EFULL. */
int gw_store_response_put(struct gw_store *s, const struct gw_stored_response *r);
/* Fills out (malloc'd strings: gw_stored_response_free). GW_STORE_ENOTFOUND when missing,
 * expired or owned by another key (key_id NULL is ""). (blocking: one indexed read) */
int gw_store_response_get(struct gw_store *s, const char *id, const char *key_id,
                          struct gw_stored_response *out);
void gw_stored_response_free(struct gw_stored_response *r);
/* 0 or GW_STORE_ENOTFOUND (same rules as get). (blocking: one indexed read) */
int gw_store_response_delete(struct gw_store *s, const char *id, const char *key_id);

#endif
