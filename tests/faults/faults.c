/* faults - helpers of the fault suite (see faults.h). */
#include "faults/faults.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

/* ---- load -------------------------------------------------------------------------------- */

static void tally_add(struct flt_tally *t, int status, int64_t ms)
{
    if (status >= 200 && status < 300)
        t->ok++;
    else if (status == 429)
        t->limited++;
    else if (status == 503)
        t->unavail++;
    else if (status == 0)
        t->none++;
    else
        t->other++;
    if (ms > t->max_ms)
        t->max_ms = ms;
}

static void keep_done(struct flt_load *l, struct e2e_resp *r)
{
    if (l->ndone == l->capdone) {
        size_t cap = l->capdone ? l->capdone * 2 : 256;
        struct flt_done *d = realloc(l->done, cap * sizeof *d);
        if (!d)
            return;
        l->done = d;
        l->capdone = cap;
    }
    struct flt_done *d = &l->done[l->ndone++];
    const char *id = e2e_resp_header(r, "X-Request-ID");
    const char *cost = e2e_resp_header(r, "X-Gateway-Cost");
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    d->status = r->status;
    d->cost = cost ? strtod(cost, NULL) : -1;
}

static void *client(void *arg)
{
    struct flt_load *l = arg;
    static atomic_int turn;
    while (!atomic_load(&l->stop)) {
        int i = atomic_fetch_add(&turn, 1) % l->nurls;
        int64_t t0 = gov_now_ms();
        struct e2e_resp *r = e2e_request("POST", l->urls[i], l->body, l->headers, l->timeout_ms);
        int64_t ms = gov_now_ms() - t0;
        int status = r ? r->status : 0;
        pthread_mutex_lock(&l->mu);
        tally_add(&l->cur, status, ms);
        tally_add(&l->all, status, ms);
        if (l->keep && r && status >= 200 && status < 300)
            keep_done(l, r);
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        if (r)
            e2e_resp_free(r);
    }
    return NULL;
}

void flt_load_start(struct flt_load *l)
{
    atomic_init(&l->stop, 0);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    memset(&l->cur, 0, sizeof l->cur);
    memset(&l->all, 0, sizeof l->all);
    l->done = NULL;
    l->ndone = l->capdone = 0;
    if (l->threads <= 0 || l->threads > FLT_THREADS_MAX)
        l->threads = 4;
    if (!l->timeout_ms)
        l->timeout_ms = 10000;
    for (int i = 0; i < l->threads; i++)
        cr_assert_eq(pthread_create(&l->th[i], NULL, client, l), 0);
}

static int wait_for(struct flt_load *l, long n, int timeout_ms, int any)
{
    int64_t deadline = gov_now_ms() + timeout_ms;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        const struct flt_tally *t = &l->cur;
        long have = any ? t->ok + t->limited + t->unavail + t->other + t->none : t->ok;
        if (have >= n) {
            pthread_mutex_unlock(&l->mu);
            return 0;
        }
        int64_t left = deadline - gov_now_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t step = left < 200 ? left : 200; /* a condition wait, re-checked */
        ts.tv_nsec += (long)(step % 1000) * 1000000L;
        ts.tv_sec += (time_t)(step / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&l->cv, &l->mu, &ts);
    }
    pthread_mutex_unlock(&l->mu);
    return -1;
}

int flt_load_wait_ok(struct flt_load *l, long n, int timeout_ms)
{
    return wait_for(l, n, timeout_ms, 0);
}

int flt_load_wait_any(struct flt_load *l, long n, int timeout_ms)
{
    return wait_for(l, n, timeout_ms, 1);
}

struct flt_tally flt_load_phase(struct flt_load *l)
{
    pthread_mutex_lock(&l->mu);
    struct flt_tally t = l->cur;
    memset(&l->cur, 0, sizeof l->cur);
    pthread_mutex_unlock(&l->mu);
    return t;
}

struct flt_tally flt_load_stop(struct flt_load *l)
{
    atomic_store(&l->stop, 1);
    for (int i = 0; i < l->threads; i++)
        pthread_join(l->th[i], NULL);
    return l->all;
}

