/* utf8 - strict UTF-8 validation of client bodies (no overlongs, no surrogates). */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>

/* Returns (size_t)-1 when valid, else the byte offset of the first invalid sequence. */
size_t gw_utf8_invalid_at(const char *p, size_t n);

#endif
