/* Test harness for the counters (see harness.h). */
#include "counters/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

const char *redis_srv_binary(void)
{
    static char found[512];
    const char *env = getenv("AIGW_REDIS_SERVER");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    const char *path = getenv("PATH");
    char dirs[2048];
    snprintf(dirs, sizeof dirs, "%s:/usr/bin:/usr/sbin:/usr/local/bin", path ? path : "");
    for (const char *d = dirs; *d;) {
        size_t n = strcspn(d, ":");
        if (n > 0) {
            snprintf(found, sizeof found, "%.*s/redis-server", (int)n, d);
            if (access(found, X_OK) == 0)
                return found;
        }
        d += n + (d[n] == ':');
    }
    return NULL;
}

/* Servers still running, stopped at exit: a failed assertion ends the test before its own
 * cleanup runs. (PR_SET_PDEATHSIG covers a crash.) */
static struct {
    pid_t pid;
    char dir[128];
} live[8];

/* The server of dir is gone (its directory stays until redis_srv_stop or exit). */
static void forget(pid_t pid)
{
    for (int i = 0; i < 8; i++)
        if (live[i].pid == pid && pid > 0)
            live[i].pid = 0;
}

static void remember(pid_t pid, const char *dir)
{
    for (int i = 0; i < 8; i++) {
        if (strcmp(live[i].dir, dir) == 0) {
            live[i].pid = pid;
            return;
        }
    }
    for (int i = 0; i < 8; i++) {
        if (!live[i].dir[0]) {
            live[i].pid = pid;
            snprintf(live[i].dir, sizeof live[i].dir, "%s", dir);
            return;
        }
    }
}

static void forget_dir(const char *dir)
{
    for (int i = 0; i < 8; i++)
        if (strcmp(live[i].dir, dir) == 0)
            live[i].dir[0] = '\0';
}

static void remove_dir(const char *dir);

static void stop_all(void)
{
    for (int i = 0; i < 8; i++) {
        if (live[i].pid > 0) {
            kill(live[i].pid, SIGKILL);
            waitpid(live[i].pid, NULL, 0);
            live[i].pid = 0;
        }
        if (live[i].dir[0]) {
            remove_dir(live[i].dir);
            live[i].dir[0] = '\0';
        }
    }
}

/* A port nobody listens on right now: bind to port 0, read it, close. redis-server binds it
 * a moment later (a race with another process is possible; start retries with a new one). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for pid to exit within ms; 1 when reaped. */
static int reap(pid_t pid, int ms)
{
    int pfd = pidfd_open_(pid);
    if (pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        poll(&p, 1, ms);
        close(pfd);
    }
    return waitpid(pid, NULL, WNOHANG) == pid;
}

/* Starts redis-server and waits until its unix socket appears (it creates the socket after
 * its TCP listener, just before serving). 0, or -1 when it died or the deadline passed. */
static int spawn(struct redis_srv *s)
{
    const char *bin = redis_srv_binary();
    if (!bin)
        return -1;
    char port[16], sock[200], log[200];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(sock, sizeof sock, "%s/redis.sock", s->dir);
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    unlink(sock);
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0 || inotify_add_watch(in, s->dir, IN_CREATE) < 0) {
        if (in >= 0)
            close(in);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in);
        return -1;
    }
    if (pid == 0) {
        /* Dies with the test; holds none of the test runner's pipes or files. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) {
            dup2(dn, 0);
            dup2(dn, 1);
            dup2(dn, 2);
        }
        close_range(3, ~0U, 0);
        execl(bin, bin, "--port", port, "--bind", "127.0.0.1", "--dir", s->dir, "--save", "",
              "--appendonly", "no", "--unixsocket", sock, "--unixsocketperm", "700", "--daemonize",
              "no", "--logfile", log, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    remember(pid, s->dir);
    int pfd = pid > 0 ? pidfd_open_(pid) : -1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = -1;
    for (;;) {
        struct stat st;
        if (stat(sock, &st) == 0) {
            rc = 0;
            break;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            s->pid = 0;
            break;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long waited = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (waited > 10000)
            break;
        /* Woken by a file created in the directory, or by the server's exit. */
        struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
        poll(p, pfd >= 0 ? 2 : 1, (int)(10000 - waited));
        char buf[4096];
        while (read(in, buf, sizeof buf) > 0)
            ;
    }
    close(in);
    if (pfd >= 0)
        close(pfd);
    if (rc != 0 && s->pid) {
        kill(s->pid, SIGKILL);
        reap(s->pid, 2000);
        s->pid = 0;
    }
    if (rc != 0)
        forget(pid);
    return rc;
}

