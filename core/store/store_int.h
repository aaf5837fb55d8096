/*
 * store_int - what the store's files share: the backend ops table (one per database, curl
 * vtls style), the SQL parameter and row shapes every query uses, the write queues and the
 * struct behind struct gw_store. Not for use outside core/store and its tests.
 *
 * All SQL is written once, in the dialect both databases accept: parameters are $1..$n,
 * upserts are INSERT .. ON CONFLICT, no serial columns, no blobs, money in integer
 * nano-dollars. Results always arrive as text (NULL for SQL NULL).
 *
 * Threading: a struct gw_sql_conn belongs to one thread at a time: the writer's to the writer
 * thread, a reader's to whoever holds its mutex. s->mu guards the queues, counters and
 * in-flight lists; s->kc has its own lock (store_keycache.c).
 */
#ifndef GW_STORE_INT_H
#define GW_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/store.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_READERS 3
#define STORE_READ_BACKOFF_MS 1000
#define STORE_NUSD 1000000000.0 /* nano-dollars per dollar */

enum gw_sql_type { GW_SQL_NULL, GW_SQL_INT, GW_SQL_TEXT };

struct gw_sql_param {
    enum gw_sql_type type;
    int64_t i;
    const char *s; /* TEXT: valid UTF-8 without NUL, s[len] == '\0' */
    size_t len;
};

/* Called for each result row: val[c] is the column's text (NULL for SQL NULL), len[c] its
 * length. Returning non-zero stops the statement; exec then returns that value. */
typedef int (*gw_sql_row_fn)(void *ctx, int ncol, const char *const *val, const size_t *len);

struct gw_sql_conn; /* the backend's connection */

struct gw_store_ops {
    const char *name;
    /* Opens one connection to s's database. reader: the connection never writes. */
    int (*connect)(struct gw_store *s, int reader, int64_t deadline_ms, struct gw_sql_conn **out,
                   char *err, size_t errsize);
    void (*disconnect)(struct gw_sql_conn *c);
    /* One statement. 0; GW_STORE_EUNAVAIL when the connection broke or deadline_ms (monotonic,
     * 0: none) passed - reconnect then; AIGW_EINTERNAL for an SQL error (the connection is
     * fine; the message is in errmsg); or a row callback's non-zero value. */
    int (*exec)(struct gw_sql_conn *c, const char *sql, const struct gw_sql_param *p, int np,
                gw_sql_row_fn row, void *ctx, int64_t deadline_ms);
    /* Several statements without parameters (schema). Same returns. */
    int (*script)(struct gw_sql_conn *c, const char *sql, int64_t deadline_ms);
    const char *(*errmsg)(struct gw_sql_conn *c);
    /* The last failure in one word for metrics ("disk_full", "locked", "io_error"), or NULL
     * to let the result code say "timeout" or "error". May be NULL. */
    const char *(*reason)(struct gw_sql_conn *c);
    const char *begin_sql;        /* a transaction that will write */
    const char *migrate_lock_sql; /* serializes migrations across processes, or NULL */
    /* One row, one integer: every row the connection has changed so far, or NULL where a
     * statement's RETURNING is as cheap as asking (see gw_sql_insert_counted) */
    const char *changes_sql;
};

extern const struct gw_store_ops gw_store_sqlite_ops;
extern const struct gw_store_ops gw_store_pg_ops;

/* ---- write queues ---- */

enum store_op_kind { OP_LEDGER, OP_TOUCH, OP_RESP_PUT, OP_RESP_DEL, OP_CALL };

/* Runs on the writer thread with its connection; does its own transaction. */
typedef int (*store_call_fn)(struct gw_store *s, struct gw_sql_conn *c, void *ctx);

/* The head of every queued item: the queues are singly linked lists of these. */
struct store_link {
    struct store_link *next;
    size_t bytes;
    uint64_t spool; /* the spool file generation holding it; 0: not spooled */
};

struct store_op {
    struct store_link link; /* first: a store_link * is a store_op * */
    enum store_op_kind kind;
    union {
        struct gw_ledger_entry ledger;
        struct {
            char id[GW_KEY_ID_LEN + 4];
            int64_t at;
        } touch;
        struct gw_stored_response resp; /* PUT owns the strings; DEL uses id and key_id */
        struct {
            store_call_fn fn;
            void *ctx;
            int rc;
            int state; /* 0 queued, 1 running, 2 done */
        } call;
    } u;
};

