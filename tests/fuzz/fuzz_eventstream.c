/*
 * libFuzzer target for plugin/eventstream.c. Run it under libFuzzer with
 * `tests/fuzz/run-libfuzzer SECONDS eventstream` (builds tests/fuzz/lf_eventstream).
 *
 * The first input byte picks a piece size; the rest is fed whole and then in pieces of that
 * size, and both runs must agree on the frames seen and on the final result, because the
 * decoder promises the same output for any split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/eventstream.h"

struct digest {
    uint32_t crc;
    int frames;
};

static int on_frame(void *ud, const struct aigw_frame *f)
{
    struct digest *d = ud;
    /* Touch every byte the decoder hands out so ASan sees any out-of-bounds view. */
    d->crc = gw_crc32(d->crc, f->event.ptr, f->event.len);
    d->crc = gw_crc32(d->crc, f->data.ptr, f->data.len);
    d->crc = gw_crc32(d->crc, &f->is_exception, sizeof f->is_exception);
    d->frames++;
    return 0;
}

static int run(const uint8_t *p, size_t n, size_t piece, struct digest *dg)
{
    struct gw_evs d;
    int rc = 0;
    /* A small cap so the ETOOBIG path is reachable with short inputs. */
    gw_evs_init(&d, 2048);
    memset(dg, 0, sizeof *dg);
    for (size_t off = 0; off < n && rc == 0;) {
        size_t k = piece ? piece : n;
        if (k > n - off)
            k = n - off;
        rc = gw_evs_feed(&d, (const char *)p + off, k, on_frame, dg);
        off += k;
    }
    if (rc == 0)
        rc = gw_evs_finish(&d);
    gw_evs_free(&d);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] % 17 + 1;
    struct digest a, b;
    int ra = run(data + 1, size - 1, 0, &a);
    int rb = run(data + 1, size - 1, piece, &b);
    if (ra != rb || a.frames != b.frames || a.crc != b.crc)
        abort();
    return 0;
}
