/* peer - a connection's client address (see peer.h). */
#include "net/peer.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

int gw_peer_addr(const struct sockaddr *sa, int *family, unsigned char raw[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(raw, 0, 16);
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        *family = AF_INET;
        memcpy(raw, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        if (!memcmp(a, mapped, sizeof mapped)) {
            *family = AF_INET;
            memcpy(raw, a + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(raw, a, 16);
        }
        return 0;
    }
    return -1;
}

int gw_peer_of(struct MHD_Connection *conn, int *family, unsigned char raw[16])
{
    const union MHD_ConnectionInfo *ci =
        conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    return gw_peer_addr(ci ? ci->client_addr : NULL, family, raw);
}
