/*
 * pii - the pii guard's detectors (pii_detect.c), one per kind of identifier. Each is called
 * with the subject s[0, n) and a start byte i (bytes before i are context for the left
 * boundary) and returns 0 (nothing starts at i), 1 (a match ending at *end) or 2 (partial: the
 * text ended while one could still be starting at i; only when !final).
 *
 * What each detects (ASCII digits and letters; everything is a shape, plus a checksum where
 * the kind has one):
 *   card   13-19 digits with a major network's prefix and length (Visa, Mastercard, Amex,
 *          Diners, Discover, JCB, UnionPay, Mir, Maestro), Luhn-valid, optionally grouped by
 *          single spaces or hyphens; not touching other digits or letters
 *   ssn    ddd-dd-dddd or ddd dd dddd, area 001-899 except 666, group not 00, serial not 0000
 *   phone  '+' and 8-15 digits in groups (spaces, hyphens, dots, one parenthesized group), or
 *          the North American shapes (555) 010-4477, 555-010-4477, 555.010.4477, 555 010 4477
 *          (optionally led by "1-" / "1 "); area and exchange codes start 2-9
 *   ipv4   dotted quad of 0-255 without leading zeros, not part of a longer dotted number
 *   ipv6   any form inet_pton(3) accepts (compressed, embedded IPv4), two colons or more
 *   iban   a registry country code, 2 check digits and the country's length, upper or lower
 *          case, optionally grouped by spaces, ISO 7064 mod 97-10 valid
 *   email  ASCII local@domain.tld (internationalized addresses in Unicode form are not
 *          detected; their punycode form is)
 */
#ifndef GG_PII_H
#define GG_PII_H

#include <stddef.h>

int gg_pii_card(const char *s, size_t n, size_t i, int final, size_t *end);
int gg_pii_ssn(const char *s, size_t n, size_t i, int final, size_t *end);
int gg_pii_phone(const char *s, size_t n, size_t i, int final, size_t *end);
int gg_pii_ipv4(const char *s, size_t n, size_t i, int final, size_t *end);
int gg_pii_ipv6(const char *s, size_t n, size_t i, int final, size_t *end);
int gg_pii_iban(const char *s, size_t n, size_t i, int final, size_t *end);
int gg_pii_email(const char *s, size_t n, size_t i, int final, size_t *end);

#endif
