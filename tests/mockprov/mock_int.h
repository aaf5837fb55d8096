/*
 * mock_int.h - what the mock's files share: the compiled route, the recorded request, the
 * per-request state, the mock itself.
 *
 * Locks, nested only in these orders: mreq.mu -> mock.tmu, and mock.mu -> the record's JSON
 * lock (route matching parses the body). mock.mu is never held with mreq.mu or mock.tmu.
 * Routes are immutable once added (only their hit counters change, under mock.mu) and live
 * until mock_stop, so a request keeps a plain pointer to its route.
 */
#ifndef AIGW_MOCKPROV_MOCK_INT_H
#define AIGW_MOCKPROV_MOCK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include <microhttpd.h>

#include "mock.h"

#define MOCK_MAX_BODY (64u << 20) /* request bodies and body files */
#define MOCK_LIVENESS_MS 50       /* how often a parked connection's peer is checked */

enum mchunk { MCHUNK_WHOLE, MCHUNK_EVENTS, MCHUNK_LINES, MCHUNK_FRAMES, MCHUNK_BYTES };

struct mpair {
    char *name;
    char *value; /* NULL: "must be absent" in match lists */
};

struct mroute {
    struct mroute *next;
    char *name;
    char *method; /* NULL = any */
    char *path;
    cJSON *match_body;
    struct mpair *mh;
    int nmh;
    struct mpair *mq;
    int nmq;
    int times;
    int hits;     /* under mock.mu */
    int disabled; /* under mock.mu */

    int status;
    struct mpair *hdrs;
    int nhdrs;
    char *body;
    size_t body_len;
    int chunk;                                           /* enum mchunk */
    size_t chunk_size;                                   /* MCHUNK_BYTES */
    int headers_delay_ms, body_delay_ms, chunk_delay_ms; /* -1 = forever */
    long stall_at, close_at;                             /* body byte offsets, -1 = off */
    int stall_chunks, close_chunks;                      /* -1 = off */
    int close_before_headers;
    long truncate_at; /* -1 = off */
    int inject_after; /* -1 = no injection */
    char *inject;
    size_t inject_len;
    int inject_end;
    int streamed; /* send without Content-Length (chunked) */
};

struct mock_req {
    atomic_int refs;
    char *method, *path, *query, *route;
    int status;
    struct mpair *hdrs;
    int nhdrs;
    struct mpair *qp;
    int nqp;
    char *body;
    size_t body_len;
    cJSON *json;
    int json_parsed;
};

/* One HTTP request in flight: from the URI-log callback to NOTIFY_COMPLETED. */
struct mreq {
    struct mock *m;
    struct MHD_Connection *conn;
    int fd;
    char *uri;
    char method[16];
    char *in;
    size_t in_len, in_cap;
    int stage;
    int too_big;
    const struct mroute *rt;
    /* the response body as served, and how far it got */
    char *out;
    size_t out_len, sent, chunk_end;
    long stall_at, close_at;
    int64_t due; /* monotonic ms before which nothing more is sent; -1 = never */
    pthread_mutex_t mu;
    int parked;  /* suspended, with one entry in the timer heap */
    int gone;    /* the peer closed while parked */
    int fault;   /* the mock closed it on purpose */
    int counted; /* in mock.active */
};

struct mpark {
    int64_t wake;
    struct mreq *r;
};

struct mock {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    char *fixtures;
    int verbose;

    pthread_mutex_t mu; /* routes, records, counters */
    pthread_cond_t cv;  /* broadcast on every counter change */
    struct mroute *routes, **rtail;
    struct mock_req **ring;
    int cap, total;
    int open_conns, active, disconnects;

    pthread_mutex_t tmu; /* the timer heap and `stopping` */
    pthread_cond_t tcv;
    pthread_t timer;
    int timer_started;
    struct mpark *heap;
    size_t nheap, capheap;
    int stopping;
};

int64_t mock_now_ms(void);
/* An absolute CLOCK_MONOTONIC deadline for pthread_cond_timedwait. */
void mock_deadline(struct timespec *ts, int64_t at_ms);

/* mock_route.c, mock_route_json.c */
int mpair_add(struct mpair **p, int *n, const char *name, size_t nlen, const char *value,
              size_t vlen);
struct mroute *mroute_build(struct mroute *rt, const struct mock_route *in, const char *fixtures);
struct mroute *mroute_from_struct(const struct mock_route *in, const char *fixtures);
struct mroute *mroute_from_json(const cJSON *j, const char *fixtures);
void mroute_free(struct mroute *rt);
int mroute_matches(const struct mroute *rt, const struct mock_req *rec);
int mock_read_file(const char *path, char **out, size_t *len);
int mock_glob(const char *pat, const char *s, int slash_stops);

/* mock_record.c */
struct mock_req *mrec_new(struct mreq *r);

/* mock_serve.c */
enum MHD_Result mserve_answer(struct mreq *r);
enum MHD_Result mserve_resumed(struct mreq *r);
int mserve_timer_start(struct mock *m);
void mserve_timer_stop(struct mock *m);
void mreq_free(struct mreq *r);
int mock_stopping(struct mock *m);

/* mock_evs.c */
uint32_t mock_crc32(const void *data, size_t len);

#endif /* AIGW_MOCKPROV_MOCK_INT_H */
