/*
 * mock.c - the mock's lifecycle, the MHD callbacks, routes and scenarios, the request record
 * and the counters tests wait on. Serving is in mock_serve.c, the record in mock_record.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mock_int.h"

/* ---- MHD callbacks ----------------------------------------------------------------------- */

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct mreq *r = calloc(1, sizeof *r);
    (void)conn;
    if (!r)
        return NULL;
    r->m = cls;
    r->fd = -1;
    r->stall_at = r->close_at = -1;
    r->uri = strdup(uri);
    pthread_mutex_init(&r->mu, NULL);
    if (!r->uri) {
        mreq_free(r);
        return NULL;
    }
    return r;
}

static enum MHD_Result complete(struct mock *m, struct mreq *r)
{
    struct mock_req *rec = mrec_new(r);
    const struct mroute *chosen = NULL;
    if (!rec)
        return MHD_NO;
    pthread_mutex_lock(&m->mu);
    for (struct mroute *rt = m->routes; rt && !r->too_big; rt = rt->next) {
        if (rt->disabled || (rt->times && rt->hits >= rt->times) || !mroute_matches(rt, rec))
            continue;
        rt->hits++;
        chosen = rt;
        break;
    }
    rec->route = chosen ? strdup(chosen->name) : NULL;
    rec->status = r->too_big ? 413 : chosen ? chosen->status : 404;
    struct mock_req **slot = &m->ring[m->total % m->cap];
    struct mock_req *evicted = *slot;
    *slot = rec;
    m->total++;
    m->active++;
    r->counted = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    mock_req_free(evicted);
    if (m->verbose)
        fprintf(stderr, "mockprov: %s %s%s%s -> %d (%s)\n", rec->method, rec->path,
                rec->query[0] ? "?" : "", rec->query, rec->status,
                chosen ? (chosen->name[0] ? chosen->name : "unnamed") : "no route");
    r->rt = chosen;
    return mserve_answer(r);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    struct mock *m = cls;
    struct mreq *r = *req_cls;
    (void)url;
    (void)version;

    if (!r)
        return MHD_NO;
    if (r->stage == 0) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        r->conn = conn;
        r->fd = ci ? ci->connect_fd : -1;
        snprintf(r->method, sizeof r->method, "%s", method);
        r->stage = 1;
        return MHD_YES;
    }
    if (r->stage == 1) {
        size_t n = *upload_data_size;
        if (n == 0) {
            r->stage = 2;
            return complete(m, r);
        }
        *upload_data_size = 0;
        if (r->too_big || r->in_len + n > MOCK_MAX_BODY) {
            r->too_big = 1;
            return MHD_YES;
        }
        if (r->in_len + n + 1 > r->in_cap) {
            size_t cap = r->in_cap ? r->in_cap : 4096;
            while (cap < r->in_len + n + 1)
                cap *= 2;
            char *nb = realloc(r->in, cap);
            if (!nb)
                return MHD_NO;
            r->in = nb;
            r->in_cap = cap;
        }
        memcpy(r->in + r->in_len, upload_data, n);
        r->in_len += n;
        r->in[r->in_len] = '\0';
        return MHD_YES;
    }
    return mserve_resumed(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct mock *m = cls;
    struct mreq *r = *req_cls;
    (void)conn;
    if (!r)
        return;
    int left = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
               toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN && !r->fault && !mock_stopping(m);
    pthread_mutex_lock(&m->mu);
    if (r->counted)
        m->active--;
    if (left)
        m->disconnects++;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    *req_cls = NULL;
    mreq_free(r);
}

static void conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct mock *m = cls;
    (void)conn;
    (void)socket_context;
    pthread_mutex_lock(&m->mu);
    m->open_conns += code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void free_all(struct mock *m)
{
    for (struct mroute *rt = m->routes, *next; rt; rt = next) {
        next = rt->next;
        mroute_free(rt);
    }
    for (int i = 0; m->ring && i < m->cap; i++)
        mock_req_free(m->ring[i]);
    free(m->ring);
    free(m->heap);
    free(m->fixtures);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->tmu);
    pthread_cond_destroy(&m->tcv);
    free(m);
}

