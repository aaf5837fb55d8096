/*
 * libFuzzer target for net/listen.c, the listen-address parser (the main listener,
 * metrics.listen, admin). Any input gives an address or a clean error: an accepted address
 * formats back to a string that parses to the same address, and a refusal explains itself
 * and leaves nothing behind. Nothing is bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "net/listen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[512];
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    struct gw_listen_addr a, b;
    char err[256] = "";
    if (gw_listen_parse(s, &a, err, sizeof err) != 0) {
        static const struct gw_listen_addr zero;
        if (!err[0] || memcmp(&a, &zero, sizeof a) != 0)
            abort();
        return 0;
    }
    if ((a.family != AF_INET && a.family != AF_INET6) || a.port < 0 || a.port > 65535)
        abort();
    char again[128];
    gw_listen_format(&a, -1, again, sizeof again);
    if (gw_listen_parse(again, &b, err, sizeof err) != 0 || memcmp(&a, &b, sizeof a) != 0)
        abort(); /* what we print must be what we parsed */
    return 0;
}
