/* fx_pg - the contract fixture for PostgreSQL: one database per test on the server pgsvc
 * started for this program (see fixture.h). */
#include "store/fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

const char *const fx_backend = "postgres";

static char db[64];
static char url[320];
static PGconn *blocker;

static PGconn *connect_to(const char *u)
{
    PGconn *c = PQconnectdb(u);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
              PQresultErrorMessage(r));
    PQclear(r);
}

void fx_setup(void)
{
    const char *base = getenv("AIGW_TEST_PG_URL");
    cr_assert_not_null(base, "the PostgreSQL server was not started");
    static int n;
    snprintf(db, sizeof db, "t_%d_%d", (int)getpid(), n++);
    char admin[300], sql[128];
    snprintf(admin, sizeof admin, "%spostgres", base);
    PGconn *c = connect_to(admin);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    exec_ok(c, sql);
    PQfinish(c);
    snprintf(url, sizeof url, "%s%s", base, db);
}

void fx_teardown(void)
{
    fx_unblock_writes();
}

const char *fx_url(void)
{
    return url;
}

int fx_sql(const char *sql)
{
    PGconn *c = connect_to(url);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    PQfinish(c);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
}

long long fx_sql_int(const char *sql)
{
    PGconn *c = connect_to(url);
    PGresult *r = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

void fx_block_writes(void)
{
    blocker = connect_to(url);
    /* EXCLUSIVE: inserts wait, reads go on */
    exec_ok(blocker, "BEGIN");
    exec_ok(blocker, "LOCK TABLE aigw_log, aigw_ledger, aigw_key_spend, aigw_responses,"
                     " aigw_keys IN EXCLUSIVE MODE");
}

void fx_unblock_writes(void)
{
    if (!blocker)
        return;
    PGresult *r = PQexec(blocker, "ROLLBACK");
    PQclear(r);
    PQfinish(blocker);
    blocker = NULL;
}

char *fx_dump(size_t *len)
{
    char cmd[1600];
    const char *bin = getenv("AIGW_TEST_PG_BIN");
    cr_assert_not_null(bin);
    snprintf(cmd, sizeof cmd, "'%s/pg_dump' --no-owner -d '%s'", bin, url);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char *buf = calloc(1, 1);
    *len = 0;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
        buf = realloc(buf, *len + n + 1);
        cr_assert_not_null(buf);
        memcpy(buf + *len, chunk, n);
        *len += n;
        buf[*len] = '\0';
    }
    cr_assert_eq(pclose(p), 0, "pg_dump failed");
    return buf;
}

/* Runs before + the test's database name + after on the server's "postgres" database. */
static void admin_exec(const char *before, const char *after)
{
    char admin[300], sql[512];
    snprintf(admin, sizeof admin, "%spostgres", getenv("AIGW_TEST_PG_URL"));
    snprintf(sql, sizeof sql, "%s%s%s", before, db, after);
    PGconn *c = connect_to(admin);
    exec_ok(c, sql);
    PQfinish(c);
}

int fx_drop_connections(void)
{
    admin_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '",
               "' AND pid <> pg_backend_pid()");
    return 0;
}

int fx_outage(int on)
{
    if (on) {
        admin_exec("ALTER DATABASE ", " ALLOW_CONNECTIONS false");
        return fx_drop_connections();
    }
    admin_exec("ALTER DATABASE ", " ALLOW_CONNECTIONS true");
    return 0;
}

int fx_outage_supported(void)
{
    return 1;
}
