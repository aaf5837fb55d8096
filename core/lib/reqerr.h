/*
 * reqerr - what is wrong with a client's request, before any dialect shapes it: the status,
 * the field at fault and a message. Parsers and the router fill it; a dialect renders it.
 * Threading: plain data.
 */
#ifndef GW_LIB_REQERR_H
#define GW_LIB_REQERR_H

#include <stdint.h>

struct gw_request_err {
    int status;
    const char *param; /* static string or NULL */
    const char *code;
    char message[512];
    int64_t retry_after_ms; /* > 0: when asking again may succeed (the router's circuit_open) */
};

#endif
