/*
 * fixture - what the store contract suite needs from the database under test, implemented
 * once per backend (fx_sqlite.c, fx_pg.c) so every case in test_store_*.c runs unchanged
 * against both. Each test gets a fresh, empty database.
 *
 * Threading: the test's own thread.
 */
#ifndef AIGW_TEST_STORE_FIXTURE_H
#define AIGW_TEST_STORE_FIXTURE_H

#include <stddef.h>

#include "store/store.h"

/* Every suite's timeout, in seconds. One value for all: Criterion 2.4 leaks in its runner
 * when tests with different timeouts run at the same time. */
#define STORE_TEST_TIMEOUT 120

/* The backend's name, as gw_store_backend() reports it. */
extern const char *const fx_backend;

/* Criterion .init / .fini for every contract test. */
void fx_setup(void);
void fx_teardown(void);
/* The fresh database's store URL. */
const char *fx_url(void);
/* Opens fx_url() (asserting success). opts may be NULL. */
struct gw_store *fx_open(const struct gw_store_opts *opts);
/* Runs SQL on the test database from a connection of the test's own: 0 or -1. */
int fx_sql(const char *sql);
/* The first column of the first row of a query, as an integer (-1 when no row). */
long long fx_sql_int(const char *sql);
/* Holds the database's write lock (or a table lock on aigw_log) until fx_unblock_writes. */
void fx_block_writes(void);
void fx_unblock_writes(void);
/* 1 when fx_outage and fx_drop_connections can do something for this backend. */
int fx_outage_supported(void);
/* Makes the database refuse every connection (on) or accept them again (off), dropping the
 * ones open: 0, or -1 when the backend has no such thing (a local file). */
int fx_outage(int on);
/* Closes every connection the store holds to the database, as a server restart would. */
int fx_drop_connections(void);
/* Everything the database keeps, as bytes (sqlite: the files; postgres: pg_dump). */
char *fx_dump(size_t *len);

/* Sets ok to cond, re-evaluated until it holds or ms pass. */
#define FX_WAIT(ok, cond, ms)                                                                      \
    do {                                                                                           \
        long long fx_deadline_ = fx_now_ms() + (ms);                                               \
        while (!((ok) = !!(cond)) && fx_now_ms() < fx_deadline_)                                   \
            fx_yield();                                                                            \
    } while (0)
long long fx_now_ms(void);
/* Gives up the CPU briefly between two checks of a condition that needs time to pass. */
void fx_yield(void);

#endif
