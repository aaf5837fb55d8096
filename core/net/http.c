/* http - the listening side (see http.h). */
#include "net/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "config.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "net/listen.h"
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

void gw_request_id(const char *in, char out[GW_REQUEST_ID_SIZE])
{
    char rnd[33];
    gw_random_hex(rnd);
    /* The time first, the client's id or not: the request log's and the ledger's request_id
     * index then takes each new id at its end. With ids in an order of their own (fully
     * random ones, or the random ids a mesh or an ingress puts in every request's
     * X-Request-ID) each insert read and dirtied a random page: the log writer spent half its
     * time on index pages, and twice its CPU per request behind such a proxy. */
    gw_time_hex(out);
    size_t o = 12;
    out[o++] = '.';
    for (size_t i = 0; in && in[i] && o < 13 + GW_REQUEST_ID_CLIENT_MAX; i++) {
        char c = in[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == ':')
            out[o++] = c;
    }
    if (o > 13) {
        /* The client's id is in ours but cannot be all of it: the ledger and the request log
         * are keyed by the id, and a client repeating one would otherwise have every later
         * request's spend and row dropped as a replay of the first. */
        out[o++] = '.';
        memcpy(out + o, rnd, 12);
        out[o + 12] = '\0';
        return;
    }
    memcpy(out + 12, rnd, 20);
    out[32] = '\0';
}

int gw_http_start(struct gw_http **out, const struct gw_config *cfg,
                  const struct gw_http_handlers *hs, char *err, size_t errsize)
{
    struct gw_http *h = calloc(1, sizeof *h);
    if (!h)
        return AIGW_ENOMEM;
    atomic_init(&h->stop, 0);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    /* One parser for every listener (net/listen.c): "localhost" is loopback, never every
     * interface. The configuration keeps host and port apart. */
    char spec[300];
    snprintf(spec, sizeof spec, strchr(cfg->listen_host, ':') ? "[%s]:%d" : "%s:%d",
             cfg->listen_host, cfg->listen_port);
    struct gw_listen_addr la;
    int lfd = -1;
    if (gw_listen_parse(spec, &la, err, errsize) < 0 ||
        gw_listen_open(&la, 1024, &lfd, &h->port, err, errsize) < 0) {
        free(h);
        return AIGW_EINVAL;
    }
    if (la.family == AF_INET6)
        flags |= MHD_USE_IPv6;
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
            .setup = hs->worker_setup,
            .setup_cls = hs->worker_setup_cls,
            .index = i,
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
        struct gw_listen_addr ma;
        int mfd = -1, mport = 0;
        if (gw_listen_parse(cfg->metrics_listen, &ma, err, errsize) < 0 ||
            gw_listen_open(&ma, 128, &mfd, &mport, err, errsize) < 0) {
            gw_http_stop(h);
            return AIGW_EINVAL;
        }
        h->md = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                                     (ma.family == AF_INET6 ? MHD_USE_IPv6 : 0),
                                 0, NULL, NULL, hs->metrics, hs->metrics_cls,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)mfd, MHD_OPTION_END);
        if (!h->md) {
            close(mfd);
            snprintf(err, errsize, "cannot serve metrics on metrics.listen %s",
                     cfg->metrics_listen);
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
