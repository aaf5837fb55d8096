/* pgsvc - a throwaway PostgreSQL server for tests (see pgsvc.h). */
#include "store/pgsvc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_MS 60000
#define STOP_MS 20000

static char bindir[1024];
static char tmpdir[256];
static char url[256];
static pid_t pid = -1;
static int log_fd = -1;
static pthread_t drainer;
static int drainer_on;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pgsvc_available(void)
{
    const char *env = getenv("AIGW_PG_BIN");
    if (env && *env) {
        snprintf(bindir, sizeof bindir, "%s", env);
    } else {
        glob_t g;
        if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0)
            return 0;
        /* glob sorts: the last is the newest version (as long as versions have two digits) */
        snprintf(bindir, sizeof bindir, "%s", g.gl_pathv[g.gl_pathc - 1]);
        globfree(&g);
        char *slash = strrchr(bindir, '/');
        if (slash)
            *slash = '\0';
    }
    char p[1100];
    snprintf(p, sizeof p, "%s/initdb", bindir);
    if (access(p, X_OK) != 0)
        return 0;
    snprintf(p, sizeof p, "%s/postgres", bindir);
    return access(p, X_OK) == 0;
}

const char *pgsvc_bindir(void)
{
    return bindir;
}

const char *pgsvc_base_url(void)
{
    return url;
}

/* The account the server runs as when we are root: postgres refuses to run as root. */
static int drop_to(uid_t *uid, gid_t *gid)
{
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam("nobody");
    if (!pw) {
        fprintf(stderr, "pgsvc: running as root and there is no user nobody\n");
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 1;
}

/* fork + (drop privileges) + exec argv with stdout/stderr into out_fd. */
static pid_t spawn(char *const argv[], int out_fd)
{
    uid_t uid = 0;
    gid_t gid = 0;
    int drop = drop_to(&uid, &gid);
    if (drop < 0)
        return -1;
    pid_t p = fork();
    if (p != 0)
        return p;
    if (drop && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
        _exit(126);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    execv(argv[0], argv);
    _exit(127);
}

static int wait_exit(pid_t p, int64_t deadline)
{
    int pfd = (int)syscall(SYS_pidfd_open, p, 0);
    if (pfd >= 0) {
        struct pollfd q = {.fd = pfd, .events = POLLIN};
        int64_t left = deadline - now_ms();
        int n = poll(&q, 1, left > 0 ? (int)left : 0);
        close(pfd);
        if (n <= 0) {
            kill(p, SIGKILL);
        }
    }
    int st = 0;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int initdb(void)
{
    char exe[1100], data[300], logp[300];
    snprintf(exe, sizeof exe, "%s/initdb", bindir);
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(logp, sizeof logp, "%s/initdb.log", tmpdir);
    int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    char *argv[] = {exe,     "-D", data,   "-U",          "aigw",      "-A",
                    "trust", "-E", "UTF8", "--no-locale", "--no-sync", NULL};
    pid_t p = spawn(argv, fd);
    close(fd);
    if (p < 0)
        return -1;
    int rc = wait_exit(p, now_ms() + READY_MS);
    if (rc != 0)
        fprintf(stderr, "pgsvc: initdb failed (exit %d); see %s\n", rc, logp);
    return rc == 0 ? 0 : -1;
}

static void *drain(void *arg)
{
    (void)arg;
    char buf[4096];
    char logp[300];
    snprintf(logp, sizeof logp, "%s/server.log", tmpdir);
    int out = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ssize_t n;
    while ((n = read(log_fd, buf, sizeof buf)) > 0)
        if (out >= 0 && write(out, buf, (size_t)n) < 0)
            break;
    if (out >= 0)
        close(out);
    return NULL;
}

/* Starts postgres on port and waits for its "ready" line: 0, 1 (port taken: try another), -1 */
static int start_on(int port)
{
    char exe[1100], data[300], portarg[16];
    snprintf(exe, sizeof exe, "%s/postgres", bindir);
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(portarg, sizeof portarg, "%d", port);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    char *argv[] = {exe,
                    "-D",
                    data,
                    "-p",
                    portarg,
                    "-k",
                    tmpdir,
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "log_min_messages=warning",
                    NULL};
    pid = spawn(argv, pfd[1]);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    char seen[8192];
    size_t len = 0;
    int64_t deadline = now_ms() + READY_MS;
    int rc = -1;
    for (;;) {
        struct pollfd q = {.fd = pfd[0], .events = POLLIN};
        int64_t left = deadline - now_ms();
        if (left <= 0 || poll(&q, 1, (int)left) <= 0)
            break;
        ssize_t n = read(pfd[0], seen + len, sizeof seen - 1 - len);
        if (n <= 0)
            break; /* the server exited */
        len += (size_t)n;
        seen[len] = '\0';
        if (strstr(seen, "ready to accept connections")) {
            rc = 0;
            break;
        }
        if (strstr(seen, "could not bind") || strstr(seen, "Address already in use")) {
            rc = 1;
            break;
        }
        if (len > sizeof seen / 2) { /* keep the tail: the line we want may straddle reads */
            memmove(seen, seen + len - 256, 256);
            len = 256;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "pgsvc: postgres did not start:\n%s\n", seen);
        kill(pid, SIGKILL);
        wait_exit(pid, now_ms() + STOP_MS);
        pid = -1;
        close(pfd[0]);
        return rc;
    }
    /* keep reading its log, or a chatty server would block on a full pipe */
    log_fd = pfd[0];
    drainer_on = pthread_create(&drainer, NULL, drain, NULL) == 0;
    snprintf(url, sizeof url, "postgres://aigw@127.0.0.1:%d/", port);
    return 0;
}

int pgsvc_start(void)
{
    if (!bindir[0] && !pgsvc_available())
        return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/aigw-pg-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    uid_t uid = 0;
    gid_t gid = 0;
    if (drop_to(&uid, &gid) == 1 && chown(tmpdir, uid, gid) != 0) {
        fprintf(stderr, "pgsvc: chown %s: %s\n", tmpdir, strerror(errno));
        return -1;
    }
    if (initdb() != 0)
        return -1;
    for (int tries = 0; tries < 5; tries++) {
        int port = free_port();
        if (port <= 0)
            return -1;
        int rc = start_on(port);
        if (rc <= 0)
            return rc;
    }
    return -1;
}

int pgsvc_restart(void)
{
    const char *colon = strrchr(url, ':');
    int port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
    if (pid <= 0 || port <= 0)
        return -1;
    /* Fast shutdown, as `systemctl restart` does: sessions are terminated (57P01) and what
     * was acknowledged is kept. (An immediate shutdown would lose acknowledged commits here:
     * this throwaway server runs with synchronous_commit=off.) */
    kill(pid, SIGINT);
    wait_exit(pid, now_ms() + STOP_MS);
    pid = -1;
    if (drainer_on) {
        pthread_join(drainer, NULL);
        drainer_on = 0;
    }
    if (log_fd >= 0) {
        close(log_fd);
        log_fd = -1;
    }
    return start_on(port) == 0 ? 0 : -1;
}

void pgsvc_stop(void)
{
    if (pid > 0) {
        kill(pid, SIGINT); /* fast shutdown */
        wait_exit(pid, now_ms() + STOP_MS);
        pid = -1;
    }
    if (drainer_on) {
        pthread_join(drainer, NULL); /* the pipe closed with the server */
        drainer_on = 0;
    }
    if (log_fd >= 0) {
        close(log_fd);
        log_fd = -1;
    }
    if (tmpdir[0] && !getenv("AIGW_PG_KEEP"))
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}
