/*
 * libFuzzer target for plugin/framing.c (SSE, NDJSON and JSON sequences);
 * tests/fuzz/run-libfuzzer runs it. The first byte picks the framing (bit 0: NDJSON, else
 * bit 1: JSON_SEQ, else SSE) and a piece size; whole and piecewise feeding must see the same
 * frames and end the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/framing.h"

struct digest {
    uint32_t crc;
    int frames;
};

static int on_frame(void *ud, const struct aigw_frame *f)
{
    struct digest *d = ud;
    d->crc = gw_crc32(d->crc, f->event.ptr, f->event.len);
    d->crc = gw_crc32(d->crc, "|", 1);
    d->crc = gw_crc32(d->crc, f->data.ptr, f->data.len);
    d->frames++;
    return 0;
}

static int run(int kind, const uint8_t *p, size_t n, size_t piece, struct digest *dg)
{
    struct gw_framer f;
    int rc = 0;
    gw_framer_init(&f, kind, 1024); /* small cap: the ETOOBIG path is reachable */
    memset(dg, 0, sizeof *dg);
    for (size_t off = 0; off < n && rc == 0;) {
        size_t k = piece ? piece : n;
        if (k > n - off)
            k = n - off;
        rc = gw_framer_feed(&f, (const char *)p + off, k, on_frame, dg);
        off += k;
    }
    if (rc == 0)
        rc = gw_framer_finish(&f, on_frame, dg);
    gw_framer_free(&f);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] & 1   ? AIGW_FRAMING_NDJSON
               : data[0] & 2 ? AIGW_FRAMING_JSON_SEQ
                             : AIGW_FRAMING_SSE;
    size_t piece = (size_t)(data[0] >> 2) % 13 + 1;
    struct digest a, b;
    int ra = run(kind, data + 1, size - 1, 0, &a);
    int rb = run(kind, data + 1, size - 1, piece, &b);
    /* A cap hit may come at a different frame count depending on the split; only compare
     * complete runs. */
    if (ra == 0 && rb == 0 && (a.frames != b.frames || a.crc != b.crc))
        abort();
    if ((ra == 0) != (rb == 0) && ra != AIGW_ETOOBIG && rb != AIGW_ETOOBIG)
        abort();
    /* Ending inside a bare object does not depend on the split either. */
    if ((ra == AIGW_EPROTO) != (rb == AIGW_EPROTO) && ra != AIGW_ETOOBIG && rb != AIGW_ETOOBIG)
        abort();
    return 0;
}
