/*
 * redact - the last line of defence against leaking a secret. Every secret value the gateway
 * knows (provider keys from env variables flagged SECRET, gateway keys) is registered here at
 * startup; every log line and every error message sent to a client passes through
 * gw_redact() first. Also masks things that look like credentials even when unregistered:
 * "Bearer <token>", "?key=" / "&key=" query values, AWS signatures, and the secret part of
 * an "aigw_<id>_<secret>" gateway key.
 *
 * Threading: any thread. Registering (at startup, and by a reload for the new file's
 * secrets) takes a lock; gw_redact never does and sees every secret registered before it
 * started. gw_redact_reset is for tests, with nothing redacting at the same time.
 */
#ifndef GW_REDACT_H
#define GW_REDACT_H

#include <stddef.h>

#define GW_REDACTED "[REDACTED]"

/* Values shorter than 4 bytes are not registered (they would mask ordinary words). */
void gw_redact_register(const char *secret);
void gw_redact_reset(void);
/* Copies src (n bytes) into dst (dstsize, always NUL-terminated), masking secrets; cut at
 * dst's end, it keeps whole UTF-8 characters. Returns the length written. */
size_t gw_redact(const char *src, size_t n, char *dst, size_t dstsize);
/* 1 when s contains a registered secret. */
int gw_redact_contains_secret(const char *s, size_t n);

#endif
