/*
 * pgsvc - a throwaway PostgreSQL server for tests: Debian's initdb + postgres from
 * /usr/lib/postgresql/<version>/bin (or $AIGW_PG_BIN), data in a fresh temp directory, TCP on
 * 127.0.0.1 at an ephemeral port, trust auth for user "aigw". When run as root the server runs
 * as "nobody" (postgres refuses root). Readiness is read from the server's own log line, with a
 * deadline; stop signals the PID and waits for it (pidfd), then removes the directory.
 *
 * Threading: one server per process, started and stopped from the main thread.
 */
#ifndef AIGW_TEST_PGSVC_H
#define AIGW_TEST_PGSVC_H

/* 1 when the server binaries exist. */
int pgsvc_available(void);
/* Starts the server: 0, or -1 with the reason on stderr. */
int pgsvc_start(void);
/* "postgres://aigw@127.0.0.1:<port>/" (append a database name). */
const char *pgsvc_base_url(void);
/* The bin directory in use (for pg_dump). */
const char *pgsvc_bindir(void);
/* Stops the server (fast shutdown: sessions terminated) and starts it again on the same
 * port and data: 0, or -1. */
int pgsvc_restart(void);
void pgsvc_stop(void);

#endif
