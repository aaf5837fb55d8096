/* log - diagnostics and access log (see log.h). */
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/redact.h"

#define LINE_MAX_BYTES 8192

static atomic_int log_level = AIGW_LOG_INFO; /* a reload changes it while others log */
static int log_fd = 2;
static int access_fd = 2;
static char *log_path;
static char *access_path;
static int access_off; /* log.access_log = "off" */
static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_append(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

void gw_log_set_level(int level)
{
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int gw_log_init(int level, const char *log_file, const char *access_file)
{
    gw_log_set_level(level);
    free(log_path);
    free(access_path);
    log_path = log_file && *log_file ? strdup(log_file) : NULL;
    access_off = access_file && !strcmp(access_file, "off");
    access_path = access_file && *access_file && !access_off ? strdup(access_file) : NULL;
    return gw_log_reopen();
}

int gw_log_reopen(void)
{
    int rc = 0;
    pthread_mutex_lock(&reopen_lock);
    if (log_path) {
        int fd = open_append(log_path);
        if (fd < 0) {
            rc = -errno;
        } else {
            int old = log_fd;
            log_fd = fd;
            if (old > 2)
                close(old);
        }
    }
    if (access_path) {
        int fd = open_append(access_path);
        if (fd < 0) {
            rc = -errno;
        } else {
            int old = access_fd;
            access_fd = fd;
            if (old > 2)
                close(old);
        }
    } else {
        access_fd = log_fd;
    }
    pthread_mutex_unlock(&reopen_lock);
    return rc;
}

void gw_log_close(void)
{
    if (access_fd > 2 && access_fd != log_fd)
        close(access_fd);
    if (log_fd > 2)
        close(log_fd);
    log_fd = access_fd = 2;
    free(log_path);
    free(access_path);
    log_path = access_path = NULL;
}

int gw_log_level_from_string(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return AIGW_LOG_WARN;
    return -1;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

void gw_vlogf(int level, const char *who, const char *request_id, const char *fmt, va_list ap)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    if (level > atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    if (level < 0)
        level = 0;
    if (level > 3)
        level = 3;
    char raw[LINE_MAX_BYTES];
    char line[LINE_MAX_BYTES];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(raw, sizeof raw, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s]%s%s%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level], who ? who : "aigw",
                     request_id ? " [" : "", request_id ? request_id : "", request_id ? "]" : "");
    if (n < 0 || (size_t)n >= sizeof raw)
        n = 0;
    int m = vsnprintf(raw + n, sizeof raw - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len >= sizeof raw)
        len = sizeof raw - 1;
    /* Control characters would let a value forge extra log lines. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)raw[i] < 0x20 && raw[i] != '\t')
            raw[i] = ' ';
    size_t out = gw_redact(raw, len, line, sizeof line - 1);
    line[out++] = '\n';
    write_all(log_fd, line, out);
}

void gw_logf(int level, const char *who, const char *request_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gw_vlogf(level, who, request_id, fmt, ap);
    va_end(ap);
}

int gw_log_access_on(void)
{
    return !access_off;
}

void gw_log_access(const char *json_line, size_t len)
{
    if (access_off)
        return;
    char line[LINE_MAX_BYTES];
    size_t out = gw_redact(json_line, len, line, sizeof line - 1);
    line[out++] = '\n';
    write_all(access_fd, line, out);
}
