/*
 * store_sqlite - the SQLite backend: one file in WAL mode, so readers never wait for the one
 * writer. Every connection is opened without SQLite's own mutex (the store gives each to one
 * thread at a time). Deadlines come from a busy handler and a progress handler, so a locked
 * file (the CLI writing while the daemon runs) waits a bounded time, never forever.
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

#define STMT_CACHE 48 /* the writer's shapes (gw_sql_rows_exec) and the rest */

/* A prepared statement kept by the caller's text ($n form), most recently used first. */
struct stmt_slot {
    char *sql;
    size_t len;
    sqlite3_stmt *st;
};

struct gw_sql_conn {
    sqlite3 *db;
    int64_t deadline; /* of the statement running, monotonic ms; 0: none */
    struct stmt_slot cache[STMT_CACHE];
    int ncache;
    char err[256];
    int last_rc; /* the primary result code of the last failure */
};

static int busy_wait(void *ud, int count)
{
    struct gw_sql_conn *c = ud;
    int64_t now = gw_store_mono_ms();
    int64_t deadline = c->deadline ? c->deadline : now + 5000;
    if (now >= deadline)
        return 0;
    /* SQLite's locks have no wake-up: polling with a short pause is its documented way */
    struct timespec ts = {0, (count < 10 ? 1 : 5) * 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

static int progress(void *ud)
{
    struct gw_sql_conn *c = ud;
    return c->deadline && gw_store_mono_ms() >= c->deadline;
}

static int mkparent(const char *path, char *err, size_t errsize)
{
    char dir[4096];
    if (gw_strlcpy(dir, path, sizeof dir) >= sizeof dir) {
        snprintf(err, errsize, "sqlite path too long");
        return AIGW_EINVAL;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    /* each missing level, owner-only: the state directory holds the key hashes */
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errsize, "cannot create %s: %s", dir, strerror(errno));
            return AIGW_ECONFIG;
        }
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errsize, "cannot create %s: %s", dir, strerror(errno));
        return AIGW_ECONFIG;
    }
    return 0;
}

static void sq_disconnect(struct gw_sql_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->ncache; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close_v2(c->db);
    free(c);
}

static int sq_connect(struct gw_store *s, int reader, int64_t deadline, struct gw_sql_conn **out,
                      char *err, size_t errsize)
{
    const char *path = s->target;
    if (!reader && !s->memory) {
        int rc = mkparent(path, err, errsize);
        if (rc)
            return rc;
        /* created here, not by SQLite, so that the file (and its -wal, -shm, which copy its
         * mode) is never readable by others */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
            return AIGW_ECONFIG;
        }
        close(fd);
    }
    struct gw_sql_conn *c = calloc(1, sizeof *c);
    if (!c)
        return AIGW_ENOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (s->memory)
        flags |= SQLITE_OPEN_URI | SQLITE_OPEN_SHAREDCACHE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errsize, "sqlite %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "no memory");
        sq_disconnect(c);
        return AIGW_ECONFIG;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_handler(c->db, busy_wait, c);
    sqlite3_progress_handler(c->db, 1000, progress, c);
    c->deadline = deadline;
    /* WAL: readers see the last commit while the writer works. synchronous=NORMAL: no fsync
     * per commit, which more than doubles the writer's rows a second; a commit still survives
     * any crash of aigw, and only an OS crash or power cut can lose the last ones (the file
     * stays consistent either way). */
    /* memory: connections share one cache with table locks; a reader reads through them
     * (read_uncommitted) instead of failing SQLITE_LOCKED while the writer holds one */
    /* temp_store=MEMORY on the writer: a multi-row INSERT inside the batch's transaction
     * keeps a statement journal (to undo itself alone), which past 64 KiB spills into a new
     * unlinked temp file, statement after statement: an open, unlink and close and three
     * pwrites each. It only ever serves a rollback within the open transaction, never a
     * commit, so keeping it in memory (the pages one statement of <= 32 rows changes that
     * were there before it, freed when it ends) changes nothing on disk. */
    const char *pragmas = reader && s->memory ? "PRAGMA query_only=1; PRAGMA read_uncommitted=1;"
                          : reader            ? "PRAGMA query_only=1; PRAGMA foreign_keys=0;"
                                   : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                     " PRAGMA foreign_keys=0; PRAGMA temp_store=MEMORY;";
    char *msg = NULL;
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errsize, "sqlite %s: %s", path, msg ? msg : "pragma failed");
        sqlite3_free(msg);
        sq_disconnect(c);
        return AIGW_ECONFIG;
    }
    c->deadline = 0;
    *out = c;
    return 0;
}

static int map_rc(struct gw_sql_conn *c, int rc)
{
    snprintf(c->err, sizeof c->err, "%s", sqlite3_errmsg(c->db));
    c->last_rc = rc & 0xff;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:
    /* The disk is full, or failed under us: the rows are fine, the file cannot take them
     * now. Kept and retried like a lock, never dropped as bad rows. */
    case SQLITE_FULL:
    case SQLITE_IOERR:
        return GW_STORE_EUNAVAIL;
    case SQLITE_NOMEM:
        return AIGW_ENOMEM;
    default:
        return AIGW_EINTERNAL;
    }
}

