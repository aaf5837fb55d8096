/*
 * store_pg - the PostgreSQL backend on libpq's asynchronous API: connect with
 * PQconnectStart/PQconnectPoll, send with PQsendQueryParams, read with PQconsumeInput /
 * PQisBusy / PQgetResult, always on a non-blocking socket and under a deadline, so a database
 * that stops answering costs a bounded wait and a reconnect, never a hung thread.
 * Parameters and results travel as text.
 */
#include "store/store_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

struct gw_sql_conn {
    PGconn *pg;
    char err[256];
    const char *reason; /* the last failure's word for metrics, or NULL */
};

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like: not for stderr */
}

static void set_err(struct gw_sql_conn *c, const char *msg)
{
    snprintf(c->err, sizeof c->err, "%s", msg ? msg : "");
    size_t n = strlen(c->err);
    while (n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
        c->err[--n] = '\0';
}

/* Waits until the socket is ready for events or the deadline passes: 0, or -1. */
static int wait_sock(PGconn *pg, short events, int64_t deadline)
{
    int fd = PQsocket(pg);
    if (fd < 0)
        return -1;
    for (;;) {
        int timeout = -1;
        if (deadline) {
            int64_t left = deadline - gw_store_mono_ms();
            if (left <= 0)
                return -1;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static void pg_disconnect(struct gw_sql_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

static int pg_script(struct gw_sql_conn *c, const char *sql, int64_t deadline);

static int pg_connect(struct gw_store *s, int reader, int64_t deadline, struct gw_sql_conn **out,
                      char *err, size_t errsize)
{
    struct gw_sql_conn *c = calloc(1, sizeof *c);
    if (!c)
        return AIGW_ENOMEM;
    c->pg = PQconnectStart(s->target);
    if (!c->pg) {
        free(c);
        return AIGW_ENOMEM;
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (PQstatus(c->pg) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (wait_sock(c->pg, ev, deadline) != 0) {
            snprintf(err, errsize, "postgres: connect timed out");
            pg_disconnect(c);
            return GW_STORE_EUNAVAIL;
        }
        st = PQconnectPoll(c->pg);
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        set_err(c, PQerrorMessage(c->pg));
        snprintf(err, errsize, "postgres: %s", c->err);
        pg_disconnect(c);
        return GW_STORE_EUNAVAIL;
    }
    PQsetNoticeProcessor(c->pg, quiet, NULL);
    if (PQsetnonblocking(c->pg, 1) != 0) {
        snprintf(err, errsize, "postgres: cannot make the connection non-blocking");
        pg_disconnect(c);
        return GW_STORE_EUNAVAIL;
    }
    /* a reader that tried to write would be a bug: make it an error, as SQLite's query_only */
    if (reader && pg_script(c, "SET default_transaction_read_only = on", deadline) != 0) {
        snprintf(err, errsize, "postgres: %s", c->err);
        pg_disconnect(c);
        return GW_STORE_EUNAVAIL;
    }
    *out = c;
    return 0;
}

static int broken(struct gw_sql_conn *c)
{
    return PQstatus(c->pg) != CONNECTION_OK;
}

/* An SQL error by its SQLSTATE class: the server going away or out of room is no fault of
 * the statement (retry it later, GW_STORE_EUNAVAIL); anything else is (AIGW_EINTERNAL). */
static int classify(struct gw_sql_conn *c, const char *state)
{
    c->reason = NULL;
    if (!state || strlen(state) != 5)
        return AIGW_EINTERNAL;
    if (!strncmp(state, "53", 2)) /* insufficient resources: disk full, out of memory */
        c->reason = !strcmp(state, "53100") ? "disk_full" : "resources";
    else if (!strncmp(state, "57", 2) || !strncmp(state, "08", 2)) /* shutdown, connection */
        c->reason = "unavailable";
    else if (!strncmp(state, "40", 2)) /* serialization failure, deadlock: retry */
        c->reason = "locked";
    return c->reason ? GW_STORE_EUNAVAIL : AIGW_EINTERNAL;
}

/* Sends what libpq buffered, then collects every result of the command. */
static int finish(struct gw_sql_conn *c, gw_sql_row_fn row, void *ctx, int64_t deadline)
{
    int r;
    while ((r = PQflush(c->pg)) == 1) {
        if (wait_sock(c->pg, POLLOUT | POLLIN, deadline) != 0) {
            set_err(c, "timed out sending");
            return GW_STORE_EUNAVAIL;
        }
        if (!PQconsumeInput(c->pg)) {
            set_err(c, PQerrorMessage(c->pg));
            return GW_STORE_EUNAVAIL;
        }
    }
    if (r < 0) {
        set_err(c, PQerrorMessage(c->pg));
        return GW_STORE_EUNAVAIL;
    }
    int out = 0;
    for (;;) {
        while (PQisBusy(c->pg)) {
            if (wait_sock(c->pg, POLLIN, deadline) != 0) {
                set_err(c, "timed out waiting for the database");
                return GW_STORE_EUNAVAIL;
            }
            if (!PQconsumeInput(c->pg)) {
                set_err(c, PQerrorMessage(c->pg));
                return GW_STORE_EUNAVAIL;
            }
        }
        PGresult *res = PQgetResult(c->pg);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK && row && !out) {
            int nrows = PQntuples(res), ncol = PQnfields(res);
            if (ncol > 64)
                ncol = 64;
            for (int i = 0; i < nrows && !out; i++) {
                const char *val[64];
                size_t len[64];
                for (int j = 0; j < ncol; j++) {
                    val[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
                    len[j] = (size_t)PQgetlength(res, i, j);
                }
                out = row(ctx, ncol, val, len);
            }
        } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
            set_err(c, PQresultErrorMessage(res));
            if (!out)
                out = classify(c, PQresultErrorField(res, PG_DIAG_SQLSTATE));
        }
        PQclear(res);
    }
    if (broken(c))
        return GW_STORE_EUNAVAIL;
    return out;
}

static int pg_exec(struct gw_sql_conn *c, const char *sql, const struct gw_sql_param *p, int np,
                   gw_sql_row_fn row, void *ctx, int64_t deadline)
{
    if (broken(c))
        return GW_STORE_EUNAVAIL;
    if (np > 65535)
        return AIGW_EINVAL;
    const char **vals = NULL;
    char(*ints)[24] = NULL;
    if (np) {
        vals = calloc((size_t)np, sizeof *vals);
        ints = calloc((size_t)np, sizeof *ints);
        if (!vals || !ints) {
            free(vals);
            free(ints);
            return AIGW_ENOMEM;
        }
        for (int i = 0; i < np; i++) {
            if (p[i].type == GW_SQL_INT) {
                gw_fmt_i64(ints[i], sizeof ints[i], p[i].i);
                vals[i] = ints[i];
            } else if (p[i].type == GW_SQL_TEXT) {
                vals[i] = p[i].s;
            }
        }
    }
    int ok = PQsendQueryParams(c->pg, sql, np, NULL, vals, NULL, NULL, 0);
    free(vals);
    free(ints);
    if (!ok) {
        set_err(c, PQerrorMessage(c->pg));
        return broken(c) ? GW_STORE_EUNAVAIL : AIGW_EINTERNAL;
    }
    return finish(c, row, ctx, deadline);
}

static int pg_script(struct gw_sql_conn *c, const char *sql, int64_t deadline)
{
    if (broken(c))
        return GW_STORE_EUNAVAIL;
    if (!PQsendQuery(c->pg, sql)) {
        set_err(c, PQerrorMessage(c->pg));
        return broken(c) ? GW_STORE_EUNAVAIL : AIGW_EINTERNAL;
    }
    return finish(c, NULL, NULL, deadline);
}

static const char *pg_errmsg(struct gw_sql_conn *c)
{
    return c->err;
}

static const char *pg_reason(struct gw_sql_conn *c)
{
    return c->reason;
}

const struct gw_store_ops gw_store_pg_ops = {
    .name = "postgres",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .script = pg_script,
    .errmsg = pg_errmsg,
    .reason = pg_reason,
    .begin_sql = "BEGIN",
    /* replicas starting together must not run the same migration twice */
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(7306215431)",
};