int redis_srv_start(struct redis_srv *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/aigw-redis-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    static int registered;
    if (!registered++)
        atexit(stop_all);
    remember(0, s->dir);
    for (int attempt = 0; attempt < 3; attempt++) {
        s->port = free_port();
        if (s->port > 0 && spawn(s) == 0) {
            snprintf(s->url, sizeof s->url, "redis://127.0.0.1:%d/0", s->port);
            return 0;
        }
    }
    fprintf(stderr, "harness: redis-server did not start on loopback; its log ends:\n");
    char log[200], tail[1024];
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    FILE *f = fopen(log, "r");
    if (f) {
        fseek(f, -(long)sizeof tail + 1, SEEK_END);
        size_t n = fread(tail, 1, sizeof tail - 1, f);
        tail[n] = '\0';
        fputs(tail, stderr);
        fclose(f);
    }
    forget_dir(s->dir);
    remove_dir(s->dir);
    s->dir[0] = '\0';
    return -1;
}

int redis_srv_restart(struct redis_srv *s)
{
    return spawn(s);
}

void redis_srv_kill(struct redis_srv *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    reap(s->pid, 5000);
    forget(s->pid);
    s->pid = 0;
}

void redis_srv_pause(struct redis_srv *s, int stop)
{
    if (s->pid > 0)
        kill(s->pid, stop ? SIGSTOP : SIGCONT);
}

void redis_srv_stop(struct redis_srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGCONT);
        kill(s->pid, SIGTERM);
        if (!reap(s->pid, 5000)) {
            kill(s->pid, SIGKILL);
            reap(s->pid, 5000);
        }
        forget(s->pid);
        s->pid = 0;
    }
    if (!s->dir[0])
        return;
    forget_dir(s->dir);
    remove_dir(s->dir);
    s->dir[0] = '\0';
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[400];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* ---- loops ---- */

static int64_t now_ms(void)
{
    return gw_redis_now_ms();
}

int drive_until(struct gw_counters **cs, int n, int (*done)(void *), void *arg, int64_t timeout_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++) {
        if (!cs[i] || gw_counters_fd(cs[i]) < 0)
            continue;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, gw_counters_fd(cs[i]), &ev);
    }
    int64_t deadline = now_ms() + timeout_ms;
    int ok = 0;
    for (;;) {
        if (done(arg)) {
            ok = 1;
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        int timeout = (int)left;
        for (int i = 0; i < n; i++) {
            int t = cs[i] ? gw_counters_timeout_ms(cs[i]) : -1;
            if (t >= 0 && t < timeout)
                timeout = t;
        }
        struct epoll_event evs[8];
        int k = epoll_wait(ep, evs, 8, timeout);
        int ready[8] = {0};
        for (int j = 0; j < k; j++)
            if (evs[j].data.u32 < 8)
                ready[evs[j].data.u32] = 1;
        for (int i = 0; i < n; i++)
            if (cs[i])
                gw_counters_run(cs[i], i < 8 ? ready[i] : 1);
    }
    close(ep);
    return ok;
}

