/* http - the listening side (see http.h). */
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "config.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "net/upstream.h"
#include "net/worker.h"

#define MAX_WORKERS 1024 /* the config's limit for threads */

struct gw_http {
    struct gw_worker *workers;
    unsigned nworkers;
    atomic_int stop;
    struct MHD_Daemon *md; /* metrics.listen */
    int port;
};

void gw_request_id(const char *in, char out[129])
{
    size_t o = 0;
    for (size_t i = 0; in && in[i] && o < 128; i++) {
        char c = in[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == ':')
            out[o++] = c;
    }
    out[o] = '\0';
    if (o == 0)
        gw_random_hex(out);
}

/* The listening socket every worker's daemon accepts from (each gets its own dup). */
static int open_listener(const struct sockaddr_storage *ss, socklen_t len, int *port)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        *port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    return fd;
}

int gw_http_start(struct gw_http **out, const struct gw_config *cfg,
                  const struct gw_http_handlers *hs, char *err, size_t errsize)
{
    struct gw_http *h = calloc(1, sizeof *h);
    if (!h)
        return AIGW_ENOMEM;
    atomic_init(&h->stop, 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sslen = sizeof(struct sockaddr_in);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->listen_host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
    } else if (inet_pton(AF_INET6, cfg->listen_host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)cfg->listen_port);
        sslen = sizeof(struct sockaddr_in6);
        flags |= MHD_USE_IPv6;
    } else if (!strcmp(cfg->listen_host, "localhost")) {
        inet_pton(AF_INET, "127.0.0.1", &in4->sin_addr);
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)cfg->listen_port);
    } else {
        snprintf(err, errsize, "listen: '%s' is not a numeric address", cfg->listen_host);
        free(h);
        return AIGW_EINVAL;
    }
    h->port = cfg->listen_port;
    int lfd = open_listener(&ss, sslen, &h->port);
    if (lfd < 0) {
        snprintf(err, errsize, "cannot listen on %s:%d (address in use or not permitted)",
                 cfg->listen_host, cfg->listen_port);
        free(h);
        return AIGW_EINVAL;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cfg->threads > 0 ? (unsigned)cfg->threads : (unsigned)(ncpu > 0 ? ncpu : 2);
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    /* max_connections is split across the workers, exactly: the remainder goes to the first
     * ones, and there are never more workers than connections allowed. */
    unsigned maxc = cfg->max_connections > 0 ? (unsigned)cfg->max_connections : 1;
    if (n > maxc)
        n = maxc;
    h->workers = calloc(n, sizeof *h->workers);
    if (!h->workers) {
        snprintf(err, errsize, "out of memory");
        close(lfd);
        gw_http_stop(h);
        return AIGW_ENOMEM;
    }
    for (unsigned i = 0; i < n; i++)
        h->workers[i].ep = h->workers[i].wake_fd = -1;
    gw_worker_register(h->workers, n);
    for (unsigned i = 0; i < n; i++) {
        h->nworkers = i + 1;
        struct gw_worker_conf wc = {
            .mhd_flags = flags,
            .conn_limit = maxc / n + (i < maxc % n ? 1 : 0),
            .access = hs->access,
            .access_cls = hs->access_cls,
            .completed = hs->completed,
            .completed_cls = hs->completed_cls,
        };
        if (gw_worker_start(&h->workers[i], lfd, &wc, &h->stop) != 0) {
            snprintf(err, errsize, "cannot start HTTP worker %u", i);
            close(lfd);
            gw_http_stop(h);
            return AIGW_EINTERNAL;
        }
    }
    close(lfd); /* each daemon holds its own duplicate */
    if (cfg->metrics_enabled && cfg->metrics_listen[0] && hs->metrics) {
        struct gw_config mc = *cfg;
        if (gw_config_set_listen(&mc, cfg->metrics_listen, err, errsize) < 0) {
            gw_http_stop(h);
            return AIGW_EINVAL;
        }
        struct sockaddr_in m4;
        memset(&m4, 0, sizeof m4);
        m4.sin_family = AF_INET;
        m4.sin_port = htons((uint16_t)mc.listen_port);
        inet_pton(AF_INET, mc.listen_host, &m4.sin_addr);
        h->md = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                                 hs->metrics, hs->metrics_cls, MHD_OPTION_SOCK_ADDR, &m4,
                                 MHD_OPTION_END);
        if (!h->md) {
            snprintf(err, errsize, "cannot listen on metrics.listen %s", cfg->metrics_listen);
            gw_http_stop(h);
            return AIGW_EINVAL;
        }
    }
    *out = h;
    return 0;
}

int gw_http_port(const struct gw_http *h)
{
    return h->port;
}

void gw_http_quiesce(struct gw_http *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < h->nworkers; i++) {
        if (!h->workers[i].d)
            continue;
        MHD_socket s = MHD_quiesce_daemon(h->workers[i].d);
        if (s != MHD_INVALID_SOCKET)
            close(s);
    }
}

void gw_http_cancel_transfers(struct gw_http *h)
{
    if (!h)
        return;
    for (unsigned i = 0; i < h->nworkers; i++)
        if (h->workers[i].started)
            gw_upstream_cancel_all(h->workers[i].u, 5000);
}

void gw_http_stop(struct gw_http *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, 1);
    for (unsigned i = 0; i < h->nworkers; i++)
        gw_worker_wake(&h->workers[i]);
    for (unsigned i = 0; i < h->nworkers; i++)
        gw_worker_free(&h->workers[i]);
    if (h->md)
        MHD_stop_daemon(h->md);
    gw_worker_register(NULL, 0);
    free(h->workers);
    free(h);
}
