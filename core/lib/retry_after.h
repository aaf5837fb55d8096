/*
 * retry_after - the one parser of an upstream's "wait before retrying" headers
 * (retry-after-ms, Retry-After as delay-seconds or HTTP-date). host->retry_after_ms and the
 * OpenAI-wire error mapping (oai_error.c) both use it, so every provider reads the same
 * header the same way.
 *
 * Threading: stateless; any thread.
 */
#ifndef GW_RETRY_AFTER_H
#define GW_RETRY_AFTER_H

#include <stdint.h>

#include "aigw/plugin.h"

/* A hint longer than this is a misparse or hostile; nobody waits a day. Longer hints are cut
 * to it rather than dropped: the upstream did say "not now". */
#define GW_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

/* Milliseconds to wait from the two header values (either may be {NULL,0}): retry-after-ms
 * (a non-negative decimal of milliseconds, fractions rounded up) wins when valid; else
 * Retry-After as a non-negative decimal of seconds, or as an HTTP-date (IMF-fixdate, RFC 850
 * or asctime form) relative to now_unix, a past date meaning 0. Surrounding blanks are
 * ignored; signs, exponents, hex and trailing junk make a value invalid. Capped at
 * GW_RETRY_AFTER_MAX_MS; -1 when neither header holds a valid value. */
int64_t gw_retry_after_parse(struct aigw_bytes ms_header, struct aigw_bytes header,
                             int64_t now_unix);

/* The same for the response of `call`, read through call->host (response_header,
 * unix_time). This is host->retry_after_ms. */
int64_t gw_retry_after_ms(struct aigw_call *call);

#endif
