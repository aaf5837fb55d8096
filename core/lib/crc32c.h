/*
 * crc32c - CRC-32C (Castagnoli), the checksum of records aigw writes to its own files (the
 * store's spool). Chosen over a byte-at-a-time hash because x86-64 and arm64 compute it eight
 * bytes per instruction, and a CRC of pieces chained in order equals the CRC of the whole.
 * Pure functions, any thread.
 */
#ifndef AIGW_LIB_CRC32C_H
#define AIGW_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of p[0..n) continuing from crc (0 to start): gw_crc32c(gw_crc32c(0, a), b) is the
 * CRC of a followed by b. */
uint32_t gw_crc32c(uint32_t crc, const void *p, size_t n);
/* The same by table lookups only: what a CPU without the instruction runs (tests compare). */
uint32_t gw_crc32c_portable(uint32_t crc, const void *p, size_t n);

#endif
