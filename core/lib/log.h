/*
 * log - diagnostic lines and the JSON access log. Every line goes through redact first.
 * Diagnostics: "<time> <level> [<who>] [<request id>] message" on stderr (or the log file).
 * Access log: one JSON object per request (stderr, or its own file).
 *
 * Threading: any thread; each line is written with one write() so lines never interleave.
 * gw_log_reopen() (SIGHUP) runs on the main thread.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdarg.h>

#include "aigw/plugin.h" /* AIGW_LOG_* levels */

int gw_log_init(int level, const char *log_file, const char *access_file);
int gw_log_reopen(void);
/* The level from now on (a config reload); any thread. */
void gw_log_set_level(int level);
void gw_log_close(void);
int gw_log_level_from_string(const char *s); /* -1 when unknown */

void gw_logf(int level, const char *who, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void gw_vlogf(int level, const char *who, const char *request_id, const char *fmt, va_list ap);
/* 0 when log.access_log is "off": callers skip building the line. */
int gw_log_access_on(void);
/* Writes one already-built JSON line to the access log (redacted); nothing when off. */
void gw_log_access(const char *json_line, size_t len);

#define GW_ERROR(...) gw_logf(AIGW_LOG_ERROR, "aigw", NULL, __VA_ARGS__)
#define GW_WARN(...) gw_logf(AIGW_LOG_WARN, "aigw", NULL, __VA_ARGS__)
#define GW_INFO(...) gw_logf(AIGW_LOG_INFO, "aigw", NULL, __VA_ARGS__)
#define GW_DEBUG(...) gw_logf(AIGW_LOG_DEBUG, "aigw", NULL, __VA_ARGS__)

#endif