int drive_redis_until(struct gw_redis **rs, int n, int (*done)(void *), void *arg,
                      int64_t timeout_ms)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, gw_redis_fd(rs[i]), &ev);
    }
    int64_t deadline = now_ms() + timeout_ms;
    int ok = 0;
    for (;;) {
        if (done(arg)) {
            ok = 1;
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            break;
        int timeout = (int)left;
        for (int i = 0; i < n; i++) {
            int t = gw_redis_timeout_ms(rs[i]);
            if (t >= 0 && t < timeout)
                timeout = t;
        }
        struct epoll_event evs[8];
        int k = epoll_wait(ep, evs, 8, timeout);
        int ready[8] = {0};
        for (int j = 0; j < k; j++)
            if (evs[j].data.u32 < 8)
                ready[evs[j].data.u32] = 1;
        for (int i = 0; i < n; i++)
            gw_redis_process(rs[i], i < 8 ? ready[i] : 1);
    }
    close(ep);
    return ok;
}

/* ---- one raw command ---- */

struct call {
    int answered;
    struct raw_reply *out;
};

static void on_call(void *ud, int status, const struct gw_resp *v)
{
    struct call *c = ud;
    c->answered = 1;
    c->out->status = status;
    if (v) {
        c->out->type = v->type;
        c->out->integer = v->integer;
        c->out->elements = v->elements;
        snprintf(c->out->str, sizeof c->out->str, "%.*s", (int)(v->len < 255 ? v->len : 255),
                 v->str ? v->str : "");
    }
}

static int is_ready(void *arg)
{
    return gw_redis_ready(arg);
}

static int is_answered(void *arg)
{
    return ((struct call *)arg)->answered;
}

int redis_srv_call(const struct redis_srv *s, struct raw_reply *out, const char *arg0, ...)
{
    const char *argv[32];
    size_t lens[32];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 32; a = va_arg(ap, const char *)) {
        argv[argc] = a;
        lens[argc] = strlen(a);
        argc++;
    }
    va_end(ap);
    memset(out, 0, sizeof *out);
    struct gw_redis_addr addr;
    char err[256];
    if (gw_redis_parse_url(s->url, &addr, err, sizeof err) != 0)
        return -1;
    struct gw_redis *r;
    if (gw_redis_new(&addr, NULL, &r) != 0)
        return -1;
    struct call c = {.out = out};
    int rc = -1;
    if (drive_redis_until(&r, 1, is_ready, r, 5000) &&
        gw_redis_command(r, argc, argv, lens, now_ms() + 5000, on_call, &c) == 0 &&
        drive_redis_until(&r, 1, is_answered, &c, 6000))
        rc = 0;
    gw_redis_free(r);
    return rc;
}

/* ---- the contract fixture ---- */

int fix_never(void *arg)
{
    (void)arg;
    return 0;
}

int fix_connected(void *arg)
{
    struct fix *f = arg;
    for (int i = 0; i < 2; i++) {
        struct gw_counters_stats st;
        gw_counters_stats(f->s[i], &st);
        if (st.redis_connects < (uint64_t)(f->s[1] == f->s[0] ? 2 : 1))
            return 0;
    }
    return 1;
}

int fix_init(struct fix *f, int redis, const struct gw_counters_cfg *cfg)
{
    memset(f, 0, sizeof *f);
    f->redis = redis;
    struct gw_counters_cfg c = {0};
    if (cfg)
        c = *cfg;
    char err[256];
    if (redis) {
        if (!redis_srv_binary())
            return -1;
        cr_assert_eq(redis_srv_start(&f->srv), 0);
        c.redis_url = f->srv.url;
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(gw_counters_shared_new(&c, &f->s[i], err, sizeof err), 0, "%s", err);
            cr_assert_eq(gw_counters_new(f->s[i], &f->c[i]), 0);
        }
        cr_assert(drive_until(f->c, 2, fix_connected, f, 5000), "Redis never connected");
        return 0;
    }
    cr_assert_eq(gw_counters_shared_new(&c, &f->s[0], err, sizeof err), 0, "%s", err);
    f->s[1] = f->s[0];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(gw_counters_new(f->s[0], &f->c[i]), 0);
    return 0;
}

void fix_fini(struct fix *f)
{
    for (int i = 0; i < 2; i++)
        gw_counters_free(f->c[i]);
    gw_counters_shared_free(f->s[0]);
    if (f->s[1] != f->s[0])
        gw_counters_shared_free(f->s[1]);
    if (f->redis)
        redis_srv_stop(&f->srv);
}
