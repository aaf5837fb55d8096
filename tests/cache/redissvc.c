/* redissvc - a redis-server of the test's own (see redissvc.h). */
#include "cache/redissvc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *redissvc_binary(void)
{
    const char *env = getenv("AIGW_REDIS_SERVER");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    static const char *const paths[] = {"/usr/bin/redis-server", "/usr/local/bin/redis-server",
                                        "/usr/sbin/redis-server"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

static int log_says_ready(const struct redissvc *s)
{
    char path[256], buf[65536];
    snprintf(path, sizeof path, "%s/redis.log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, "Ready to accept connections") != NULL;
}

/* Runs the server and waits for its log to say it is ready (or for it to exit). */
static int spawn(struct redissvc *s)
{
    char path[256];
    snprintf(path, sizeof path, "%s/redis.log", s->dir);
    unlink(path); /* a restart waits for its own "ready", not the last run's */
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, s->dir, IN_MODIFY | IN_CREATE) < 0) {
        perror("redissvc: inotify");
        return -1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char *bin = redissvc_binary();
    pid_t pid = fork();
    if (pid == 0) {
        /* A test that fails half-way leaves no server behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--dir", s->dir, "--logfile", path, "--daemonize", "no", "--protected-mode", "no",
              (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        close(in);
        return -1;
    }
    s->pid = pid;
    int pfd = open_pidfd(pid);
    int64_t deadline = now_ms() + 10000;
    int ok = 0;
    while (!(ok = log_says_ready(s)) && now_ms() < deadline) {
        /* Woken by the log growing or the server exiting (its pidfd turns readable). */
        struct pollfd p[2] = {{in, POLLIN, 0}, {pfd, POLLIN, 0}};
        int left = (int)(deadline - now_ms());
        if (poll(p, pfd >= 0 ? 2 : 1, left > 0 ? left : 0) > 0) {
            char ev[4096];
            while (read(in, ev, sizeof ev) > 0)
                ;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            break;
        }
    }
    if (pfd >= 0)
        close(pfd);
    close(in);
    if (!ok) {
        fprintf(stderr, "redissvc: redis-server on port %d did not become ready\n", s->port);
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
        return -1;
    }
    return 0;
}

int redissvc_start(struct redissvc *s)
{
    memset(s, 0, sizeof *s);
    if (!redissvc_binary())
        return -1;
    snprintf(s->dir, sizeof s->dir, "%s/aigw-redis.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(s->dir)) {
        perror("redissvc: mkdtemp");
        return -1;
    }
    /* Another process may take the free port between the check and the bind: try again. */
    for (int i = 0; i < 3; i++) {
        s->port = free_port();
        snprintf(s->url, sizeof s->url, "redis://127.0.0.1:%d/0", s->port);
        if (s->port > 0 && spawn(s) == 0)
            return 0;
    }
    return -1;
}

int redissvc_restart(struct redissvc *s)
{
    return spawn(s);
}

void redissvc_kill(struct redissvc *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

void redissvc_pause(struct redissvc *s, int stop)
{
    if (s->pid > 0)
        kill(s->pid, stop ? SIGSTOP : SIGCONT);
}

void redissvc_stop(struct redissvc *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGTERM);
        int pfd = open_pidfd(s->pid);
        struct pollfd p = {pfd, POLLIN, 0};
        if (pfd < 0 || poll(&p, 1, 5000) <= 0)
            kill(s->pid, SIGKILL); /* it did not stop within 5 s */
        if (pfd >= 0)
            close(pfd);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "redissvc: could not remove %s\n", s->dir);
        s->dir[0] = '\0';
    }
}

/* One command on a fresh connection; the reply's first bytes in buf. -1 when none came. */
static ssize_t call(const struct redissvc *s, const char *cmd, size_t len, char *buf, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {2, 0};
    ssize_t got = -1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, cmd, len) == (ssize_t)len)
        got = read(fd, buf, size - 1);
    close(fd);
    if (got > 0)
        buf[got] = '\0';
    return got;
}

long redissvc_dbsize(const struct redissvc *s)
{
    static const char cmd[] = "*1\r\n$6\r\nDBSIZE\r\n";
    char buf[64];
    if (call(s, cmd, sizeof cmd - 1, buf, sizeof buf) < 2 || buf[0] != ':')
        return -1;
    return strtol(buf + 1, NULL, 10);
}

long redissvc_cache_keys(const struct redissvc *s)
{
    /* KEYS answers an array: its length is the count (the names that follow are not read). */
    static const char cmd[] = "*2\r\n$4\r\nKEYS\r\n$12\r\naigw:cache:*\r\n";
    char buf[64];
    if (call(s, cmd, sizeof cmd - 1, buf, sizeof buf) < 2 || buf[0] != '*')
        return -1;
    return strtol(buf + 1, NULL, 10);
}

long redissvc_clients(const struct redissvc *s)
{
    static const char cmd[] = "*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n";
    char buf[4096];
    if (call(s, cmd, sizeof cmd - 1, buf, sizeof buf) < 2 || buf[0] != '$')
        return -1;
    const char *p = strstr(buf, "connected_clients:");
    /* Less the connection asking. */
    return p ? strtol(p + strlen("connected_clients:"), NULL, 10) - 1 : -1;
}

/* Each call is one round trip: these loops wait on the server, never on a clock. */
int redissvc_wait_keys(const struct redissvc *s, long n, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    do {
        if (redissvc_dbsize(s) >= n)
            return 0;
    } while (now_ms() < deadline);
    return -1;
}

int redissvc_wait_clients(const struct redissvc *s, long n, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    do {
        if (redissvc_clients(s) >= n)
            return 0;
    } while (now_ms() < deadline);
    return -1;
}

int redissvc_wait_cache_keys(const struct redissvc *s, long n, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    do {
        if (redissvc_cache_keys(s) == n)
            return 0;
    } while (now_ms() < deadline);
    return -1;
}
