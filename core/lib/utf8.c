/* utf8 - validation (see utf8.h). */
#include "lib/utf8.h"

#include <stdint.h>
#include <string.h>

size_t gw_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* Prompts and answers are mostly ASCII: eight bytes at a time while no byte has its
         * high bit (byte by byte was ~0.9k instructions a chat request). */
        uint64_t w;
        while (n - i >= 8 && (memcpy(&w, p + i, 8), (w & 0x8080808080808080u) == 0))
            i += 8;
        if (i == n)
            break;
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned min;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            min = 0x10000;
        } else {
            return i;
        }
        if (n - i <= need)
            return i;
        unsigned cp = c & (0x3fu >> need);
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += need + 1;
    }
    return (size_t)-1;
}

size_t gw_utf8_cut(const char *p, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    /* Step back over continuation bytes, then drop the lead byte whose sequence is cut. */
    while (k > 0 && ((unsigned char)p[k] & 0xc0) == 0x80)
        k--;
    return k;
}

size_t gw_utf8_repair(const char *p, size_t n, char *out)
{
    size_t o = 0;
    while (n) {
        size_t k = gw_utf8_invalid_at(p, n);
        if (k == (size_t)-1)
            k = n;
        memcpy(out + o, p, k);
        o += k;
        if (k == n)
            break;
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3;
        p += k + 1;
        n -= k + 1;
    }
    return o;
}
