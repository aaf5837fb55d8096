/* fx_sqlite - the contract fixture for SQLite: a temp directory per test (see fixture.h). */
#include "store/fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

const char *const fx_backend = "sqlite";

static char dir[256];
static char path[300];
static char url[320];
static sqlite3 *blocker;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void fx_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/aigw-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    /* a level that does not exist yet: open must create it */
    snprintf(path, sizeof path, "%s/state/aigw.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
}

void fx_teardown(void)
{
    fx_unblock_writes();
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fx_url(void)
{
    return url;
}

static sqlite3 *conn(void)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

int fx_sql(const char *sql)
{
    sqlite3 *db = conn();
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

long long fx_sql_int(const char *sql)
{
    sqlite3 *db = conn();
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void fx_block_writes(void)
{
    blocker = conn();
    cr_assert_eq(sqlite3_exec(blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

void fx_unblock_writes(void)
{
    if (!blocker)
        return;
    sqlite3_exec(blocker, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(blocker);
    blocker = NULL;
}

static void slurp(const char *p, char **buf, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        *buf = realloc(*buf, *len + n + 1);
        cr_assert_not_null(*buf);
        memcpy(*buf + *len, chunk, n);
        *len += n;
        (*buf)[*len] = '\0';
    }
    fclose(f);
}

char *fx_dump(size_t *len)
{
    char *buf = calloc(1, 1);
    *len = 0;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[340];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        slurp(p, &buf, len);
    }
    return buf;
}

int fx_outage(int on)
{
    (void)on;
    return -1; /* a local file has no outage to simulate */
}

int fx_drop_connections(void)
{
    return -1;
}

int fx_outage_supported(void)
{
    return 0;
}