struct store_log {
    struct store_link link; /* first, as in store_op */
    struct gw_log_row row;  /* owns its bodies */
};

struct store_list {
    struct store_link *head;
    struct store_link *tail;
    size_t n;
    size_t bytes;
};

struct store_reader {
    pthread_mutex_t mu;
    struct gw_sql_conn *conn;
};

struct store_keycache;
struct store_keyload;

/* A multi-row statement text, built once per (prefix, suffix, rows) and kept for the store's
 * life. */
struct store_sql_text {
    const char *prefix, *suffix;
    size_t rows;
    char *sql;
};
#define STORE_SQL_TEXTS 64 /* 7 statement families x 6 sizes today */

struct gw_store {
    const struct gw_store_ops *ops;
    char *target; /* sqlite: the file path (or a memory URI); postgres: the conninfo (holds a
                   * password: never logged) */
    int memory;   /* "memory:": a private in-memory SQLite database, gone at close */
    struct gw_sql_conn *anchor; /* memory: keeps the database alive while the writer reconnects */
    struct gw_store_opts o;
    /* o.log_bodies and o.log_retention_days as a config reload changes them (any thread). */
    atomic_int log_bodies, log_retention_days;
    unsigned char pepper[32];

    pthread_mutex_t mu;
    pthread_cond_t wake; /* the writer waits on it */
    pthread_cond_t done; /* flushers and callers wait on it */
    pthread_t writer;
    int writer_started;
    struct gw_sql_conn *wconn; /* the writer's; opened (and migrated) by gw_store_open */
    int stop;
    int64_t stop_deadline_ms;
    struct store_list logq, opq;         /* waiting */
    struct store_list log_busy, op_busy; /* taken by the writer, not yet committed */
    uint64_t log_enq, log_done, op_enq, op_done;
    int64_t first_log_ms; /* when logq last went from empty to not (monotonic) */
    int64_t first_op_ms;  /* when opq last went from empty to not (monotonic) */
    int hurry;            /* flushers and callers waiting: the writer must not linger */
    size_t pending_resp;  /* OP_RESP_PUT/DEL in opq + op_busy: get scans the queues only then */
    int64_t next_retention_ms;
    int64_t write_warned_ms; /* the writer's last "write failed" line (writer thread only) */
    uint64_t write_failed;   /* failed transactions since that line (writer thread only) */
    struct gw_store_stats st;

    struct store_reader readers[STORE_READERS];
    /* After a failed read, reads fail at once until then (monotonic ms): a dead database
     * costs one read deadline a second, not one per request. */
    _Atomic int64_t read_down_until;
    struct store_keycache *kc;
    struct store_keyload *kl;  /* the key loader thread (store_keyload.c) */
    struct store_spool *spool; /* NULL: no spool directory */
    /* gw_sql_rows_exec's texts (the writer thread's: only the writer inserts rows) */
    struct store_sql_text texts[STORE_SQL_TEXTS];
    size_t ntexts;
};

/* ---- helpers (store_sql.c) ---- */

int64_t gw_store_now_ms(void);  /* CLOCK_REALTIME */
int64_t gw_store_mono_ms(void); /* CLOCK_MONOTONIC, for deadlines */
struct gw_sql_param gw_sql_int(int64_t v);
struct gw_sql_param gw_sql_text(const char *s); /* NULL gives SQL NULL */
struct gw_sql_param gw_sql_null(void);
/* Copies n bytes as valid UTF-8 without NUL (bad bytes become '?'): malloc'd or NULL. */
char *gw_sql_clean_dup(const char *p, size_t n);
int64_t gw_sql_i64(const char *v); /* NULL: 0 */
/* A gw_sql_row_fn: the first column of a row into *(int64_t *)ctx. */
int gw_sql_read_i64(void *ctx, int ncol, const char *const *val, const size_t *len);
void gw_sql_str(char *dst, size_t size, const char *v);
/* Runs fn(conn) on a reader connection (reconnecting when needed) within the read deadline;
 * op names it for opts.on_op. */