/* The shared SQL numbers its parameters $1..$n, which SQLite takes as names and finds by a
 * linear search per bind (quadratic for a 1,000-parameter batch insert); ?1..?n are its
 * numbered form, bound by index directly. Our SQL has no '$' in literals. */
static char *numbered(const char *sql)
{
    char *out = strdup(sql);
    for (char *p = out; p && *p; p++)
        if (*p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    return out;
}

/* The statement for sql, from the cache or prepared into it. A hit costs a length check and
 * a memcmp per slot tried, hot statements first: the writer runs one per row. */
static sqlite3_stmt *prepare(struct gw_sql_conn *c, const char *sql, int *rc)
{
    size_t len = strlen(sql);
    for (int i = 0; i < c->ncache; i++) {
        struct stmt_slot *e = &c->cache[i];
        if (e->len != len || memcmp(e->sql, sql, len))
            continue;
        struct stmt_slot hit = *e;
        memmove(c->cache + 1, c->cache, (size_t)i * sizeof *c->cache);
        c->cache[0] = hit;
        return hit.st;
    }
    char *key = malloc(len + 1);
    char *text = key ? numbered(sql) : NULL;
    if (!text) {
        free(key);
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    *rc = sqlite3_prepare_v2(c->db, text, -1, &st, NULL);
    free(text);
    if (*rc != SQLITE_OK) {
        free(key);
        return NULL;
    }
    memcpy(key, sql, len + 1);
    if (c->ncache == STMT_CACHE) { /* the least recently used goes */
        struct stmt_slot *old = &c->cache[--c->ncache];
        sqlite3_finalize(old->st);
        free(old->sql);
    }
    memmove(c->cache + 1, c->cache, (size_t)c->ncache * sizeof *c->cache);
    c->cache[0] = (struct stmt_slot){key, len, st};
    c->ncache++;
    return st;
}

static int bind(sqlite3_stmt *st, const struct gw_sql_param *p, int np)
{
    int count = sqlite3_bind_parameter_count(st);
    for (int i = 0; i < np && i < count; i++) {
        int rc, idx = i + 1;
        switch (p[i].type) {
        case GW_SQL_INT:
            rc = sqlite3_bind_int64(st, idx, p[i].i);
            break;
        case GW_SQL_TEXT:
            rc = sqlite3_bind_text(st, idx, p[i].s, (int)p[i].len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, idx);
        }
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static int sq_exec(struct gw_sql_conn *c, const char *sql, const struct gw_sql_param *p, int np,
                   gw_sql_row_fn row, void *ctx, int64_t deadline)
{
    int rc = SQLITE_OK;
    sqlite3_stmt *st = prepare(c, sql, &rc);
    if (!st)
        return map_rc(c, rc);
    c->deadline = deadline;
    rc = bind(st, p, np);
    int out = 0;
    if (rc != SQLITE_OK) {
        out = map_rc(c, rc);
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!row)
            continue;
        int n = sqlite3_column_count(st);
        if (n > 64)
            n = 64;
        const char *val[64];
        size_t len[64];
        for (int i = 0; i < n; i++) {
            val[i] = (const char *)sqlite3_column_text(st, i);
            len[i] = (size_t)sqlite3_column_bytes(st, i);
        }
        out = row(ctx, n, val, len);
        if (out)
            goto done;
    }
    if (rc != SQLITE_DONE)
        out = map_rc(c, rc);
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    c->deadline = 0;
    return out;
}

static int sq_script(struct gw_sql_conn *c, const char *sql, int64_t deadline)
{
    char *msg = NULL;
    c->deadline = deadline;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    c->deadline = 0;
    if (rc == SQLITE_OK)
        return 0;
    int out = map_rc(c, rc);
    if (msg)
        snprintf(c->err, sizeof c->err, "%s", msg);
    sqlite3_free(msg);
    return out;
}

static const char *sq_errmsg(struct gw_sql_conn *c)
{
    return c->err;
}

static const char *sq_reason(struct gw_sql_conn *c)
{
    switch (c->last_rc) {
    case SQLITE_FULL:
        return "disk_full";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "locked";
    case SQLITE_IOERR:
        return "io_error";
    default:
        return NULL;
    }
}

const struct gw_store_ops gw_store_sqlite_ops = {
    .name = "sqlite",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .script = sq_script,
    .errmsg = sq_errmsg,
    .reason = sq_reason,
    /* IMMEDIATE: take the write lock up front, or a read-then-write transaction fails with
     * SQLITE_BUSY_SNAPSHOT instead of waiting */
    .begin_sql = "BEGIN IMMEDIATE",
    .migrate_lock_sql = NULL,
    /* total_changes(), not changes(): the count survives the statements in between */
    .changes_sql = "SELECT total_changes()",
};
