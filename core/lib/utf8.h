/* utf8 - strict UTF-8 validation of client bodies (no overlongs, no surrogates), cuts that
 * keep a text valid, and the repair of a text that is not. */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>

/* Returns (size_t)-1 when valid, else the byte offset of the first invalid sequence. */
size_t gw_utf8_invalid_at(const char *p, size_t n);
/* The longest prefix of p[0..n) of at most max bytes that does not end inside a UTF-8
 * sequence (n when n <= max): where text that goes out as JSON may be cut. */
size_t gw_utf8_cut(const char *p, size_t n, size_t max);
/* p[0..n) into out (room for 3 * n bytes) with every byte that starts no valid sequence
 * replaced by U+FFFD: text from elsewhere made fit for JSON. Returns the length written. */
size_t gw_utf8_repair(const char *p, size_t n, char *out);

#endif
