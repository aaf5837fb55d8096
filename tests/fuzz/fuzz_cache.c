/*
 * libFuzzer target for the response cache's parsers: the first byte picks the job.
 *   even: the bytes after it are a request body. When it is JSON: its canonical form is JSON,
 *         canonical again when re-read (the same bytes), and keys the same as the original.
 *   odd:  the bytes after it are a chunk log as Redis would hand it back. When the check
 *         accepts it, the replay never fails and never reads past it; the chunks recorded
 *         again make a log the check accepts, replaying to as many chunks.
 * Any input must give a result or a clean refusal, never a crash or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/chunklog.h"
#include "cache/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void key_of(const cJSON *body, unsigned char out[GW_CACHE_KEY_BYTES])
{
    struct gw_cache_key_in in = {"scope", "chat", "m", NULL, body, NULL};
    if (gw_cache_key(&in, out) != 0)
        abort();
}

static void canonical(const char *p, size_t n)
{
    cJSON *v = cJSON_ParseWithLength(p, n);
    if (!v)
        return;
    struct gw_buf a, b;
    gw_buf_init(&a, 1u << 24);
    gw_buf_init(&b, 1u << 24);
    int rc = gw_cache_canon(v, 1, &a);
    if (rc == AIGW_EINVAL) {
        /* A number JSON cannot hold (1e999 read as infinity): refused, served uncached. */
        cJSON_Delete(v);
        gw_buf_free(&a);
        gw_buf_free(&b);
        return;
    }
    if (rc != 0)
        abort();
    cJSON *w = cJSON_ParseWithLength(a.ptr, a.len);
    if (!w)
        abort(); /* the canonical form is JSON */
    if (gw_cache_canon(w, 1, &b) != 0 || a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
        abort(); /* and canonical when read again */
    if (cJSON_IsObject(v)) {
        unsigned char k1[GW_CACHE_KEY_BYTES], k2[GW_CACHE_KEY_BYTES];
        key_of(v, k1);
        key_of(w, k2);
        if (memcmp(k1, k2, sizeof k1) != 0)
            abort(); /* a request and its canonical form are one key */
    }
    cJSON_Delete(v);
    cJSON_Delete(w);
    gw_buf_free(&a);
    gw_buf_free(&b);
}

struct again {
    struct gw_cache_rec rec;
    size_t n;
};

static int record(void *ud, const struct aigw_chunk *c)
{
    struct again *g = ud;
    gw_cache_rec_add(&g->rec, c);
    g->n++;
    return 0;
}

static int count(void *ud, const struct aigw_chunk *c)
{
    (void)c;
    ++*(size_t *)ud;
    return 0;
}

static void chunklog(const uint8_t *p, size_t n)
{
    if (gw_cache_log_check(p, n) != 0)
        return;
    struct again g;
    gw_cache_rec_init(&g.rec, 1u << 24);
    g.n = 0;
    if (gw_cache_log_replay(p, n, record, &g) != 0)
        abort(); /* a checked log always replays */
    if (g.rec.unusable || gw_cache_log_check(g.rec.log.ptr, g.rec.log.len) != 0)
        abort();
    size_t m = 0;
    if (gw_cache_log_replay(g.rec.log.ptr, g.rec.log.len, count, &m) != 0 || m != g.n)
        abort();
    char model[64];
    gw_cache_log_model(p, n, model, sizeof model);
    gw_cache_rec_free(&g.rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        chunklog(data + 1, size - 1);
    else
        canonical((const char *)data + 1, size - 1);
    return 0;
}
