/*
 * cache_lookup - the phase that answers a request from an exact earlier answer, replayed as
 * normalized chunks through the caller's dialect. No response cache is configured by
 * default: every request misses.
 */
#include "proxy/req_int.h"

int gw_phase_cache_lookup(struct gw_req *r)
{
    (void)r;
    return 0;
}