struct mock *mock_start(const struct mock_opts *opts)
{
    struct mock_opts o = opts ? *opts : (struct mock_opts){0};
    struct sockaddr_in sa;
    pthread_condattr_t ca;
    struct mock *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;

    if (!o.host)
        o.host = "127.0.0.1";
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o.port);
    if (o.port < 0 || o.port > 65535 || inet_pton(AF_INET, o.host, &sa.sin_addr) != 1) {
        fprintf(stderr, "mockprov: bad address %s:%d (IPv4 only)\n", o.host, o.port);
        free(m);
        return NULL;
    }
    const char *src = getenv("AIGW_TEST_SRCDIR");
    char dir[PATH_MAX];
    if (o.fixtures_dir)
        snprintf(dir, sizeof dir, "%s", o.fixtures_dir);
    else if (src && *src)
        snprintf(dir, sizeof dir, "%s/tests/fixtures", src);
    else
        snprintf(dir, sizeof dir, "tests/fixtures");
    m->fixtures = strdup(dir);
    m->verbose = o.verbose;
    m->cap = o.max_records > 0 ? o.max_records : 1024;
    m->ring = calloc((size_t)m->cap, sizeof *m->ring);
    m->rtail = &m->routes;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, &ca);
    pthread_mutex_init(&m->tmu, NULL);
    pthread_cond_init(&m->tcv, &ca);
    pthread_condattr_destroy(&ca);
    if (!m->fixtures || !m->ring || mserve_timer_start(m)) {
        fprintf(stderr, "mockprov: out of resources\n");
        mserve_timer_stop(m);
        free_all(m);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (o.verbose)
        flags |= MHD_USE_ERROR_LOG;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)(o.threads > 0 ? o.threads : 4), MHD_OPTION_CONNECTION_LIMIT,
                            16384u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_URI_LOG_CALLBACK, uri_log,
                            m, MHD_OPTION_NOTIFY_COMPLETED, completed, m,
                            MHD_OPTION_NOTIFY_CONNECTION, conn_notify, m, MHD_OPTION_END);
    const union MHD_DaemonInfo *di =
        m->d ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!di || di->port == 0) {
        fprintf(stderr, "mockprov: cannot listen on %s:%d\n", o.host, o.port);
        if (m->d)
            MHD_stop_daemon(m->d);
        mserve_timer_stop(m);
        free_all(m);
        return NULL;
    }
    m->port = di->port;
    snprintf(m->url, sizeof m->url, "http://%s:%d", o.host, m->port);
    return m;
}

void mock_stop(struct mock *m)
{
    if (!m)
        return;
    mserve_timer_stop(m);
    /* Resumed requests see `stopping` and end at once; give them a moment to do so before
     * MHD tears the connections down under them. */
    mock_wait_active_requests(m, 0, 2000);
    MHD_stop_daemon(m->d);
    free_all(m);
}

int mock_port(const struct mock *m)
{
    return m->port;
}

const char *mock_url(const struct mock *m)
{
    return m->url;
}

/* ---- routes and scenarios ----------------------------------------------------------------- */

static void append_routes(struct mock *m, struct mroute *list)
{
    pthread_mutex_lock(&m->mu);
    *m->rtail = list;
    while (*m->rtail)
        m->rtail = &(*m->rtail)->next;
    pthread_mutex_unlock(&m->mu);
}

int mock_add_route(struct mock *m, const struct mock_route *route)
{
    struct mroute *rt = mroute_from_struct(route, m->fixtures);
    if (!rt)
        return -1;
    append_routes(m, rt);
    return 0;
}

int mock_add_route_json(struct mock *m, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    struct mroute *rt = j ? mroute_from_json(j, m->fixtures) : NULL;
    if (!j)
        fprintf(stderr, "mockprov: route is not valid JSON\n");
    cJSON_Delete(j);
    if (!rt)
        return -1;
    append_routes(m, rt);
    return 0;
}

