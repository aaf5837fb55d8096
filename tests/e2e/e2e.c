/*
 * e2e.c - aigw as a child process for end-to-end tests: spawn with an explicit environment,
 * wait for its port file, read its log, stop it. Waiting uses the child's pidfd and
 * inotify, each bounded by a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <criterion/criterion.h>

#include "e2e/e2e.h"

#define MAX_ARGS 64
#define MAX_ENV 128
#define MAX_LOG (32u << 20)

struct e2e_gw {
    pid_t pid;
    int pidfd;
    int exited, status;
    char dir[64], port_file[96], log_path[96], cfg_path[96], state_dir[96];
    int port;
    char url[64];
    char *log;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t e2e_now_ms(void)
{
    return now_ms();
}

/* Kept reachable for the life of the process, so leak checkers stay quiet without tests
 * having to free their env strings. */
static char **strf_keep;
static size_t strf_n;

char *e2e_letters(size_t n)
{
    char *s = e2e_strf("%*s", (int)n, "");
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    return s;
}

char *e2e_chat_sse_one_event(const char *text, const char *usage)
{
    return e2e_strf(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":"
        "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
        "\"%s\"},\"finish_reason\":null}]}\n\ndata: {\"id\":\"c1\",\"object\":"
        "\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":"
        "0,\"delta\":{},\"finish_reason\":\"stop\"}]%s%s}\n\ndata: [DONE]\n\n",
        text, usage ? ",\"usage\":" : "", usage ? usage : "");
}

char *e2e_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    char **keep = s ? realloc(strf_keep, sizeof *keep * (strf_n + 1)) : NULL;
    cr_assert(keep, "e2e_strf: out of memory");
    strf_keep = keep;
    strf_keep[strf_n++] = s;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