void flt_load_free(struct flt_load *l)
{
    free(l->done);
    l->done = NULL;
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}

/* ---- aigw ---------------------------------------------------------------------------------- */

struct e2e_gw *flt_gw(struct mock *m, const char *store_url, const char *redis_url,
                      int redis_timeout_ms, const char *extra)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    const char *redis = redis_url ? e2e_strf(",\"redis\":{\"timeout_ms\":%d,\"url\":\"%s\"}",
                                             redis_timeout_ms, redis_url)
                                  : "";
    char *cfg = e2e_strf("{\"threads\":1,%s,\"store\":{\"url\":\"%s\"}%s%s%s}", GOV_PRICES,
                         store_url, redis, extra && *extra ? "," : "", extra ? extra : "");
    return e2e_gw_start(cfg, "OPENAI_API_KEY=sk-upstream",
                        e2e_strf("OPENAI_BASE_URL=%s/v1", mock_url(m)), "AIGW_ADMIN_KEY=" GOV_ADMIN,
                        e2e_strf("AIGW_CATALOG=%s/catalog/models.json", src ? src : "."), NULL);
}

/* ---- metrics ----------------------------------------------------------------------------- */

double flt_metric(struct e2e_gw *gw, const char *series)
{
    struct e2e_resp *r = e2e_get(gw, "/metrics", NULL);
    cr_assert_eq(r->status, 200, "/metrics: %d", r->status);
    double sum = 0;
    size_t n = strlen(series);
    for (const char *p = r->body; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (!strncmp(p, series, n)) {
            const char *sp = memchr(p, ' ', eol ? (size_t)(eol - p) : strlen(p));
            if (sp)
                sum += strtod(sp + 1, NULL);
        }
        p = eol ? eol + 1 : NULL;
    }
    e2e_resp_free(r);
    return sum;
}

/* ---- a proxy that delays what the client sends ------------------------------------------- */

struct pending {
    struct pending *next;
    int64_t due;
    size_t len, off;
    char data[];
};

struct flt_proxy {
    int lfd, port, target;
    atomic_int delay_ms;
    atomic_int stop;
    pthread_t th;
    pthread_mutex_t mu; /* live and its condition */
    pthread_cond_t cv;
    int live;      /* connection threads running */
    long received; /* reads from clients holding an EVALSHA */
};

struct pair {
    struct flt_proxy *p;
    int c, s;
};

static void *pair_main(void *arg)
{
    struct pair *pr = arg;
    struct pending *head = NULL, **tail = &head;
    char buf[16384];
    int open = 1;
    while (open && !atomic_load(&pr->p->stop)) {
        int64_t now = gov_now_ms();
        /* what is due goes to the server */
        while (head && head->due <= now) {
            ssize_t w = write(pr->s, head->data + head->off, head->len - head->off);
            if (w < 0) {
                open = 0;
                break;
            }
            head->off += (size_t)w;
            if (head->off < head->len)
                break;
            struct pending *n = head->next;
            free(head);
            head = n;
            if (!head)
                tail = &head;
        }
        int timeout = 100; /* re-checks stop */
        if (head && head->due - now < timeout)
            timeout = head->due > now ? (int)(head->due - now) : 0;
        struct pollfd f[2] = {{pr->c, POLLIN, 0}, {pr->s, POLLIN, 0}};
        if (poll(f, 2, timeout) < 0 && errno != EINTR)
            break;
        if (f[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(pr->c, buf, sizeof buf);
            if (n <= 0)
                break;
            pthread_mutex_lock(&pr->p->mu);
            /* scripts run as EVALSHA (admissions, settlements): a command fits one read */
            pr->p->received += memmem(buf, (size_t)n, "EVALSHA", 7) != NULL;
            pthread_cond_broadcast(&pr->p->cv);
            pthread_mutex_unlock(&pr->p->mu);
            struct pending *q = malloc(sizeof *q + (size_t)n);
            if (!q)
                break;
            q->next = NULL;
            q->due = gov_now_ms() + atomic_load(&pr->p->delay_ms);
            q->len = (size_t)n;
            q->off = 0;
            memcpy(q->data, buf, (size_t)n);
            *tail = q;
            tail = &q->next;
        }
        if (f[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(pr->s, buf, sizeof buf);
            if (n <= 0 || write(pr->c, buf, (size_t)n) != n)
                break;
        }
    }
    while (head) {
        struct pending *n = head->next;
        free(head);
        head = n;
    }
    close(pr->c);
    close(pr->s);
    struct flt_proxy *p = pr->p;
    free(pr);
    pthread_mutex_lock(&p->mu);
    p->live--;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct flt_proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd f = {p->lfd, POLLIN, 0};
        if (poll(&f, 1, 100) <= 0)
            continue;
        int c = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)p->target),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
            close(c);
            if (s >= 0)
                close(s);
            continue;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct pair *pr = malloc(sizeof *pr);
        pthread_t t;
        if (!pr) {
            close(c);
            close(s);
            continue;
        }
        *pr = (struct pair){p, c, s};
        pthread_mutex_lock(&p->mu);
        p->live++;
        pthread_mutex_unlock(&p->mu);
        if (pthread_create(&t, NULL, pair_main, pr) == 0) {
            pthread_detach(t);
        } else {
            pthread_mutex_lock(&p->mu);
            p->live--;
            pthread_mutex_unlock(&p->mu);
            close(c);
            close(s);
            free(pr);
        }
    }
    return NULL;
}

