/*
 * libFuzzer target for the Redis reply reader (core/store/redis_resp.c): arbitrary bytes from
 * a "server", fed whole and in pieces. Under ASan/UBSan any memory error aborts; both feeds
 * must read the same replies whenever both finish without an error; every reply must be a
 * well-formed tree. `make check` runs it through driver.c over seeds/resp/; run-libfuzzer
 * runs it coverage-guided (lf_resp).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_resp.h"

static uint32_t mix(uint32_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(v >> (8 * i))) * 16777619u;
    return h;
}

static uint32_t walk(const struct gw_resp *v, uint32_t h, int depth)
{
    if (!v || depth > 16)
        abort();
    h = mix(h, (uint64_t)v->type);
    switch (v->type) {
    case GW_RESP_INTEGER:
        return mix(h, (uint64_t)v->integer);
    case GW_RESP_NIL:
        return h;
    case GW_RESP_ARRAY:
        h = mix(h, v->elements);
        for (size_t i = 0; i < v->elements; i++)
            h = walk(v->element[i], h, depth + 1);
        return h;
    case GW_RESP_STRING:
    case GW_RESP_STATUS:
    case GW_RESP_ERROR:
        if (!v->str || v->str[v->len] != '\0')
            abort();
        h = mix(h, v->len);
        for (size_t i = 0; i < v->len; i++)
            h = mix(h, (uint8_t)v->str[i]);
        return h;
    default:
        abort();
    }
}

struct digest {
    uint32_t h;
    int replies;
};

static int run(const uint8_t *p, size_t n, size_t piece, size_t cap, size_t elems, struct digest *d)
{
    struct gw_resp_reader *rd;
    memset(d, 0, sizeof *d);
    if (gw_resp_reader_new(cap, elems, &rd) != 0)
        return -1;
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0;) {
        size_t k = piece && piece < n - off ? piece : n - off;
        rc = gw_resp_reader_feed(rd, (const char *)p + off, k);
        off += k;
        while (rc == 0) {
            struct gw_resp *v;
            int got = gw_resp_reader_next(rd, &v);
            if (got < 0)
                rc = got;
            if (got != 1)
                break;
            d->h = walk(v, d->h, 0);
            d->replies++;
            gw_resp_free(v);
        }
    }
    gw_resp_reader_free(rd);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] & 15) + 1;
    size_t cap = data[0] & 16 ? 64 : 0;  /* small: the buffer cap is reachable */
    size_t elems = data[0] & 32 ? 3 : 0; /* small: the element cap is reachable */
    struct digest a, b;
    int ra = run(data + 1, size - 1, 0, cap, elems, &a);
    int rb = run(data + 1, size - 1, piece, cap, elems, &b);
    if (ra == 0 && rb == 0 && (a.replies != b.replies || a.h != b.h))
        abort();
    return 0;
}