int mock_load_scenario(struct mock *m, const char *name)
{
    char path[PATH_MAX], root[PATH_MAX];
    char *text = NULL;
    size_t len;
    struct mroute *list = NULL, **tail = &list;
    int n = 0, w;

    if (strchr(name, '/') || (strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".json") == 0))
        w = snprintf(path, sizeof path, "%s", name);
    else
        w = snprintf(path, sizeof path, "%s/scenarios/%s.json", m->fixtures, name);
    if (w < 0 || (size_t)w >= sizeof path || mock_read_file(path, &text, &len))
        return -1;
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(root, sizeof root, "%.*s/..", (int)(slash - path), path);
    else
        snprintf(root, sizeof root, "..");
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *routes = cJSON_GetObjectItemCaseSensitive(doc, "routes");
    if (!cJSON_IsArray(routes)) {
        fprintf(stderr, "mockprov: %s: not JSON, or no \"routes\" array\n", path);
        cJSON_Delete(doc);
        return -1;
    }
    for (const cJSON *it = routes->child; it; it = it->next, n++) {
        struct mroute *rt = mroute_from_json(it, root);
        if (!rt) {
            fprintf(stderr, "mockprov: %s: route %d is invalid (see above)\n", path, n);
            while (list) {
                struct mroute *next = list->next;
                mroute_free(list);
                list = next;
            }
            cJSON_Delete(doc);
            return -1;
        }
        *tail = rt;
        tail = &rt->next;
    }
    cJSON_Delete(doc);
    append_routes(m, list);
    return 0;
}

void mock_clear_routes(struct mock *m)
{
    pthread_mutex_lock(&m->mu);
    for (struct mroute *rt = m->routes; rt; rt = rt->next)
        rt->disabled = 1;
    pthread_mutex_unlock(&m->mu);
}

int mock_route_hits(struct mock *m, const char *name)
{
    int hits = 0;
    pthread_mutex_lock(&m->mu);
    for (struct mroute *rt = m->routes; rt; rt = rt->next)
        if (strcmp(rt->name, name) == 0)
            hits += rt->hits;
    pthread_mutex_unlock(&m->mu);
    return hits;
}

/* ---- counters and waits ------------------------------------------------------------------- */

enum wait_what { W_REQUESTS, W_DISCONNECTS, W_OPEN, W_ACTIVE };

static int reached(const struct mock *m, enum wait_what w, int n)
{
    switch (w) {
    case W_REQUESTS:
        return m->total >= n;
    case W_DISCONNECTS:
        return m->disconnects >= n;
    case W_OPEN:
        return m->open_conns == n;
    default:
        return m->active == n;
    }
}

static int wait_for(struct mock *m, enum wait_what w, int n, int timeout_ms)
{
    struct timespec ts;
    int ok;
    mock_deadline(&ts, mock_now_ms() + (timeout_ms > 0 ? timeout_ms : 0));
    pthread_mutex_lock(&m->mu);
    while (!(ok = reached(m, w, n)))
        if (pthread_cond_timedwait(&m->cv, &m->mu, &ts) == ETIMEDOUT) {
            ok = reached(m, w, n);
            break;
        }
    pthread_mutex_unlock(&m->mu);
    return ok ? 0 : -1;
}

static int read_counter(struct mock *m, const int *field)
{
    pthread_mutex_lock(&m->mu);
    int v = *field;
    pthread_mutex_unlock(&m->mu);
    return v;
}

int mock_request_count(struct mock *m)
{
    return read_counter(m, &m->total);
}

int mock_open_connections(struct mock *m)
{
    return read_counter(m, &m->open_conns);
}

int mock_active_requests(struct mock *m)
{
    return read_counter(m, &m->active);
}

int mock_disconnects(struct mock *m)
{
    return read_counter(m, &m->disconnects);
}

int mock_wait_requests(struct mock *m, int n, int timeout_ms)
{
    return wait_for(m, W_REQUESTS, n, timeout_ms);
}

int mock_wait_disconnects(struct mock *m, int n, int timeout_ms)
{
    return wait_for(m, W_DISCONNECTS, n, timeout_ms);
}

int mock_wait_open_connections(struct mock *m, int n, int timeout_ms)
{
    return wait_for(m, W_OPEN, n, timeout_ms);
}

int mock_wait_active_requests(struct mock *m, int n, int timeout_ms)
{
    return wait_for(m, W_ACTIVE, n, timeout_ms);
}