struct flt_proxy *flt_proxy_start(int target_port)
{
    struct flt_proxy *p = calloc(1, sizeof *p);
    cr_assert(p);
    p->target = target_port;
    atomic_init(&p->delay_ms, 0);
    atomic_init(&p->stop, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(p->lfd, 64), 0);
    cr_assert_eq(getsockname(p->lfd, (struct sockaddr *)&a, &len), 0);
    p->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&p->th, NULL, accept_main, p), 0);
    return p;
}

int flt_proxy_port(const struct flt_proxy *p)
{
    return p->port;
}

void flt_proxy_delay(struct flt_proxy *p, int delay_ms)
{
    atomic_store(&p->delay_ms, delay_ms);
}

long flt_proxy_received(struct flt_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    long n = p->received;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int flt_proxy_wait_received(struct flt_proxy *p, long more_than, int timeout_ms)
{
    int64_t deadline = gov_now_ms() + timeout_ms;
    pthread_mutex_lock(&p->mu);
    while (p->received <= more_than && gov_now_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    int rc = p->received > more_than ? 0 : -1;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void flt_proxy_stop(struct flt_proxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    close(p->lfd);
    /* connection threads see stop within 100 ms and end; p must outlive them */
    int64_t deadline = gov_now_ms() + 5000;
    pthread_mutex_lock(&p->mu);
    while (p->live > 0 && gov_now_ms() < deadline) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    int left = p->live;
    pthread_mutex_unlock(&p->mu);
    cr_assert_eq(left, 0, "proxy connections still running");
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/* ---- redis-cli and sqlite ---------------------------------------------------------------- */

int flt_redis_cli(void)
{
    return access("/usr/bin/redis-cli", X_OK) == 0;
}

char *flt_redis(const struct redis_srv *srv, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/redis-cli -h 127.0.0.1 -p %d --raw %s 2>/dev/null",
             srv->port, args);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    size_t n;
    while (out && (n = fread(out + len, 1, cap - 1 - len, f)) > 0)
        len += n;
    int st = pclose(f);
    if (!out || st != 0) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

static sqlite3 *open_ro(const char *path)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "%s: %s", path,
                 db ? sqlite3_errmsg(db) : "");
    sqlite3_busy_timeout(db, 5000);
    return db;
}

long long flt_sqlite_int(const char *path, const char *sql)
{
    sqlite3 *db = open_ro(path);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

double flt_sqlite_real(const char *path, const char *sql)
{
    sqlite3 *db = open_ro(path);
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    double v = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}
