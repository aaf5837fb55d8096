/*
 * authfail - failed authentications per client address, so that nobody can guess the admin
 * key or a gateway key's secret at network speed: past auth.max_failures failures within
 * auth.failure_window_s, an address gets 429 with Retry-After (until its window ends) without
 * its token being checked. Admin and gateway-key failures are counted apart (a client with a
 * stale gateway key does not lock the operator out of the admin API).
 *
 * Memory is bounded whatever the number of addresses: a fixed table of buckets, each address
 * hashed to one bucket of a few entries; a new address takes the entry whose window is oldest
 * (then the one with the fewest failures), so a flood of fresh addresses cannot evict an
 * address that is over the limit within its window, unless a bucket's every entry is. IPv6
 * addresses count per /64 (one host owns a /64 and can rotate within it).
 *
 * Threading: any thread (one mutex per table).
 */
#ifndef GW_PROXY_AUTHFAIL_H
#define GW_PROXY_AUTHFAIL_H

#include <stdint.h>

#include <microhttpd.h>

enum gw_authfail_kind { GW_AUTHFAIL_ADMIN, GW_AUTHFAIL_KEY };

/* Sets the limit (0: no limit) and the window in seconds; at startup, before any request. */
void gw_authfail_configure(int max_failures, int window_s);
/* 1 when conn's address is over the limit for kind, with the seconds until its window ends
 * in *retry_after_s; 0 otherwise (also when the address cannot be read). */
int gw_authfail_blocked(enum gw_authfail_kind kind, struct MHD_Connection *conn,
                        int64_t *retry_after_s);
/* One failed authentication from conn's address. */
void gw_authfail_count(enum gw_authfail_kind kind, struct MHD_Connection *conn);

/* The same on a raw address (16 bytes, IPv4 in the first 4 with v6 = 0), for tests. */
int gw_authfail_blocked_addr(enum gw_authfail_kind kind, const unsigned char addr[16], int v6,
                             int64_t now_s, int64_t *retry_after_s);
void gw_authfail_count_addr(enum gw_authfail_kind kind, const unsigned char addr[16], int v6,
                            int64_t now_s);
/* Forgets every count (tests). */
void gw_authfail_reset(void);

#endif