int gw_store_read(struct gw_store *s, const char *op,
                  int (*fn)(struct gw_store *, struct gw_sql_conn *, void *, int64_t deadline),
                  void *ctx);
/* Reports one operation to opts.on_op (when set): rc 0 is success, GW_STORE_EUNAVAIL a
 * "timeout", anything else an "error". */
void gw_store_observe(struct gw_store *s, const char *op, int64_t start_us, int rc);
/* The same with the failure's own word (NULL: from rc). */
void gw_store_observe_why(struct gw_store *s, const char *op, int64_t start_us, int rc,
                          const char *why);
/* Rows given up: counted by the caller, told to opts.on_drop here (no lock held). */
void gw_store_dropped(struct gw_store *s, const char *what, uint64_t n);
int64_t gw_store_mono_us(void);
int gw_sql_tx(struct gw_store *s, struct gw_sql_conn *c, const char *what, int64_t deadline);
/* Rows to insert, for gw_sql_insert_counted: rows points to the caller's array of n row
 * pointers (each caller knows their type), hit to n flags. */
struct gw_sql_batch {
    struct gw_store *s;
    struct gw_sql_conn *c;
    const void *rows;
    size_t n;
    unsigned char *hit;
    int64_t deadline;
};
/* Inserts rows [at, at + k) of b (k <= the caller's chunk), with a RETURNING clause whose
 * rows set hit, or without one. 0 or the statement's exec result. */
typedef int (*gw_sql_insert_fn)(const struct gw_sql_batch *b, size_t at, size_t k, int returning);
/* Inserts rows that are nearly always new, chunk rows a statement, and learns which ones the
 * database took (hit[i] = 1), for rollups that must count each row once. On SQLite a
 * RETURNING clause makes a multi-row insert buffer its results in a temporary table: about a
 * quarter of the log writer's instructions per row. So the rows first go in without it,
 * inside a savepoint, and the connection's change count says whether the database took all
 * of them; if not (a replayed row, an id repeated), the savepoint is rolled back and they
 * are inserted again with RETURNING. A backend without a cheap count (changes_sql NULL)
 * uses RETURNING at once. 0 or the failing statement's result. */
int gw_sql_insert_counted(const struct gw_sql_batch *b, size_t chunk, gw_sql_insert_fn insert);
/* USD <-> nano-dollars (rounded). */
int64_t gw_usd_to_nusd(double usd);
double gw_nusd_to_usd(int64_t n);

/* ---- the key cache (store_keycache.c) and its loader thread (store_keyload.c) ---- */

/* Reads key id and caches its record (or that there is none): 0, or GW_STORE_EUNAVAIL when
 * the database did not answer and nothing was cached before (a cached record stands). */
int gw_store_keycache_reload(struct gw_store *s, const char *id);
/* Reads whether any key exists and caches the answer: 0 or negative. */
int gw_store_keycache_has_read(struct gw_store *s);
int gw_store_keyload_start(struct gw_store *s);
/* Joins the thread; the requests still waiting are called back with GW_STORE_EUNAVAIL. */
void gw_store_keyload_stop(struct gw_store *s);
/* Queues a read of key id; done(ud, rc) runs on the loader thread once it is cached (done
 * NULL: nobody waits). 0, or negative when it was not queued (full, stopping, no memory):
 * done is then never called. */
int gw_store_keyload_queue(struct gw_store *s, const char *id, gw_key_loaded_fn done, void *ud);
/* Queues a read of whether any key exists (nobody waits). */
int gw_store_keyload_has_keys(struct gw_store *s);

/* ---- queues (store_queue.c) and the writer (store_writer.c) ---- */

void gw_store_list_push(struct store_list *l, struct store_link *it);
struct store_link *gw_store_list_pop(struct store_list *l);
int gw_store_list_unlink(struct store_list *l, struct store_link *it); /* 1 when found */
/* A monotonic ms deadline as the timespec the store's conditions wait on. */
void gw_store_wake_ts(struct timespec *ts, int64_t at_mono);

