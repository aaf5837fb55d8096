/*
 * peer - a connection's client address, as the rules that match it (admin.allow, the
 * wrong-key throttle) want it: an IPv4 client is AF_INET with 4 bytes even when it reached a
 * dual-stack listener ("[::]:PORT") as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so an
 * IPv4 rule matches it there too. Pure functions; any thread.
 */
#ifndef AIGW_NET_PEER_H
#define AIGW_NET_PEER_H

struct MHD_Connection;
struct sockaddr;

/* raw gets the address (4 bytes for AF_INET, 16 for AF_INET6; the rest zeroed) and *family
 * its family. 0, or -1 for no address or another family. */
int gw_peer_addr(const struct sockaddr *sa, int *family, unsigned char raw[16]);
/* The same for a connection's client. */
int gw_peer_of(struct MHD_Connection *conn, int *family, unsigned char raw[16]);

#endif
