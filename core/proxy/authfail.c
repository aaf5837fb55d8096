/* authfail - failed authentications per client address (see authfail.h). */
#include "proxy/authfail.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "net/peer.h"

#define BUCKETS 512
#define WAYS 4 /* 2048 addresses tracked per kind, 64 KiB in all */

struct entry {
    unsigned char addr[16];
    int64_t window; /* the window number (now / window_s) its count belongs to */
    int fails;
};

struct table {
    pthread_mutex_t lock;
    /* The window in which some address reached the limit (-1: none yet). Every request
     * checks for a block; while no address is over in the current window, the check ends
     * here without the lock. */
    _Atomic int64_t blocked_window;
    struct entry e[BUCKETS][WAYS];
};

static struct table tables[2] = {
    {.lock = PTHREAD_MUTEX_INITIALIZER, .blocked_window = -1},
    {.lock = PTHREAD_MUTEX_INITIALIZER, .blocked_window = -1},
};
static int max_fails = 10;
static int window_s = 60;

void gw_authfail_configure(int max_failures, int window)
{
    max_fails = max_failures > 0 ? max_failures : 0;
    window_s = window > 0 ? window : 60;
}

void gw_authfail_reset(void)
{
    for (int k = 0; k < 2; k++) {
        pthread_mutex_lock(&tables[k].lock);
        memset(tables[k].e, 0, sizeof tables[k].e);
        atomic_store(&tables[k].blocked_window, -1);
        pthread_mutex_unlock(&tables[k].lock);
    }
}

/* The address as it is counted: IPv4 as is, IPv6 cut to its /64. */
static void key_of(const unsigned char in[16], int v6, unsigned char out[16])
{
    memset(out, 0, 16);
    if (v6) {
        memcpy(out, in, 8);
        out[15] = 6; /* never equal to an IPv4 key */
    } else {
        memcpy(out, in, 4);
    }
}

static struct entry *bucket(struct table *t, const unsigned char key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return t->e[h % BUCKETS];
}

static int none_blocked(enum gw_authfail_kind kind, int64_t window)
{
    const struct table *t = &tables[kind == GW_AUTHFAIL_ADMIN ? 0 : 1];
    return atomic_load_explicit(&t->blocked_window, memory_order_relaxed) != window;
}

int gw_authfail_blocked_addr(enum gw_authfail_kind kind, const unsigned char addr[16], int v6,
                             int64_t now_s, int64_t *retry_after_s)
{
    if (!max_fails)
        return 0;
    unsigned char key[16];
    key_of(addr, v6, key);
    int64_t w = now_s / window_s;
    struct table *t = &tables[kind == GW_AUTHFAIL_ADMIN ? 0 : 1];
    if (none_blocked(kind, w))
        return 0;
    int over = 0;
    pthread_mutex_lock(&t->lock);
    struct entry *b = bucket(t, key);
    for (int i = 0; i < WAYS; i++)
        if (b[i].window == w && b[i].fails >= max_fails && !memcmp(b[i].addr, key, 16))
            over = 1;
    pthread_mutex_unlock(&t->lock);
    if (over && retry_after_s)
        *retry_after_s = (w + 1) * window_s - now_s;
    return over;
}

void gw_authfail_count_addr(enum gw_authfail_kind kind, const unsigned char addr[16], int v6,
                            int64_t now_s)
{
    if (!max_fails)
        return;
    unsigned char key[16];
    key_of(addr, v6, key);
    int64_t w = now_s / window_s;
    struct table *t = &tables[kind == GW_AUTHFAIL_ADMIN ? 0 : 1];
    pthread_mutex_lock(&t->lock);
    struct entry *b = bucket(t, key), *hit = NULL, *victim = &b[0];
    for (int i = 0; i < WAYS && !hit; i++) {
        if (!memcmp(b[i].addr, key, 16))
            hit = &b[i];
        /* the stalest entry goes first, then the one with the fewest failures */
        else if (b[i].window < victim->window ||
                 (b[i].window == victim->window && b[i].fails < victim->fails))
            victim = &b[i];
    }
    if (!hit) {
        hit = victim;
        memcpy(hit->addr, key, 16);
        hit->window = w;
        hit->fails = 0;
    }
    if (hit->window != w) {
        hit->window = w;
        hit->fails = 0;
    }
    if (hit->fails < max_fails && ++hit->fails == max_fails)
        atomic_store(&t->blocked_window, w);
    pthread_mutex_unlock(&t->lock);
}

/* The table keys an address by its bytes and whether it is IPv6 (counted per /64). */
static int conn_addr(struct MHD_Connection *conn, unsigned char raw[16], int *v6)
{
    int family = 0;
    if (gw_peer_of(conn, &family, raw) < 0)
        return -1;
    *v6 = family == AF_INET6;
    return 0;
}

int gw_authfail_blocked(enum gw_authfail_kind kind, struct MHD_Connection *conn,
                        int64_t *retry_after_s)
{
    int64_t now = (int64_t)time(NULL);
    unsigned char raw[16];
    int v6 = 0;
    if (!max_fails || none_blocked(kind, now / window_s) || conn_addr(conn, raw, &v6) < 0)
        return 0;
    return gw_authfail_blocked_addr(kind, raw, v6, now, retry_after_s);
}

void gw_authfail_count(enum gw_authfail_kind kind, struct MHD_Connection *conn)
{
    unsigned char raw[16];
    int v6 = 0;
    if (conn_addr(conn, raw, &v6) == 0)
        gw_authfail_count_addr(kind, raw, v6, (int64_t)time(NULL));
}