int gw_store_writer_start(struct gw_store *s, char *err, size_t errsize);
void gw_store_writer_stop(struct gw_store *s);
/* Queues op (taken over, freed on refusal): 0 or GW_STORE_EFULL. */
int gw_store_enqueue_op(struct gw_store *s, struct store_op *op);
/* Queues a log row (taken over), dropping the oldest rows past the caps. */
void gw_store_enqueue_log(struct gw_store *s, struct store_log *it);
/* Both, spooled as one record: the ledger op's result (the log row is always taken). */
int gw_store_enqueue_pair(struct gw_store *s, struct store_op *op, struct store_log *it);
/* Queue items made from the caller's rows (copied, cleaned, capped): NULL without memory. */
struct store_op *gw_store_ledger_item(const struct gw_ledger_entry *e);
struct store_log *gw_store_log_item(struct gw_store *s, const struct gw_log_row *r);
/* Runs fn on the writer thread and waits (bounded by the read deadline while queued). */
int gw_store_call(struct gw_store *s, store_call_fn fn, void *ctx);
void gw_store_op_free(struct store_op *op);
void gw_store_log_free_item(struct store_log *it);

/* ---- the spool (store_spool.c) ---- */

/* Opens a spool file of our own named prefix.* and queues again the rows of any such file
 * whose process is gone. 0, or an error (err says why; the store then runs without one). */
int gw_store_spool_open(struct gw_store *s, const char *prefix, char *err, size_t errsize);
/* After the writer stopped: removes the files when every row is written, else keeps them. */
void gw_store_spool_close(struct gw_store *s);
/* Under s->mu: append a queued row; mark one done (committed or dropped); after a batch,
 * empty or retire files whose rows are all done. */
void gw_store_spool_ledger_locked(struct gw_store *s, struct store_op *op);
void gw_store_spool_log_locked(struct gw_store *s, struct store_log *it);
void gw_store_spool_pair_locked(struct gw_store *s, struct store_op *op, struct store_log *it);
void gw_store_spool_done_locked(struct gw_store *s, struct store_link *it);
void gw_store_spool_tidy_locked(struct gw_store *s);

/* ---- per-part writer steps (inside the writer's transaction) ---- */

int gw_store_write_ledger(struct gw_store *s, struct gw_sql_conn *c, struct store_op **ops,
                          size_t n, int64_t deadline);
int gw_store_write_logs(struct gw_store *s, struct gw_sql_conn *c, struct store_log **rows,
                        size_t n, int64_t deadline);
int gw_store_write_resp(struct gw_store *s, struct gw_sql_conn *c, const struct store_op *op,
                        int64_t deadline);
/* Deletes up to one batch of expired rows; 1 when more remain. */
int gw_store_retention_step(struct gw_store *s, struct gw_sql_conn *c, int64_t now_ms,
                            int64_t deadline);
/* Test hook: runs retention to completion as of now_ms on the writer. */
int gw_store_run_retention(struct gw_store *s, int64_t now_ms);
/* Deadline of one writer transaction. */
#define STORE_WRITE_MS 10000
/* The writer lets rows gather before it writes them, or until STORE_LINGER_ROWS wait: a
 * transaction's fixed part (begin, the rollups, the commit's WAL write and its locks) costs as
 * much as tens of rows. Request-log rows wait up to STORE_LINGER_LOG_MS after the first is
 * queued: nobody outside this process reads them sooner (a reader here flushes first, and the
 * spool keeps them if the process dies), so at a paced 100 requests/s a 20 ms linger spent
 * 130 us of writer CPU per request against 17 us for 200 ms. Ops (ledger rows, stored
 * responses) wait at most STORE_LINGER_OPS_MS: another replica's budget check or
 * previous_response_id may read them next. Producers wake the writer only when a queue goes
 * from empty to not and when the rows reach STORE_LINGER_ROWS. Nobody waits for it
 * meanwhile: a flush, a call or close cuts it short. */
#define STORE_LINGER_LOG_MS 250
#define STORE_LINGER_OPS_MS 20
#define STORE_LINGER_ROWS 128
/* When the writer stops lingering over logs rows queued since first_log_ms and ops rows queued
 * since first_op_ms (monotonic ms; INT64_MAX when both are 0). */
int64_t gw_store_linger_until(size_t logs, int64_t first_log_ms, size_t ops, int64_t first_op_ms);

/* ---- schema (store_schema.c) ---- */

int gw_store_migrate(struct gw_store *s, struct gw_sql_conn *c, char *err, size_t errsize);

/* ---- key cache (store_keycache.c) ---- */