struct mock *e2e_mock(const char *scenario)
{
    raise_fd_limit();
    struct mock *m = mock_start(NULL);
    cr_assert(m, "the mock provider did not start (see stderr)");
    if (scenario)
        cr_assert(mock_load_scenario(m, scenario) == 0, "mock scenario %s failed to load",
                  scenario);
    return m;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf) {
        if (f)
            fclose(f);
        return NULL;
    }
    buf[0] = '\0';
    if (!f)
        return buf;
    for (;;) {
        if (cap - len < 2) {
            char *nb = cap < MAX_LOG ? realloc(buf, cap * 2) : NULL;
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run the e2e tests through `make check`", name);
    return v;
}

/* ---- spawning ---------------------------------------------------------------------------- */

static void build_env(const char *const *env, const char **out)
{
    static const char *const inherit[] = {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                                          NULL};
    int n = 0;
    for (int i = 0; env && env[i] && n < MAX_ENV - 8; i++)
        out[n++] = env[i];
    for (int i = 0; inherit[i]; i++) {
        const char *v = getenv(inherit[i]);
        if (v)
            out[n++] = e2e_strf("%s=%s", inherit[i], v);
    }
    /* Nothing may reach a real provider: a request to any host but loopback goes to a proxy
     * on a closed loopback port and fails at once (a test that forgets a *_BASE_URL fails
     * instead of calling the internet). */
    out[n++] = "ALL_PROXY=http://127.0.0.1:9";
    out[n++] = "NO_PROXY=127.0.0.1,localhost,::1";
    out[n] = NULL;
}

static pid_t spawn(const char *const *argv, const char *const *envp, const char *log_path)
{
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = getpid();
    cr_assert(logfd >= 0 && nullfd >= 0, "e2e: cannot open %s: %s", log_path, strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec: the test process has threads. */
        struct sigaction dfl;
        sigset_t none;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        /* The gateway must not outlive a test that crashed or failed an assertion. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        sigaction(SIGPIPE, &dfl, NULL);
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            _exit(127);
#ifdef SYS_close_range
        syscall(SYS_close_range, 3u, ~0u, 0u); /* no test sockets leak into aigw */
#endif
        execve(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    cr_assert(pid > 0, "e2e: fork failed: %s", strerror(errno));
    return pid;
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Reap the child if it exited within timeout_ms. 0 when it did. */
static int reap(pid_t pid, int pidfd, int *status, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            *status = decode_status(st);
            return 0;
        }
        if (w < 0 && errno != EINTR) {
            *status = -1;
            return 0;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            poll(&p, 1, (int)left);
        } else {
            struct timespec ts = {0, 5 * 1000000L}; /* no pidfd: a bounded poll of waitpid */
            nanosleep(&ts, NULL);
        }
    }
}

/* Wait for something in dir to change (or the child to exit), up to `ms`. */
static void wait_change(int ifd, int pidfd, int ms)
{
    struct pollfd p[2] = {{.fd = ifd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    if (ifd < 0)
        ms = ms < 10 ? ms : 10; /* no inotify: re-check every 10 ms until the deadline */
    if (poll(p, 2, ms) > 0 && (p[0].revents & POLLIN)) {
        char buf[4096];
        while (read(ifd, buf, sizeof buf) > 0)
            ;
    }
}

static int parse_port(const char *text, int *port)
{
    /* "PORT\n" or "HOST:PORT\n": the number after the last ':' */
    const char *p = strrchr(text, ':');
    p = p ? p + 1 : text;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno || end == p || v <= 0 || v > 65535)
        return -1;
    while (*end == ' ' || *end == '\r')
        end++;
    if (*end != '\n')
        return -1; /* not written completely yet */
    *port = (int)v;
    return 0;
}

/* The state directory's files (the store's database, its -wal and -shm), then itself. */
static void remove_state_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void cleanup_files(struct e2e_gw *gw)
{
    if (getenv("AIGW_E2E_KEEP")) {
        fprintf(stderr, "e2e: kept %s\n", gw->dir);
        return;
    }
    remove_state_dir(gw->state_dir);
    unlink(gw->port_file);
    unlink(gw->log_path);
    if (gw->cfg_path[0])
        unlink(gw->cfg_path);
    rmdir(gw->dir);
}

static void gw_free(struct e2e_gw *gw)
{
    if (gw->pidfd >= 0)
        close(gw->pidfd);
    cleanup_files(gw);
    free(gw->log);
    free(gw);
}

static void fail_start(struct e2e_gw *gw, const char *why)
{
    char *log = read_all(gw->log_path);
    if (!gw->exited) {
        kill(gw->pid, SIGKILL);
        reap(gw->pid, gw->pidfd, &gw->status, 5000);
    }
    gw_free(gw);
    cr_assert_fail("aigw did not start: %s\n---- aigw log ----\n%s", why, log ? log : "");
}

static void prepare_dir(struct e2e_gw *gw, const char *config)
{
    snprintf(gw->dir, sizeof gw->dir, "/tmp/aigw-e2e-XXXXXX");
    cr_assert(mkdtemp(gw->dir), "e2e: mkdtemp: %s", strerror(errno));
    snprintf(gw->port_file, sizeof gw->port_file, "%s/port", gw->dir);
    snprintf(gw->log_path, sizeof gw->log_path, "%s/aigw.log", gw->dir);
    snprintf(gw->state_dir, sizeof gw->state_dir, "%s/state", gw->dir);
    if (config) {
        snprintf(gw->cfg_path, sizeof gw->cfg_path, "%s/aigw.json", gw->dir);
        FILE *f = fopen(gw->cfg_path, "w");
        cr_assert(f, "e2e: cannot write %s", gw->cfg_path);
        fputs(config, f);
        cr_assert(fclose(f) == 0, "e2e: cannot write %s", gw->cfg_path);
    }
}

struct e2e_gw *e2e_gw_start_opts(const struct e2e_gw_opts *opts)
{
    static const struct e2e_gw_opts none;
    const struct e2e_gw_opts *o = opts ? opts : &none;
    const char *argv[MAX_ARGS], *envp[MAX_ENV];
    int argc = 0;
    struct e2e_gw *gw = calloc(1, sizeof *gw);
    cr_assert(gw, "e2e: out of memory");
    gw->pidfd = -1;
    raise_fd_limit();
    prepare_dir(gw, o->config);

    argv[argc++] = e2e_strf("%s/aigw", env_or_fail("AIGW_TEST_BUILDDIR"));
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "--port-file";
    argv[argc++] = gw->port_file;
    argv[argc++] = "--plugin-dir";
    argv[argc++] = env_or_fail("AIGW_TEST_PLUGIN_DIR");
    argv[argc++] = "--log-level";
    argv[argc++] = "debug";
    /* Its own state store, never the installed one; a test's own --state-dir (in args, read
     * later) or store.url wins. */
    argv[argc++] = "--state-dir";
    argv[argc++] = gw->state_dir;
    if (o->config) {
        argv[argc++] = "--config";
        argv[argc++] = gw->cfg_path;
    }
    for (int i = 0; o->args && o->args[i] && argc < MAX_ARGS - 1; i++)
        argv[argc++] = o->args[i];
    argv[argc] = NULL;
    build_env(o->env, envp);

    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0 && inotify_add_watch(ifd, gw->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY) < 0) {
        close(ifd);
        ifd = -1;
    }
    gw->pid = spawn(argv, envp, gw->log_path);
    gw->pidfd = open_pidfd(gw->pid);
    int64_t deadline = now_ms() + (o->start_timeout_ms > 0 ? o->start_timeout_ms : 15000);
    for (;;) {
        char *text = read_all(gw->port_file);
        int ok = text && parse_port(text, &gw->port) == 0;
        free(text);
        if (ok)
            break;
        if (reap(gw->pid, -1, &gw->status, 0) == 0) {
            gw->exited = 1;
            if (ifd >= 0)
                close(ifd);
            fail_start(gw, e2e_strf("it exited with status %d", gw->status));
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            if (ifd >= 0)
                close(ifd);
            fail_start(gw, "no port file before the deadline");
        }
        wait_change(ifd, gw->pidfd, (int)left);
    }
    if (ifd >= 0)
        close(ifd);
    snprintf(gw->url, sizeof gw->url, "http://127.0.0.1:%d", gw->port);
    return gw;
}

struct e2e_gw *e2e_gw_start(const char *config, ...)
{
    const char *env[MAX_ENV];
    int n = 0;
    va_list ap;
    va_start(ap, config);
    for (const char *e; (e = va_arg(ap, const char *)) && n < MAX_ENV - 1;)
        env[n++] = e;
    va_end(ap);
    env[n] = NULL;
    struct e2e_gw_opts o = {.config = config, .env = env};
    return e2e_gw_start_opts(&o);
}

const char *e2e_gw_url(const struct e2e_gw *gw)
{
    return gw->url;
}

int e2e_gw_port(const struct e2e_gw *gw)
{
    return gw->port;
}

int e2e_gw_pid(const struct e2e_gw *gw)
{
    return (int)gw->pid;
}

const char *e2e_gw_log(struct e2e_gw *gw)
{
    free(gw->log);
    gw->log = read_all(gw->log_path);
    return gw->log ? gw->log : "";
}

int e2e_gw_wait_log(struct e2e_gw *gw, const char *needle, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0 && inotify_add_watch(ifd, gw->log_path, IN_MODIFY) < 0) {
        close(ifd);
        ifd = -1;
    }
    int found;
    for (;;) {
        found = strstr(e2e_gw_log(gw), needle) != NULL;
        int64_t left = deadline - now_ms();
        if (found || left <= 0)
            break;
        wait_change(ifd, -1, (int)left);
    }
    if (ifd >= 0)
        close(ifd);
    return found ? 0 : -1;
}

int e2e_gw_signal(struct e2e_gw *gw, int sig)
{
    return gw->exited ? -1 : kill(gw->pid, sig);
}

int e2e_gw_wait_exit(struct e2e_gw *gw, int timeout_ms)
{
    if (!gw->exited && reap(gw->pid, gw->pidfd, &gw->status, timeout_ms) == 0)
        gw->exited = 1;
    return gw->exited ? gw->status : -1;
}

int e2e_gw_stop(struct e2e_gw *gw, int timeout_ms)
{
    int status;
    if (!gw)
        return -1;
    if (!gw->exited) {
        kill(gw->pid, SIGTERM);
        if (e2e_gw_wait_exit(gw, timeout_ms) < 0 && !gw->exited) {
            fprintf(stderr, "e2e: aigw (pid %d) ignored SIGTERM for %d ms; killing it\n",
                    (int)gw->pid, timeout_ms);
            kill(gw->pid, SIGKILL);
            reap(gw->pid, gw->pidfd, &gw->status, 5000);
            gw->status = -1;
        }
    }
    status = gw->status;
    gw_free(gw);
    return status;
}

int e2e_aigw_run(const char *config, const char *const *env, const char *const *args, char **output,
                 int timeout_ms)
{
    const char *argv[MAX_ARGS], *envp[MAX_ENV];
    int argc = 0, status = -1;
    struct e2e_gw *gw = calloc(1, sizeof *gw);
    cr_assert(gw, "e2e: out of memory");
    gw->pidfd = -1;
    prepare_dir(gw, config);
    argv[argc++] = e2e_strf("%s/aigw", env_or_fail("AIGW_TEST_BUILDDIR"));
    argv[argc++] = "--plugin-dir";
    argv[argc++] = env_or_fail("AIGW_TEST_PLUGIN_DIR");
    argv[argc++] = "--state-dir"; /* never the installed one */
    argv[argc++] = gw->state_dir;
    if (config) {
        argv[argc++] = "--config";
        argv[argc++] = gw->cfg_path;
    }
    for (int i = 0; args && args[i] && argc < MAX_ARGS - 1; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    build_env(env, envp);
    gw->pid = spawn(argv, envp, gw->log_path);
    gw->pidfd = open_pidfd(gw->pid);
    if (reap(gw->pid, gw->pidfd, &status, timeout_ms > 0 ? timeout_ms : 15000) != 0) {
        kill(gw->pid, SIGKILL);
        reap(gw->pid, gw->pidfd, &status, 5000);
        status = -1;
    }
    if (output)
        *output = read_all(gw->log_path);
    gw_free(gw);
    return status;
}

/* ---- gateway shortcuts for the HTTP client ------------------------------------------------ */

struct e2e_resp *e2e_post(struct e2e_gw *gw, const char *path, const char *json,
                          const char *headers)
{
    return e2e_request("POST", e2e_strf("%s%s", gw->url, path), json, headers, 0);
}

struct e2e_resp *e2e_get(struct e2e_gw *gw, const char *path, const char *headers)
{
    return e2e_request("GET", e2e_strf("%s%s", gw->url, path), NULL, headers, 0);
}

struct e2e_resp *e2e_stream(struct e2e_gw *gw, const char *path, const char *json,
                            const char *headers, const struct e2e_stream_opts *opts)
{
    struct e2e_stream *s = e2e_stream_start(e2e_strf("%s%s", gw->url, path), json, headers, opts);
    return e2e_stream_finish(s, opts && opts->timeout_ms ? opts->timeout_ms + 1000 : 31000);
}