int gw_store_keycache_init(struct gw_store *s);
void gw_store_keycache_free(struct gw_store *s);
void gw_store_keycache_forget(struct gw_store *s, const char *id);
void gw_store_keycache_stats(struct gw_store *s, uint64_t *hits, uint64_t *misses);
/* Secret -> stored hash (hex, 65 bytes). */
void gw_store_hash_secret(const struct gw_store *s, const char *secret, size_t len,
                          unsigned char out[32]);
/* Loads a key row: 0, GW_STORE_ENOTFOUND, or an exec error. hash/prev_hash may be NULL. */
int gw_store_key_load(struct gw_store *s, struct gw_sql_conn *c, const char *id,
                      struct gw_key **out, unsigned char hash[32], unsigned char prev_hash[32],
                      int64_t deadline);
struct gw_key *gw_key_alloc(void);

/* ---- key rows (store_keyrow.c) ---- */

/* A fresh public id (may be NULL) and secret. */
int gw_store_mint(char id[GW_KEY_ID_LEN + 1], char secret[GW_KEY_SECRET_LEN + 1]);
/* The columns every key read selects, in the order gw_store_row_key reads them. */
extern const char gw_store_key_cols[];
struct gw_key_read {
    struct gw_key *k;
    unsigned char *hash;      /* filled when non-NULL */
    unsigned char *prev_hash; /* filled (zeros when none) when non-NULL */
};
/* Row callback: one key row into ((struct gw_key_read *)ctx)->k; returns 1 (stop). */
int gw_store_row_key(void *ctx, int ncol, const char *const *v, const size_t *len);
/* SELECT key_id, all-time, daily, weekly, monthly spend ... WHERE (the caller adds the rest;
 * $2..$4 are the period start days from gw_store_spend_params). */
extern const char gw_store_spend_sql[];
void gw_store_spend_params(int64_t now, struct gw_sql_param p[3]);
/* Sets k->spend_usd from a row of gw_store_spend_sql (v NULL: no spend yet). */
void gw_store_spend_apply(struct gw_key *k, const char *const *v, int64_t now);
void gw_store_period_apply(struct gw_key *k, int64_t now);
int gw_key_fill_spend(struct gw_store *s, struct gw_sql_conn *c, struct gw_key *k, int64_t now,
                      int64_t deadline);

/* ---- request log (store_logw.c, store_log.c, store_usage.c) ---- */

/* Latency histogram bucket upper bounds (ms); the last bucket is open-ended. */
#define STORE_HIST_N 22
extern const int64_t gw_store_hist_bounds[STORE_HIST_N - 1];
int gw_store_hist_bucket(int64_t ms);
/* Appends "($a, $b, ...), (...)" for rows x cols parameters numbered from 1. */
int gw_sql_values(struct gw_buf *b, int rows, int cols);

/* Many rows inserted by statements of a few fixed shapes: prefix, "($1, ...), (...)",
 * suffix, with 1, 2, 4, ... up to STORE_STMT_ROWS rows each. The texts never vary with the
 * batch's size, so they are built once, and SQLite's statement cache keeps each prepared
 * (a text per batch size made it parse nearly every statement anew). Multi-row beats one
 * prepared single-row statement per row on SQLite too (each statement pays for its cursors,
 * its statement journal and its halt), and on PostgreSQL a statement is a round trip. */
#define STORE_STMT_ROWS 32
struct gw_sql_rows {
    const char *prefix, *suffix; /* static strings: with rows, the text cache's key */
    int cols;
    const struct gw_sql_param *p; /* rows x cols */
    size_t rows;
    gw_sql_row_fn row; /* RETURNING rows, or NULL */
    void *ctx;
    size_t at, n; /* set while a statement runs: its first row and row count */
};
/* Writer thread only. 0, or the first failing statement's exec result. */
int gw_sql_rows_exec(struct gw_store *s, struct gw_sql_conn *c, struct gw_sql_rows *q,
                     int64_t deadline);
void gw_sql_texts_free(struct gw_store *s);
/* Replaces bytes that are not UTF-8 (and control bytes below 0x20 but tab) with '?'. */
void gw_sql_clean_inplace(char *s);

/* ---- stored responses (store_resp.c) ---- */

void gw_stored_response_clear(struct gw_stored_response *r);

#endif
